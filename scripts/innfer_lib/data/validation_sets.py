"""Validation sets: the events of a process at each validation point, and samples drawn from them.

There is one validation index, the position of the point in the canonical loop
(`Analysis.validation_points`); INNFER kept several. A validation set keeps the raw (not
standardised) variables and parameters, the weight and the split each event belongs to, so a
fit, a plot or the pseudo-data resampler can pick any of INNFER's sim types from the one file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from innfer_lib.core.errors import DataError
from innfer_lib.data.preprocessor import ROW_SPLIT, Preprocessor
from innfer_lib.data.schema import SPLIT_COLUMN, WEIGHT
from innfer_lib.data.splits import DISCARDED, POINT_TOLERANCE, SIM_TYPES, sim_type_mask
from innfer_lib.data.weighted_stats import effective_events
from innfer_lib.data.yields import process_yield


def check_validation_points(
    pre: Preprocessor, ranges: Mapping[str, Sequence[float]], model: str = "density"
) -> None:
    """A validation point outside a model's training range would test an extrapolation.

    Checked where the model's training set is built (the density's and each ratio model's
    PreProcess), so the error comes before any training, naming the point, the parameter and
    the model.
    """
    for index, point in enumerate(pre.analysis.validation_points):
        for p, (low, high) in ranges.items():
            value = point[p]
            if value < low - POINT_TOLERANCE or value > high + POINT_TOLERANCE:
                raise DataError(
                    f"validation.loop[{index}]: {p} = {value:g} is outside the range the {model} "
                    f"of '{pre.process}' is trained on ([{low:g}, {high:g}] in category "
                    f"'{pre.category}'); a fit there would extrapolate the model"
                )


def point_set(pre: Preprocessor, point: Mapping[str, float], rng_key: str) -> pd.DataFrame:
    """The validation file's events at one parameter point, as a validation set stores them.

    Raw X and Y columns, the (unnormalised) weight, the extra columns and the split code of
    each event; events of the file that no split kept are left out. A validation point and a
    nuisance variation (`nuisance_variations`) are both such a set.

    Args:
        pre: the job.
        point: a full parameter point: file-column parameters are selected at it, the others
            set to it.
        rng_key: the name of the build's random stream (unused when every shift is fixed).
    """
    base = pre.analysis.validation_file(pre.process, pre.category)
    columns = [*pre.analysis.variables, *pre.y_columns]
    events = pre.build(base, point, rng_key=rng_key)
    events = events.loc[events[ROW_SPLIT] != DISCARDED]
    frame = events[[*columns, WEIGHT, *pre.extra_columns]].reset_index(drop=True)
    frame[SPLIT_COLUMN] = events[ROW_SPLIT].to_numpy()
    return frame


def validation_sets(
    pre: Preprocessor, ranges: Mapping[str, Sequence[float]]
) -> tuple[dict[int, pd.DataFrame], dict[str, dict[int, float]]]:
    """One event set per validation point, raw X, with the split each event belongs to.

    Args:
        pre: the job.
        ranges: the density's training range per learned parameter.

    Returns:
        The sets by validation index, and the effective number of events per sim type and index.
    """
    sets: dict[int, pd.DataFrame] = {}
    eff: dict[str, dict[int, float]] = {t: {} for t in SIM_TYPES}
    check_validation_points(pre, ranges)
    for index, point in enumerate(pre.analysis.validation_points):
        frame = point_set(pre, point, rng_key=f"val_{index}")
        sets[index] = frame
        for sim_type in SIM_TYPES:
            sel = sim_type_mask(frame[SPLIT_COLUMN].to_numpy(), sim_type)
            eff[sim_type][index] = effective_events(frame.loc[sel, WEIGHT].to_numpy())
    return sets, eff


def normalised_weights(
    weights: np.ndarray, yields: Mapping[str, Any], point: Mapping[str, float], rate: str | None
) -> np.ndarray:
    """Weights scaled to sum to the process yield at `point` (unchanged when they sum to 0).

    Each sim type (val, train_inf, ...) is normalised separately so that any of them is a
    stand-in for the full expected dataset.
    """
    total = weights.sum()
    expected = process_yield(yields, point, rate)
    return weights * (expected / total) if total != 0 else weights


def validation_sample(
    frame: pd.DataFrame,
    parameters: Mapping[str, Any],
    point: Mapping[str, float],
    sim_type: str = "val",
) -> tuple[np.ndarray, np.ndarray]:
    """X and weights of one validation set, normalised to the process yield at `point`."""
    sel = sim_type_mask(frame[SPLIT_COLUMN].to_numpy(), sim_type)
    x = frame.loc[sel, parameters["density"]["X_columns"]].to_numpy(np.float64)
    w = frame.loc[sel, WEIGHT].to_numpy(np.float64)
    return x, normalised_weights(w, parameters["yields"], point, parameters.get("rate_parameter"))
