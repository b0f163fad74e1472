"""Restricted evaluation of the selection and weight strings of a config.

Config strings come from other people's files, so they are never given to Python's `eval`:
they go through pandas' expression parser (arithmetic, comparisons, boolean logic and a few
math functions over columns), and the columns they need are found with `ast` beforehand so
a typo is reported with the column name rather than a pandas traceback.
"""

from __future__ import annotations

import ast

import numpy as np
import pandas as pd

from innfer_lib.core.errors import ConfigError, DataError

FUNCTIONS = frozenset(
    {
        "abs",
        "exp",
        "log",
        "log10",
        "sqrt",
        "sin",
        "cos",
        "tan",
        "sinh",
        "cosh",
        "tanh",
        "arcsin",
        "arccos",
        "arctan",
        "expm1",
        "log1p",
    }
)
KEYWORDS = frozenset({"and", "or", "not", "True", "False"})


def identifiers(expression: str, source: str = "expression") -> list[str]:
    """Column names an expression reads, in first-seen order."""
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError as err:
        raise ConfigError(f"{source}: cannot parse {expression!r}: {err.msg}") from err
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id not in FUNCTIONS | KEYWORDS:
            if node.id not in names:
                names.append(node.id)
    return names


def evaluate(frame: pd.DataFrame, expression: str, source: str = "expression") -> pd.Series:
    """Evaluate an expression over a frame's columns, naming unknown columns clearly."""
    missing = [c for c in identifiers(expression, source) if c not in frame.columns]
    if missing:
        raise DataError(
            f"{source}: {expression!r} uses unknown column(s) {missing}; "
            f"available: {sorted(frame.columns)}"
        )
    result = frame.eval(expression, engine="python")
    if np.isscalar(result):
        result = pd.Series(np.full(len(frame), result), index=frame.index)
    return result


def select(frame: pd.DataFrame, expression: str | None, source: str = "selection") -> pd.DataFrame:
    """Rows passing a selection string (all rows when there is none)."""
    if not expression:
        return frame
    mask = evaluate(frame, expression, source)
    if mask.dtype != bool:
        raise ConfigError(f"{source}: {expression!r} is not a boolean selection")
    return frame.loc[mask.to_numpy()]
