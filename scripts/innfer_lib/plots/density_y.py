"""PlotDensity in slices of a Y column: sim against synthetic where the flow is conditioned.

Two figures per X column, Y column and split (INNFER's PlotDensity "<Y>_bin_<i>" views, spec
models.md §7):

* `density_slices_plot`: the X histograms of simulated and synthetic events in each of the
  (up to) 20 equal-statistics slices of the Y column, one small ratio figure per slice, all in
  one file (the number of slices is known only from the data, and a rule declares its files
  before it runs);
* `density_profile_plot`: the weighted mean and width of X in each slice against Y, simulated
  points over synthetic lines, with the difference in units of the combined error. INNFER drew
  the Y column itself, which the synthetic events copy from the simulated ones (a comparison of
  a column with itself); how X follows Y is what the flow has to learn.

Numbers only (`y_bins`), no files or models in; each function returns what it drew.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from innfer_lib.plots.draw import draw_band, draw_line, draw_points
from innfer_lib.plots.generator import (
    DENSITY_BINS,
    DENSITY_RATIO_RANGE,
    DENSITY_TRIM,
    compare_samples,
)
from innfer_lib.plots.histograms import divide
from innfer_lib.plots.save import save
from innfer_lib.plots.style import (
    SIMULATED_COLOUR,
    SYNTHETIC_COLOUR,
    apply_style,
    fix_ticks,
    title_y,
)
from innfer_lib.plots.text import plain
from innfer_lib.plots.y_bins import YSlice, slice_moments

#: Panels per row of the slices figure.
SLICE_COLUMNS = 5
#: y range of the pull panel of the profile figure.
PULL_RANGE = (-4.0, 4.0)


def density_slices_plot(
    simulated: tuple[np.ndarray, np.ndarray],
    synthetic: tuple[np.ndarray, np.ndarray],
    y: tuple[np.ndarray, np.ndarray],
    slices: Sequence[YSlice],
    column: str,
    y_column: str,
    label: str | None = None,
    outputs: Sequence[str] = (),
    title: str = "",
) -> dict[str, Any]:
    """Simulated against synthetic X in each slice of a Y column, a grid of ratio panels.

    Each slice is binned on its own (20 equal bins between the 2 % and 98 % quantiles of its
    simulated events, as the inclusive PlotDensity), so a narrow slice is not squashed into a
    few bins of the inclusive range.

    Args:
        simulated: ``(x, w)`` of the simulated events.
        synthetic: ``(x, w)`` of the synthetic events, row by row at the same parameters.
        y: ``(y_simulated, y_synthetic)``: the Y column of each sample (the synthetic rows
            carry their simulated row's Y, but are sliced by their own column so the two
            samples may differ in length).
        slices: The slices (`y_bins.y_slices` of the simulated Y).
        column: X column name; the x-axis label when ``label`` is None.
        y_column: Y column name, in the slice labels.
        label: x-axis label.
        outputs: Paths to write ([pdf, png]).
        title: Figure title.

    Returns:
        ``{"slices": [{"label", "edges", "chi2", "ndf", "sum_simulated", "sum_synthetic"}],
        "xlabel"}``.

    Raises:
        ValueError: No slices, or lengths of values and weights differ.
    """
    if not slices:
        raise ValueError("no Y slices to plot")
    (xs, ws), (xy, wy) = simulated, synthetic
    ys, yy = (np.asarray(a, dtype=float).reshape(-1) for a in y)
    xlabel = label if label is not None else column
    n = len(slices)
    ncols = min(SLICE_COLUMNS, n)
    nrows = math.ceil(n / ncols)

    apply_style()
    fig = plt.figure(figsize=(3.8 * ncols, 3.9 * nrows + 0.8))
    # Each slice is a (main, ratio) pair sharing its x axis; pairs are spaced so that every
    # ratio panel keeps its own x tick labels (each slice has its own X range).
    outer = fig.add_gridspec(nrows, ncols, hspace=0.35, wspace=0.3)
    drawn = []
    for k, s in enumerate(slices):
        row, col = divmod(k, ncols)
        pair = outer[row, col].subgridspec(2, 1, height_ratios=[3, 1], hspace=0.05)
        ax = fig.add_subplot(pair[0])
        rax = fig.add_subplot(pair[1], sharex=ax)
        ms, my = s.mask(ys), s.mask(yy)
        edges, sim, syn, numbers, _ = compare_samples(
            (np.asarray(xs)[ms], np.asarray(ws)[ms]),
            (np.asarray(xy)[my], np.asarray(wy)[my]),
            DENSITY_BINS,
            (DENSITY_TRIM, 1.0 - DENSITY_TRIM),
        )
        draw_line(ax, edges, syn["counts"], syn["errors"], SYNTHETIC_COLOUR, "synthetic")
        draw_points(ax, edges, sim["counts"], sim["errors"], "simulated")
        top = np.nan_to_num(np.concatenate([syn["counts"] + syn["errors"], sim["counts"]]))
        ax.set_ylim(0.0, 1.35 * float(top.max()) if top.size and top.max() > 0 else 1.0)
        ax.set_xlim(edges[0], edges[-1])
        notes = plain(s.label(y_column))
        if numbers.ndf:
            notes += f"\n$\\chi^2$/bins = {numbers.chi2:.1f}/{numbers.ndf}"
        ax.text(0.03, 0.95, notes, transform=ax.transAxes, va="top", fontsize=8)
        ax.tick_params(labelsize=8, labelbottom=False)
        draw_band(rax, edges, np.ones_like(numbers.band), numbers.band, SYNTHETIC_COLOUR)
        rax.axhline(1.0, color="grey", ls="--", lw=1)
        draw_points(rax, edges, numbers.ratio, numbers.errors, label="")
        rax.set_ylim(*DENSITY_RATIO_RANGE)
        rax.tick_params(labelsize=8)
        if col == 0:
            ax.set_ylabel("sum of weights", fontsize=10)
            rax.set_ylabel("sim./synth.", fontsize=9)
        if k == 0:
            ax.legend(loc="upper right", fontsize=8)
        # Up to 20 small pairs: one minor tick per interval, positions fixed (`style.fix_ticks`).
        fix_ticks(ax)
        fix_ticks(rax)
        drawn.append(
            {
                "label": s.label(y_column),
                "edges": edges,
                "chi2": numbers.chi2,
                "ndf": numbers.ndf,
                "sum_simulated": sim["sum_weights"],
                "sum_synthetic": syn["sum_weights"],
            }
        )
    fig.supxlabel(plain(xlabel), fontsize=14)
    fig.suptitle(plain(f"{title}: {column} in slices of {y_column}" if title else column))
    save(fig, outputs)
    return {"slices": drawn, "xlabel": xlabel}


def density_profile_plot(
    simulated: tuple[np.ndarray, np.ndarray],
    synthetic: tuple[np.ndarray, np.ndarray],
    y: tuple[np.ndarray, np.ndarray],
    slices: Sequence[YSlice],
    column: str,
    y_column: str,
    label: str | None = None,
    y_label: str | None = None,
    outputs: Sequence[str] = (),
    title: str = "",
) -> dict[str, Any]:
    """The weighted mean and width of X against a Y column, simulated against synthetic.

    Points at the weighted mean Y of each slice: simulated with error bars, synthetic as a line
    with its error band; the bottom panel is (simulated − synthetic) / √(σ²_sim + σ²_synth)
    for both moments, which should scatter within ±2 (beyond ±4: hollow markers on the edge).

    Args:
        simulated, synthetic, y, slices, column, y_column, outputs, title: As
            `density_slices_plot`.
        label: Text of the X column (with units).
        y_label: Text of the Y column (the x axis).

    Returns:
        ``{"simulated": Moments, "synthetic": Moments, "pull_mean", "pull_std"}``.
    """
    if not slices:
        raise ValueError("no Y slices to plot")
    ys, yy = (np.asarray(a, dtype=float).reshape(-1) for a in y)
    sim = slice_moments(simulated[0], simulated[1], ys, list(slices))
    syn = slice_moments(synthetic[0], synthetic[1], yy, list(slices))
    pull_mean = divide(sim.mean - syn.mean, np.hypot(sim.mean_error, syn.mean_error))
    pull_std = divide(sim.std - syn.std, np.hypot(sim.std_error, syn.std_error))
    xtext = plain(label if label is not None else column)
    centre = sim.centre

    apply_style()
    fig, (ax_mean, ax_std, ax_pull) = plt.subplots(
        3,
        1,
        figsize=(9, 10),
        sharex=True,
        gridspec_kw={"height_ratios": [2, 2, 1.3], "hspace": 0.06},
    )
    for ax, s_val, s_err, y_val, y_err, what in (
        (ax_mean, sim.mean, sim.mean_error, syn.mean, syn.mean_error, "mean"),
        (ax_std, sim.std, sim.std_error, syn.std, syn.std_error, "standard deviation"),
    ):
        ax.plot(centre, y_val, color=SYNTHETIC_COLOUR, lw=2, label="synthetic")
        ax.fill_between(
            centre, y_val - y_err, y_val + y_err, color=SYNTHETIC_COLOUR, alpha=0.3, lw=0
        )
        ax.errorbar(
            centre, s_val, yerr=s_err, fmt="o", ms=4, color=SIMULATED_COLOUR, label="simulated"
        )
        ax.set_ylabel(f"{what} of\n{xtext}", fontsize=13)
    ax_mean.legend(loc="best", fontsize=11)
    ax_pull.axhline(0.0, color="grey", ls="--", lw=1)
    ax_pull.axhspan(-2, 2, color="grey", alpha=0.15, lw=0)
    # Off-scale pulls are drawn on the panel's edge, hollow, so a gross mismodelling still shows.
    for pull, marker, colour, name in (
        (pull_mean, "o", SIMULATED_COLOUR, "mean"),
        (pull_std, "s", SYNTHETIC_COLOUR, "std. dev."),
    ):
        inside = np.abs(pull) <= PULL_RANGE[1]
        shown = np.clip(pull, *PULL_RANGE)
        ax_pull.plot(centre[inside], shown[inside], marker, color=colour, ms=4, label=name)
        ax_pull.plot(centre[~inside], shown[~inside], marker, mfc="none", color=colour, ms=6)
    ax_pull.set_ylim(*PULL_RANGE)
    ax_pull.set_ylabel("(sim. − synth.) / σ", fontsize=12)
    ax_pull.legend(loc="upper right", fontsize=9, ncol=2)
    ax_pull.set_xlabel(plain(y_label if y_label is not None else y_column))
    # Full-size panels keep the style's minor ticks; only their positions are fixed.
    for ax in (ax_mean, ax_std, ax_pull):
        fix_ticks(ax, minor_divisions=None)
    if title:
        ax_mean.set_title(
            plain(f"{title}: {column} against {y_column}"), fontsize=13, y=title_y(ax_mean)
        )
    save(fig, outputs)
    return {"simulated": sim, "synthetic": syn, "pull_mean": pull_mean, "pull_std": pull_std}
