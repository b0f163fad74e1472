"""Every expression string an analysis config holds, so all of them are checked when it is read.

Selections, weights and calculated columns are evaluated by jobs long after the workflow
starts; a string outside the expression grammar (or with a typo in a function name) is found
here instead, when the config is read for the DAG, and the message names the config file and
the key path the user wrote. Only the grammar can be checked this early: which columns exist is
known once the input files are read.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from innfer_lib.core.expressions import parse

#: Keys of a `files` entry that hold one expression.
FILE_EXPRESSIONS = ("selection", "post_add_column_selection", "weight", "post_calculate_selection")
#: Keys of a `files` entry mapping names to an expression (or to a function dict).
FILE_CALCULATIONS = ("pre_calculate", "calculate", "weight_shifts")
#: Keys of an `add_summed_columns` entry that hold an expression.
SUMMED_EXPRESSIONS = ("column", "selection")


def _named(value: Any, key: str) -> Iterator[tuple[str, Any]]:
    """(key path, value) of each entry of a mapping or a list (nothing for other shapes)."""
    if isinstance(value, Mapping):
        for name, entry in value.items():
            yield f"{key}.{name}", entry
    elif isinstance(value, list):
        for i, entry in enumerate(value):
            yield f"{key}[{i}]", entry


def _file_expressions(base: str, spec: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    key = f"files.{base}"
    for name in FILE_EXPRESSIONS:
        yield f"{key}.{name}", spec.get(name)
    yield from _named(spec.get("per_file_selection"), f"{key}.per_file_selection")
    for name in FILE_CALCULATIONS:
        yield from _named(spec.get(name), f"{key}.{name}")
    for entry_key, entry in _named(spec.get("add_summed_columns"), f"{key}.add_summed_columns"):
        if isinstance(entry, Mapping):
            for name in SUMMED_EXPRESSIONS:
                yield f"{entry_key}.{name}", entry.get(name)


def analysis_expressions(raw: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(key path, expression) of every expression string of an analysis config.

    Values of another type are skipped: a function dict in `calculate`, a null selection, or a
    malformed entry, which the code reading that key reports.
    """
    found: list[tuple[str, Any]] = [*_named(raw.get("categories"), "categories")]
    found.append(("data_selection", raw.get("data_selection")))
    found += _named(raw.get("data_calculate"), "data_calculate")
    normalise = (raw.get("preprocess") or {}).get("normalise_training_in")
    for key, selections in _named(normalise, "preprocess.normalise_training_in"):
        found += _named(selections, key)
    files = raw.get("files")
    if isinstance(files, Mapping):
        for base, spec in files.items():
            if isinstance(spec, Mapping):
                found += _file_expressions(base, spec)
    for key, value in found:
        if isinstance(value, str):
            yield key, value


def check_analysis_expressions(raw: Mapping[str, Any], source: str) -> None:
    """Check every expression of an analysis config against the grammar (a ConfigError if not)."""
    for key, expression in analysis_expressions(raw):
        parse(expression, f"{source}: {key}")
