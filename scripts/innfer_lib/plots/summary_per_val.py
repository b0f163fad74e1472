"""Summary per validation point: every floating parameter at one point, series side by side.

Unconstrained parameters (POIs, rates) get a row each on their own scale; constrained
nuisances share one pad in units of their prior width, as pulls are usually read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from innfer_lib.plots.fit_series import interval_bars, point_label, series_label, series_style
from innfer_lib.plots.save import save
from innfer_lib.plots.style import apply_style


def summary_per_val_plot(
    summary: Mapping[str, Any],
    val: int,
    outputs: Sequence[str],
    parameters: Sequence[str],
    title: str = "",
    labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Every floating parameter at one validation point: θ̂ with ±1σ/±2σ per series.

    Unconstrained parameters (POIs, rates) get one row each on their own scale with the
    truth marked; constrained nuisances share one pad, drawn as θ̂ − θ_true in units of their
    unit prior width. An invalid fit (`inference.validity`) gets a red cross on its point.

    Returns:
        {"unconstrained": [axes], "constrained": axes or None} (for tests).
    """
    apply_style()
    labels = labels or {}
    point = next(p for p in summary["points"] if p["val"] == val)
    series = [(s["fit"], s["density"]) for s in summary["series"]]
    n_fits = len({f for f, _ in series})

    def entry(fit: str, density: str, param: str) -> Mapping[str, Any] | None:
        return point["results"].get(fit, {}).get(density, {}).get(param)

    def is_constrained(param: str) -> bool:
        return any((e := entry(f, d, param)) is not None and e["constrained"] for f, d in series)

    free = [p for p in parameters if not is_constrained(p)]
    nuisances = [p for p in parameters if is_constrained(p)]
    heights = [1.2] * len(free) + ([0.5 * len(nuisances) + 1.0] if nuisances else [])
    fig, axes = plt.subplots(
        len(heights),
        1,
        figsize=(9, sum(heights) + 1.5),
        squeeze=False,
        gridspec_kw={"height_ratios": heights},
    )
    offsets = np.linspace(-0.25, 0.25, len(series)) if len(series) > 1 else np.zeros(1)
    invalid_labelled: list[bool] = []

    def draw(ax, y, fit, density, i, param, centre_of, label):
        e = entry(fit, density, param)
        if e is None:
            return
        c = {int(k): v for k, v in e["crossings"].items()}
        centre = centre_of(e)
        style = series_style(i, density, n_fits)
        best = e["best_fit"]
        one, two = ([[best - c.get(-k, np.nan)], [c.get(k, np.nan) - best]] for k in (1, 2))
        interval_bars(ax, [centre], [y], one, two, style, label, horizontal=True)
        if not e["fit_valid"]:
            # Labelled in the first pad only, where the legend is drawn.
            first = ax is axes[0, 0] and not invalid_labelled
            ax.scatter(
                [centre],
                [y],
                marker="x",
                s=120,
                color="red",
                zorder=5,
                label="invalid fit" if first else None,
            )
            if first:
                invalid_labelled.append(True)

    for row, param in enumerate(free):
        ax = axes[row, 0]
        for i, ((fit, density), off) in enumerate(zip(series, offsets, strict=True)):
            draw(
                ax,
                off,
                fit,
                density,
                i,
                param,
                lambda e: e["best_fit"],
                series_label(fit, density, n_fits, labels) if row == 0 else None,
            )
        ax.axvline(
            point["truth"][param], color="grey", ls="--", label="truth" if row == 0 else None
        )
        ax.set_yticks([0.0])
        ax.set_yticklabels([param])
        ax.set_ylim(-0.6, 0.6)
        ax.set_xlabel(param, fontsize=12)
    constrained_ax = None
    if nuisances:
        constrained_ax = axes[-1, 0]
        for k, param in enumerate(nuisances):
            for i, ((fit, density), off) in enumerate(zip(series, offsets, strict=True)):
                draw(
                    constrained_ax,
                    k + off,
                    fit,
                    density,
                    i,
                    param,
                    lambda e: e["best_fit"] - e["truth"],
                    series_label(fit, density, n_fits, labels) if k == 0 and not free else None,
                )
        constrained_ax.axvline(0.0, color="grey", ls="--")
        constrained_ax.axvspan(-1.0, 1.0, color="grey", alpha=0.1)
        constrained_ax.set_yticks(range(len(nuisances)))
        constrained_ax.set_yticklabels(nuisances, fontsize=11)
        constrained_ax.set_xlabel("constrained nuisance: θ̂ − θ_true (prior σ = 1)", fontsize=12)
    handles, names = axes[0, 0].get_legend_handles_labels()
    if handles:
        axes[0, 0].legend(
            handles, names, loc="lower left", bbox_to_anchor=(0.0, 1.02), ncol=2, fontsize=10
        )
    fig.suptitle(
        title or f"validation point {val}: {point_label(point, summary['varied'])}",
        fontsize=13,
        y=1.0 + 0.02 * len(series),
    )
    fig.tight_layout()
    save(fig, outputs)
    return {"unconstrained": [axes[r, 0] for r in range(len(free))], "constrained": constrained_ax}
