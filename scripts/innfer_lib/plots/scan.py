"""Plots of likelihood scans: ScanPlot (−2ΔlnL against one parameter) and 2-D contours.

Every function takes numbers (collected scans), never files or models, and returns what it
drew, so tests can check a figure without reading the image back and this module never needs
TensorFlow. The smooth scan curve is the same `scan.ProfileCurve` that
`scan.collect_scan` solved for the crossings, so the lines on the plot sit exactly where the
curve meets 1 and 4.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from innfer_lib.inference.scan import (
    CONTOUR_LEVELS_2D,
    SIGMA_LEVELS,
    ProfileCurve,
    breakdown,
    interval,
    smooth_grid_2d,
)
from innfer_lib.plots.histograms import DEGENERATE_HALF_WIDTH
from innfer_lib.plots.save import save
from innfer_lib.plots.style import COLOURS, apply_style, cycle_colours
from innfer_lib.plots.text import plain, set_title
from innfer_lib.results.rounding import decimals

Y_MAX_1SIGMA = 7.0
Y_MAX_2SIGMA = 9.0
MAIN_COLOUR = "black"
TRUTH_COLOUR = COLOURS["truth"]


@dataclass(frozen=True)
class ScanStyle:
    """How one scan is drawn: colour, curve line style and point marker."""

    colour: str
    linestyle: str = "solid"
    marker: str = "s"


MAIN_STYLE = ScanStyle(MAIN_COLOUR, "solid", "o")


# --------------------------------------------------------------------------------------------
# ScanPlot
# --------------------------------------------------------------------------------------------
def result_text(collected: Mapping[str, Any], label: str) -> str:
    """``label = x0 +up −down`` as mathtext; an open side reads "open" instead of a number."""
    crossings = {int(k): v for k, v in collected["crossings"].items()}
    if 0 not in crossings:
        return f"{plain(label)}: no valid scan points"
    down, up = interval(collected, 1)
    d = decimals(down, up)
    return f"{plain(label)} = ${crossings[0]:.{d}f}{_errors(down, up, d)}$"


def _errors(down: float | None, up: float | None, d: int) -> str:
    """``^{+up}_{-down}`` in mathtext with ``d`` decimals; an open side reads "open"."""
    up_text = f"+{up:.{d}f}" if up is not None else r"+\mathrm{open}"
    down_text = f"-{down:.{d}f}" if down is not None else r"-\mathrm{open}"
    return f"^{{{up_text}}}_{{{down_text}}}"


def _draw_scan(
    ax: Any,
    collected: Mapping[str, Any],
    style: ScanStyle,
    name: str,
    label: str,
) -> dict[str, Any]:
    """Points, smooth curve and ±1σ crossing lines of one collected scan."""
    x = np.asarray(collected["scan_values"], dtype=float)
    y = np.asarray(collected["nlls"], dtype=float)
    drawn: dict[str, Any] = {"x": x, "y": y, "curve": (np.empty(0), np.empty(0)), "lines": []}
    legend = f"{name}: {result_text(collected, label)}" if name else result_text(collected, label)
    if x.size == 0:
        ax.plot([], [], color=style.colour, ls=style.linestyle, label=legend)
        return drawn
    # The record's own values: the curve `collect_scan` solved the crossings on.
    curve = ProfileCurve(collected["scan_values"], collected["nlls"])
    cx, cy = curve.sample()
    drawn["curve"] = (cx, cy)
    ax.plot(cx, cy, color=style.colour, ls=style.linestyle, lw=2, label=legend)
    ax.plot(x, y, style.marker, color=style.colour, ms=4, ls="none")
    crossings = {int(k): v for k, v in collected["crossings"].items()}
    for k in (-1, 1):
        if k in crossings:
            ax.axvline(crossings[k], color=style.colour, lw=1, ls=":")
            drawn["lines"].append(float(crossings[k]))
    return drawn


def breakdown_text(parts: Mapping[str, Any], centre: float, label: str) -> str:
    """``label = x0 +a −b (stat.) +c −d (syst.)`` as mathtext; an open side reads "open"."""
    values = [v for kind in ("stat", "syst") for v in parts[kind].values()]
    d = decimals(*values)
    stat = _errors(parts["stat"]["down"], parts["stat"]["up"], d)
    syst = _errors(parts["syst"]["down"], parts["syst"]["up"], d)
    return (
        f"{plain(label)} = ${centre:.{d}f}{stat}"
        rf"\,(\mathrm{{stat.}}){syst}\,(\mathrm{{syst.}})$"
    )


def scan_plot(
    collected: Mapping[str, Any],
    truth: float | None,
    label: str,
    outputs: Sequence[str] = (),
    others: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    name: str = "",
    title: str = "",
    styles: Mapping[str, ScanStyle] | None = None,
    stat_only: str | None = None,
) -> dict[str, Any]:
    """ScanPlot: −2ΔlnL against one parameter, with its 1σ/2σ levels and crossings.

    Points are the collected scan, the line is the smooth curve the crossings were solved on.
    The y range is 0-7, or 0-9 when a 2σ crossing was found, so both levels and the curve
    between them are visible; the x range follows the points below that height (plus one
    neighbour each side) so a wide grid does not squash the interesting part. ``others``
    overlays further scans of the same parameter (e.g. statistics only), each with its own
    result in the legend.

    Args:
        collected: `scan.collect_scan` output.
        truth: True value (a dashed line); None for data.
        label: Parameter text for the axis and the result (mathtext allowed).
        outputs: Paths to write ([pdf, png]).
        others: Legend name to another collected scan.
        name: Legend name of the main scan (e.g. "stat. + syst.").
        title: Figure title.
        styles: `ScanStyle` per name in ``others``; the others cycle the style's colours,
            solid, squares. The main scan is black, solid, circles.
        stat_only: The name in ``others`` fitted with the nuisances frozen: the main result is
            then also given as stat. and syst. (`scan.breakdown`) in the top-left corner.

    Returns:
        ``{"ylim", "xlim", "text", "breakdown" (None without ``stat_only``), "series":
        {name: {"x", "y", "curve": (x, y), "lines"}}}``.
    """
    others = dict(others or {})
    every = [collected, *others.values()]
    two_sigma = any(k in {int(c) for c in s["crossings"]} for s in every for k in (-2, 2))
    y_max = Y_MAX_2SIGMA if two_sigma else Y_MAX_1SIGMA

    apply_style()
    fig, ax = plt.subplots(figsize=(9, 7))
    series = {name: _draw_scan(ax, collected, MAIN_STYLE, name, label)}
    given = dict(styles or {})
    for (other, scan), colour in zip(others.items(), cycle_colours(len(others)), strict=True):
        series[other] = _draw_scan(ax, scan, given.get(other, ScanStyle(colour)), other, label)
    parts, legend_title = None, None
    if stat_only is not None:
        parts = breakdown(collected, others[stat_only])
        centre = {int(k): v for k, v in collected["crossings"].items()}.get(0)
        if centre is not None:
            legend_title = breakdown_text(parts, centre, label)
    for k, level in SIGMA_LEVELS.items():
        ax.axhline(level, color="grey", ls="--", lw=1)
        ax.text(1.01, level, f"{k}σ", transform=ax.get_yaxis_transform(), va="center", fontsize=11)
    if truth is not None and math.isfinite(truth):
        ax.axvline(truth, color=TRUTH_COLOUR, ls="--", lw=1.5, label="truth")

    lows, highs = [], []
    for s in series.values():
        x, y = s["x"], s["y"]
        if x.size == 0:
            continue
        inside = np.flatnonzero(y <= y_max)
        if inside.size == 0:
            inside = np.arange(x.size)
        lows.append(x[max(inside[0] - 1, 0)])
        highs.append(x[min(inside[-1] + 1, x.size - 1)])
    if truth is not None and math.isfinite(truth):
        lows.append(truth)
        highs.append(truth)
    xlim = (float(min(lows)), float(max(highs))) if lows else (0.0, 1.0)
    if xlim[1] <= xlim[0]:
        xlim = (xlim[0] - DEGENERATE_HALF_WIDTH, xlim[1] + DEGENERATE_HALF_WIDTH)
    # A little room each side, so a truth or crossing line on the edge stays visible.
    pad = 0.02 * (xlim[1] - xlim[0])
    xlim = (xlim[0] - pad, xlim[1] + pad)
    ax.set_xlim(*xlim)
    ax.set_ylim(0.0, y_max)
    ax.set_xlabel(plain(label))
    ax.set_ylabel(r"$-2\,\Delta\ln L$")
    # The breakdown heads the legend, so the two never overlap.
    ax.legend(loc="upper center", fontsize=12, frameon=False, title=legend_title)
    text = result_text(collected, label)
    set_title(ax, title)
    save(fig, outputs)
    return {
        "ylim": (0.0, y_max),
        "xlim": xlim,
        "text": text,
        "breakdown": parts,
        "series": series,
    }


# --------------------------------------------------------------------------------------------
# 2-D contours
# --------------------------------------------------------------------------------------------
def _polygons(contour_set: Any) -> dict[float, list[np.ndarray]]:
    """Vertex arrays of every closed or open line of each contour level."""
    out: dict[float, list[np.ndarray]] = {}
    for level, path in zip(contour_set.levels, contour_set.get_paths(), strict=True):
        out[float(level)] = [np.asarray(p) for p in path.to_polygons(closed_only=False) if len(p)]
    return out


def scan_plot_2d(
    collected_2d: Mapping[str, Any],
    truth: tuple[float, float] | None,
    labels: tuple[str, str],
    outputs: Sequence[str] = (),
    *,
    title: str = "",
) -> dict[str, Any]:
    """68.3 % and 95.4 % confidence contours of two parameters (Δ(−2 ln L) = 2.30, 6.18).

    A complete grid is contoured through a bicubic spline (`scan.smooth_grid_2d`), so the
    contours do not cut the corners of the coarse grid; a grid with failed points is contoured
    as is (holes stay blank). The best fit (interpolated minimum) and the truth are marked.

    Args:
        collected_2d: `scan.collect_scan_2d` output.
        truth: True (a, b); None for data.
        labels: Axis texts of the two parameters.
        outputs: Paths to write ([pdf, png]).
        title: Figure title.

    Returns:
        ``{"levels": [2.30, 6.18], "contours": {level: [vertex arrays (n, 2) as (a, b)]},
        "best_fit": (a, b), "smoothed": bool}``.
    """
    a = np.asarray(collected_2d["a_values"], dtype=float)
    b = np.asarray(collected_2d["b_values"], dtype=float)
    z = np.asarray(collected_2d["nlls"], dtype=float)
    fine = smooth_grid_2d(collected_2d["a_values"], collected_2d["b_values"], z)
    smoothed = fine is not None
    if fine is not None:
        a, b, z = fine
    levels = [CONTOUR_LEVELS_2D[1], CONTOUR_LEVELS_2D[2]]
    best = (float(collected_2d["minimum"]["a"]), float(collected_2d["minimum"]["b"]))

    apply_style()
    fig, ax = plt.subplots(figsize=(8.5, 7.5))
    colours = ["#5790fc", "#f89c20"]
    contour_set = ax.contour(
        a, b, np.ma.masked_invalid(z).T, levels=levels, colors=colours, linewidths=2
    )
    contours = _polygons(contour_set)
    for level, colour, text in zip(levels, colours, ("68.3% CL", "95.4% CL"), strict=True):
        ax.plot([], [], color=colour, lw=2, label=f"{text} ($-2\\Delta\\ln L$ = {level:.2f})")
    ax.plot(*best, "+", color=MAIN_COLOUR, ms=14, mew=2, label="best fit")
    if truth is not None and all(math.isfinite(t) for t in truth):
        ax.plot(*truth, "*", color=TRUTH_COLOUR, ms=14, label="truth")
    ax.set_xlabel(plain(labels[0]))
    ax.set_ylabel(plain(labels[1]))
    ax.set_xlim(a[0], a[-1])
    ax.set_ylim(b[0], b[-1])
    ax.legend(loc="upper right", fontsize=11)
    set_title(ax, title)
    save(fig, outputs)
    return {"levels": levels, "contours": contours, "best_fit": best, "smoothed": smoothed}
