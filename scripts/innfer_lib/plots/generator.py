"""Plots of synthetic against simulated events: Generator, GeneratorSummary, PlotDensity, Flow.

These replace INNFER's Generator (1-D per process, stacked "combined", 2-D unrolled),
GeneratorSummary, PlotDensity, Flow and EpochPerformanceMetricsPlot figures (spec models.md
§7). Every function takes numbers, never files or models, and returns what it drew (bin edges,
per-series values), so tests and callers can check a plot without reading the image back and
this module never needs TensorFlow.

Conventions shared by all comparison plots:
* histograms are weighted; the statistical error of a bin is √Σw²;
* the simulated events are points with error bars, the synthetic (Asimov) events a line with a
  shaded band for their own statistical error, so a real mismodelling can be told from a
  fluctuation of either sample;
* the ratio panel shows simulated / synthetic with the simulated errors, around a band
  1 ± σ_synthetic/synthetic (INNFER's plot style 5);
* bins are framed by quantiles of the simulated events; quantiles are weighted unless a weight is
  negative (NLO samples), when a weighted quantile is undefined and plain quantiles are used;
* entries whose value or weight is not finite are left out (and counted).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.ticker import MaxNLocator

from innfer_lib.plots.common import COLOURS, _style, plt, save
from innfer_lib.plots.inputs import (
    DEGENERATE_HALF_WIDTH,
    _cycle_colours,
    _finite,
    _no_events,
    _plain,
)

GENERATOR_BINS = 40
GENERATOR_QUANTILES = (0.001, 0.999)
UNROLLED_BINS = 10
UNROLLED_SLICES = 5
SUMMARY_BINS = 10
SUMMARY_IGNORE_QUANTILE = 0.001
DENSITY_BINS = 20
DENSITY_TRIM = 0.02
DENSITY_RATIO_RANGE = (0.9, 1.1)
FLOW_BINS = 100
FLOW_RANGE = (-3.0, 3.0)
FLOW_COLUMNS = 4

SIMULATED_COLOUR = "black"
SYNTHETIC_COLOUR = COLOURS["learned"]
BAND_ALPHA = 0.3


# --------------------------------------------------------------------------------------------
# Numbers: inputs, quantiles, binning, histograms
# --------------------------------------------------------------------------------------------
def _values_and_weights(pair: Any, name: str, ndim: int = 1) -> tuple[np.ndarray, np.ndarray, int]:
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
        return _finite(x, w)
    keep = np.all(np.isfinite(x), axis=1) & np.isfinite(w)
    return x[keep], w[keep], int(keep.size - keep.sum())


def weighted_quantiles(x: np.ndarray, w: np.ndarray, quantiles: Sequence[float]) -> np.ndarray:
    """Quantiles of a weighted sample; plain quantiles when a weight is negative or Σw ≤ 0.

    A weighted quantile needs a non-decreasing cumulative weight, which negative weights break;
    the bin range only has to frame the bulk, so the unweighted quantile is good enough there.

    Raises:
        ValueError: ``x`` is empty.
    """
    if len(x) == 0:
        raise ValueError("quantiles of an empty sample")
    if np.all(w >= 0) and np.sum(w) > 0:
        return np.quantile(x, quantiles, weights=w, method="inverted_cdf")
    return np.quantile(x, quantiles)


def _widen(lo: float, hi: float) -> tuple[float, float]:
    """Give a zero-width range a window, so a constant column still gets bins."""
    if hi <= lo:
        return lo - DEGENERATE_HALF_WIDTH, hi + DEGENERATE_HALF_WIDTH
    return lo, hi


def quantile_edges(
    x: np.ndarray,
    w: np.ndarray,
    n_bins: int,
    quantiles: tuple[float, float] = GENERATOR_QUANTILES,
) -> np.ndarray:
    """``n_bins`` equal-width bins between two quantiles of a sample (INNFER's Generator binning).

    Cutting the far tails keeps a handful of outliers from squashing the bulk into a few bins.
    """
    lo, hi = (float(v) for v in weighted_quantiles(x, w, quantiles))
    lo, hi = _widen(lo, hi)
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
        lo, hi = _widen(float(edges[0]), float(edges[0]))
        edges = np.array([lo, hi])
    return edges


def histogram(x: np.ndarray, w: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sum of weights per bin and its statistical error √Σw² (entries outside are ignored)."""
    counts, _ = np.histogram(x, bins=edges, weights=w)
    squares, _ = np.histogram(x, bins=edges, weights=w**2)
    return counts, np.sqrt(squares)


def _divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den with NaN where the denominator is zero (nothing to compare against there)."""
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    return np.divide(num, den, out=np.full(np.broadcast(num, den).shape, np.nan), where=den != 0)


def chi_squared(
    a: np.ndarray, a_err: np.ndarray, b: np.ndarray, b_err: np.ndarray
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


def _resolve_edges(
    bins: int | Sequence[float],
    primary: tuple[np.ndarray, np.ndarray],
    fallback: tuple[np.ndarray, np.ndarray],
    quantiles: tuple[float, float],
) -> np.ndarray | None:
    """Explicit edges as given, else equal bins between quantiles of the primary sample.

    The synthetic sample frames the bins only when there are no simulated events at all, so a
    plot is still drawn; None when both are empty.

    Raises:
        ValueError: Explicit edges are not strictly increasing or fewer than two.
    """
    if not isinstance(bins, int | np.integer):
        edges = np.asarray(bins, dtype=float).reshape(-1)
        if len(edges) < 2 or np.any(np.diff(edges) <= 0):
            raise ValueError(f"bin edges must be at least two strictly increasing values: {bins}")
        return edges
    for x, w in (primary, fallback):
        if len(x):
            return quantile_edges(x, w, int(bins), quantiles)
    return None


def _series(x: np.ndarray, w: np.ndarray, edges: np.ndarray, dropped: int) -> dict[str, Any]:
    """Histogram of one sample with its bookkeeping, as returned to callers."""
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


# --------------------------------------------------------------------------------------------
# Drawing helpers
# --------------------------------------------------------------------------------------------
def _ratio_figure(width: float = 9.0, height: float = 8.0) -> tuple[Any, Any, Any]:
    """A main panel over a ratio panel sharing the x axis."""
    fig, (ax, rax) = plt.subplots(
        2,
        1,
        figsize=(width, height),
        sharex=True,
        gridspec_kw={"height_ratios": [3, 1], "hspace": 0.05},
    )
    return fig, ax, rax


def _draw_points(ax: Any, edges: np.ndarray, counts, errors, label: str, colour=SIMULATED_COLOUR):
    """Simulated events: markers at the bin centres with √Σw² error bars."""
    centres = 0.5 * (edges[1:] + edges[:-1])
    ax.errorbar(centres, counts, yerr=errors, fmt="o", ms=4, color=colour, label=label, zorder=4)


def _draw_band(ax: Any, edges: np.ndarray, centre, errors, colour, label: str | None = None):
    """A shaded ±error band around a histogram (or around 1 in a ratio panel)."""
    centre = np.nan_to_num(np.asarray(centre, dtype=float))
    errors = np.nan_to_num(np.asarray(errors, dtype=float))
    ax.stairs(
        centre + errors,
        edges,
        baseline=centre - errors,
        fill=True,
        color=colour,
        alpha=BAND_ALPHA,
        lw=0,
        label=label,
    )


def _draw_ratio(
    rax: Any,
    edges: np.ndarray,
    ratio: np.ndarray,
    ratio_errors: np.ndarray,
    band: np.ndarray,
    ratio_range: tuple[float, float],
    ylabel: str,
) -> None:
    """Simulated/synthetic points with errors around the synthetic statistical band."""
    _draw_band(rax, edges, np.ones_like(band), band, SYNTHETIC_COLOUR)
    rax.axhline(1.0, color="grey", ls="--", lw=1)
    _draw_points(rax, edges, ratio, ratio_errors, label="")
    rax.set_ylim(*ratio_range)
    rax.set_ylabel(ylabel, fontsize=12)


def _finish_main(ax: Any, edges: np.ndarray, tops: Sequence[np.ndarray], empty: bool) -> None:
    """Common y range (room for the legend), x range and the empty-input notice."""
    if empty:
        _no_events(ax)
    values = [np.nan_to_num(np.asarray(t, dtype=float)) for t in tops if t is not None]
    high = max([0.0] + [float(v.max()) for v in values if v.size])
    low = min([0.0] + [float(v.min()) for v in values if v.size])
    ax.set_ylim(low * 1.1 if low < 0 else 0.0, high * 1.45 if high > 0 else 1.0)
    ax.set_xlim(edges[0], edges[-1])


def _title(ax: Any, title: str) -> None:
    if title:
        ax.set_title(_plain(title), fontsize=14)


# --------------------------------------------------------------------------------------------
# Generator: one process, synthetic against simulated
# --------------------------------------------------------------------------------------------
def _finish_ratio_figure(
    fig: Any,
    ax: Any,
    rax: Any,
    ratio: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    ratio_range: tuple[float, float],
    ratio_label: str,
    xlabel: str,
    title: str,
    outputs: Sequence[str],
    text: str = "",
    chi2: float = 0.0,
    ndf: int = 0,
    ylabel: str = "events per bin",
) -> None:
    """Common tail of every histogram-with-ratio figure: notes, labels, ratio panel, save.

    `ratio` is (edges, ratio, ratio_errors, band), as `_draw_ratio` takes them.
    """
    notes = [text] if text else []
    if ndf:
        notes.append(f"$\\chi^2$/bins = {chi2:.1f}/{ndf}")
    if notes:
        ax.text(0.03, 0.95, "\n".join(notes), transform=ax.transAxes, va="top", fontsize=12)
    ax.set_ylabel(ylabel)
    ax.legend(loc="upper right", fontsize=11)
    _draw_ratio(rax, *ratio, ratio_range, ratio_label)
    rax.set_xlabel(_plain(xlabel))
    _title(ax, title)
    save(fig, outputs)


def _comparison(
    simulated: tuple[Any, Any],
    synthetic: tuple[Any, Any],
    edges_from: Any,
    quantiles: tuple[float, float],
    column: str,
    label: str | None,
    ratio_range: tuple[float, float],
    outputs: Sequence[str],
    title: str,
    text: str,
    simulated_label: str,
    synthetic_label: str,
    ylabel: str,
) -> dict[str, Any]:
    """Shared body of `generator_plot` and `density_comparison_plot`."""
    xs, ws, dropped_s = _values_and_weights(simulated, "simulated")
    xy, wy, dropped_y = _values_and_weights(synthetic, "synthetic")
    edges = _resolve_edges(edges_from, (xs, ws), (xy, wy), quantiles)
    empty = edges is None
    if empty:
        n = int(edges_from) if isinstance(edges_from, int | np.integer) else 1
        edges = np.linspace(-DEGENERATE_HALF_WIDTH, DEGENERATE_HALF_WIDTH, n + 1)
    sim = _series(xs, ws, edges, dropped_s)
    syn = _series(xy, wy, edges, dropped_y)
    ratio = _divide(sim["counts"], syn["counts"])
    ratio_errors = _divide(sim["errors"], syn["counts"])
    band = _divide(syn["errors"], syn["counts"])
    chi2, ndf = chi_squared(sim["counts"], sim["errors"], syn["counts"], syn["errors"])
    xlabel = label if label is not None else column

    _style()
    fig, ax, rax = _ratio_figure()
    ax.stairs(syn["counts"], edges, color=SYNTHETIC_COLOUR, lw=2, label=synthetic_label)
    _draw_band(
        ax,
        edges,
        syn["counts"],
        syn["errors"],
        SYNTHETIC_COLOUR,
        label=f"{synthetic_label} stat. unc.",
    )
    _draw_points(ax, edges, sim["counts"], sim["errors"], simulated_label)
    _finish_main(ax, edges, [syn["counts"] + syn["errors"], sim["counts"] + sim["errors"]], empty)
    _finish_ratio_figure(
        fig,
        ax,
        rax,
        (edges, ratio, ratio_errors, band),
        ratio_range,
        "sim. / synth.",
        xlabel,
        title,
        outputs,
        text,
        chi2,
        ndf,
        ylabel,
    )

    return {
        "edges": edges,
        "simulated": sim,
        "synthetic": syn,
        "ratio": ratio,
        "ratio_errors": ratio_errors,
        "synthetic_band": band,
        "chi2": chi2,
        "ndf": ndf,
        "xlabel": xlabel,
        "empty": empty,
    }


def generator_plot(
    simulated: tuple[Any, Any],
    synthetic: tuple[Any, Any],
    column: str,
    label: str | None = None,
    bins: int | Sequence[float] = GENERATOR_BINS,
    ratio_range: tuple[float, float] = (0.5, 1.5),
    outputs: Sequence[str] = (),
    title: str = "",
    *,
    simulated_label: str = "simulated",
    synthetic_label: str = "synthetic",
    text: str = "",
) -> dict[str, Any]:
    """Simulated validation events against the synthetic (Asimov) events of one process.

    Both samples are expected in events per bin (the caller normalises both to the yield), so
    the plot tests the shape and the normalisation together. By default there are 40 equal
    bins between the 0.1 % and 99.9 % quantiles of the simulated events (INNFER's Generator);
    explicit edges replace that (``--plot-var-and-bins``).

    Args:
        simulated: ``(x, w)`` of the simulated events; ``w`` None means unit weights.
        synthetic: ``(x, w)`` of the synthetic events.
        column: Column name; the x-axis label when ``label`` is None.
        label: x-axis label, with units if the column has any.
        bins: Number of bins, or explicit edges.
        ratio_range: y range of the ratio panel.
        outputs: Paths to write ([pdf, png]); nothing is written when empty.
        title: Figure title.
        simulated_label: Legend text of the simulated events ("data" for real data).
        synthetic_label: Legend text of the synthetic events.
        text: Extra text in the top-left corner (the parameter point, for example).

    Returns:
        ``{"edges", "simulated": {"counts", "errors", "sum_weights", "sum_weights_outside",
        "n_events", "n_dropped"}, "synthetic": {same}, "ratio": simulated/synthetic per bin
        (NaN where the synthetic bin is 0), "ratio_errors": σ_sim/synthetic, "synthetic_band":
        σ_synth/synthetic, "chi2", "ndf": bins used in χ², "xlabel", "empty"}``.

    Raises:
        ValueError: Mismatched value and weight lengths, or invalid explicit edges.
    """
    return _comparison(
        simulated,
        synthetic,
        bins,
        GENERATOR_QUANTILES,
        column,
        label,
        ratio_range,
        outputs,
        title,
        text,
        simulated_label,
        synthetic_label,
        "events per bin",
    )


def density_comparison_plot(
    simulated: tuple[Any, Any],
    synthetic: tuple[Any, Any],
    column: str,
    selection_label: str = "",
    label: str | None = None,
    n_bins: int = DENSITY_BINS,
    trim: float = DENSITY_TRIM,
    ratio_range: tuple[float, float] = DENSITY_RATIO_RANGE,
    outputs: Sequence[str] = (),
    title: str = "",
) -> dict[str, Any]:
    """PlotDensity: training/test events against one synthetic event per row (EvaluateDensity).

    The synthetic events carry the rows' own parameters and weights, so the two histograms
    should agree bin by bin within statistics; the narrow ratio range (0.9-1.1) shows the
    per-cent level mismodelling the density fit cares about. 20 equal bins between the 2 % and
    98 % quantiles of the simulated events, as in INNFER.

    Args:
        simulated: ``(x, w)`` of the training or test events (physical units).
        synthetic: ``(x, w)`` of the synthetic events with the rows' weights.
        column: Column name; the x-axis label when ``label`` is None.
        selection_label: Which events are shown ("inclusive", "172 ≤ mass < 173"), drawn in
            the corner.
        label: x-axis label.
        n_bins: Number of bins.
        trim: Fraction cut from each tail of the simulated events to frame the bins.
        ratio_range: y range of the ratio panel.
        outputs: Paths to write ([pdf, png]).
        title: Figure title.

    Returns:
        The same mapping as `generator_plot`.
    """
    return _comparison(
        simulated,
        synthetic,
        int(n_bins),
        (trim, 1.0 - trim),
        column,
        label,
        ratio_range,
        outputs,
        title,
        selection_label,
        "simulated",
        "synthetic",
        "sum of weights per bin",
    )


# --------------------------------------------------------------------------------------------
# Generator "combined": stacked processes
# --------------------------------------------------------------------------------------------
def _stack(
    ax: Any,
    edges: np.ndarray,
    series: Mapping[str, Mapping[str, np.ndarray]],
    total: np.ndarray,
    total_errors: np.ndarray,
) -> None:
    """Filled stack of the synthetic processes, their summed stat band and outline."""
    base = np.zeros(len(edges) - 1)
    for colour, (name, values) in zip(_cycle_colours(len(series)), series.items(), strict=True):
        top = base + values["counts"]
        ax.stairs(top, edges, baseline=base, fill=True, color=colour, alpha=0.8, label=name)
        base = top
    ax.stairs(total, edges, color="black", lw=1)
    _draw_band(ax, edges, total, total_errors, "grey", label="synthetic stat. unc.")


def stacked_generator_plot(
    simulated_total: tuple[Any, Any],
    synthetic_by_process: Mapping[str, tuple[Any, Any]],
    column: str,
    label: str | None = None,
    bins: int | Sequence[float] = GENERATOR_BINS,
    ratio_range: tuple[float, float] = (0.5, 1.5),
    outputs: Sequence[str] = (),
    title: str = "",
    *,
    simulated_label: str = "simulated",
    text: str = "",
) -> dict[str, Any]:
    """Generator "combined" view: stacked synthetic processes against all simulated events.

    This is how a fit sees the data, so it shows whether the processes add up; the per-process
    plots show which one is off. Binning as in `generator_plot`, from the summed simulated
    events.

    Args:
        simulated_total: ``(x, w)`` of all simulated events (every process, in events).
        synthetic_by_process: Process name (legend text) to ``(x, w)`` of its synthetic events,
            stacked in the given order from the bottom.
        column: Column name; the x-axis label when ``label`` is None.
        label: x-axis label.
        bins: Number of bins, or explicit edges.
        ratio_range: y range of the ratio panel.
        outputs: Paths to write ([pdf, png]).
        title: Figure title.
        simulated_label: Legend text of the simulated events.
        text: Extra text in the top-left corner.

    Returns:
        ``{"edges", "simulated": {...as generator_plot}, "synthetic": {process: {...}},
        "synthetic_total": {"counts", "errors"}, "ratio", "ratio_errors", "synthetic_band",
        "chi2", "ndf", "xlabel", "empty"}``.
    """
    xs, ws, dropped_s = _values_and_weights(simulated_total, "simulated")
    processes = {
        name: _values_and_weights(pair, f"synthetic {name}")
        for name, pair in synthetic_by_process.items()
    }
    pooled = (
        np.concatenate([p[0] for p in processes.values()] or [np.empty(0)]),
        np.concatenate([p[1] for p in processes.values()] or [np.empty(0)]),
    )
    edges = _resolve_edges(bins, (xs, ws), pooled, GENERATOR_QUANTILES)
    empty = edges is None
    if empty:
        n = int(bins) if isinstance(bins, int | np.integer) else 1
        edges = np.linspace(-DEGENERATE_HALF_WIDTH, DEGENERATE_HALF_WIDTH, n + 1)
    sim = _series(xs, ws, edges, dropped_s)
    syn = {name: _series(x, w, edges, d) for name, (x, w, d) in processes.items()}
    total = np.sum([s["counts"] for s in syn.values()], axis=0) if syn else np.zeros(len(edges) - 1)
    total_err = (
        np.sqrt(np.sum([s["errors"] ** 2 for s in syn.values()], axis=0))
        if syn
        else np.zeros(len(edges) - 1)
    )
    ratio = _divide(sim["counts"], total)
    ratio_errors = _divide(sim["errors"], total)
    band = _divide(total_err, total)
    chi2, ndf = chi_squared(sim["counts"], sim["errors"], total, total_err)
    xlabel = label if label is not None else column

    _style()
    fig, ax, rax = _ratio_figure()
    _stack(ax, edges, syn, total, total_err)
    _draw_points(ax, edges, sim["counts"], sim["errors"], simulated_label)
    _finish_main(ax, edges, [total + total_err, sim["counts"] + sim["errors"]], empty)
    _finish_ratio_figure(
        fig,
        ax,
        rax,
        (edges, ratio, ratio_errors, band),
        ratio_range,
        "sim. / synth.",
        xlabel,
        title,
        outputs,
        text,
        chi2,
        ndf,
    )

    return {
        "edges": edges,
        "simulated": sim,
        "synthetic": syn,
        "synthetic_total": {"counts": total, "errors": total_err},
        "ratio": ratio,
        "ratio_errors": ratio_errors,
        "synthetic_band": band,
        "chi2": chi2,
        "ndf": ndf,
        "xlabel": xlabel,
        "empty": empty,
    }


# --------------------------------------------------------------------------------------------
# Generator 2-D unrolled
# --------------------------------------------------------------------------------------------
def _histogram_2d(
    x: np.ndarray, w: np.ndarray, b_edges: np.ndarray, a_edges: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Unrolled 2-D histogram: slice s of b, then the a bins, flattened slice by slice."""
    counts, _, _ = np.histogram2d(x[:, 1], x[:, 0], bins=[b_edges, a_edges], weights=w)
    squares, _, _ = np.histogram2d(x[:, 1], x[:, 0], bins=[b_edges, a_edges], weights=w**2)
    return counts.reshape(-1), np.sqrt(squares).reshape(-1)


def unrolled_2d_plot(
    simulated: tuple[Any, Any],
    synthetic: tuple[Any, Any] | Mapping[str, tuple[Any, Any]],
    columns: tuple[str, str],
    labels: tuple[str | None, str | None] = (None, None),
    n_bins: int = UNROLLED_BINS,
    n_slices: int = UNROLLED_SLICES,
    ratio_range: tuple[float, float] = (0.5, 1.5),
    outputs: Sequence[str] = (),
    title: str = "",
    *,
    simulated_label: str = "simulated",
    synthetic_label: str = "synthetic",
) -> dict[str, Any]:
    """2-D correlations as one unrolled histogram: the a distribution in slices of b.

    A flow can get every 1-D marginal right and still miss how two observables move together;
    this plot shows that. As in INNFER, a gets ``n_bins`` equal-width bins (between the 0.1 %
    and 99.9 % quantiles of the simulated events) and b ``n_slices`` equal-statistics slices
    of the simulated events (over the same quantile range); block s of the x axis holds the a
    histogram of the events in slice s, so each block shows the a shape at one b.

    Args:
        simulated: ``(x, w)`` with x of shape (n, 2): columns (a, b).
        synthetic: ``(x, w)`` of the synthetic events, or process name to ``(x, w)`` for a
            stacked "combined" view.
        columns: Names of (a, b).
        labels: Axis texts of (a, b); the names when None.
        n_bins: Equal-width bins in a per slice.
        n_slices: Equal-statistics slices in b (fewer when b is discrete).
        ratio_range: y range of the ratio panel.
        outputs: Paths to write ([pdf, png]).
        title: Figure title.
        simulated_label: Legend text of the simulated events.
        synthetic_label: Legend text of a single synthetic sample.

    Returns:
        ``{"a_edges", "b_edges", "edges": unrolled bin edges (block s is [s, s + 1]),
        "simulated": {"counts", "errors"} flattened slice by slice, "synthetic": {name:
        {"counts", "errors"}}, "synthetic_total": {"counts", "errors"}, "ratio",
        "ratio_errors", "synthetic_band", "chi2", "ndf", "empty"}``.

    Raises:
        ValueError: The inputs do not have two columns, or lengths differ.
    """
    xs, ws, _ = _values_and_weights(simulated, "simulated", ndim=2)
    pairs = {synthetic_label: synthetic} if isinstance(synthetic, tuple) else dict(synthetic)
    processes = {n: _values_and_weights(p, f"synthetic {n}", ndim=2) for n, p in pairs.items()}
    for name, x in [("simulated", xs), *((n, p[0]) for n, p in processes.items())]:
        if x.shape[1] != 2:
            raise ValueError(f"{name}: expected two columns (a, b), got {x.shape[1]}")
    source = xs, ws
    if not len(xs):
        source = (
            np.concatenate([p[0] for p in processes.values()] or [np.empty((0, 2))]),
            np.concatenate([p[1] for p in processes.values()] or [np.empty(0)]),
        )
    empty = not len(source[0])
    if empty:
        a_edges = np.linspace(-DEGENERATE_HALF_WIDTH, DEGENERATE_HALF_WIDTH, n_bins + 1)
        b_edges = np.array([-DEGENERATE_HALF_WIDTH, DEGENERATE_HALF_WIDTH])
    else:
        x_src, w_src = source
        a_edges = quantile_edges(x_src[:, 0], w_src, n_bins)
        b_lo, b_hi = _widen(
            *(float(v) for v in weighted_quantiles(x_src[:, 1], w_src, GENERATOR_QUANTILES))
        )
        in_b = (x_src[:, 1] >= b_lo) & (x_src[:, 1] <= b_hi)
        b_edges = equal_statistics_edges(x_src[in_b, 1], w_src[in_b], n_slices)
    n_s = len(b_edges) - 1

    sim_counts, sim_errors = _histogram_2d(xs, ws, b_edges, a_edges)
    syn = {}
    for name, (x, w, _) in processes.items():
        counts, errors = _histogram_2d(x, w, b_edges, a_edges)
        syn[name] = {"counts": counts, "errors": errors}
    size = n_s * n_bins
    total = np.sum([s["counts"] for s in syn.values()], axis=0) if syn else np.zeros(size)
    total_err = (
        np.sqrt(np.sum([s["errors"] ** 2 for s in syn.values()], axis=0)) if syn else np.zeros(size)
    )
    ratio = _divide(sim_counts, total)
    ratio_errors = _divide(sim_errors, total)
    band = _divide(total_err, total)
    chi2, ndf = chi_squared(sim_counts, sim_errors, total, total_err)
    fractions = (a_edges - a_edges[0]) / (a_edges[-1] - a_edges[0])
    edges = np.concatenate([s + fractions[:-1] for s in range(n_s)] + [[float(n_s)]])

    a_label = labels[0] if labels[0] is not None else columns[0]
    b_label = labels[1] if labels[1] is not None else columns[1]
    _style()
    fig, ax, rax = _ratio_figure(width=max(12.0, 2.6 * n_s), height=8.0)
    if len(syn) == 1:
        name = next(iter(syn))
        ax.stairs(total, edges, color=SYNTHETIC_COLOUR, lw=2, label=name)
        _draw_band(ax, edges, total, total_err, SYNTHETIC_COLOUR, label=f"{name} stat. unc.")
    else:
        _stack(ax, edges, syn, total, total_err)
    _draw_points(ax, edges, sim_counts, sim_errors, simulated_label)
    _finish_main(ax, edges, [total + total_err, sim_counts + sim_errors], empty)
    for s in range(n_s):
        for axis in (ax, rax):
            if s:
                axis.axvline(s, color="grey", lw=1, ls=":")
        ax.text(
            s + 0.5,
            0.97,
            f"{b_edges[s]:.4g} ≤ {_plain(b_label)} < {b_edges[s + 1]:.4g}",
            transform=ax.get_xaxis_transform(),
            ha="center",
            va="top",
            fontsize=9,
        )
    ticks = [s + f for s in range(n_s) for f in (0.0, 0.5)]
    rax.set_xticks(ticks)
    rax.set_xticklabels(
        [
            f"{a_edges[0] + f * (a_edges[-1] - a_edges[0]):.3g}"
            for _ in range(n_s)
            for f in (0, 0.5)
        ],
        fontsize=9,
    )
    ax.set_ylabel("events per bin")
    ax.legend(loc="upper right", bbox_to_anchor=(1.0, 0.9), fontsize=11)
    _draw_ratio(rax, edges, ratio, ratio_errors, band, ratio_range, "sim. / synth.")
    rax.set_xlabel(f"{_plain(a_label)} in slices of {_plain(b_label)}")
    _title(ax, title)
    save(fig, outputs)

    return {
        "a_edges": a_edges,
        "b_edges": b_edges,
        "edges": edges,
        "simulated": {"counts": sim_counts, "errors": sim_errors},
        "synthetic": syn,
        "synthetic_total": {"counts": total, "errors": total_err},
        "ratio": ratio,
        "ratio_errors": ratio_errors,
        "synthetic_band": band,
        "chi2": chi2,
        "ndf": ndf,
        "empty": empty,
    }


# --------------------------------------------------------------------------------------------
# GeneratorSummary
# --------------------------------------------------------------------------------------------
def generator_summary_plot(
    per_point: Sequence[Mapping[str, Any]],
    reference_index: int,
    column: str,
    label: str | None = None,
    n_bins: int = SUMMARY_BINS,
    outputs: Sequence[str] = (),
    title: str = "",
) -> dict[str, Any]:
    """How the distribution moves with the parameters, synthetic against simulated, at once.

    Every validation point is divided by the synthetic histogram of the reference (default)
    point, so the plot shows the change the density predicts (line) next to the change in the
    simulation (points with errors); where they agree the model has learned the parameter
    dependence. There are ``n_bins`` equal-statistics bins of the reference synthetic sample
    (0.1 % cut at each end, as in INNFER), so every bin of the reference is equally precise.
    Each point gets its own row, so curves with different yields do not overlap.

    Args:
        per_point: One mapping per point: ``{"label": str, "synthetic": (x, w), "simulated":
            (x, w) or None}``, all in events (normalised to the yield).
        reference_index: Index of the reference (default) point in ``per_point``.
        column: Column name; the x-axis label when ``label`` is None.
        label: x-axis label.
        n_bins: Number of equal-statistics bins.
        outputs: Paths to write ([pdf, png]).
        title: Figure title.

    Returns:
        ``{"edges", "reference": index, "reference_counts", "labels", "synthetic_ratios",
        "synthetic_ratio_errors", "simulated_ratios", "simulated_ratio_errors" (lists in input
        order; None for a point without simulated events), "xlabel"}``.

    Raises:
        IndexError: ``reference_index`` does not index ``per_point``.
        ValueError: ``per_point`` is empty, or the reference has no synthetic events.
    """
    n = len(per_point)
    if not n:
        raise ValueError("no points to summarise")
    if not -n <= reference_index < n:
        raise IndexError(f"reference {reference_index} out of range for {n} points")
    reference_index %= n
    labels = [str(p.get("label", f"point {i}")) for i, p in enumerate(per_point)]
    synth = [
        _values_and_weights(p["synthetic"], f"{labels[i]} synthetic")
        for i, p in enumerate(per_point)
    ]
    sims = [
        None
        if p.get("simulated") is None
        else _values_and_weights(p["simulated"], f"{labels[i]} simulated")
        for i, p in enumerate(per_point)
    ]
    x_ref, w_ref, _ = synth[reference_index]
    if not len(x_ref):
        raise ValueError(f"the reference point {labels[reference_index]!r} has no synthetic events")
    edges = equal_statistics_edges(x_ref, w_ref, n_bins, SUMMARY_IGNORE_QUANTILE)
    ref_counts, _ = histogram(x_ref, w_ref, edges)

    syn_ratios, syn_errors, sim_ratios, sim_errors = [], [], [], []
    for i in range(n):
        counts, errors = histogram(synth[i][0], synth[i][1], edges)
        syn_ratios.append(_divide(counts, ref_counts))
        syn_errors.append(_divide(errors, ref_counts))
        if sims[i] is None:
            sim_ratios.append(None)
            sim_errors.append(None)
        else:
            counts, errors = histogram(sims[i][0], sims[i][1], edges)
            sim_ratios.append(_divide(counts, ref_counts))
            sim_errors.append(_divide(errors, ref_counts))
    xlabel = label if label is not None else column

    _style()
    fig, axes = plt.subplots(
        n, 1, figsize=(9, 1.8 * n + 1.6), sharex=True, squeeze=False, gridspec_kw={"hspace": 0.0}
    )
    colours = _cycle_colours(n)
    for i, ax in enumerate(axes[:, 0]):
        colour = "black" if i == reference_index else colours[i]
        ax.axhline(1.0, color="grey", ls="--", lw=1)
        ax.stairs(syn_ratios[i], edges, color=colour, lw=2, label="synthetic")
        _draw_band(ax, edges, syn_ratios[i], syn_errors[i], colour)
        if sim_ratios[i] is not None:
            _draw_points(ax, edges, sim_ratios[i], sim_errors[i], "simulated", colour=colour)
        values = [v for v in (syn_ratios[i], sim_ratios[i]) if v is not None]
        finite = np.concatenate(values)
        finite = finite[np.isfinite(finite)]
        if finite.size:
            lo, hi = float(finite.min()), float(finite.max())
            pad = max(0.1 * (hi - lo), 0.05 * max(abs(hi), 1e-9))
            ax.set_ylim(min(lo, 1.0) - pad, max(hi, 1.0) + pad)
        ax.text(
            0.01,
            0.9,
            _plain(labels[i]) + (" (reference)" if i == reference_index else ""),
            transform=ax.transAxes,
            va="top",
            fontsize=10,
        )
        ax.tick_params(axis="y", labelsize=9)
    axes[0, 0].legend(loc="upper right", fontsize=9, ncol=2)
    axes[-1, 0].set_xlabel(_plain(xlabel))
    axes[-1, 0].set_xlim(edges[0], edges[-1])
    fig.supylabel(f"ratio to synthetic at {_plain(labels[reference_index])}", fontsize=13)
    _title(axes[0, 0], title)
    save(fig, outputs)

    return {
        "edges": edges,
        "reference": reference_index,
        "reference_counts": ref_counts,
        "labels": labels,
        "synthetic_ratios": syn_ratios,
        "synthetic_ratio_errors": syn_errors,
        "simulated_ratios": sim_ratios,
        "simulated_ratio_errors": sim_errors,
        "xlabel": xlabel,
    }


# --------------------------------------------------------------------------------------------
# Flow: one dimension through the coupling layers
# --------------------------------------------------------------------------------------------
def flow_stages_plot(
    stages: Sequence[np.ndarray],
    column: str,
    outputs: Sequence[str] = (),
    weights: np.ndarray | None = None,
    label: str | None = None,
    title: str = "",
) -> dict[str, Any]:
    """One dimension of the validation events after 0, 1, ..., L coupling layers (INNFER's Flow).

    A trained flow should turn the standardised inputs step by step into a standard normal;
    showing all stages in one figure (INNFER wrote one file per stage and a GIF) makes it easy
    to see where the Gaussianisation happens and whether the last stage gets there. Each panel is
    a unit-area histogram with 100 bins on [−3, 3]; the last one has the N(0, 1) curve on top.

    Args:
        stages: The dimension's values after k = 0..L layers (stage 0 is the flow input).
        column: Column name; the panel label when ``label`` is None.
        outputs: Paths to write ([pdf, png]).
        weights: Event weights shared by all stages; None for unit weights.
        label: Axis text of the dimension.
        title: Figure title.

    Returns:
        ``{"edges", "hists": per-stage densities, "fraction_outside": per-stage share of the
        weight outside [−3, 3], "xlabel"}``.

    Raises:
        ValueError: ``stages`` is empty or a stage's length differs from ``weights``.
    """
    if not len(stages):
        raise ValueError("no stages to plot")
    edges = np.linspace(*FLOW_RANGE, FLOW_BINS + 1)
    hists, outside = [], []
    for k, values in enumerate(stages):
        x, w, _ = _values_and_weights((values, weights), f"stage {k}")
        inside = (x >= edges[0]) & (x <= edges[-1])
        total = float(np.sum(w))
        outside.append(float(np.sum(w[~inside]) / total) if total else 0.0)
        counts, _ = np.histogram(x, bins=edges, weights=w)
        norm = float(np.sum(counts)) * (edges[1] - edges[0])
        hists.append(counts / norm if norm else counts)
    xlabel = label if label is not None else column

    _style()
    n = len(stages)
    ncols = min(FLOW_COLUMNS, n)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(3.6 * ncols, 3.0 * nrows + 0.8), squeeze=False, sharex=True
    )
    grid = np.linspace(*FLOW_RANGE, 301)
    for k, ax in enumerate(axes.flat):
        if k >= n:
            ax.set_visible(False)
            continue
        ax.stairs(hists[k], edges, color=SYNTHETIC_COLOUR, fill=True, alpha=0.6)
        if k == n - 1:
            ax.plot(grid, np.exp(-0.5 * grid**2) / math.sqrt(2 * math.pi), color="black", lw=1.5)
        stage = "input (standardised)" if k == 0 else f"after {k} coupling layer{'s' * (k > 1)}"
        ax.set_title(stage, fontsize=11)
        ax.tick_params(labelsize=9)
        ax.set_xlim(*FLOW_RANGE)
    fig.supxlabel(f"{_plain(xlabel)} (latent coordinate)", fontsize=13)
    fig.supylabel("unit-area density", fontsize=13)
    if title:
        fig.suptitle(_plain(title), fontsize=14)
    save(fig, outputs)
    return {"edges": edges, "hists": hists, "fraction_outside": outside, "xlabel": xlabel}


# --------------------------------------------------------------------------------------------
# EpochPerformanceMetricsPlot
# --------------------------------------------------------------------------------------------
def flatten_metrics(metrics: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    """Nested metrics (``{"histogram": {"chi2": 1.2}}``) as flat keys (``histogram_chi2``).

    Only numbers are kept; the per-epoch YAML files also hold strings and lists that cannot be
    drawn against the epoch.
    """
    flat: dict[str, float] = {}
    for key, value in metrics.items():
        name = f"{prefix}_{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            flat.update(flatten_metrics(value, name))
        elif isinstance(value, int | float | np.number) and not isinstance(value, bool):
            flat[name] = float(value)
    return flat


def _epoch_series(
    metrics_by_epoch: Mapping[int, Mapping[str, Any]], key: str, no_zero: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Epochs (sorted) and values of one flattened key, skipping epochs without it."""
    epochs, values = [], []
    for epoch in sorted(metrics_by_epoch, key=int):
        if no_zero and int(epoch) == 0:
            continue
        flat = flatten_metrics(metrics_by_epoch[epoch])
        if key in flat:
            epochs.append(int(epoch))
            values.append(flat[key])
    return np.array(epochs, dtype=int), np.array(values, dtype=float)


def _known_keys(metrics_by_epoch: Mapping[int, Mapping[str, Any]]) -> set[str]:
    return {k for m in metrics_by_epoch.values() for k in flatten_metrics(m)}


def epoch_metrics_plot(
    metrics_by_epoch: Mapping[int, Mapping[str, Any]],
    key: str,
    outputs: Sequence[str] = (),
    no_zero: bool = False,
    label: str | None = None,
    title: str = "",
) -> dict[str, Any]:
    """One performance metric against the training epoch.

    Shows whether the density kept improving and where it stopped. The ``no_zero`` variant
    leaves out epoch 0 (the untrained flow), whose value is usually so far off that it flattens
    the rest of the curve.

    Args:
        metrics_by_epoch: Epoch to that epoch's metrics (nested mappings are flattened).
        key: Flattened metric name, e.g. ``histogram_chi2``.
        outputs: Paths to write ([pdf, png]).
        no_zero: Leave out epoch 0.
        label: y-axis text; ``key`` when None.
        title: Figure title.

    Returns:
        ``{"epochs": int array, "values": float array, "ylabel": str}``.

    Raises:
        KeyError: No epoch has ``key`` (a typo would otherwise give an empty plot).
    """
    if key not in _known_keys(metrics_by_epoch):
        raise KeyError(f"no epoch has the metric {key!r}")
    epochs, values = _epoch_series(metrics_by_epoch, key, no_zero)
    ylabel = label if label is not None else key

    _style()
    fig, ax = plt.subplots(figsize=(8, 6))
    ax.plot(epochs, values, "o-", color=SYNTHETIC_COLOUR)
    if not len(epochs):
        _no_events(ax)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel(_plain(ylabel))
    _title(ax, title)
    save(fig, outputs)
    return {"epochs": epochs, "values": values, "ylabel": ylabel}


def merged_epoch_metrics_plot(
    metrics_by_epoch: Mapping[int, Mapping[str, Any]],
    keys: Sequence[str],
    outputs: Sequence[str] = (),
    no_zero: bool = False,
    title: str = "",
) -> dict[str, Any]:
    """Several metrics against the epoch on one axis, each min-max normalised to [0, 1].

    Metrics have different units and scales; normalising each one lets their trends (do they
    all improve, and stop at the same epoch?) be compared on one figure, as INNFER's
    ``epoch_pm_merged`` did.

    Returns:
        ``{"epochs": {key: int array}, "values": {key: normalised values}}``.

    Raises:
        KeyError: No epoch has one of ``keys``.
    """
    known = _known_keys(metrics_by_epoch)
    missing = [k for k in keys if k not in known]
    if missing:
        raise KeyError(f"no epoch has the metric(s) {missing}")
    series_epochs, series_values = {}, {}
    _style()
    fig, ax = plt.subplots(figsize=(9, 6))
    for colour, key in zip(_cycle_colours(len(keys)), keys, strict=True):
        epochs, values = _epoch_series(metrics_by_epoch, key, no_zero)
        if len(values):
            span = float(values.max() - values.min())
            values = (values - values.min()) / span if span > 0 else np.zeros_like(values)
        series_epochs[key], series_values[key] = epochs, values
        ax.plot(epochs, values, "o-", color=colour, ms=4, label=_plain(key))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("min-max normalised value")
    ax.set_ylim(-0.05, 1.3)
    ax.legend(loc="upper right", fontsize=10, ncol=2)
    _title(ax, title)
    save(fig, outputs)
    return {"epochs": series_epochs, "values": series_values}
