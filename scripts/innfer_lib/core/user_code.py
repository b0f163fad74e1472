"""Python code a config names: the analyst's module, imported by the job that runs it.

Two kinds of config entry run code the analyst wrote: the function dicts of the analysis config
(`innfer_lib.data.functions`) and the workflow's custom steps (`innfer_lib.custom`). Both import a
module, by file path or by name, and look up one function in it. Doing that here once keeps
their errors alike: each names the config key and the file or module, never a bare traceback
from importlib. Nothing here runs at parse time: the DAG is built without executing user code.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from innfer_lib.core.errors import ConfigError

_FILE_CACHE: dict[Path, ModuleType] = {}


def import_file(path: str | Path, source: str) -> ModuleType:
    """Import a Python file by its path, once per process.

    Importing by path (not by module name) means the file the config names is the file that
    runs, whatever happens to be on `sys.path`; the cache keeps module-level state (and import
    time) to one copy when many entries use the same file.

    Args:
        path: the file.
        source: the config key that names it, for error messages.

    Raises:
        ConfigError: the file is missing, is not importable, or raised while importing.
    """
    path = Path(path).resolve()
    if path in _FILE_CACHE:
        return _FILE_CACHE[path]
    if not path.is_file():
        raise ConfigError(f"{source}: no such file: {path}")
    module_name = "innfer_user_" + re.sub(r"\W", "_", str(path))
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"{source}: cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as err:
        raise ConfigError(
            f"{source}: importing {path} failed: {type(err).__name__}: {err}"
        ) from err
    _FILE_CACHE[path] = module
    return module


def import_name(name: str, source: str) -> ModuleType:
    """Import a module by its dotted name from the job's Python path.

    A module that is not there is told apart from one that is there but itself imports
    something missing: the first is the config's mistake, the second the module's.

    Raises:
        ConfigError: no such module, or it raised while importing.
    """
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as err:
        missing = err.name or ""
        if missing and (name == missing or name.startswith(missing + ".")):
            raise ConfigError(
                f"{source}: no module named {name!r} on the job's Python path; give the path "
                f"of its .py file instead, or put its directory on PYTHONPATH"
            ) from err
        raise ConfigError(
            f"{source}: importing {name!r} failed: {type(err).__name__}: {err}"
        ) from err
    except Exception as err:
        raise ConfigError(
            f"{source}: importing {name!r} failed: {type(err).__name__}: {err}"
        ) from err


def module_function(module: ModuleType, name: str, source: str, where: str) -> Callable[..., Any]:
    """The function `name` that `module` defines.

    The config names the function, so looking that name up in what the module defines is the
    contract of the config entry, not a guess at what the module offers.

    Args:
        module: the imported module.
        name: the function's name.
        source: the config key that names the function, for error messages.
        where: the module as the message shows it (its file or its name).

    Raises:
        ConfigError: the module defines no such name, or the name is not callable.
    """
    function = vars(module).get(name)
    if function is None:
        raise ConfigError(f"{source}: {where} defines no function {name!r}")
    if not callable(function):
        raise ConfigError(
            f"{source}: {name!r} in {where} is a {type(function).__name__}, not a function"
        )
    return function
