"""Build a dataset from a loaded file: shifts, derived columns, selections and weights.

Every PreProcess product (yields, training sets, validation sets, binned inputs) is the same
recipe applied with different parameter values, so there is one function for it. The order is
INNFER's: copies → shifted parameters → `calculate` → `post_calculate_selection` → category →
weight → weight shifts → `post_values`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from innfer_lib.core.analysis import Analysis
from innfer_lib.core.errors import DataError
from innfer_lib.core.expressions import evaluate, select
from innfer_lib.data import shifts as shift_specs
from innfer_lib.data.columns import calculate
from innfer_lib.data.schema import NOMINAL_WEIGHT, WEIGHT, WEIGHT_SHIFT

#: Bookkeeping column that carries each event's row in the frame through the selections, so
#: `post_values` reach the events they were drawn for; dropped before the events are returned.
_SOURCE_ROW = "__innfer_source_row"


def build_dataset(
    analysis: Analysis,
    base: str,
    frame: pd.DataFrame,
    category: str | None,
    shifts: Mapping[str, Mapping[str, Any]],
    rng: np.random.Generator,
    n_copies: int = 1,
    base_dir: str | None = None,
    record_draws: dict[str, np.ndarray] | None = None,
    post_values: Mapping[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Events of one file with parameter values set, derived columns and the final weight.

    Args:
        analysis: the analysis config.
        base: the `files` key the frame was loaded from.
        frame: the LoadData output (any extra bookkeeping columns are carried along).
        category: category name whose selection is applied, or None for no selection.
        shifts: {parameter: shift spec}; every parameter the file's expressions use and that is
            not a file column must be given (fixed values included).
        rng: random stream for the non-fixed shifts.
        n_copies: independent copies of every event, each with its own shift draws. The
            weights are not divided by it: only relative weights matter for training.
        base_dir: directory that relative function-module paths are resolved against.
        record_draws: if given, filled with the values each of `shifts` took per event of the
            frame (after the copies, before any selection), to be paired by `post_values`.
        post_values: parameter values set after the weights are computed (so they change
            neither), per event of the frame (after the copies): those `record_draws` of a build
            of the same frame recorded. Each event keeps its own value whatever the selections
            removed. INNFER's `post_shifts` drew them again instead; the classifier's nominal
            class uses this.

    Returns:
        The events with `wt` (final weight), `old_wt` (the weight expression alone) and
        `wt_shift` = wt / old_wt. Rows of zero weight are removed; rows of negative weight too
        when the file sets `remove_negative_weights`.
    """
    spec = analysis.raw["files"][base]
    source = f"files.{base}"
    out = frame.reset_index(drop=True)
    if n_copies > 1:
        out = pd.concat([out] * n_copies, ignore_index=True)
    else:
        out = out.copy()
    for param, values in (post_values or {}).items():
        if len(values) != len(out):
            raise ValueError(
                f"post_values.{param}: {len(values)} values for {len(out)} events of {source}"
            )
    for param, shift in shifts.items():
        out[param] = shift_specs.draw(shift, len(out), rng, f"shifts.{param}")
        if record_draws is not None:
            record_draws[param] = out[param].to_numpy().copy()
    out[_SOURCE_ROW] = np.arange(len(out))
    out = calculate(out, spec.get("calculate"), f"{source}.calculate", base_dir)[0]
    out = select(out, spec.get("post_calculate_selection"), f"{source}.post_calculate_selection")
    if category is not None:
        out = select(out, analysis.categories[category], f"categories.{category}")
    out = out.reset_index(drop=True)
    old = evaluate(out, spec.get("weight", WEIGHT), f"{source}.weight").to_numpy(np.float64)
    weight = old.copy()
    function_shifts = {}
    for name, entry in (spec.get("weight_shifts") or {}).items():
        if isinstance(entry, str):
            weight = weight * evaluate(out, entry, f"{source}.weight_shifts.{name}").to_numpy(
                np.float64
            )
        else:
            function_shifts[name] = entry
    out[WEIGHT] = weight
    out = calculate(out, function_shifts, f"{source}.weight_shifts", base_dir)[0]
    out[NOMINAL_WEIGHT] = old
    with np.errstate(divide="ignore", invalid="ignore"):
        out[WEIGHT_SHIFT] = np.where(old != 0, out[WEIGHT].to_numpy() / old, 1.0)
    for param, values in (post_values or {}).items():
        out[param] = np.asarray(values)[out[_SOURCE_ROW].to_numpy()]
    out = out.drop(columns=_SOURCE_ROW)
    keep = out[WEIGHT].to_numpy() != 0
    if spec.get("remove_negative_weights", False):
        keep &= out[WEIGHT].to_numpy() > 0
    out = out.loc[keep].reset_index(drop=True)
    if not np.isfinite(out[WEIGHT].to_numpy()).all():
        raise DataError(f"{source}: the weight (with weight_shifts) is NaN or infinite")
    return out
