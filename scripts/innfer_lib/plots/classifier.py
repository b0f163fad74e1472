"""PlotClassifier: does reweighting nominal events by the classifier's r give the shifted ones?

Per input column: the nominal events (class 0) as they are, the ν-shifted events (class 1, the
target) and the nominal events reweighted by r(x, ν) = exp(ln r), inclusive and in bins of ν
(the same ν draw in both classes). Where the reweighted histogram follows the target, the
classifier's ratio carries the nuisance's shape effect on that column.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from innfer_lib.data.schema import CLASSIFIER_TRUTH, WEIGHT
from innfer_lib.plots.save import save
from innfer_lib.plots.style import SIMULATED_COLOUR, SYNTHETIC_COLOUR, apply_style
from innfer_lib.plots.text import no_events, set_title
from innfer_lib.ratios.evaluation import LOG_RATIO

#: Bins of the column, between its 0.5 % and 99.5 % quantiles (INNFER: 20 per column).
N_BINS = 20
#: Equal-population bins of ν shown next to the inclusive panel.
N_NU_BINS = 4
NOMINAL_COLOUR = "grey"


def _panel(ax, table: pd.DataFrame, column: str, edges: np.ndarray, label: str, what: str) -> None:
    truth = table[CLASSIFIER_TRUTH].to_numpy() > 0.5
    values = table[column].to_numpy()
    w = table[WEIGHT].to_numpy()
    r = np.exp(table[LOG_RATIO].to_numpy())
    if not truth.any() or truth.all():
        no_events(ax)
        return
    nominal, _ = np.histogram(values[~truth], edges, weights=w[~truth])
    shifted, _ = np.histogram(values[truth], edges, weights=w[truth])
    reweighted, _ = np.histogram(values[~truth], edges, weights=w[~truth] * r[~truth])
    ax.stairs(nominal, edges, color=NOMINAL_COLOUR, ls="--", label="Nominal")
    ax.stairs(shifted, edges, color=SIMULATED_COLOUR, lw=2, label="Shifted (target)")
    ax.stairs(reweighted, edges, color=SYNTHETIC_COLOUR, lw=2, label="Nominal × r")
    ax.set_xlabel(label)
    ax.set_ylabel("sum of weights")
    set_title(ax, what)


def reweighting_plot(
    table: pd.DataFrame,
    column: str,
    parameter: str,
    outputs: Sequence[str],
    label: str,
    parameter_label: str,
    title: str = "",
) -> None:
    """Nominal, shifted and reweighted nominal histograms of `column`, inclusive and per ν bin."""
    apply_style()
    fig, axes = plt.subplots(1, 1 + N_NU_BINS, figsize=(6 * (1 + N_NU_BINS), 6))
    values = table[column].to_numpy()
    if len(values) == 0:
        for ax in axes:
            no_events(ax)
        save(fig, outputs)
        return
    low, high = np.quantile(values, [0.005, 0.995])
    if not high > low:
        low, high = low - 0.5, high + 0.5
    edges = np.linspace(low, high, N_BINS + 1)
    _panel(axes[0], table, column, edges, label, f"{title}: all {parameter_label}")
    nu = table[parameter].to_numpy()
    nu_edges = np.quantile(nu, np.linspace(0.0, 1.0, N_NU_BINS + 1))
    for b, ax in enumerate(axes[1:]):
        last = b == N_NU_BINS - 1
        upper = nu <= nu_edges[b + 1] if last else nu < nu_edges[b + 1]
        inside = (nu >= nu_edges[b]) & upper
        what = f"{nu_edges[b]:.3g} ≤ {parameter_label} {'≤' if last else '<'} {nu_edges[b + 1]:.3g}"
        _panel(ax, table[inside], column, edges, label, what)
    axes[0].legend()
    save(fig, outputs)
