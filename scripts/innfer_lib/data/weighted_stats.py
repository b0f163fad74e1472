"""Weighted statistics of event sets: moments, effective size, standardisation, reweighting.

Simulated events carry weights (some negative), so every summary PreProcess stores about a
training or validation set is a weighted one. These helpers are plain numpy/pandas; the order
of their sums is part of the stored numbers, so they are written once and shared.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from innfer_lib.data import shifts as shift_specs
from innfer_lib.data.schema import WEIGHT

#: Bins of the weighted histogram `reweight_to_shift` flattens.
REWEIGHT_BINS = 40


def weighted_mean_std(values: np.ndarray, weights: np.ndarray) -> tuple[float, float]:
    """Weighted mean and standard deviation; a constant column gets std 1 so it stays finite."""
    total = weights.sum()
    mean = float(np.sum(weights * values) / total)
    std = float(np.sqrt(max(np.sum(weights * (values - mean) ** 2) / total, 0.0)))
    return mean, (std if std > 0 else 1.0)


def effective_events(weights: np.ndarray) -> float:
    """Kish's effective sample size (Σw)²/Σw²: the size of an unweighted sample as precise."""
    sw2 = float(np.sum(weights**2))
    return float(np.sum(weights) ** 2 / sw2) if sw2 > 0 else 0.0


def reweight_to_shift(
    values: np.ndarray, weights: np.ndarray, spec: Mapping[str, Any], source: str
) -> np.ndarray:
    """Weights whose weighted distribution of a shifted parameter follows the shift's density.

    Weight-based nuisances tilt the weighted ν distribution away from what was drawn; a density
    trained on it would see some ν values more than others. The correction is the ratio of
    the target to the weighted histogram, interpolated between bin centres.
    """
    if len(values) == 0:
        return weights
    low, high = float(values.min()), float(values.max())
    if high <= low:
        return weights
    hist, edges = np.histogram(values, bins=REWEIGHT_BINS, range=(low, high), weights=weights)
    centres = 0.5 * (edges[1:] + edges[:-1])
    target = shift_specs.density(spec, centres, source) * np.diff(edges)
    target *= hist.sum() / target.sum()
    ratio = np.where(hist > 0, target / np.where(hist > 0, hist, 1.0), 1.0)
    return weights * np.interp(values, centres, ratio)


def standardisation_of(
    frame: pd.DataFrame, columns: Sequence[str], overrides: Mapping[str, Any] | None = None
) -> dict[str, dict[str, float]]:
    """Weighted mean and std of the training columns; config values take precedence."""
    w = frame[WEIGHT].to_numpy()
    out = {}
    for col in columns:
        if overrides and col in overrides:
            out[col] = {"mean": float(overrides[col]["mean"]), "std": float(overrides[col]["std"])}
        else:
            mean, std = weighted_mean_std(frame[col].to_numpy(), w)
            out[col] = {"mean": mean, "std": std}
    return out


def standardise(
    frame: pd.DataFrame, standardisation: Mapping[str, Mapping[str, float]]
) -> pd.DataFrame:
    """A copy with each listed column shifted and scaled to (x − mean) / std."""
    out = frame.copy()
    for col, s in standardisation.items():
        out[col] = (out[col] - s["mean"]) / s["std"]
    return out


def minmax(frame: pd.DataFrame, columns: Sequence[str]) -> dict[str, dict[str, float]]:
    """Range of each column, stored so a model can tell when it is asked to extrapolate."""
    return {c: {"min": float(frame[c].min()), "max": float(frame[c].max())} for c in columns}
