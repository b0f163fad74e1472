"""BootstrapPlot: the replicas' best fits of one parameter, a Gaussian of their mean and std over
them, and lines at the truth, the mean and ±1σ.

Takes the numbers of `inference.bootstrap.collect_bootstrap` (never files), returns what it
drew, and needs no TensorFlow.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from innfer_lib.plots.histograms import DEGENERATE_HALF_WIDTH
from innfer_lib.plots.save import save
from innfer_lib.plots.style import COLOURS, apply_style
from innfer_lib.plots.text import plain, set_title
from innfer_lib.results.rounding import decimals

#: Bins of the histogram: about √n, within these bounds.
MIN_BINS, MAX_BINS = 10, 50
HIST_COLOUR = "#5790fc"
GAUSS_COLOUR = "#964a8b"
MEAN_COLOUR = "black"
TRUTH_COLOUR = COLOURS["truth"]


def _bins(n: int) -> int:
    return int(min(MAX_BINS, max(MIN_BINS, round(math.sqrt(max(n, 1))))))


def bootstrap_plot(
    collected: Mapping[str, Any],
    truth: float | None,
    label: str,
    outputs: Sequence[str] = (),
    *,
    title: str = "",
) -> dict[str, Any]:
    """Histogram of the valid replicas' best fits with N(mean, std²) scaled to the counts.

    Args:
        collected: one parameter's `collect_bootstrap` record (`results`, `mean`, `std`,
            `crossings`, `n_valid`, `n_replicas`).
        truth: the true value (a dashed line); None for observed data.
        label: parameter text for the axis (mathtext allowed).
        outputs: paths to write ([pdf, png]).
        title: figure title.

    Returns:
        {"counts", "edges", "gaussian": (x, y), "lines": {name: x}, "text"}.
    """
    values = np.asarray(collected["results"], np.float64)
    mean, std = float(collected["mean"]), float(collected["std"])
    apply_style()
    fig, ax = plt.subplots(figsize=(9, 7))
    lines: dict[str, float] = {}
    counts: Any = np.zeros(0)
    edges: Any = np.zeros(0)
    gaussian = (np.zeros(0), np.zeros(0))
    if values.size:
        low, high = float(values.min()), float(values.max())
        if math.isfinite(std) and std > 0:
            low, high = min(low, mean - 3.5 * std), max(high, mean + 3.5 * std)
        if high <= low:
            low, high = low - DEGENERATE_HALF_WIDTH, high + DEGENERATE_HALF_WIDTH
        counts, edges, _ = ax.hist(
            values,
            bins=_bins(values.size),
            range=(low, high),
            color=HIST_COLOUR,
            alpha=0.6,
            label=f"replicas ({collected['n_valid']} of {collected['n_replicas']} valid)",
        )
        if math.isfinite(std) and std > 0:
            x = np.linspace(low, high, 400)
            width = edges[1] - edges[0]
            y = values.size * width * np.exp(-0.5 * ((x - mean) / std) ** 2)
            y /= std * math.sqrt(2.0 * math.pi)
            gaussian = (x, y)
            ax.plot(x, y, color=GAUSS_COLOUR, lw=2, label="Gaussian (mean, std)")
    if math.isfinite(mean):
        ax.axvline(mean, color=MEAN_COLOUR, lw=1.5, label="mean")
        lines["mean"] = mean
    if math.isfinite(std):
        for k in (-1, 1):
            band = "mean ± std" if k == 1 else None
            ax.axvline(mean + k * std, color=MEAN_COLOUR, lw=1, ls=":", label=band)
            lines[f"{k:+d}sigma"] = mean + k * std
    if truth is not None and math.isfinite(truth):
        ax.axvline(truth, color=TRUTH_COLOUR, ls="--", lw=1.5, label="truth")
        lines["truth"] = float(truth)
    if math.isfinite(mean) and math.isfinite(std):
        d = decimals(std, std)
        text = f"{plain(label)}: mean ${mean:.{d}f}$, std ${std:.{d}f}$"
    else:
        text = f"{plain(label)}: fewer than two valid replicas"
    ax.text(0.03, 0.95, text, transform=ax.transAxes, va="top", fontsize=13)
    ax.set_xlabel(plain(label))
    ax.set_ylabel("Replicas")
    ax.set_ylim(0.0, max(float(np.max(counts)) if counts.size else 1.0, 1.0) * 1.35)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper right", fontsize=12, frameon=False)
    set_title(ax, title)
    save(fig, outputs)
    return {"counts": counts, "edges": edges, "gaussian": gaussian, "lines": lines, "text": text}
