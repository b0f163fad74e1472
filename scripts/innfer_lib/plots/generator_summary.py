"""GeneratorSummary plot: how the distribution moves with the parameters, at every point.

Each validation point is divided by the synthetic histogram of the reference (default) point,
so the rows show the change the density predicts (line with its band) next to the change in
the simulation (points); where they agree the model has learned the parameter dependence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from innfer_lib.plots.draw import draw_band, draw_points
from innfer_lib.plots.histograms import (
    divide,
    equal_statistics_edges,
    histogram,
    values_and_weights,
)
from innfer_lib.plots.save import save
from innfer_lib.plots.style import apply_style, cycle_colours, fix_ticks, title_y
from innfer_lib.plots.text import plain, set_title

SUMMARY_BINS = 10
SUMMARY_IGNORE_QUANTILE = 0.001


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
        values_and_weights(p["synthetic"], f"{labels[i]} synthetic")
        for i, p in enumerate(per_point)
    ]
    sims = [
        None
        if p.get("simulated") is None
        else values_and_weights(p["simulated"], f"{labels[i]} simulated")
        for i, p in enumerate(per_point)
    ]
    x_ref, w_ref, _ = synth[reference_index]
    if not len(x_ref):
        raise ValueError(f"the reference point {labels[reference_index]!r} has no synthetic events")
    edges = equal_statistics_edges(x_ref, w_ref, n_bins, SUMMARY_IGNORE_QUANTILE)
    ref_counts, _ = histogram(x_ref, w_ref, edges)

    syn_ratios: list[np.ndarray] = []
    syn_errors: list[np.ndarray] = []
    sim_ratios: list[np.ndarray | None] = []
    sim_errors: list[np.ndarray | None] = []
    for i in range(n):
        counts, errors = histogram(synth[i][0], synth[i][1], edges)
        syn_ratios.append(divide(counts, ref_counts))
        syn_errors.append(divide(errors, ref_counts))
        sim = sims[i]
        if sim is None:
            sim_ratios.append(None)
            sim_errors.append(None)
        else:
            counts, errors = histogram(sim[0], sim[1], edges)
            sim_ratios.append(divide(counts, ref_counts))
            sim_errors.append(divide(errors, ref_counts))
    xlabel = label if label is not None else column

    apply_style()
    fig, axes = plt.subplots(
        n, 1, figsize=(9, 1.8 * n + 1.6), sharex=True, squeeze=False, gridspec_kw={"hspace": 0.0}
    )
    colours = cycle_colours(n)
    for i, ax in enumerate(axes[:, 0]):
        colour = "black" if i == reference_index else colours[i]
        ax.axhline(1.0, color="grey", ls="--", lw=1)
        ax.stairs(syn_ratios[i], edges, color=colour, lw=2, label="synthetic")
        draw_band(ax, edges, syn_ratios[i], syn_errors[i], colour)
        sim_ratio, sim_error = sim_ratios[i], sim_errors[i]
        if sim_ratio is not None and sim_error is not None:
            draw_points(ax, edges, sim_ratio, sim_error, "simulated", colour=colour)
        values = [v for v in (syn_ratios[i], sim_ratio) if v is not None]
        finite = np.concatenate(values)
        finite = finite[np.isfinite(finite)]
        if finite.size:
            lo, hi = float(finite.min()), float(finite.max())
            pad = max(0.1 * (hi - lo), 0.05 * max(abs(hi), 1e-9))
            ax.set_ylim(min(lo, 1.0) - pad, max(hi, 1.0) + pad)
        ax.text(
            0.01,
            0.9,
            plain(labels[i]) + (" (reference)" if i == reference_index else ""),
            transform=ax.transAxes,
            va="top",
            fontsize=10,
        )
        ax.tick_params(axis="y", labelsize=9)
    axes[0, 0].legend(loc="upper right", fontsize=9, ncol=2)
    axes[-1, 0].set_xlabel(plain(xlabel))
    axes[-1, 0].set_xlim(edges[0], edges[-1])
    fig.supylabel(f"ratio to synthetic at {plain(labels[reference_index])}", fontsize=13)
    # One row per point, each a full-width panel: the style's minor ticks, positions fixed.
    for ax in axes[:, 0]:
        fix_ticks(ax, minor_divisions=None)
    set_title(axes[0, 0], title, y=title_y(axes[0, 0]))
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
