"""Generator and PlotDensity plots: synthetic against simulated events of one process.

INNFER's Generator figure (spec models.md §7) compares the validation events with the
synthetic (Asimov) events of the learned density at the same point; its PlotDensity figure
compares the training or test events with one synthetic event per row. Both are
`ratio.RatioFigure`s: the synthetic sample a line with its statistical band, the simulated
events points, the ratio panel simulated / synthetic. Every function takes numbers, never
files or models, and returns what it drew (bin edges, per-series values), so tests and
callers can check a plot without reading the image back and this module never needs
TensorFlow.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from innfer_lib.plots.draw import draw_line, draw_points
from innfer_lib.plots.histograms import (
    GENERATOR_BINS,
    GENERATOR_QUANTILES,
    histogram_series,
    resolve_edges,
    values_and_weights,
)
from innfer_lib.plots.ratio import Ratio, RatioFigure, compare
from innfer_lib.plots.style import SYNTHETIC_COLOUR, apply_style

DENSITY_BINS = 20
DENSITY_TRIM = 0.02
DENSITY_RATIO_RANGE = (0.9, 1.1)


def compare_samples(
    simulated: tuple[Any, Any],
    synthetic: tuple[Any, Any],
    bins: int | Sequence[float],
    quantiles: tuple[float, float],
) -> tuple[Any, dict[str, Any], dict[str, Any], Ratio, bool]:
    """Both samples histogrammed in bins framed by the simulated one, and their ratio numbers.

    Returns:
        ``(edges, simulated series, synthetic series, Ratio, empty)``, the series as
        `histograms.histogram_series` gives them.
    """
    xs, ws, dropped_s = values_and_weights(simulated, "simulated")
    xy, wy, dropped_y = values_and_weights(synthetic, "synthetic")
    edges, empty = resolve_edges(bins, (xs, ws), (xy, wy), quantiles)
    sim = histogram_series(xs, ws, edges, dropped_s)
    syn = histogram_series(xy, wy, edges, dropped_y)
    numbers = compare(sim["counts"], sim["errors"], syn["counts"], syn["errors"])
    return edges, sim, syn, numbers, empty


def _comparison(
    simulated: tuple[Any, Any],
    synthetic: tuple[Any, Any],
    bins: int | Sequence[float],
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
    edges, sim, syn, numbers, empty = compare_samples(simulated, synthetic, bins, quantiles)
    xlabel = label if label is not None else column

    apply_style()
    figure = RatioFigure()
    draw_line(figure.main, edges, syn["counts"], syn["errors"], SYNTHETIC_COLOUR, synthetic_label)
    draw_points(figure.main, edges, sim["counts"], sim["errors"], simulated_label)
    figure.finish_main(edges, [syn["counts"] + syn["errors"], sim["counts"] + sim["errors"]], empty)
    figure.finish(edges, numbers, ratio_range, xlabel, title, outputs, text=text, ylabel=ylabel)

    return {
        "edges": edges,
        "simulated": sim,
        "synthetic": syn,
        **numbers.record(),
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
