"""Weighted histograms and their bins: the numbers every comparison plot draws.

Conventions shared by all plots:
* histograms are weighted; the statistical error of a bin is √Σw²;
* bins are framed by quantiles of a sample; quantiles are weighted unless a weight is negative
  (NLO samples), when a weighted quantile is undefined and plain quantiles are used;
* entries whose value or weight is not finite are left out (and counted);
* a sample without width (a fixed parameter, no events) gets a window of ±0.5 so bins exist.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

#: Half width of the window around a sample without width.
DEGENERATE_HALF_WIDTH = 0.5
#: INNFER's Generator binning: 40 equal bins between the 0.1 % and 99.9 % quantiles.
GENERATOR_BINS = 40
GENERATOR_QUANTILES = (0.001, 0.999)


def finite(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Drop entries whose value or weight is not finite, reporting how many were dropped.

    NaN would make [min, max] and the quantiles NaN and an infinite weight would swamp every
    bin; a diagnostic plot should still be drawn, but say that it left entries out.
    """
    keep = np.isfinite(x) & np.isfinite(w)
    return x[keep], w[keep], int(keep.size - keep.sum())


def values_and_weights(pair: Any, name: str, ndim: int = 1) -> tuple[np.ndarray, np.ndarray, int]:
    """Unpack an ``(x, w)`` pair (``w`` may be None for unit weights), dropping non-finite rows.

    Args:
        pair: ``(x, w)``; x of shape (n,) for ``ndim`` 1 or (n, k) for ``ndim`` 2.
        name: What the pair is, for error messages.
        ndim: 1 for one column, 2 for several.

    Returns:
        The finite values, their weights and the number of dropped rows.

    Raises:
        ValueError: The lengths of x and w differ, or x has the wrong number of dimensions.
    """
    x_raw, w_raw = pair
    x = np.asarray(x_raw, dtype=float)
    if ndim == 1:
        x = x.reshape(-1)
    elif x.ndim != 2:
        raise ValueError(f"{name}: expected values of shape (n, k), got {x.shape}")
    w = np.ones(len(x)) if w_raw is None else np.asarray(w_raw, dtype=float).reshape(-1)
    if len(w) != len(x):
        raise ValueError(f"{name}: {len(x)} values but {len(w)} weights")
    if ndim == 1:
        return finite(x, w)
    keep = np.all(np.isfinite(x), axis=1) & np.isfinite(w)
    return x[keep], w[keep], int(keep.size - keep.sum())


def pooled(
    samples: Iterable[tuple[np.ndarray, np.ndarray, int]], columns: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Several `values_and_weights` samples as one ``(x, w)`` (e.g. all synthetic processes).

    Args:
        samples: ``(x, w, dropped)`` per sample.
        columns: None for one-column samples; else the number of columns, which an empty pool
            keeps.
    """
    parts = list(samples)
    empty_x = np.empty(0) if columns is None else np.empty((0, columns))
    return (
        np.concatenate([p[0] for p in parts] or [empty_x]),
        np.concatenate([p[1] for p in parts] or [np.empty(0)]),
    )


def weighted_quantiles(
    x: np.ndarray, w: np.ndarray, quantiles: Sequence[float] | npt.NDArray[np.float64]
) -> np.ndarray:
    """Quantiles of a weighted sample; plain quantiles when a weight is negative or Σw ≤ 0.

    A weighted quantile needs a non-decreasing cumulative weight, which negative weights break;
    the bin range only has to frame the bulk, so the unweighted quantile is good enough there.

    Args:
        x: The sample.
        w: Its weights.
        quantiles: The quantiles, in [0, 1].

    Raises:
        ValueError: ``x`` is empty.
    """
    if len(x) == 0:
        raise ValueError("quantiles of an empty sample")
    if np.all(w >= 0) and np.sum(w) > 0:
        return np.quantile(x, quantiles, weights=w, method="inverted_cdf")
    return np.quantile(x, quantiles)


def widen(lo: float, hi: float) -> tuple[float, float]:
    """Give a zero-width range a window, so a constant column still gets bins."""
    if hi <= lo:
        return lo - DEGENERATE_HALF_WIDTH, hi + DEGENERATE_HALF_WIDTH
    return lo, hi


def quantile_range(
    x: np.ndarray, w: np.ndarray, quantiles: tuple[float, float]
) -> tuple[float, float]:
    """The range between two (weighted) quantiles of a sample, widened when it has no width.

    Cutting the far tails keeps a handful of outliers from squashing the bulk into a few bins.

    Raises:
        ValueError: ``x`` is empty.
    """
    lo, hi = (float(v) for v in weighted_quantiles(x, w, quantiles))
    return widen(lo, hi)


def quantile_edges(
    x: np.ndarray,
    w: np.ndarray,
    n_bins: int,
    quantiles: tuple[float, float] = GENERATOR_QUANTILES,
) -> np.ndarray:
    """``n_bins`` equal-width bins between two quantiles of a sample (INNFER's Generator bins)."""
    lo, hi = quantile_range(x, w, quantiles)
    return np.linspace(lo, hi, int(n_bins) + 1)


def equal_statistics_edges(
    x: np.ndarray, w: np.ndarray, n_bins: int, ignore_quantile: float = 0.0
) -> np.ndarray:
    """Bin edges holding about the same sum of weights each (INNFER's "bins_with_equal_stats").

    Edges are the quantiles at ``ignore_quantile + k (1 - 2 ignore_quantile) / n_bins``.
    Repeated edges (a discrete variable) are merged, so fewer bins than asked can come back; a
    constant sample gets a single bin of width 1 around its value.

    Raises:
        ValueError: ``x`` is empty.
    """
    qs = np.linspace(ignore_quantile, 1.0 - ignore_quantile, int(n_bins) + 1)
    edges = np.unique(weighted_quantiles(x, w, qs).astype(float))
    if len(edges) < 2:
        lo, hi = widen(float(edges[0]), float(edges[0]))
        edges = np.array([lo, hi])
    return edges


def resolve_edges(
    bins: int | Sequence[float],
    primary: tuple[np.ndarray, np.ndarray],
    fallback: tuple[np.ndarray, np.ndarray],
    quantiles: tuple[float, float],
) -> tuple[np.ndarray, bool]:
    """Explicit edges as given, else equal bins between quantiles of the primary sample.

    The fallback sample (the synthetic one) frames the bins only when the primary (simulated)
    one is empty, so a plot is still drawn; when both are empty the bins sit in the degenerate
    window and the plot says "no events".

    Returns:
        The edges, and whether both samples were empty.

    Raises:
        ValueError: Explicit edges are not strictly increasing or fewer than two.
    """
    if isinstance(bins, int | np.integer):
        for x, w in (primary, fallback):
            if len(x):
                return quantile_edges(x, w, int(bins), quantiles), False
        return np.linspace(-DEGENERATE_HALF_WIDTH, DEGENERATE_HALF_WIDTH, int(bins) + 1), True
    edges = np.asarray(bins, dtype=float).reshape(-1)
    if len(edges) < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError(f"bin edges must be at least two strictly increasing values: {bins}")
    return edges, False


def histogram(x: np.ndarray, w: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sum of weights per bin and its statistical error √Σw² (entries outside are ignored)."""
    counts, _ = np.histogram(x, bins=edges, weights=w)
    squares, _ = np.histogram(x, bins=edges, weights=w**2)
    return counts, np.sqrt(squares)


def histogram_series(
    x: np.ndarray, w: np.ndarray, edges: np.ndarray, dropped: int
) -> dict[str, Any]:
    """Histogram of one sample with its bookkeeping, as the plots return it to callers.

    Returns:
        ``{"counts", "errors", "sum_weights", "sum_weights_outside", "n_events", "n_dropped"}``.
    """
    counts, errors = histogram(x, w, edges)
    inside = (x >= edges[0]) & (x <= edges[-1])
    return {
        "counts": counts,
        "errors": errors,
        "sum_weights": float(np.sum(w)),
        "sum_weights_outside": float(np.sum(w[~inside])),
        "n_events": int(len(x)),
        "n_dropped": dropped,
    }


def summed(
    series: Sequence[Mapping[str, np.ndarray]], n_bins: int
) -> tuple[np.ndarray, np.ndarray]:
    """Bin-wise sum of stacked histograms and its error (errors added in quadrature).

    Zeros for an empty stack, so a plot without synthetic processes still has a total.
    """
    if not series:
        return np.zeros(n_bins), np.zeros(n_bins)
    total = np.sum([s["counts"] for s in series], axis=0)
    errors = np.sqrt(np.sum([s["errors"] ** 2 for s in series], axis=0))
    return total, errors


def divide(num: npt.ArrayLike, den: npt.ArrayLike) -> np.ndarray:
    """num / den with NaN where the denominator is zero (nothing to compare against there)."""
    n = np.asarray(num, dtype=float)
    d = np.asarray(den, dtype=float)
    return np.divide(n, d, out=np.full(np.broadcast(n, d).shape, np.nan), where=d != 0)


def chi_squared(
    a: npt.ArrayLike, a_err: npt.ArrayLike, b: npt.ArrayLike, b_err: npt.ArrayLike
) -> tuple[float, int]:
    """Σ (a − b)² / (σa² + σb²) over bins with a non-zero variance, and the number of such bins.

    Printed on the plot as a one-number summary of how far the two histograms are apart in
    units of their combined statistical error.
    """
    var = np.asarray(a_err) ** 2 + np.asarray(b_err) ** 2
    used = var > 0
    return float(np.sum((np.asarray(a)[used] - np.asarray(b)[used]) ** 2 / var[used])), int(
        used.sum()
    )


@dataclass(frozen=True)
class Stack:
    """Events and a stack of per-process predictions, histogrammed in the same bins.

    Attributes:
        edges: The bin edges.
        empty: Whether the events and every process were empty.
        events: `histogram_series` of the events.
        processes: `histogram_series` per process, in stacking order.
        total: Bin-wise sum of the processes (`summed`).
        total_errors: Its statistical error.
    """

    edges: np.ndarray
    empty: bool
    events: dict[str, Any]
    processes: dict[str, dict[str, Any]]
    total: np.ndarray
    total_errors: np.ndarray


def stack(
    events: tuple[Any, Any],
    by_process: Mapping[str, tuple[Any, Any]],
    bins: int | Sequence[float],
    names: tuple[str, str],
) -> Stack:
    """Histogram events and per-process samples in bins framed by the events (`resolve_edges`).

    Args:
        events: ``(x, w)`` of the events (``w`` None for unit weights).
        by_process: Process name to ``(x, w)`` of its predicted events.
        bins: Number of bins (between the Generator quantiles), or explicit edges.
        names: What the events and the processes are, for error messages.
    """
    x, w, dropped = values_and_weights(events, names[0])
    processes = {
        name: values_and_weights(pair, f"{names[1]} {name}") for name, pair in by_process.items()
    }
    edges, empty = resolve_edges(bins, (x, w), pooled(processes.values()), GENERATOR_QUANTILES)
    series = {name: histogram_series(px, pw, edges, d) for name, (px, pw, d) in processes.items()}
    total, total_errors = summed(list(series.values()), len(edges) - 1)
    return Stack(
        edges=edges,
        empty=empty,
        events=histogram_series(x, w, edges, dropped),
        processes=series,
        total=total,
        total_errors=total_errors,
    )
