"""Config steps that add or check columns, shared by LoadData, DataCategories and PreProcess.

`add_columns` / `data_add_columns` give constants per input file; `pre_calculate`,
`calculate`, `data_calculate` and the function entries of `weight_shifts` add columns from an
expression or a function dict; loaded columns must be float64 and finite. Each is written once
here so simulation and data go through the same rules and report errors the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from innfer_lib.core.errors import ConfigError, DataError
from innfer_lib.core.expressions import evaluate
from innfer_lib.data.functions import apply_function, function_columns


def per_input_values(mapping: Any, n_inputs: int, source: str) -> list[dict[str, Any]]:
    """Expand `add_columns` ({col: scalar or one value per input}) to one dict per input."""
    if not mapping:
        return [{} for _ in range(n_inputs)]
    if not isinstance(mapping, Mapping):
        raise ConfigError(f"{source}: expected a mapping {{column: value}}, got {mapping!r}")
    per_input: list[dict[str, Any]] = [{} for _ in range(n_inputs)]
    for column, value in mapping.items():
        if isinstance(value, list | tuple):
            if len(value) != n_inputs:
                raise ConfigError(
                    f"{source}.{column}: {len(value)} value(s) for {n_inputs} input file(s); "
                    "give one scalar or exactly one value per input"
                )
            values = list(value)
        elif isinstance(value, bool | int | float | str):
            values = [value] * n_inputs
        else:
            raise ConfigError(f"{source}.{column}: expected a scalar or a list, got {value!r}")
        for i, v in enumerate(values):
            per_input[i][column] = v
    return per_input


def calculate(
    frame: pd.DataFrame,
    entries: Any,
    source: str,
    base_dir: str | Path | None,
) -> tuple[pd.DataFrame, list[str]]:
    """Apply `calculate`-style entries in order; returns the frame and the new columns.

    A string entry sets column `name` to the expression (float64); a function dict replaces the
    frame, and its outputs are the declared `outputs` (or, undeclared, the columns it added).
    The caller's frame is not modified.
    """
    if not entries:
        return frame, []
    if not isinstance(entries, Mapping):
        raise ConfigError(f"{source}: expected a mapping {{name: expression or function dict}}")
    outputs: list[str] = []
    for name, entry in entries.items():
        key = f"{source}.{name}"
        if isinstance(entry, str):
            frame = frame.copy(deep=False)
            frame[name] = evaluate(frame, entry, key).to_numpy(dtype=np.float64)
            new = [name]
        else:
            before = set(frame.columns)
            frame = apply_function(frame, entry, key, base_dir)
            declared = function_columns(entry, key)[1]
            new = declared or [c for c in frame.columns if c not in before]
        outputs += [c for c in new if c not in outputs]
    return frame, outputs


def as_float(frame: pd.DataFrame, columns: Sequence[str], where: str) -> pd.DataFrame:
    """The given columns as one float64 frame; a non-numeric column is named, not a traceback."""
    out = {}
    for column in columns:
        try:
            out[column] = frame[column].to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError) as err:
            raise DataError(
                f"{where}: column '{column}' ({frame[column].dtype}) is not numeric: {err}"
            ) from err
    return pd.DataFrame(out, index=pd.RangeIndex(len(frame)))


def check_finite(frame: pd.DataFrame, columns: Sequence[str], where: str) -> None:
    """NaN or inf is an error: dropping such rows (as INNFER did) silently biases yields."""
    bad = [c for c in columns if not np.isfinite(frame[c].to_numpy()).all()]
    if bad:
        rows = int((~np.isfinite(frame[bad].to_numpy())).any(axis=1).sum())
        raise DataError(f"{where}: {rows} row(s) with NaN or inf in column(s) {bad}")
