"""PlotRegression: does the regressed weight ratio reproduce the true one, and what is S(ν)?

`average_weight_plot` shows, per bin of one input column (a variable or ν), the average weight
ratio Σw·r/Σw of the nominal events with the true r (`wt_shift`) and with the regressed r̂:
where the two agree, reweighting nominal events by r̂ gives the shifted distribution of that
column. `spline_plot` draws S(ν) through its knots at points of its θ grid.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from innfer_lib.data.schema import WEIGHT, WEIGHT_SHIFT
from innfer_lib.plots.save import save
from innfer_lib.plots.style import SIMULATED_COLOUR, SYNTHETIC_COLOUR, apply_style
from innfer_lib.plots.text import no_events, set_title
from innfer_lib.ratios.evaluation import REGRESSED
from innfer_lib.ratios.normalisation_surface import NormalisationSurface, grid_points

#: Bins per column (INNFER: 20), between the 0.5% and 99.5% weighted-free quantiles.
N_BINS = 20


def _binned_average(
    values: np.ndarray, ratio: np.ndarray, weights: np.ndarray, edges: np.ndarray
) -> np.ndarray:
    num, _ = np.histogram(values, edges, weights=weights * ratio)
    den, _ = np.histogram(values, edges, weights=weights)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den != 0, num / den, np.nan)


def average_weight_plot(
    table: pd.DataFrame, column: str, outputs: Sequence[str], label: str, title: str = ""
) -> None:
    """True against regressed average weight ratio in bins of `column`."""
    apply_style()
    fig, ax = plt.subplots(figsize=(8, 6))
    values = table[column].to_numpy()
    if len(values) == 0:
        no_events(ax)
        save(fig, outputs)
        return
    low, high = np.quantile(values, [0.005, 0.995])
    if not high > low:
        low, high = low - 0.5, high + 0.5
    edges = np.linspace(low, high, N_BINS + 1)
    centres = 0.5 * (edges[1:] + edges[:-1])
    w = table[WEIGHT].to_numpy()
    true = _binned_average(values, table[WEIGHT_SHIFT].to_numpy(), w, edges)
    regressed = _binned_average(values, table[REGRESSED].to_numpy(), w, edges)
    ax.plot(centres, true, "o", color=SIMULATED_COLOUR, label="True")
    ax.step(centres, regressed, where="mid", color=SYNTHETIC_COLOUR, lw=2, label="Regressed")
    ax.set_xlabel(label)
    ax.set_ylabel("average weight ratio")
    set_title(ax, title)
    ax.legend()
    save(fig, outputs)


#: Most S(ν) curves drawn, one per θ grid point (evenly spread over the grid).
MAX_CURVES = 9


def _theta_text(point: dict[str, float], labels: dict[str, str]) -> str:
    return ", ".join(f"{labels.get(k, k)} = {v:.4g}" for k, v in point.items())


def spline_plot(
    normalisation: NormalisationSurface,
    outputs: Sequence[str],
    label: str,
    title: str = "",
    errors: np.ndarray | None = None,
    theta_labels: dict[str, str] | None = None,
) -> None:
    """S(ν) between its knots at θ grid points, with the ratios Σw/Σw·r̂ it passes through
    (and, for a classifier, INNFER's spread √(Σw²(r − S)²)/Σw of each as error bars) at the
    middle point: how much S moves with θ is what the θ grid is for."""
    apply_style()
    fig, ax = plt.subplots(figsize=(8, 6))
    nu = np.linspace(*normalisation.nu_range, 400)
    points = grid_points(normalisation.theta)
    shown = sorted({int(round(v)) for v in np.linspace(0, len(points) - 1, MAX_CURVES)})
    colours = plt.get_cmap("viridis")(np.linspace(0.0, 0.9, len(shown)))
    for g, colour in zip(shown, colours, strict=True):
        text = _theta_text(points[g], theta_labels or {})
        ax.plot(nu, normalisation.splines[g].value(nu), color=colour, lw=1.5, label=text or "S")
    middle = len(points) // 2
    ax.errorbar(
        normalisation.knots,
        normalisation.values[middle],
        yerr=None if errors is None else np.asarray(errors).reshape(len(points), -1)[middle],
        fmt="o",
        ms=3,
        color=SIMULATED_COLOUR,
        label="Σw / Σw·r̂"
        + (f" at {_theta_text(points[middle], theta_labels or {})}" if points[middle] else ""),
    )
    ax.set_xlabel(label)
    ax.set_ylabel("normalisation S")
    set_title(ax, title)
    ax.legend(fontsize="x-small", ncol=2)
    save(fig, outputs)
