"""Ensemble plot: the scatter of the members' best fits beside σ_stat, per parameter.

Drawn from `results.ensemble.ensemble_summary`. Per parameter an upper pad shows, at each
validation point, best fit − truth of every member (small markers), their mean ± spread and
the main fit's ±σ_stat as a band; a lower pad shows spread/σ_stat with the line where the
flow starts to limit the result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from innfer_lib.plots.save import save
from innfer_lib.plots.style import BAND_ALPHA, COLOURS, apply_style

#: Colour of the members and their spread (the statistical band is grey, the data's scale).
MEMBER_COLOUR = COLOURS["learned"]
STAT_COLOUR = "grey"


def _point_label(point: Mapping[str, Any], varied: Sequence[str]) -> str:
    """A point by the truths that vary over the points (its index when none does)."""
    truth = point["truth"]
    return ", ".join(f"{p}={float(truth[p]):g}" for p in varied) or f"val {point['val']}"


def ensemble_plot(
    summary: Mapping[str, Any], outputs: Sequence[str], title: str = ""
) -> list[tuple[Any, Any]]:
    """Members' best fits, their spread and σ_stat per point; spread/σ_stat below.

    Returns:
        (upper, lower) axes per parameter (for tests).
    """
    apply_style()
    params = summary["parameters"]
    points = summary["points"]
    threshold = float(summary["criterion"]["flow_limited_ratio"])
    n_members = int(summary["members"])
    x = np.arange(len(points), dtype=float)
    fig = plt.figure(figsize=(max(8.0, 0.9 * len(points) + 4.0), 6.5 * len(params)))
    outer = fig.add_gridspec(len(params), 1, hspace=0.45)
    labels = [_point_label(p, summary["varied"]) for p in points]
    pads = []
    for i, param in enumerate(params):
        inner = outer[i].subgridspec(2, 1, height_ratios=[3, 1.4], hspace=0.06)
        upper = fig.add_subplot(inner[0])
        lower = fig.add_subplot(inner[1], sharex=upper)
        entries = [pt["parameters"][param] for pt in points]
        truth = np.array([e["truth"] for e in entries])
        sigma = np.array([e["sigma_stat"] for e in entries])
        main = np.array([e["members"][0] for e in entries]) - truth
        mean = np.array([e["mean"] for e in entries]) - truth
        spread = np.array([e["spread"] for e in entries])
        upper.bar(
            x,
            2 * sigma,
            bottom=main - sigma,
            width=0.6,
            color=STAT_COLOUR,
            alpha=BAND_ALPHA,
            label="main fit ±σ_stat",
        )
        for k in range(n_members):
            values = np.array([e["members"][k] for e in entries]) - truth
            offsets = x + (k - (n_members - 1) / 2) * 0.3 / max(n_members - 1, 1)
            upper.plot(
                offsets,
                values,
                ls="none",
                marker="o" if k == 0 else ".",
                ms=7 if k == 0 else 6,
                color="black" if k == 0 else MEMBER_COLOUR,
                label="main flow (member 0)" if k == 0 else ("other members" if k == 1 else None),
            )
        upper.errorbar(
            x + 0.22,
            mean,
            yerr=spread,
            ls="none",
            marker="D",
            ms=6,
            capsize=4,
            lw=2,
            color=MEMBER_COLOUR,
            label=f"mean ± spread of {n_members} members",
        )
        upper.axhline(0.0, color="grey", ls="--")
        # Observed data have no truth: their reference is the nominal point.
        upper.set_ylabel(f"{param} − {points[0].get('reference', 'truth')}")
        upper.ticklabel_format(axis="y", useOffset=False)
        upper.tick_params(labelbottom=False)
        # Head room for the legend, which would otherwise sit on the highest points.
        low, high = upper.get_ylim()
        upper.set_ylim(low, high + 0.3 * (high - low))
        upper.legend(loc="upper left", fontsize=10, ncol=2)
        ratio = np.array([e["ratio"] for e in entries])
        limited = np.array([e["flow_limited"] for e in entries], bool)
        finite = ratio[np.isfinite(ratio)]
        top = max(1.0, 1.2 * float(finite.max())) if finite.size else 1.0
        lower.axhspan(threshold, top, color="red", alpha=0.1, label="the flow limits")
        lower.axhline(threshold, color="red", ls="--")
        lower.plot(x[~limited], ratio[~limited], "o", color=MEMBER_COLOUR)
        lower.plot(x[limited], ratio[limited], "o", color="red")
        lower.set_ylim(0.0, top)
        lower.set_ylabel("spread / σ_stat", fontsize=13)
        lower.legend(loc="upper left", fontsize=9)
        lower.set_xticks(x)
        lower.set_xticklabels(labels, rotation=45, ha="right", fontsize=11)
        pads.append((upper, lower))
    pads[-1][1].set_xlabel("validation point (truth)")
    heading = title or f"{summary['fit']}: density ensemble of {n_members} flows"
    pads[0][0].set_title(heading, fontsize=14)
    save(fig, outputs)
    return pads
