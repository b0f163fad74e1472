"""LoadData: read the inputs of one `files` entry into one float64 parquet table."""

from __future__ import annotations

import numpy as np
import pandas as pd

from innfer_lib.config import Analysis
from innfer_lib.errors import DataError
from innfer_lib.expressions import identifiers, select
from innfer_lib.io import read_parquet


def required_columns(analysis: Analysis, base: str) -> list[str]:
    """Columns later stages read from a file: variables, parameters, weight and selections."""
    spec = analysis.raw["files"][base]
    cols = list(analysis.variables) + list(spec.get("parameters", []))
    cols += identifiers(spec.get("weight", "wt"), f"files.{base}.weight")
    for name, sel in analysis.categories.items():
        if sel:
            cols += identifiers(sel, f"categories.{name}")
    return list(dict.fromkeys(cols))


def load_file(analysis: Analysis, base: str) -> pd.DataFrame:
    """Read, select and trim every input of a `files` entry.

    Rows with NaN or infinite values are an error, not silently dropped: in weighted
    simulation they usually mean a broken upstream column, and dropping them would bias
    the yields without anyone noticing.
    """
    spec = analysis.raw["files"][base]
    columns = required_columns(analysis, base)
    frames = []
    for path in spec["inputs"]:
        if not str(path).endswith(".parquet"):
            raise DataError(f"files.{base}.inputs: {path}: only parquet inputs are supported yet")
        frame = read_parquet(path)
        frame = select(frame, spec.get("selection"), f"files.{base}.selection ({path})")
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise DataError(
                f"{path} (files.{base}): missing column(s) {missing}; present: "
                f"{sorted(frame.columns)}"
            )
        frame = frame[columns].astype(np.float64)
        bad = ~np.isfinite(frame.to_numpy()).all(axis=1)
        if bad.any():
            cols = [c for c in columns if not np.isfinite(frame[c]).all()]
            raise DataError(f"{path}: {int(bad.sum())} rows with NaN/inf in column(s) {cols}")
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    if out.empty:
        raise DataError(f"files.{base}: no events left after the selection")
    return out
