"""The ranked impacts + pulls plot of one POI (INNFER's impacts plot).

Left panel: the pull of each constrained nuisance, (θ̂ − θ_truth)/σ_prefit with its post-fit σ
as the error bar, against the ±1σ prior band; parameters without a prior (POIs, rates) show
their fitted value as text instead. Right panel: the POI shift with the parameter held at its
+1σ and −1σ post-fit value, as two bars per row. Rows are ranked by max(|up|, |down|), largest
at the top, and at most `MAX_PARAMETERS` are drawn so the labels stay readable.

The function takes numbers (the impacts and pulls of `innfer_lib.inference.impacts`) and returns
what it drew, so tests check bar lengths and pulls on the Axes without reading the image back.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from innfer_lib.plots.save import save
from innfer_lib.plots.style import apply_style
from innfer_lib.plots.text import plain
from innfer_lib.results.rounding import decimals

MAX_PARAMETERS = 30
UP_COLOUR = "#e42536"
DOWN_COLOUR = "#5790fc"
UP_LABEL = "+1σ impact"
DOWN_LABEL = "−1σ impact"
#: Each row holds the up bar just above its centre and the down bar just below, so bars of the
#: same sign (a non-linear impact) never hide each other.
BAR_HEIGHT = 0.36
PRIOR_BAND = "#d9d9d9"


def value_text(value: float, sigma: float) -> str:
    """``value ± σ`` with σ to two significant digits."""
    d = decimals(sigma)
    return f"{value:.{d}f} ± {sigma:.{d}f}"


def poi_header(label: str, value: float, sigma: float) -> str:
    """The POI result the plot is about, e.g. ``m_t = 172.31 ± 0.45 GeV``.

    Axis labels carry their unit in brackets (``m_t [GeV]``); a result reads as value and
    uncertainty followed by the unit, as it would be quoted.
    """
    text = plain(label)
    name, bracket, unit = text.rpartition(" [")
    if bracket and unit.endswith("]") and name:
        return f"{name} = {value_text(value, sigma)} {unit[:-1]}"
    return f"{text} = {value_text(value, sigma)}"


def _symmetric_limit(extents: Sequence[float], minimum: float, margin: float) -> float:
    finite = [abs(e) for e in extents if math.isfinite(e)]
    return max([minimum, *(margin * e for e in finite)])


def _row_label(entry: Mapping[str, Any], labels: Mapping[str, str]) -> str:
    name = str(entry["parameter"])
    text = plain(labels.get(name, name))
    if not entry.get("valid", True):
        text += " (invalid)"
    if entry.get("clipped", False):
        text += " (at limit)"
    return text


def impacts_plot(
    impacts: Mapping[str, Any],
    pulls: Mapping[str, Mapping[str, Any]],
    poi: str,
    outputs: Sequence[str] = (),
    *,
    labels: Mapping[str, str] | None = None,
    header: str = "",
    title: str = "",
    max_parameters: int = MAX_PARAMETERS,
) -> dict[str, Any]:
    """Draw the ranked pulls and impacts of one POI.

    Args:
        impacts: One POI's entry of an impacts file: ``{best_fit, impacts: [{parameter, up,
            down, valid, ...}]}``, already ranked (`impacts.rank_impacts`).
        pulls: `impacts.pulls` of the same fit.
        poi: The POI whose shifts the bars show.
        outputs: Paths to write ([pdf, png]).
        labels: Plot label per parameter (mathtext allowed); the name when missing.
        header: The POI result (`poi_header`), shown above the panels.
        title: Which fit this is, above the header.
        max_parameters: Rows drawn: the most important first.

    Returns:
        ``{parameters (top to bottom), y, up, down, up_bars, down_bars, pulls: {parameter:
        (pull, error)}, texts: {parameter: text}, axes: (pull_axes, impact_axes), header,
        n_hidden}``; NaN impacts are drawn as empty bars (width 0).
    """
    labels = dict(labels or {})
    ranked = list(impacts["impacts"])
    shown = ranked[: max(int(max_parameters), 0)]
    n = len(shown)
    y = np.arange(n, dtype=float)[::-1]
    up = np.array([float(e["up"]) for e in shown], dtype=float)
    down = np.array([float(e["down"]) for e in shown], dtype=float)

    apply_style()
    fig, (pax, iax) = plt.subplots(
        1,
        2,
        sharey=True,
        figsize=(13, max(4.5, 0.5 * n + 2.5)),
        gridspec_kw={"width_ratios": [1, 1.4], "wspace": 0.06},
    )
    # Pulls: the prior (±1σ_prefit) band, a bar per constrained nuisance, the value otherwise.
    pax.axvspan(-1.0, 1.0, color=PRIOR_BAND, alpha=0.6, lw=0, label="prior ±1σ")
    pax.axvline(0.0, color="grey", lw=1, ls="--")
    drawn_pulls: dict[str, tuple[float, float]] = {}
    texts: dict[str, str] = {}
    for row, entry in zip(y, shown, strict=True):
        name = str(entry["parameter"])
        info = pulls.get(name)
        if info is None:
            continue
        if info["constrained"]:
            pull, error = float(info["pull"]), float(info["pull_error"])
            pax.errorbar(pull, row, xerr=error, fmt="o", color="black", ms=5, capsize=3)
            drawn_pulls[name] = (pull, error)
        else:
            texts[name] = value_text(float(info["value"]), float(info["sigma"]))
            pax.text(
                0.0,
                row,
                texts[name],
                ha="center",
                va="center",
                fontsize=11,
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.5},
            )
    pull_extent = [abs(p) + e for p, e in drawn_pulls.values()]
    pull_limit = _symmetric_limit(pull_extent, 2.5, 1.15)
    pax.set_xlim(-pull_limit, pull_limit)
    pax.set_xlabel(r"pull $(\hat{\theta} - \theta_0)/\sigma_{\mathrm{prefit}}$")
    pax.set_yticks(y)
    pax.set_yticklabels([_row_label(e, labels) for e in shown], fontsize=12)
    pax.set_ylim(-0.7, max(n, 1) - 0.3)
    pax.tick_params(axis="y", which="minor", left=False, right=False)

    # Impacts: up above the row centre, down below it.
    up_bars = iax.barh(
        y + BAR_HEIGHT / 2,
        np.nan_to_num(up),
        height=BAR_HEIGHT,
        color=UP_COLOUR,
        label=UP_LABEL,
    )
    down_bars = iax.barh(
        y - BAR_HEIGHT / 2,
        np.nan_to_num(down),
        height=BAR_HEIGHT,
        color=DOWN_COLOUR,
        label=DOWN_LABEL,
    )
    iax.axvline(0.0, color="black", lw=1)
    limit = _symmetric_limit([*up, *down], 0.0, 1.2) or 1.0
    iax.set_xlim(-limit, limit)
    poi_label = plain(labels.get(poi, poi))
    iax.set_xlabel(f"impact on {poi_label}")
    iax.tick_params(axis="y", which="both", left=False, right=False)
    iax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False, fontsize=13)
    if n == 0:
        iax.text(
            0.5,
            0.5,
            "no other floating parameter",
            transform=iax.transAxes,
            ha="center",
            va="center",
        )
    hidden = len(ranked) - n
    if hidden > 0:
        # Offsets in points, not axes fractions, so the text keeps its place at any height.
        iax.annotate(
            f"{hidden} smaller impacts not shown",
            xy=(1.0, 0.0),
            xycoords="axes fraction",
            xytext=(0, -55),
            textcoords="offset points",
            ha="right",
            va="top",
            fontsize=11,
        )
    heading = "\n".join(t for t in (plain(title), header) if t)
    if heading:
        # Centred on the figure, just above the legend that sits on top of the impacts panel.
        pax.annotate(
            heading,
            xy=(0.5, 1.0),
            xycoords=("figure fraction", "axes fraction"),
            xytext=(0, 32),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=14,
        )
    save(fig, outputs)
    return {
        "parameters": [str(e["parameter"]) for e in shown],
        "y": y,
        "up": up,
        "down": down,
        "up_bars": up_bars,
        "down_bars": down_bars,
        "pulls": drawn_pulls,
        "texts": texts,
        "axes": (pax, iax),
        "header": header,
        "n_hidden": hidden,
    }
