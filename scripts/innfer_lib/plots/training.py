"""Training plots: the loss per epoch and the performance metrics per epoch.

These show whether the density kept improving and where it stopped: the train/test loss with
the selected epoch (`loss_plot`), and INNFER's EpochPerformanceMetricsPlot, one metric
(`epoch_metrics_plot`) or several normalised ones (`merged_epoch_metrics_plot`) against the
epoch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from innfer_lib.plots.save import save
from innfer_lib.plots.style import SYNTHETIC_COLOUR, apply_style, cycle_colours
from innfer_lib.plots.text import no_events, plain, set_title


def loss_plot(
    history: Mapping[str, Any],
    outputs: Sequence[str],
    title: str = "",
    ylabel: str = "weighted negative log-likelihood per event",
) -> None:
    """Train and test loss per epoch, with the selected (best) epoch marked."""
    apply_style()
    fig, ax = plt.subplots(figsize=(8, 6))
    ax.plot(history["epoch"], history["train_loss"], "o-", label="train")
    ax.plot(history["epoch"], history["test_loss"], "s-", label="test")
    ax.axvline(history["best_epoch"], color="grey", ls="--", label="best epoch")
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=14)
    ax.legend()
    save(fig, outputs)


def flatten_metrics(metrics: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    """Nested metrics (``{"histogram": {"chi2": 1.2}}``) as flat keys (``histogram_chi2``).

    Only numbers are kept; the per-epoch YAML files also hold strings and lists that cannot be
    drawn against the epoch.
    """
    flat: dict[str, float] = {}
    for key, value in metrics.items():
        name = f"{prefix}_{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            flat.update(flatten_metrics(value, name))
        elif isinstance(value, int | float | np.number) and not isinstance(value, bool):
            flat[name] = float(value)
    return flat


def epoch_metrics_by_epoch(
    history: Mapping[str, Any], per_epoch: Mapping[int, Mapping[str, float]]
) -> dict[int, dict[str, float]]:
    """Training history (lists over epochs) and per-epoch metrics as {epoch: {key: value}}."""
    merged: dict[int, dict[str, float]] = {
        int(epoch): {key: history[key][i] for key in ("train_loss", "test_loss", "learning_rate")}
        for i, epoch in enumerate(history["epoch"])
    }
    for epoch, values in per_epoch.items():
        merged.setdefault(int(epoch), {}).update(values)
    return dict(sorted(merged.items()))


def _epoch_series(
    metrics_by_epoch: Mapping[int, Mapping[str, Any]], key: str, no_zero: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Epochs (sorted) and values of one flattened key, skipping epochs without it."""
    epochs, values = [], []
    for epoch in sorted(metrics_by_epoch, key=int):
        if no_zero and int(epoch) == 0:
            continue
        flat = flatten_metrics(metrics_by_epoch[epoch])
        if key in flat:
            epochs.append(int(epoch))
            values.append(flat[key])
    return np.array(epochs, dtype=int), np.array(values, dtype=float)


def _known_keys(metrics_by_epoch: Mapping[int, Mapping[str, Any]]) -> set[str]:
    return {k for m in metrics_by_epoch.values() for k in flatten_metrics(m)}


def epoch_metrics_plot(
    metrics_by_epoch: Mapping[int, Mapping[str, Any]],
    key: str,
    outputs: Sequence[str] = (),
    no_zero: bool = False,
    label: str | None = None,
    title: str = "",
) -> dict[str, Any]:
    """One performance metric against the training epoch.

    Shows whether the density kept improving and where it stopped. The ``no_zero`` variant
    leaves out epoch 0 (the untrained flow), whose value is usually so far off that it flattens
    the rest of the curve.

    Args:
        metrics_by_epoch: Epoch to that epoch's metrics (nested mappings are flattened).
        key: Flattened metric name, e.g. ``histogram_chi2``.
        outputs: Paths to write ([pdf, png]).
        no_zero: Leave out epoch 0.
        label: y-axis text; ``key`` when None.
        title: Figure title.

    Returns:
        ``{"epochs": int array, "values": float array, "ylabel": str}``.

    Raises:
        KeyError: No epoch has ``key`` (a typo would otherwise give an empty plot).
    """
    if key not in _known_keys(metrics_by_epoch):
        raise KeyError(f"no epoch has the metric {key!r}")
    epochs, values = _epoch_series(metrics_by_epoch, key, no_zero)
    ylabel = label if label is not None else key

    apply_style()
    fig, ax = plt.subplots(figsize=(8, 6))
    ax.plot(epochs, values, "o-", color=SYNTHETIC_COLOUR)
    if not len(epochs):
        no_events(ax)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel(plain(ylabel))
    set_title(ax, title)
    save(fig, outputs)
    return {"epochs": epochs, "values": values, "ylabel": ylabel}


def merged_epoch_metrics_plot(
    metrics_by_epoch: Mapping[int, Mapping[str, Any]],
    keys: Sequence[str],
    outputs: Sequence[str] = (),
    no_zero: bool = False,
    title: str = "",
) -> dict[str, Any]:
    """Several metrics against the epoch on one axis, each min-max normalised to [0, 1].

    Metrics have different units and scales; normalising each one lets their trends (do they
    all improve, and stop at the same epoch?) be compared on one figure, as INNFER's
    ``epoch_pm_merged`` did.

    Returns:
        ``{"epochs": {key: int array}, "values": {key: normalised values}}``.

    Raises:
        KeyError: No epoch has one of ``keys``.
    """
    known = _known_keys(metrics_by_epoch)
    missing = [k for k in keys if k not in known]
    if missing:
        raise KeyError(f"no epoch has the metric(s) {missing}")
    series_epochs, series_values = {}, {}
    apply_style()
    fig, ax = plt.subplots(figsize=(9, 6))
    for colour, key in zip(cycle_colours(len(keys)), keys, strict=True):
        epochs, values = _epoch_series(metrics_by_epoch, key, no_zero)
        if len(values):
            span = float(values.max() - values.min())
            values = (values - values.min()) / span if span > 0 else np.zeros_like(values)
        series_epochs[key], series_values[key] = epochs, values
        ax.plot(epochs, values, "o-", color=colour, ms=4, label=plain(key))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("min-max normalised value")
    ax.set_ylim(-0.05, 1.3)
    ax.legend(loc="upper right", fontsize=10, ncol=2)
    set_title(ax, title)
    save(fig, outputs)
    return {"epochs": series_epochs, "values": series_values}
