"""Flow plot: one dimension of the validation events through the coupling layers (INNFER's Flow).

A trained flow should turn the standardised inputs step by step into a standard normal; all
stages in one figure show where the Gaussianisation happens and whether the last stage gets
there.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from innfer_lib.plots.histograms import values_and_weights
from innfer_lib.plots.save import save
from innfer_lib.plots.style import SYNTHETIC_COLOUR, apply_style, fix_ticks, title_y
from innfer_lib.plots.text import plain

FLOW_BINS = 100
FLOW_RANGE = (-3.0, 3.0)
FLOW_COLUMNS = 4


def flow_stages_plot(
    stages: Sequence[np.ndarray],
    column: str,
    outputs: Sequence[str] = (),
    weights: np.ndarray | None = None,
    label: str | None = None,
    title: str = "",
    pretransformed: bool = False,
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
        pretransformed: Stage 1 is the flow's fixed pre-transform, not a coupling layer.
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
        x, w, _ = values_and_weights((values, weights), f"stage {k}")
        inside = (x >= edges[0]) & (x <= edges[-1])
        total = float(np.sum(w))
        outside.append(float(np.sum(w[~inside]) / total) if total else 0.0)
        counts, _ = np.histogram(x, bins=edges, weights=w)
        norm = float(np.sum(counts)) * (edges[1] - edges[0])
        hists.append(counts / norm if norm else counts)
    xlabel = label if label is not None else column

    apply_style()
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
        layers = k - int(pretransformed)
        if k == 0:
            stage = "input (standardised)"
        elif layers == 0:
            stage = "after the pre-transform"
        else:
            stage = f"after {layers} coupling layer{'s' * (layers > 1)}"
        ax.tick_params(labelsize=9)
        ax.set_xlim(*FLOW_RANGE)
        # Up to eleven small panels: one minor tick per interval, positions fixed, and the
        # title pinned where automatic placement puts it (`style.fix_ticks`, `style.title_y`).
        fix_ticks(ax)
        ax.set_title(stage, fontsize=11, y=title_y(ax))
    fig.supxlabel(f"{plain(xlabel)} (latent coordinate)", fontsize=13)
    fig.supylabel("unit-area density", fontsize=13)
    if title:
        fig.suptitle(plain(title), fontsize=14)
    save(fig, outputs)
    return {"edges": edges, "hists": hists, "fraction_outside": outside, "xlabel": xlabel}
