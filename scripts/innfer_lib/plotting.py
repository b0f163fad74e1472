"""Every plot of the workflow: matplotlib with the CMS style of mplhep, PDF and PNG.

One function per plot kind; each takes numbers (not files) so tests can check what is drawn.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from innfer_lib.io import atomic_path  # noqa: E402

COLOURS = {"learned": "#5790fc", "truth": "#e42536", "data": "black"}
LABELS = {"learned": "learned density", "truth": "true density"}


def _style() -> None:
    import mplhep

    plt.style.use(mplhep.style.CMS)
    plt.rcParams.update({"font.size": 16, "axes.labelsize": 16, "legend.fontsize": 13})


def save(fig, outputs: Sequence[str]) -> None:
    """Write one figure to each output (PDF and PNG), atomically."""
    for path in outputs:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=str(path).rsplit(".", 1)[-1], bbox_inches="tight", dpi=120)
    plt.close(fig)


def loss_plot(history: Mapping[str, Any], outputs: Sequence[str], title: str = "") -> None:
    """Train and test loss per epoch, with the selected (best) epoch marked."""
    _style()
    fig, ax = plt.subplots(figsize=(8, 6))
    ax.plot(history["epoch"], history["train_loss"], "o-", label="train")
    ax.plot(history["epoch"], history["test_loss"], "s-", label="test")
    ax.axvline(history["best_epoch"], color="grey", ls="--", label="best epoch")
    ax.set_xlabel("epoch")
    ax.set_ylabel("weighted negative log-likelihood per event")
    ax.set_title(title, fontsize=14)
    ax.legend()
    save(fig, outputs)


def summary_plot(summary: Mapping[str, Any], outputs: Sequence[str], title: str = "") -> None:
    """Best fit − truth per validation point with ±1σ (thick) and ±2σ (thin) bars per density."""
    _style()
    params = summary["parameters"]
    points = summary["points"]
    densities = summary["densities"]
    fig, axes = plt.subplots(
        len(params), 1, figsize=(max(8, 0.9 * len(points) + 3), 4.5 * len(params)), squeeze=False
    )
    x = np.arange(len(points))
    offsets = np.linspace(-0.15, 0.15, len(densities)) if len(densities) > 1 else [0.0]
    for ax, param in zip(axes[:, 0], params, strict=True):
        for offset, density in zip(offsets, densities, strict=True):
            res = [p["results"][density][param] for p in points]
            diff = np.array(
                [r["best_fit"] - p["truth"][param] for r, p in zip(res, points, strict=True)]
            )
            sig = np.array([r["sigma"] for r in res])
            colour = COLOURS.get(density)
            ax.errorbar(
                x + offset,
                diff,
                yerr=2 * sig,
                fmt="none",
                ecolor=colour,
                elinewidth=1,
                capsize=3,
                alpha=0.6,
            )
            ax.errorbar(
                x + offset,
                diff,
                yerr=sig,
                fmt="o",
                color=colour,
                elinewidth=3,
                label=f"{LABELS.get(density, density)} (±1σ thick, ±2σ thin)",
            )
        ax.axhline(0.0, color="grey", ls="--")
        ax.set_xticks(x)
        ax.set_xticklabels(
            [
                ", ".join(f"{k}={v:g}" for k, v in p["truth"].items() if k in summary["varied"])
                or f"val {p['val']}"
                for p in points
            ],
            rotation=45,
            ha="right",
            fontsize=11,
        )
        ax.set_ylabel(f"best fit − truth ({param})")
        ax.legend(loc="upper left", fontsize=11)
    axes[-1, 0].set_xlabel("validation point (truth)")
    if title:
        axes[0, 0].set_title(title, fontsize=14)
    save(fig, outputs)


def density_plot(
    panels: Sequence[Mapping[str, Any]], outputs: Sequence[str], title: str = ""
) -> None:
    """Validation events (weighted histogram) against the densities scaled to the yield.

    Each panel: {variable, edges, counts, errors, curves: {density: (x, y)} and/or
    hists: {density: counts}}; y values are events per bin.
    """
    _style()
    fig, axes = plt.subplots(
        2,
        len(panels),
        figsize=(7 * len(panels), 7),
        squeeze=False,
        gridspec_kw={"height_ratios": [3, 1]},
        sharex="col",
    )
    for i, panel in enumerate(panels):
        ax, rax = axes[0, i], axes[1, i]
        edges = np.asarray(panel["edges"])
        centres = 0.5 * (edges[1:] + edges[:-1])
        counts = np.asarray(panel["counts"])
        errors = np.asarray(panel["errors"])
        ax.errorbar(
            centres, counts, yerr=errors, fmt="o", color="black", ms=4, label="validation events"
        )
        for density, (cx, cy) in panel.get("curves", {}).items():
            ax.plot(cx, cy, color=COLOURS.get(density), lw=2, label=LABELS.get(density, density))
        for density, hist in panel.get("hists", {}).items():
            ax.stairs(
                hist,
                edges,
                color=COLOURS.get(density),
                lw=2,
                label=f"{LABELS.get(density, density)} (samples)",
            )
        for density, pred in panel.get("binned", {}).items():
            pred = np.asarray(pred)
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(pred > 0, counts / pred, np.nan)
                rerr = np.where(pred > 0, errors / pred, np.nan)
            rax.errorbar(
                centres,
                ratio,
                yerr=rerr,
                fmt="o",
                ms=3,
                color=COLOURS.get(density),
                label=LABELS.get(density, density),
            )
        rax.axhline(1.0, color="grey", ls="--")
        rax.set_ylim(0.8, 1.2)
        rax.set_ylabel("events / density", fontsize=12)
        rax.set_xlabel(panel["variable"])
        ax.set_ylabel("events per bin")
        ax.legend(fontsize=11)
    if title:
        axes[0, 0].set_title(title, fontsize=13)
    save(fig, outputs)
