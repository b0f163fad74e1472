"""Generator 2-D unrolled plot: two observables as one histogram, one in slices of the other.

A flow can get every 1-D marginal right and still miss how two observables move together;
this plot shows that, as INNFER's 2-D Generator view did. A `ratio.RatioFigure` whose x axis
holds one block per slice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from innfer_lib.plots.draw import draw_line, draw_points, draw_stack
from innfer_lib.plots.histograms import (
    DEGENERATE_HALF_WIDTH,
    GENERATOR_QUANTILES,
    equal_statistics_edges,
    pooled,
    quantile_edges,
    quantile_range,
    summed,
    values_and_weights,
)
from innfer_lib.plots.ratio import RATIO_LABEL, RatioFigure, compare
from innfer_lib.plots.style import SYNTHETIC_COLOUR, apply_style
from innfer_lib.plots.text import plain, set_title

UNROLLED_BINS = 10
UNROLLED_SLICES = 5


def _histogram_2d(
    x: np.ndarray, w: np.ndarray, b_edges: np.ndarray, a_edges: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Unrolled 2-D histogram: slice s of b, then the a bins, flattened slice by slice.

    The 2-D counterpart of `histograms.histogram` (Σw and √Σw² per bin); np.histogram2d bins
    and sums differently from np.histogram, so the two cannot share one call.
    """
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
    xs, ws, _ = values_and_weights(simulated, "simulated", ndim=2)
    pairs = {synthetic_label: synthetic} if isinstance(synthetic, tuple) else dict(synthetic)
    processes = {n: values_and_weights(p, f"synthetic {n}", ndim=2) for n, p in pairs.items()}
    for name, x in [("simulated", xs), *((n, p[0]) for n, p in processes.items())]:
        if x.shape[1] != 2:
            raise ValueError(f"{name}: expected two columns (a, b), got {x.shape[1]}")
    x_src, w_src = (xs, ws) if len(xs) else pooled(processes.values(), columns=2)
    empty = not len(x_src)
    if empty:
        a_edges = np.linspace(-DEGENERATE_HALF_WIDTH, DEGENERATE_HALF_WIDTH, n_bins + 1)
        b_edges = np.array([-DEGENERATE_HALF_WIDTH, DEGENERATE_HALF_WIDTH])
    else:
        a_edges = quantile_edges(x_src[:, 0], w_src, n_bins)
        b_lo, b_hi = quantile_range(x_src[:, 1], w_src, GENERATOR_QUANTILES)
        in_b = (x_src[:, 1] >= b_lo) & (x_src[:, 1] <= b_hi)
        b_edges = equal_statistics_edges(x_src[in_b, 1], w_src[in_b], n_slices)
    n_s = len(b_edges) - 1

    sim_counts, sim_errors = _histogram_2d(xs, ws, b_edges, a_edges)
    syn = {}
    for name, (x, w, _) in processes.items():
        counts, errors = _histogram_2d(x, w, b_edges, a_edges)
        syn[name] = {"counts": counts, "errors": errors}
    total, total_err = summed(list(syn.values()), n_s * n_bins)
    numbers = compare(sim_counts, sim_errors, total, total_err)
    fractions = (a_edges - a_edges[0]) / (a_edges[-1] - a_edges[0])
    edges = np.concatenate([s + fractions[:-1] for s in range(n_s)] + [[float(n_s)]])

    a_label = labels[0] if labels[0] is not None else columns[0]
    b_label = labels[1] if labels[1] is not None else columns[1]
    apply_style()
    figure = RatioFigure(width=max(12.0, 2.6 * n_s), height=8.0)
    ax, rax = figure.main, figure.ratio
    if len(syn) == 1:
        name = next(iter(syn))
        draw_line(ax, edges, total, total_err, SYNTHETIC_COLOUR, name)
    else:
        draw_stack(ax, edges, syn, total, total_err)
    draw_points(ax, edges, sim_counts, sim_errors, simulated_label)
    figure.finish_main(edges, [total + total_err, sim_counts + sim_errors], empty)
    for s in range(n_s):
        for axis in (ax, rax):
            if s:
                axis.axvline(s, color="grey", lw=1, ls=":")
        ax.text(
            s + 0.5,
            0.97,
            f"{b_edges[s]:.4g} ≤ {plain(b_label)} < {b_edges[s + 1]:.4g}",
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
    figure.draw_ratio(edges, numbers, ratio_range, RATIO_LABEL)
    rax.set_xlabel(f"{plain(a_label)} in slices of {plain(b_label)}")
    set_title(ax, title)
    figure.save(outputs)

    return {
        "a_edges": a_edges,
        "b_edges": b_edges,
        "edges": edges,
        "simulated": {"counts": sim_counts, "errors": sim_errors},
        "synthetic": syn,
        "synthetic_total": {"counts": total, "errors": total_err},
        **numbers.record(),
        "empty": empty,
    }
