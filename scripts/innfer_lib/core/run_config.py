"""INNFER run configs as they arrive: Python programs, `export_string` and `${VAR}` paths.

INNFER's run configs are often Python programs: imports, a helper that builds the part every
config shares, loops over systematics, and at the end a dict named `config`. The workflow
never runs config code while it builds its DAG (a config shared between users must not run
code on every `snakemake -n`), so such a program is converted once, at the user's request:
`innfer-convert-config my_config.py -o my_config.yaml` runs the program in a separate Python
process and writes its `config` as YAML. A `.py` file that assigns a literal dict is still
read directly (`config_files.read_config_file`).

`expand_variables` then gives configs INNFER's `${VAR}` paths: `export_string` ({VAR: value})
first, the environment second, and a variable set by neither is an error naming the key and the
variable (`os.path.expandvars`, as INNFER used it, leaves it in the path, to fail later as a
missing file).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from innfer_lib.core.errors import ConfigError
from innfer_lib.core.io import atomic_path

#: `$VAR` or `${VAR}`; `$$` is a literal dollar.
_VARIABLE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
EXPORTS = "export_string"
#: Keys whose values (at any depth) are paths, where `$VAR` is expanded.
PATH_KEYS = frozenset({"inputs", "data_file", "file"})

# Runs in the child process: the user's program, then its `config` as JSON into a file of its
# own. NumPy scalars become numbers; any other object that is not plain data is an error.
_CHILD = r"""
import json, os, runpy, sys
path, out_path = sys.argv[1], sys.argv[2]
sys.argv = [path]
namespace = runpy.run_path(path, run_name="__main__")

def plain(value):
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    raise TypeError(
        f"config holds a {type(value).__name__} ({value!r}): only dicts, lists, strings, "
        "numbers, booleans and None can be written as YAML"
    )

result = {"config": namespace["config"]} if "config" in namespace else {"missing": True}
text = json.dumps(result, default=plain)
with open(out_path, "w") as out:
    out.write(text)
"""


def run_config_program(path: str | Path, pythonpath: Sequence[str | Path] = ()) -> dict[str, Any]:
    """Run a Python run config in its own process and return its `config` dict.

    The program runs as `python <path>` would, from the caller's working directory (its
    relative paths mean what they meant to INNFER) with its own directory first on
    `sys.path` (it imports its neighbours), plus `pythonpath`; what it prints is passed on to
    stderr.

    Raises:
        ConfigError: the file does not exist, the program raises (with the end of its
            traceback), defines no `config`, or `config` is not a dict of plain data.
    """
    path = Path(path).resolve()
    if not path.is_file():
        raise ConfigError(f"run config not found: {path}")
    env = dict(os.environ)
    extra = [str(path.parent), *(str(Path(p).resolve()) for p in pythonpath)]
    env["PYTHONPATH"] = os.pathsep.join([*extra, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    with tempfile.TemporaryDirectory(prefix="innfer-config-") as scratch:
        result = Path(scratch) / "config.json"
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD, str(path), str(result)],
            capture_output=True,
            text=True,
            env=env,
        )
        text = result.read_text() if result.is_file() else ""
    # What the program printed, passed on: the config comes back in a file of its own, so
    # prints cannot corrupt it.
    sys.stderr.write(proc.stdout)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-6:])
        raise ConfigError(
            f"{path}: the run config program failed (exit {proc.returncode}):\n{tail}"
        )
    found = json.loads(text) if text else {"missing": True}
    if found.get("missing"):
        raise ConfigError(f"{path}: the program ran but defines no variable `config`")
    config = found["config"]
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: `config` must be a dict, got {type(config).__name__}")
    return config


def expand_variables(raw: Mapping[str, Any], source: str) -> dict[str, Any]:
    """Expand `$VAR` / `${VAR}` in the config's paths, `export_string` before the environment.

    Paths are the values of `inputs`, `data_file` and `file` keys at any depth (a file's
    inputs, the observed data, a user function's module). Other strings are left alone: plot
    labels hold LaTeX such as `$p_T$`.

    Raises:
        ConfigError: a variable that neither `export_string` nor the environment sets, or an
            `export_string` that is not a mapping of names to scalars; the message names the
            key path.
    """
    exports = raw.get(EXPORTS) or {}
    if not isinstance(exports, Mapping) or not all(
        isinstance(v, str | int | float) and not isinstance(v, bool) for v in exports.values()
    ):
        raise ConfigError(f"{source}: {EXPORTS} must map variable names to values, got {exports!r}")
    values = {**os.environ, **{str(k): str(v) for k, v in exports.items()}}

    def expand(value: Any, where: str, is_path: bool) -> Any:
        if isinstance(value, str):
            return (
                _VARIABLE.sub(lambda m: _value(m, values, where, source), value)
                if is_path
                else value
            )
        if isinstance(value, Mapping):
            return {
                k: expand(v, f"{where}.{k}" if where else str(k), k in PATH_KEYS)
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [expand(v, f"{where}[{i}]", is_path) for i, v in enumerate(value)]
        return value

    return {k: v if k == EXPORTS else expand(v, str(k), k in PATH_KEYS) for k, v in raw.items()}


def _value(match: re.Match[str], values: Mapping[str, str], where: str, source: str) -> str:
    if match.group(0) == "$$":
        return "$"
    name = match.group(1) or match.group(2)
    if name not in values:
        raise ConfigError(
            f"{source}: {where}: ${{{name}}} is not set: give it under {EXPORTS} or in the "
            "environment"
        )
    return values[name]


def normalise_analysis_config(raw: Mapping[str, Any], source: str) -> dict[str, Any]:
    """INNFER's top-level conveniences, resolved once: `${VAR}` expanded and a top-level
    `nuisance_constraints` moved to `inference.nuisance_constraints`, where INNFER's code read
    it (INNFER defaulted the top-level key and then ignored it).

    Raises:
        ConfigError: an unset variable, or two different constraint lists.
    """
    config = expand_variables(raw, source)
    if "nuisance_constraints" in config:
        top = config.pop("nuisance_constraints")
        inference = dict(config.get("inference") or {})
        inner = inference.get("nuisance_constraints")
        if inner is not None and inner != top:
            raise ConfigError(
                f"{source}: nuisance_constraints {top!r} and inference.nuisance_constraints "
                f"{inner!r} differ: give the list once"
            )
        inference["nuisance_constraints"] = top
        config["inference"] = inference
    return config


def main(argv: Sequence[str] | None = None) -> int:
    """`innfer-convert-config`: run an INNFER Python run config once and write it as YAML."""
    parser = argparse.ArgumentParser(
        prog="innfer-convert-config",
        description=(
            "Run an INNFER Python run config (a program that builds the dict `config`) in a "
            "separate process and write `config` as a YAML analysis config. The workflow reads "
            "the YAML; it never runs config code itself."
        ),
    )
    parser.add_argument("config", help="the run config program (.py)")
    parser.add_argument("-o", "--output", help="YAML file to write (default: <config>.yaml)")
    parser.add_argument(
        "--pythonpath",
        action="append",
        default=[],
        help="extra import directory for the program (repeatable), e.g. INNFER's python/",
    )
    args = parser.parse_args(argv)
    output = Path(args.output or Path(args.config).with_suffix(".yaml"))
    try:
        config = run_config_program(args.config, args.pythonpath)
    except ConfigError as err:
        print(f"innfer-convert-config: {err}", file=sys.stderr)
        return 1
    output.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(output) as tmp:
        tmp.write_text(
            f"# Converted from {Path(args.config).resolve()} by innfer-convert-config;\n"
            "# edit the program and convert again rather than editing this file.\n"
            + yaml.safe_dump(config, sort_keys=False)
        )
    print(f"wrote {output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
