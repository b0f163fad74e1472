"""Summary plot: best fit relative to the truth per validation point, one pad per parameter.

The closure summary of a set of fits (spec inference), drawn from `results.summary.collect`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from innfer_lib.plots.fit_series import interval_bars, point_label, series_label, series_style
from innfer_lib.plots.save import save
from innfer_lib.plots.style import apply_style
from innfer_lib.results.summary import RATIO, view_values


def summary_plot(
    summary: Mapping[str, Any],
    outputs: Sequence[str],
    title: str = "",
    show_2sigma: bool = True,
    labels: Mapping[str, str] | None = None,
) -> list[Any]:
    """Best fit relative to the truth per validation point, one pad per parameter.

    Each series (fit set × density) is offset horizontally; thick bars are the ±1σ
    crossings and thin ones ±2σ, both possibly asymmetric (scans). The view per parameter
    is θ̂/θ_true (line at 1) or θ̂ − θ_true (line at 0, where a truth is 0). The legend
    carries χ²/ndf against the truth. Invalid fits (`inference.validity`) are drawn with a
    red cross over their point and left out of the χ², whose label says how many were.

    Returns:
        The axes, one per parameter (for tests).
    """
    apply_style()
    labels = labels or {}
    params = summary["parameters"]
    points = summary["points"]
    series = [(s["fit"], s["density"]) for s in summary["series"]]
    n_fits = len({f for f, _ in series})
    fig, axes = plt.subplots(
        len(params), 1, figsize=(max(8, 0.9 * len(points) + 4), 4.5 * len(params)), squeeze=False
    )
    x = np.arange(len(points))
    width = 0.5
    offsets = np.linspace(-width / 2, width / 2, len(series)) if len(series) > 1 else [0.0]
    for ax, param in zip(axes[:, 0], params, strict=True):
        view = summary["views"][param]
        crosses: list[list[float]] = [[], []]
        for i, ((fit, density), offset) in enumerate(zip(series, offsets, strict=True)):
            xs: list[float] = []
            ys: list[float] = []
            one: list[list[float]] = [[], []]
            two: list[list[float]] = [[], []]
            for j, point in enumerate(points):
                entry = point["results"].get(fit, {}).get(density, {}).get(param)
                if entry is None:
                    continue
                y, c = view_values(entry, point["truth"][param], view)
                xs.append(x[j] + offset)
                ys.append(y)
                if not entry["fit_valid"]:
                    crosses[0].append(x[j] + offset)
                    crosses[1].append(y)
                for bars, k in ((one, 1), (two, 2)):
                    bars[0].append(y - c.get(-k, np.nan))
                    bars[1].append(c.get(k, np.nan) - y)
            style = series_style(i, density, n_fits)
            chi2 = summary["chi2"][fit][density][param]
            excluded = f", {chi2['invalid']} invalid fit(s) left out" if chi2["invalid"] else ""
            interval_bars(
                ax,
                np.asarray(xs, float),
                np.asarray(ys, float),
                one,
                two if show_2sigma else None,
                style,
                f"{series_label(fit, density, n_fits, labels)} "
                f"(χ²/ndf = {chi2['chi2']:.1f}/{chi2['ndf']}{excluded})",
            )
        if crosses[0]:
            ax.scatter(*crosses, marker="x", s=120, color="red", zorder=5, label="invalid fit")
        ax.axhline(1.0 if view == RATIO else 0.0, color="grey", ls="--")
        # Ratios of a 172 GeV mass sit within 1e-3 of 1: print them, not an offset of "+1".
        ax.ticklabel_format(axis="y", useOffset=False)
        ax.set_xticks(x)
        ax.set_xticklabels(
            [point_label(p, summary["varied"]) for p in points],
            rotation=45,
            ha="right",
            fontsize=11,
        )
        ylabel = f"{param} / truth" if view == RATIO else f"{param} − truth"
        ax.set_ylabel(ylabel)
        ax.legend(
            loc="upper left",
            fontsize=10,
            title="±1σ thick, ±2σ thin" if show_2sigma else "±1σ",
            title_fontsize=10,
        )
    axes[-1, 0].set_xlabel("validation point (truth)")
    if title:
        axes[0, 0].set_title(title, fontsize=14)
    save(fig, outputs)
    return list(axes[:, 0])
