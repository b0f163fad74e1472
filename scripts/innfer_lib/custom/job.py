"""The job of a custom step: import the analyst's module, run its function, keep its outputs.

The module API. The module (a .py file, or a module on the job's Python path) defines

    def run(inputs, outputs, options, log):
        ...

(or the function the step's `function` names), called with keyword arguments:

- `inputs`: {name: path} for each declared input that is one file (a plain path, a workflow
  output with every wildcard given, another step's output); {(values...): path} for a workflow
  output whose wildcards were left out, keyed by the tuple of all its wildcard values in the
  output's order, e.g. `for (model, category), path in inputs["train"].items()`. Paths are
  `pathlib.Path`s.
- `outputs`: {declared name: path}: where to write each declared output. These are paths in a
  staging directory (their parent directories exist): the job moves every file into place only
  after the function returned and every declared output was written, so a failed step leaves
  nothing behind and never a half-written file.
- `options`: the step's options, a dict of its own (the function may change it).
- `log`: a `logging.Logger` whose records go to the step's log file.

The return value is ignored. The function must write every declared output; a file it writes
that is not declared is discarded with a warning. An exception it raises fails the job with one
line naming the module, the function, the error and the line of the module that raised it; the
module's own frames of the call stack go to the job log.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import os
import shutil
import tempfile
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from innfer_lib.core.controller import on_orphan_exit
from innfer_lib.core.errors import InnferError
from innfer_lib.core.runner import warn_terminal
from innfer_lib.core.user_code import import_file, import_name, module_function
from innfer_lib.custom.steps import BLOCK, input_key, is_module_file

#: The keyword arguments the function is called with.
API_ARGUMENTS = ("inputs", "outputs", "options", "log")
#: Prefix of a step's staging directory beside its outputs (removed whatever happens).
STAGING_PREFIX = ".staging."

#: Staging directories of this process: removed if the job stops because its controller died.
_STAGING: set[Path] = set()


def _remove_staging() -> None:
    for directory in list(_STAGING):
        shutil.rmtree(directory, ignore_errors=True)


on_orphan_exit(_remove_staging)


class CustomStepError(InnferError):
    """A custom step's module failed: it raised, or did not write what it declares."""


def source_of(step: str, key: str | None = None) -> str:
    """The config key path of a step (or of one of its keys), as messages show it."""
    return f"{BLOCK}.{step}" + (f".{key}" if key else "")


def load_step_function(step: str, module: str, function: str) -> tuple[Callable[..., Any], str]:
    """Import a step's module and find its function; returns (function, module as shown).

    Raises:
        ConfigError: the module cannot be found or imported, or lacks the function.
        CustomStepError: the function does not take the API's keyword arguments.
    """
    loaded: ModuleType
    if is_module_file(module):
        loaded = import_file(module, source_of(step, "module"))
    else:
        loaded = import_name(module, source_of(step, "module"))
    where = str(getattr(loaded, "__file__", None) or module)
    found = module_function(loaded, function, source_of(step, "function"), where)
    try:
        signature = inspect.signature(found)
    except (TypeError, ValueError):  # a builtin or C function: let the call tell
        return found, where
    try:
        signature.bind(**dict.fromkeys(API_ARGUMENTS))
    except TypeError:
        raise CustomStepError(
            f"{source_of(step, 'function')}: {function}{signature} in {where} must take the "
            f"keyword arguments ({', '.join(API_ARGUMENTS)})"
        ) from None
    return found, where


def module_inputs(
    layout: Mapping[str, Sequence[Sequence[Any]] | None], files: Mapping[str, Any]
) -> dict[str, Any]:
    """The function's `inputs` argument (see the module docstring).

    Args:
        layout: `CustomStep.input_layout()`: per input, None or each file's wildcard values.
        files: the job's named inputs (`CustomStep.rule_inputs()`), a path or a list of paths.
    """
    inputs: dict[str, Any] = {}
    for name, keys in layout.items():
        value = files[input_key(name)]
        if keys is None:
            inputs[name] = Path(value)
        else:
            inputs[name] = {
                tuple(key): Path(path) for key, path in zip(keys, list(value), strict=True)
            }
    return inputs


@contextlib.contextmanager
def staged_outputs(outputs: Mapping[str, str | Path], source: str) -> Iterator[dict[str, Path]]:
    """Yield staging paths of the declared outputs; on success move each into place.

    The staging directory is made beside the outputs (same filesystem: the moves are atomic
    renames). Nothing is moved unless every declared output is a file there, so a failed step
    leaves none of them (a job killed between two renames is incomplete, and Snakemake reruns
    it); the staging directory, with anything undeclared in it, is removed in every case.

    Raises:
        CustomStepError: declared outputs that were not written (named, with what was).
    """
    finals = {name: Path(path) for name, path in outputs.items()}
    parent = Path(os.path.commonpath([p.parent for p in finals.values()]))
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=parent))
    _STAGING.add(staging)
    try:
        staged = {name: staging / name for name in finals}
        for path in staged.values():
            path.parent.mkdir(parents=True, exist_ok=True)
        yield staged
        missing = [name for name, path in staged.items() if not path.is_file()]
        written = sorted(str(p.relative_to(staging)) for p in staging.rglob("*") if p.is_file())
        if missing:
            raise CustomStepError(
                f"{source}: did not write the declared output(s) {missing} (it wrote "
                f"{written or 'nothing'}); write each to the path outputs[name]"
            )
        undeclared = sorted(set(written) - set(finals))
        if undeclared:
            warn_terminal(
                f"{source}: discarded {undeclared}, which it wrote but does not declare "
                f"(add them to {source}.outputs to keep them)"
            )
        for name, path in staged.items():
            finals[name].parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, finals[name])
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        _STAGING.discard(staging)


def _raised_at(err: BaseException, module_file: str) -> tuple[str, list[str]]:
    """Where in the module an error was raised: (`file, line N, in f`, the module's frames).

    The deepest frame in the module's own file is the line the analyst looks at; if the error
    came from elsewhere (a library the module called) that frame is the module's last call.
    """
    frames = traceback.extract_tb(err.__traceback__)
    own = [f for f in frames if os.path.realpath(f.filename) == os.path.realpath(module_file)]
    shown = own or frames[-1:]
    lines = [f"{f.filename}, line {f.lineno}, in {f.name}: {(f.line or '').strip()}" for f in own]
    if not shown:
        return "", lines
    frame = shown[-1]
    return f" (at {frame.filename}, line {frame.lineno}, in {frame.name})", lines


def run_custom_step(
    step: str,
    module: str,
    function: str,
    inputs: Mapping[str, Any],
    outputs: Mapping[str, str | Path],
    options: Mapping[str, Any],
) -> None:
    """Run one custom step: its function on the inputs, its outputs moved into place.

    Args:
        step: the step's name (its key in `custom:`).
        module: the module, a .py path or an importable name.
        function: the function's name.
        inputs: the function's `inputs` argument (`module_inputs`).
        outputs: declared output name -> final path.
        options: the step's options.

    Raises:
        ConfigError: the module or function cannot be found (named).
        CustomStepError: the function raised (an InnferError from a library call it made
            keeps its message, prefixed with the step), exited, or did not write every declared
            output.
    """
    run, where = load_step_function(step, module, function)
    source = f"{source_of(step)}: {where}:{function}"
    log = logging.getLogger(f"innfer.custom.{step}")
    arguments = {"inputs": dict(inputs), "options": dict(options), "log": log}
    with staged_outputs(outputs, source) as staged:
        try:
            run(outputs=dict(staged), **arguments)
        except InnferError as err:
            raise CustomStepError(f"{source}: {err}") from err
        except SystemExit as err:
            raise CustomStepError(
                f"{source} called sys.exit({err.code!r}); a step ends by returning"
            ) from err
        except Exception as err:
            at, frames = _raised_at(err, where)
            if frames:
                log.error("the module's frames of the call stack, outermost first:")
                for line in frames:
                    log.error("  %s", line)
            raise CustomStepError(f"{source} raised {type(err).__name__}: {err}{at}") from err
