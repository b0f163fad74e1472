"""Toy coverage plots: coverage per interval source against the nominal levels, and pulls.

Drawn from `results.coverage.coverage_summary`. The coverage figure has one row per parameter
and one column per level (68.3 %, 95.4 %): per source, each validation point's coverage with
its Clopper–Pearson error bar and the pooled figure in black, with the nominal level as a
line. The pull figure has one panel per parameter and source: the pooled pulls normalised to
unit area against the unit Gaussian they should follow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from scipy.stats import norm

from innfer_lib.plots.save import save
from innfer_lib.plots.style import apply_style, cycle_colours
from innfer_lib.results.coverage import LEVELS, POOLED

#: Horizontal spread of a source's points (validation points side by side, pooled last).
POINT_SPREAD = 0.6


def coverage_plot(
    summary: Mapping[str, Any], outputs: Sequence[str], title: str = ""
) -> list[list[Any]]:
    """Coverage [%] per source, point and level with binomial error bars; the axes."""
    apply_style()
    sources = list(summary["sources"])
    parameters = list(next(iter(summary["sources"].values()))) if sources else []
    vals = list(summary["vals"])
    keys: list[Any] = [*vals, POOLED]
    colours = [*cycle_colours(len(vals)), "black"]
    offsets = (
        np.linspace(-POINT_SPREAD / 2, POINT_SPREAD / 2, len(keys)) if len(keys) > 1 else [0.0]
    )
    fig, axes = plt.subplots(
        len(parameters),
        len(LEVELS),
        figsize=(7.0 * len(LEVELS), 4.5 * len(parameters)),
        squeeze=False,
    )
    for row, parameter in zip(axes, parameters, strict=True):
        for ax, (k, nominal) in zip(row, LEVELS.items(), strict=True):
            ax.axhline(
                100 * nominal, color="grey", linestyle="--", label=f"nominal {100 * nominal:.1f} %"
            )
            for j, (key, colour, dx) in enumerate(zip(keys, colours, offsets, strict=True)):
                xs, ys, lo, hi = [], [], [], []
                for i, source in enumerate(sources):
                    c = summary["sources"][source][parameter][key]["coverage"][k]
                    if c.get("fraction") is None:
                        continue
                    xs.append(i + dx)
                    ys.append(100 * c["fraction"])
                    lo.append(100 * (c["fraction"] - c["low"]))
                    hi.append(100 * (c["high"] - c["fraction"]))
                label = "pooled" if key == POOLED else f"val {key}"
                ax.errorbar(
                    xs,
                    ys,
                    yerr=[lo, hi],
                    fmt="o" if key == POOLED else "s",
                    color=colour,
                    markersize=7 if key == POOLED else 4,
                    capsize=2,
                    label=label if j < 8 else None,
                )
            ax.set_xticks(range(len(sources)), sources)
            ax.set_xlim(-0.7, len(sources) - 0.3)
            ax.set_ylabel(f"coverage of ±{k}σ ({parameter}) [%]")
            ax.set_xlabel("interval source")
    if parameters:
        axes[0][0].legend(fontsize="x-small", ncol=2)
        if title:
            fig.suptitle(title)
    save(fig, outputs)
    return [list(r) for r in axes]


def pulls_plot(
    pulls: Mapping[str, Mapping[str, np.ndarray]],
    summary: Mapping[str, Any],
    outputs: Sequence[str],
    title: str = "",
) -> list[list[Any]]:
    """Pooled pull histograms per parameter (rows) and source (columns), with N(0, 1)."""
    apply_style()
    sources = list(pulls)
    parameters = list(next(iter(pulls.values()))) if sources else []
    fig, axes = plt.subplots(
        len(parameters),
        len(sources),
        figsize=(5.5 * len(sources), 4.5 * len(parameters)),
        squeeze=False,
    )
    edges = np.linspace(-4.0, 4.0, 33)
    grid = np.linspace(-4.0, 4.0, 200)
    for row, parameter in zip(axes, parameters, strict=True):
        for ax, source in zip(row, sources, strict=True):
            values = np.clip(pulls[source][parameter], edges[0], edges[-1])
            if len(values):
                ax.hist(
                    values, bins=edges, density=True, histtype="stepfilled", alpha=0.4, label="toys"
                )
            ax.plot(grid, norm.pdf(grid), color="black", label="N(0, 1)")
            stats = summary["sources"][source][parameter][POOLED]["pull"]
            if stats["mean"] is not None:
                ax.text(
                    0.03,
                    0.95,
                    f"mean {stats['mean']:.3f} ± {stats['mean_error']:.3f}\n"
                    f"width {stats['width']:.3f} ± {stats['width_error']:.3f}\nn = {stats['n']}",
                    transform=ax.transAxes,
                    va="top",
                    fontsize="x-small",
                )
            ax.set_xlabel(f"pull of {parameter} ({source}) [σ]")
            ax.set_ylabel("toys (unit area)")
    if parameters and sources:
        axes[0][-1].legend(fontsize="x-small")
        if title:
            fig.suptitle(title)
    save(fig, outputs)
    return [list(r) for r in axes]
