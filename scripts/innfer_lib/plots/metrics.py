"""Plots of the density performance metrics: their p-values and an overview per density.

`metric_label` turns a metric key into readable axis text, so every plot of a metric (against
epoch, against its toys) names it the same way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from innfer_lib.plots.save import save
from innfer_lib.plots.style import COLOURS, SIMULATED_COLOUR, SYNTHETIC_COLOUR, apply_style
from innfer_lib.plots.text import plain, set_title

_DATASETS = ("test_inf", "train_inf", "val", "full")
_LABELS = {
    "loss": "mean $-\\log p(x\\,|\\,\\theta)$",
    "chi_squared_per_dof": "histogram $\\chi^2$/dof",
    "kl_divergence": "histogram KL divergence",
    "bdt_auc": "BDT AUC (0.5: indistinguishable)",
    "bdt_accuracy": "BDT accuracy (0.5: indistinguishable)",
    "wasserstein_unbinned": "Wasserstein $W_1$",
    "wasserstein_sliced": "sliced Wasserstein $W_1$ (standardised)",
    "k_means_chi_squared": "k-means $\\chi^2$/dof",
    "inference_chi_squared": "inference $\\chi^2$ to the truth",
    "inference_distance": "inference |best fit $-$ truth|",
    "train_loss": "training loss (standardised space)",
    "test_loss": "test loss (standardised space)",
    "learning_rate": "learning rate",
}


def metric_label(key: str) -> str:
    """Readable text for a metric key, e.g. ``bdt_auc_val`` → "BDT AUC (...), val events".

    The dataset (val, test_inf, ...), a variable name and an aggregate (sum, mean) are put
    in words after the metric's name; an unknown key is returned as it is.
    """
    if key in _LABELS:
        return _LABELS[key]
    if key.startswith("loss_"):
        part = key[len("loss_") :].replace("_", " ")
        return f"{_LABELS['loss']}: {part}"
    for stem in sorted(_LABELS, key=len, reverse=True):
        if not key.startswith(stem + "_"):
            continue
        rest = key[len(stem) + 1 :]
        for dataset in _DATASETS:
            if rest == dataset or rest.startswith(dataset + "_"):
                extra = rest[len(dataset) + 1 :]
                words = f"{_LABELS[stem]}, {dataset} events"
                if extra in ("sum", "mean"):
                    return f"{words} ({extra} over points and variables)"
                return f"{words}, {plain(extra)}" if extra else words
    return plain(key)


def pvalue_plot(
    key: str,
    observed: float,
    toys: Sequence[float],
    p_value: float,
    outputs: Sequence[str] = (),
    title: str = "",
) -> dict[str, Any]:
    """The toys' distribution of one metric, the observed value and the p-value.

    INNFER's PValueDatasetComparisonPlot: 20 bins spanning the toys and the observed value,
    a line at the observed value and the toys above it (those that make the p-value) shaded.

    Returns:
        ``{"edges": bin edges, "counts": toys per bin}``.
    """
    values = np.asarray(toys, dtype=np.float64)
    values = values[np.isfinite(values)]
    span = np.concatenate([values, [observed]]) if np.isfinite(observed) else values
    low, high = (float(span.min()), float(span.max())) if len(span) else (0.0, 1.0)
    pad = 0.05 * (high - low) if high > low else max(abs(low) * 0.05, 1e-3)
    edges = np.linspace(low - pad, high + pad, 21)
    counts, _ = np.histogram(values, bins=edges)
    apply_style()
    fig, ax = plt.subplots(figsize=(8, 6))
    ax.stairs(
        counts, edges, color=SYNTHETIC_COLOUR, label=f"synthetic vs synthetic ({len(values)} toys)"
    )
    above = edges[:-1] >= observed
    if np.isfinite(observed):
        ax.stairs(np.where(above, counts, 0), edges, fill=True, alpha=0.3, color=SYNTHETIC_COLOUR)
        ax.axvline(observed, color=SIMULATED_COLOUR, lw=2, label="simulated vs synthetic")
    ax.set_xlabel(metric_label(key))
    ax.set_ylabel("toys per bin")
    ax.set_ylim(0, max(1, counts.max()) * 1.35)
    ax.legend(loc="upper left", fontsize=12, title=f"p-value = {p_value:.3f}", title_fontsize=13)
    set_title(ax, title)
    save(fig, outputs)
    return {"edges": edges, "counts": counts}


_OVERVIEW = re.compile(r"^chi_squared_per_dof_(?P<dataset>.+)_val_ind_(?P<val>\d+)_(?P<column>.+)$")


def metrics_overview_plot(
    metrics: Mapping[str, Mapping[str, float]],
    keys: Sequence[str],
    outputs: Sequence[str] = (),
    title: str = "",
) -> dict[str, Any]:
    """Per density: histogram χ²/dof of every validation point and variable, and the headline
    metrics in a table, so a learned flow is read next to the truth's values (its floor).

    Args:
        metrics: Density name (learned, truth) to its metrics.
        keys: The headline keys for the table (`performance.summary_metric_keys`).

    Returns:
        ``{"points": {density: [(label, χ²/dof), ...]}, "table": rows}``.
    """
    apply_style()
    fig, (ax, ax_table) = plt.subplots(
        1, 2, figsize=(15, 6.5), gridspec_kw={"width_ratios": [1.1, 1]}
    )
    points: dict[str, list[tuple[str, float]]] = {}
    labels: list[str] = []
    for name, values in metrics.items():
        entries = []
        for key in sorted(values):
            match = _OVERVIEW.match(key)
            if match:
                label = f"{match['dataset']} {match['val']} {match['column']}"
                entries.append((label, float(values[key])))
                if label not in labels:
                    labels.append(label)
        points[name] = entries
    offsets = np.linspace(-0.15, 0.15, max(1, len(metrics)))
    for offset, (name, entries) in zip(offsets, points.items(), strict=False):
        xs = [labels.index(label) + offset for label, _ in entries]
        ax.plot(xs, [v for _, v in entries], "o", color=COLOURS.get(name, "grey"), label=name, ms=5)
    ax.axhline(1.0, color="grey", ls="--", lw=1)
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels([plain(label) for label in labels], rotation=90, fontsize=8)
    ax.set_xlabel("split, validation point, variable")
    ax.set_ylabel("histogram $\\chi^2$/dof")
    if points:
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=len(points), fontsize=12)
    if title:
        fig.suptitle(plain(title), fontsize=14)
    names = list(metrics)
    rows = [
        [key] + [f"{metrics[n][key]:.4g}" if key in metrics[n] else "-" for n in names]
        for key in keys
    ]
    ax_table.axis("off")
    if rows:
        share = 0.35 / max(1, len(names))
        table = ax_table.table(
            cellText=rows,
            colLabels=["metric", *names],
            colWidths=[0.65] + [share] * len(names),
            loc="center",
            cellLoc="left",
        )
        table.auto_set_font_size(False)
        table.set_fontsize(8)
        table.scale(1.0, 1.15)
    save(fig, outputs)
    return {"points": points, "table": rows}
