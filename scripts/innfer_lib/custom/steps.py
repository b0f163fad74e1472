"""The workflow config's `custom:` block, checked and resolved while the DAG is built.

Each entry is one step:

    custom:
      <step>:
        module: <path of a .py file, or an importable module name>
        function: run                  # the function the module defines (default `run`)
        options: {key: value} | "key=value;key=value"
        inputs: {<name>: <input>}      # what the function reads
        outputs: [<relative file name>, ...]
        mem_mb: 4000                   # the job's resources (MB, minutes)
        runtime: 60

An input is a plain file path (used as it is), a workflow output (`{output: train, model:
ttbar, category: one_b}`: every wildcard it leaves out is expanded over all its values), or a
declared output of another custom step (`{step: <other>, output: <file name>}`).

Nothing here imports the module: user code runs in the job only (`innfer_lib.custom.job`). What
can be known without running it is checked here and reported as a `ConfigKeyError` at the key
path, so the caller names the file that set it: the module file exists, every name an input
refers to exists, outputs are relative file names inside the step's directory, and custom steps
do not read each other's outputs in a cycle.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from innfer_lib.core.config_files import ConfigKeyError, unknown_name_message
from innfer_lib.core.paths import Paths
from innfer_lib.custom.options import step_options

#: The config block and the function a module must define unless `function` names another.
BLOCK = "custom"
DEFAULT_FUNCTION = "run"
DEFAULT_MEM_MB = 4000
DEFAULT_RUNTIME = 60
#: A step's name is part of its rule's name (`custom_<step>`) and of its output directory.
STEP_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
MODULE_NAME = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*\Z")
#: The key of an input that names a workflow output, and of one that names another step.
OUTPUT_KEY = "output"
STEP_KEY = "step"
#: The rule's input names: the module file, and the prefix of each declared input's name.
MODULE_INPUT = "module"
INPUT_PREFIX = "input__"
INPUT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
#: What each wildcard of a workflow output is called in an error message.
WILDCARD_KINDS = {
    "file": "`files` entry",
    "model": "process",
    "category": "category",
    "val": "validation index",
}

#: One resolved input: a file, or the files of an expanded output as [wildcard values, path]
#: pairs, the values in the order of the output's wildcards (lists, so they travel as params).
ResolvedInput = str | list[list[Any]]


@dataclass(frozen=True)
class Source:
    """A workflow output a custom step may read: its path pattern and each wildcard's values.

    `wildcards` is in the order the module sees the values in the keys of an expanded input.
    """

    pattern: str
    wildcards: Mapping[str, Sequence[str | int]]


def workflow_sources(
    paths: Paths,
    files: Sequence[str],
    processes: Sequence[str],
    categories: Sequence[str],
    vals: Sequence[int],
    observed_data: bool,
) -> dict[str, Source]:
    """The workflow outputs of the data stage, by the name an input's `output` key gives.

    Args:
        paths: the analysis's paths.
        files: the `files` entries (LoadData outputs).
        processes: the processes and `categories` the categories PreProcess writes sets of.
        vals: every validation index.
        observed_data: whether the analysis has a data file (the `data` output exists).
    """
    model = {"model": list(processes), "category": list(categories)}
    sources = {
        "loaded": Source(paths.loaded, {"file": list(files)}),
        "train": Source(paths.train, model),
        "test": Source(paths.test, model),
        "parameters": Source(paths.parameters, model),
        "validation": Source(paths.validation, {**model, "val": list(vals)}),
        "resampled_data": Source(paths.resampled_data, {"category": list(categories)}),
    }
    if observed_data:
        sources["data"] = Source(paths.data, {"category": list(categories)})
    return sources


@dataclass(frozen=True)
class CustomStep:
    """One checked custom step, its inputs resolved to files."""

    name: str
    module: str
    function: str
    options: dict[str, Any]
    inputs: dict[str, ResolvedInput]
    #: Declared output name -> its path, in the order the config lists them.
    outputs: dict[str, str]
    mem_mb: int
    runtime: int

    @property
    def module_file(self) -> str | None:
        """The module's file when the config gives a path (a rule input: an edit reruns)."""
        return self.module if is_module_file(self.module) else None

    @property
    def module_name(self) -> str | None:
        """The module's importable name when the config gives one (a param: a change reruns)."""
        return None if is_module_file(self.module) else self.module

    def rule_inputs(self) -> dict[str, str | list[str]]:
        """The rule's named inputs: each declared input (a file, or the list of an expanded
        output's files) under `input_key(name)`, and the module file under MODULE_INPUT.

        The job reads every path from its inputs, never from params, so the step also runs
        where Snakemake moves the files (remote storage).
        """
        named: dict[str, str | list[str]] = {
            input_key(name): value if isinstance(value, str) else [path for _, path in value]
            for name, value in self.inputs.items()
        }
        if self.module_file:
            named[MODULE_INPUT] = self.module_file
        return named

    def input_layout(self) -> dict[str, list[list[Any]] | None]:
        """Per declared input: None for one file, else each file's wildcard values in order
        (a param: the job pairs them with the files of `rule_inputs`)."""
        return {
            name: None if isinstance(value, str) else [values for values, _ in value]
            for name, value in self.inputs.items()
        }


def input_key(name: str) -> str:
    """The rule's input name of a declared input (prefixed: Snakemake's own names stay free)."""
    return f"{INPUT_PREFIX}{name}"


def is_module_file(module: str) -> bool:
    """Whether `module` names a file (a path, ending in .py) rather than a module name."""
    return module.endswith(".py") or "/" in module


def _check_module(module: str, where: tuple[str, ...]) -> None:
    """A module file exists (checked, never imported); a module name is a dotted name."""
    at = (*where, "module")
    if is_module_file(module):
        if not module.endswith(".py"):
            raise ConfigKeyError(at, f"{module!r}: the path of a module file ends in .py")
        if not Path(module).is_file():
            raise ConfigKeyError(at, f"no such file: {module}")
    elif not MODULE_NAME.match(module):
        raise ConfigKeyError(
            at,
            f"{module!r} is neither the path of a .py file nor an importable module name "
            f"(such as my_analysis.fractions)",
        )


def _check_outputs(outputs: Sequence[str], where: tuple[str, ...]) -> None:
    """Outputs are distinct relative file names inside the step's directory."""
    seen: set[PurePosixPath] = set()
    for index, name in enumerate(outputs):
        at: tuple[str | int, ...] = (*where, "outputs", index)
        path = PurePosixPath(name)
        if not name or path.is_absolute() or "\\" in name or str(path) != name:
            raise ConfigKeyError(
                at, f"{name!r}: expected a relative file name, such as x.yaml or plots/x.pdf"
            )
        if any(part.startswith(".") for part in path.parts):
            raise ConfigKeyError(
                at,
                f"{name!r}: a part of the name starts with '.' (outputs stay inside the step's "
                f"directory, and hidden names are its temporaries)",
            )
        if "{" in name or "}" in name:
            raise ConfigKeyError(at, f"{name!r}: braces are not allowed in a file name")
        if path in seen:
            raise ConfigKeyError(at, f"{name!r} is listed twice")
        clash = next((p for p in seen if p in path.parents or path in p.parents), None)
        if clash is not None:
            raise ConfigKeyError(
                at, f"{name!r} and {str(clash)!r}: one would be the other's directory"
            )
        seen.add(path)


def _workflow_input(
    spec: Mapping[str, Any], sources: Mapping[str, Source], at: tuple[str | int, ...]
) -> ResolvedInput:
    """The file (every wildcard given) or files (some left out) of a workflow output."""
    name = spec[OUTPUT_KEY]
    if name not in sources:
        raise ConfigKeyError(
            (*at, OUTPUT_KEY),
            unknown_name_message(name, "workflow output a custom step can read", sources),
        )
    source = sources[name]
    given = {k: v for k, v in spec.items() if k != OUTPUT_KEY}
    for key, value in given.items():
        if key not in source.wildcards:
            raise ConfigKeyError(
                (*at, key),
                f"the output '{name}' has no {key}; it has {list(source.wildcards) or 'none'}",
            )
        if value not in source.wildcards[key]:
            raise ConfigKeyError(
                (*at, key),
                unknown_name_message(
                    str(value), WILDCARD_KINDS[key], [str(v) for v in source.wildcards[key]]
                ),
            )
    keys = list(source.wildcards)
    choices = [[given[k]] if k in given else list(source.wildcards[k]) for k in keys]
    files = [
        [list(values), Paths.format(source.pattern, **dict(zip(keys, values, strict=True)))]
        for values in itertools.product(*choices)
    ]
    if len(given) == len(keys):
        return str(files[0][1])
    return files


def _step_input(
    spec: Mapping[str, Any],
    step: str,
    declared: Mapping[str, Sequence[str]],
    output_pattern: str,
    at: tuple[str | int, ...],
) -> str:
    """The path of another step's declared output."""
    other = spec[STEP_KEY]
    extra = sorted(set(spec) - {STEP_KEY, OUTPUT_KEY})
    if extra:
        raise ConfigKeyError(
            (*at, extra[0]),
            f"an input from another custom step takes only '{STEP_KEY}' and '{OUTPUT_KEY}'",
        )
    if other == step:
        raise ConfigKeyError((*at, STEP_KEY), "a step cannot read its own outputs")
    if other not in declared:
        raise ConfigKeyError((*at, STEP_KEY), unknown_name_message(other, "custom step", declared))
    output = spec[OUTPUT_KEY]
    if output not in declared[other]:
        raise ConfigKeyError(
            (*at, OUTPUT_KEY),
            unknown_name_message(
                output, f"declared output of custom step '{other}'", declared[other]
            ),
        )
    return Paths.format(output_pattern, step=other, output=output)


def _check_acyclic(reads: Mapping[str, Sequence[str]]) -> None:
    """No chain of custom steps reads its own outputs (Snakemake's message would not say which)."""
    done: set[str] = set()

    def visit(step: str, chain: list[str]) -> None:
        if step in chain:
            cycle = chain[chain.index(step) :] + [step]
            raise ConfigKeyError(
                (BLOCK, cycle[0], "inputs"),
                f"the custom steps read each other's outputs in a cycle: {' -> '.join(cycle)}",
            )
        if step in done:
            return
        for other in reads[step]:
            visit(other, [*chain, step])
        done.add(step)

    for step in reads:
        visit(step, [])


def custom_steps(
    block: Mapping[str, Mapping[str, Any]] | None,
    sources: Mapping[str, Source],
    output_pattern: str,
) -> dict[str, CustomStep]:
    """Every step of the `custom:` block (schema-checked already), checked and resolved.

    Args:
        block: the workflow config's `custom:` mapping (None or empty: no steps).
        sources: the workflow outputs an input may name (`workflow_sources`).
        output_pattern: the path pattern of a step's outputs, with `{step}` and `{output}`.

    Raises:
        ConfigKeyError: at the key path of the first problem.
    """
    block = block or {}
    declared = {name: list(entry["outputs"]) for name, entry in block.items()}
    steps: dict[str, CustomStep] = {}
    reads: dict[str, list[str]] = {}
    for name, entry in block.items():
        where = (BLOCK, name)
        if not STEP_NAME.match(name):
            raise ConfigKeyError(
                where,
                f"{name!r}: a step name starts with a letter and holds letters, digits and "
                f"'_' only (it names the rule custom_<step> and the output directory)",
            )
        _check_module(entry["module"], where)
        function = entry.get("function", DEFAULT_FUNCTION)
        if not function.isidentifier():
            raise ConfigKeyError((*where, "function"), f"{function!r} is not a function name")
        try:
            options = step_options(entry.get("options"))
        except ValueError as err:
            raise ConfigKeyError((*where, "options"), str(err)) from None
        _check_outputs(entry["outputs"], where)
        inputs: dict[str, ResolvedInput] = {}
        reads[name] = []
        for key, spec in (entry.get("inputs") or {}).items():
            at = (*where, "inputs", key)
            if not INPUT_NAME.match(key):
                raise ConfigKeyError(
                    at, f"{key!r}: an input's name holds letters, digits and '_' only"
                )
            if isinstance(spec, str):
                inputs[key] = spec
            elif STEP_KEY in spec:
                inputs[key] = _step_input(spec, name, declared, output_pattern, at)
                reads[name].append(spec[STEP_KEY])
            else:
                inputs[key] = _workflow_input(spec, sources, at)
        steps[name] = CustomStep(
            name=name,
            module=entry["module"],
            function=function,
            options=options,
            inputs=inputs,
            outputs={
                output: Paths.format(output_pattern, step=name, output=output)
                for output in entry["outputs"]
            },
            mem_mb=entry.get("mem_mb", DEFAULT_MEM_MB),
            runtime=entry.get("runtime", DEFAULT_RUNTIME),
        )
    _check_acyclic(reads)
    return steps
