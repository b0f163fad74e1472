"""Plots of a hyperparameter search: every trial's metric, its history and what mattered.

`scan_plot` serves both searches (the grid and the Bayesian trials): the ranking metric per
trial, then against each searched hyperparameter, with the chosen trial marked, so a reader
sees both which point won and how flat the metric is around it. `history_plot` and
`importance_plot` are the Bayesian study's optimisation history and fANOVA importances.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from innfer_lib.plots.metrics import metric_label
from innfer_lib.plots.save import save
from innfer_lib.plots.style import COLOURS, apply_style
from innfer_lib.plots.text import plain, set_title

BEST_COLOUR = COLOURS["truth"]
TRIAL_COLOUR = COLOURS["learned"]


def _positions(values: pd.Series) -> tuple[np.ndarray, list[str] | None]:
    """x positions of a hyperparameter's values; categories (and bools) get tick labels."""
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.notna().all() and values.map(lambda v: not isinstance(v, bool)).all():
        return numeric.to_numpy(np.float64), None
    labels = sorted({str(v) for v in values})
    return np.array([labels.index(str(v)) for v in values], dtype=np.float64), labels


def _reference(ax: Any, reference: float | None) -> None:
    if reference is not None and np.isfinite(reference):
        ax.axhline(reference, color="grey", ls="--", label="true density")


def scan_plot(
    table: pd.DataFrame,
    metric_key: str,
    columns: Sequence[str],
    best: int,
    outputs: Sequence[str] = (),
    title: str = "",
    reference: float | None = None,
) -> dict[str, Any]:
    """The metric of every trial, and against each searched hyperparameter; best in red.

    Args:
        table: `results.tuning.trials_table`.
        metric_key: The ranking metric (the table's `value` column).
        columns: The searched hyperparameters (dotted keys).
        best: The chosen trial.
        reference: The true density's value of the metric (a benchmark), drawn dashed: how
            far the trials are from what a perfect flow scores.

    Returns:
        ``{"panels": number of panels}``.
    """
    apply_style()
    n = 1 + len(columns)
    ncols = min(n, 3)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(6.5 * ncols, 5.5 * nrows), squeeze=False)
    flat = axes.ravel()
    chosen = table["trial"] == best
    finite = np.isfinite(table["value"].to_numpy(np.float64))
    label = metric_label(metric_key)
    ax = flat[0]
    ax.plot(table["trial"][finite], table["value"][finite], "o", color=TRIAL_COLOUR, label="trial")
    ax.plot(
        table["trial"][chosen],
        table["value"][chosen],
        "*",
        ms=18,
        color=BEST_COLOUR,
        label=f"chosen: trial {best}",
    )
    _reference(ax, reference)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("trial")
    ax.set_ylabel(label, fontsize=13)
    ax.legend(fontsize=12)
    for ax, column in zip(flat[1:], columns, strict=False):
        x, ticks = _positions(table[column])
        ax.plot(x[finite], table["value"][finite], "o", color=TRIAL_COLOUR)
        ax.plot(x[chosen.to_numpy()], table["value"][chosen], "*", ms=18, color=BEST_COLOUR)
        _reference(ax, reference)
        if ticks is not None:
            ax.set_xticks(range(len(ticks)), [plain(t) for t in ticks])
        ax.set_xlabel(plain(column))
        ax.set_ylabel(label, fontsize=13)
    for ax in flat[n:]:
        ax.set_visible(False)
    set_title(flat[0], title)
    fig.tight_layout()
    save(fig, outputs)
    return {"panels": n}


def history_plot(
    table: pd.DataFrame,
    metric_key: str,
    direction: str,
    outputs: Sequence[str] = (),
    title: str = "",
    reference: float | None = None,
) -> dict[str, Any]:
    """Optimisation history: each complete trial's metric and the best so far; pruned and
    failed trials as ticks on the axis, so the plot shows every trial the study ran.

    Returns:
        ``{"best_so_far": the running best after each complete trial}``.
    """
    apply_style()
    fig, ax = plt.subplots(figsize=(8, 6))
    done = table[(table["state"] == "COMPLETE") & np.isfinite(table["value"])]
    done = done.sort_values("trial")
    values = done["value"].to_numpy(np.float64)
    running = np.minimum.accumulate(values) if direction == "min" else np.maximum.accumulate(values)
    ax.plot(done["trial"], values, "o", color=TRIAL_COLOUR, label="complete trial")
    ax.step(done["trial"], running, where="post", color=BEST_COLOUR, label="best so far")
    others = table[~table["trial"].isin(done["trial"])]
    for state, marker, word in (("PRUNED", "v", "pruned"), ("FAIL", "x", "failed")):
        rows = others[others["state"] == state]
        if len(rows):
            ax.plot(
                rows["trial"],
                np.zeros(len(rows)),
                marker,
                color="grey",
                clip_on=False,
                transform=ax.get_xaxis_transform(),
                label=f"{word} trial",
            )
    _reference(ax, reference)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("trial")
    ax.set_ylabel(metric_label(metric_key), fontsize=13)
    ax.legend(fontsize=12)
    set_title(ax, title)
    save(fig, outputs)
    return {"best_so_far": running.tolist()}


def importance_plot(
    importances: Mapping[str, float],
    outputs: Sequence[str] = (),
    title: str = "",
) -> dict[str, Any]:
    """fANOVA importance of each hyperparameter (shares of the metric's variance), largest on
    top; with too few trials to estimate them, the plot says so instead of drawing bars."""
    apply_style()
    fig, ax = plt.subplots(figsize=(8, 1.5 + 0.6 * max(1, len(importances))))
    names = sorted(importances, key=lambda k: importances[k])
    if names:
        ax.barh(range(len(names)), [importances[k] for k in names], color=TRIAL_COLOUR)
        ax.set_yticks(range(len(names)), [plain(k) for k in names])
    else:
        ax.text(
            0.5, 0.5, "too few complete trials for importances", ha="center", transform=ax.transAxes
        )
        ax.set_yticks([])
    ax.set_xlabel("importance (share of the metric's variance, fANOVA)")
    set_title(ax, title)
    save(fig, outputs)
    return {"order": names[::-1]}
