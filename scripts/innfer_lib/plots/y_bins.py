"""Slices of a conditioning (Y) column: INNFER's 20 equal-statistics bins, and moments per slice.

PlotDensity compares simulated and synthetic X inclusively, which can hide a flow that gets the
θ dependence wrong while the mixture over θ still matches. Slicing the events by one Y column
shows the comparison where the density is conditioned. INNFER cuts 20 bins of equal weight;
a Y column simulated at a few discrete values (a mass scan) would then get bins that straddle
two values or repeat one, so such a column gets one slice per value instead. No plotting here:
the numbers are tested on their own and the plot functions draw them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from innfer_lib.data.weighted_stats import effective_events
from innfer_lib.plots.histograms import equal_statistics_edges

#: INNFER's PlotDensity: 20 equal-statistics bins of each Y column.
Y_BINS = 20


#: Values of a discrete column closer than this (relative to its largest magnitude) are one
#: value: a column that went through float32 standardisation and back is off by ~1e-7.
SAME_VALUE_RTOL = 1e-6


@dataclass(frozen=True)
class YSlice:
    """One slice of a Y column: ``low ≤ y < high`` (``≤ high`` for the last bin).

    A slice of a discrete column has ``value`` set and its edges half way to the neighbouring
    values (±inf at the ends), so float noise in a column's values does not lose events.

    Attributes:
        low: Lower edge.
        high: Upper edge.
        last: The slice includes its upper edge (the last equal-statistics bin).
        value: The value of a discrete column's slice; None for an equal-statistics bin.
    """

    low: float
    high: float
    last: bool = False
    value: float | None = None

    def mask(self, y: np.ndarray) -> np.ndarray:
        """Which entries of ``y`` fall in the slice."""
        y = np.asarray(y, dtype=float)
        upper = y <= self.high if self.last else y < self.high
        return (y >= self.low) & upper

    def label(self, column: str) -> str:
        """Legend text of the slice, e.g. ``"mass = 172.5"`` or ``"171.2 ≤ mass < 171.9"``."""
        if self.value is not None:
            return f"{column} = {self.value:.6g}"
        upper = "≤" if self.last else "<"
        return f"{self.low:.4g} ≤ {column} {upper} {self.high:.4g}"


def distinct_values(y: np.ndarray) -> np.ndarray:
    """The distinct values of a column, values within `SAME_VALUE_RTOL` of each other merged."""
    values = np.unique(y)
    if len(values) < 2:
        return values
    tol = SAME_VALUE_RTOL * max(1.0, float(np.max(np.abs(values))))
    return values[np.concatenate([[True], np.diff(values) > tol])]


def y_slices(y: np.ndarray, w: np.ndarray, n_bins: int = Y_BINS) -> list[YSlice]:
    """Slices of a Y column holding about equal sums of weights (INNFER's PlotDensity bins).

    The edges are weighted quantiles of ``y`` (`histograms.equal_statistics_edges`, without
    trimming, so every event is in one slice). A column with at most ``n_bins`` distinct values
    gets one slice per value: quantile edges would merge neighbouring values or leave a value
    alone in a bin by accident of where its quantile falls.

    Args:
        y: The Y column of the simulated events (physical units).
        w: Their weights.
        n_bins: Number of equal-statistics bins.

    Returns:
        The slices in increasing ``y``; every finite entry of ``y`` is in exactly one.

    Raises:
        ValueError: ``y`` has no finite entry, or ``n_bins`` < 1.
    """
    if int(n_bins) < 1:
        raise ValueError(f"n_bins must be at least 1, got {n_bins}")
    y = np.asarray(y, dtype=float).reshape(-1)
    w = np.asarray(w, dtype=float).reshape(-1)
    keep = np.isfinite(y) & np.isfinite(w)
    if not keep.any():
        raise ValueError("no finite Y values to slice")
    values = distinct_values(y[keep])
    if len(values) <= int(n_bins):
        mids = np.concatenate([[-np.inf], 0.5 * (values[1:] + values[:-1]), [np.inf]])
        return [
            YSlice(float(mids[i]), float(mids[i + 1]), value=float(v)) for i, v in enumerate(values)
        ]
    edges = equal_statistics_edges(y[keep], w[keep], int(n_bins))
    n = len(edges) - 1
    return [YSlice(float(edges[i]), float(edges[i + 1]), last=i == n - 1) for i in range(n)]


@dataclass(frozen=True)
class Moments:
    """Weighted mean and standard deviation of X in each Y slice, with statistical errors.

    Attributes:
        centre: Weighted mean of Y in each slice (where the point is drawn).
        mean: Weighted mean of X.
        mean_error: Its error, √Σw²(x − mean)² / Σw.
        std: Weighted standard deviation of X.
        std_error: Its large-sample error, std / √(2 n_eff) (Kish's effective events).
    """

    centre: np.ndarray
    mean: np.ndarray
    mean_error: np.ndarray
    std: np.ndarray
    std_error: np.ndarray


def slice_moments(x: np.ndarray, w: np.ndarray, y: np.ndarray, slices: list[YSlice]) -> Moments:
    """`Moments` of ``x`` in each slice of ``y`` (NaN for a slice with no positive weight).

    The mean and the width are the two numbers a conditional density most often gets wrong as
    θ changes (the peak position and the resolution), so they are shown against Y.
    """
    x, w, y = (np.asarray(a, dtype=float).reshape(-1) for a in (x, w, y))
    out: dict[str, list[float]] = {k: [] for k in ("centre", "mean", "me", "std", "se")}
    for s in slices:
        m = s.mask(y) & np.isfinite(x) & np.isfinite(w)
        ws, xs, ys = w[m], x[m], y[m]
        total = float(ws.sum())
        if not total > 0:
            for k in out:
                out[k].append(np.nan)
            continue
        mean = float(np.sum(ws * xs) / total)
        var = max(float(np.sum(ws * (xs - mean) ** 2) / total), 0.0)
        n_eff = effective_events(ws)
        out["centre"].append(float(np.sum(ws * ys) / total))
        out["mean"].append(mean)
        out["me"].append(float(np.sqrt(np.sum(ws**2 * (xs - mean) ** 2)) / total))
        out["std"].append(float(np.sqrt(var)))
        out["se"].append(float(np.sqrt(var / (2.0 * n_eff))) if n_eff > 0 else np.nan)
    return Moments(
        centre=np.array(out["centre"]),
        mean=np.array(out["mean"]),
        mean_error=np.array(out["me"]),
        std=np.array(out["std"]),
        std_error=np.array(out["se"]),
    )
