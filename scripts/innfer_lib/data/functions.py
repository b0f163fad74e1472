"""The "function dict" form of `pre_calculate`, `calculate`, `weight_shifts` and `data_calculate`.

INNFER lets a config entry name a Python function instead of an expression:

    {type: function, file: <module>, name: <function>, args: {...}, inputs: [...], outputs: [...]}

means `frame = module.function(frame, **args)`. This is one of the two places where configs run
code (the other is the workflow's custom steps, `innfer_lib.custom`), so it is deliberately narrow:
the module is either one of the built-in modules below or a Python file the analyst wrote
(imported by path, never looked up on `sys.path`, by `innfer_lib.core.user_code`), and every way
it can go wrong is reported as a ConfigError naming the config key, so an analyst is not left
with a traceback from deep inside pandas.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from innfer_lib.core.errors import ConfigError, DataError, InnferError
from innfer_lib.core.user_code import import_file, module_function
from innfer_lib.data import asym_log_normal

_KEYS = frozenset({"type", "file", "name", "args", "inputs", "outputs"})

#: Modules a config can name by a bare `file:` without shipping a Python file.
BUILTIN_MODULES: dict[str, dict[str, Callable[..., pd.DataFrame]]] = {
    "asym_log_normal": {
        "one_weight_variation": asym_log_normal.one_weight_variation,
        "two_weight_variation": asym_log_normal.two_weight_variation,
    }
}


def _string_list(value: Any, key: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{key}: expected a list of column names, got {value!r}")
    return list(value)


def _check_spec(spec: Any, source: str) -> Mapping[str, Any]:
    """Validate the shape of a function dict so later errors can assume the keys exist."""
    if not isinstance(spec, Mapping):
        raise ConfigError(
            f"{source}: expected an expression string or a function dict, got {spec!r}"
        )
    if spec.get("type") != "function":
        raise ConfigError(f"{source}: `type` must be 'function', got {spec.get('type')!r}")
    unknown = sorted(set(spec) - _KEYS)
    if unknown:
        raise ConfigError(f"{source}: unknown key(s) {unknown}; allowed: {sorted(_KEYS)}")
    for key in ("file", "name"):
        if not isinstance(spec.get(key), str) or not spec[key]:
            raise ConfigError(f"{source}.{key}: required, a non-empty string")
    args = spec.get("args")
    if args is not None and not isinstance(args, Mapping):
        raise ConfigError(f"{source}.args: expected a mapping of keyword arguments, got {args!r}")
    return spec


def function_columns(
    spec: Mapping[str, Any], source: str = "function"
) -> tuple[list[str], list[str]]:
    """Declared (inputs, outputs) of a function dict.

    The loader cannot look inside a user's function, so these declarations are how it knows
    which columns to read from disk and which ones are produced rather than stored.

    Args:
        spec: the function dict.
        source: config key of the entry, for error messages.

    Returns:
        The `inputs` and `outputs` lists (empty when not declared).
    """
    spec = _check_spec(spec, source)
    return (
        _string_list(spec.get("inputs"), f"{source}.inputs"),
        _string_list(spec.get("outputs"), f"{source}.outputs"),
    )


def _builtin_name(file: str) -> str | None:
    """Name of the built-in module a bare `file:` refers to (with or without `.py`)."""
    stem = file[:-3] if file.endswith(".py") else file
    return stem if stem in BUILTIN_MODULES else None


def _resolve_file(file: str, base_dir: str | Path | None, source: str) -> Path:
    path = Path(file)
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    candidates = [path] if path.suffix == ".py" else [path, path.with_name(path.name + ".py")]
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    raise ConfigError(
        f"{source}.file: {file!r} is neither a built-in module {sorted(BUILTIN_MODULES)} nor an "
        f"existing Python file (looked for {[str(c) for c in candidates]})"
    )


def _resolve_function(
    spec: Mapping[str, Any], source: str, base_dir: str | Path | None
) -> Callable[..., Any]:
    file, name = spec["file"], spec["name"]
    builtin = _builtin_name(file)
    if builtin is not None:
        functions = BUILTIN_MODULES[builtin]
        if name not in functions:
            raise ConfigError(
                f"{source}.name: built-in module '{builtin}' has no function {name!r}; "
                f"available: {sorted(functions)}"
            )
        return functions[name]
    path = _resolve_file(file, base_dir, source)
    module = import_file(path, f"{source}.file")
    return module_function(module, name, f"{source}.name", str(path))


def apply_function(
    frame: pd.DataFrame,
    spec: Mapping[str, Any],
    source: str,
    base_dir: str | Path | None = None,
) -> pd.DataFrame:
    """Run one function dict on a frame: `module.function(frame, **args)`.

    Args:
        frame: the events; the function gets a shallow copy, so the caller's frame is unchanged
            even if the function edits its argument in place.
        spec: the function dict.
        source: config key of the entry (e.g. `files.base.pre_calculate.jec`), named in errors.
        base_dir: directory a relative `file` path is resolved against (default: the working
            directory).

    Returns:
        The frame the function returned.

    Raises:
        ConfigError: malformed dict, missing file or function, a function that fails or does
            not return a DataFrame, or declared outputs absent from its result.
        DataError: declared inputs absent from `frame`.
    """
    spec = _check_spec(spec, source)
    inputs, outputs = function_columns(spec, source)
    missing = [c for c in inputs if c not in frame.columns]
    if missing:
        raise DataError(
            f"{source}: declared input column(s) {missing} are missing; "
            f"available: {sorted(frame.columns)}"
        )
    function = _resolve_function(spec, source, base_dir)
    args = dict(spec.get("args") or {})
    try:
        result = function(frame.copy(deep=False), **args)
    except InnferError as err:
        raise type(err)(f"{source}: {err}") from err
    except Exception as err:
        raise ConfigError(
            f"{source}: {spec['file']}:{spec['name']} failed: {type(err).__name__}: {err}"
        ) from err
    if not isinstance(result, pd.DataFrame):
        raise ConfigError(
            f"{source}: {spec['file']}:{spec['name']} must return a pandas DataFrame, "
            f"got {type(result).__name__}"
        )
    absent = [c for c in outputs if c not in result.columns]
    if absent:
        raise ConfigError(
            f"{source}: declared output column(s) {absent} are not in the result of "
            f"{spec['file']}:{spec['name']}; it has {sorted(result.columns)}"
        )
    return result
