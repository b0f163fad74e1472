"""Histogram artists shared by the comparison plots: event points, error bands, stacks.

The simulated (or observed) events are points with error bars, a synthetic prediction a line
with a shaded band for its own statistical error, so a real mismodelling can be told from a
fluctuation of either sample. Both the Generator-style figures (`ratio.RatioFigure`) and the
GeneratorSummary rows draw with these.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from innfer_lib.plots.style import BAND_ALPHA, SIMULATED_COLOUR, cycle_colours


def draw_points(
    ax: Any,
    edges: np.ndarray,
    counts: npt.ArrayLike,
    errors: npt.ArrayLike,
    label: str,
    colour: Any = SIMULATED_COLOUR,
) -> None:
    """Events: markers at the bin centres with √Σw² error bars, above the other artists."""
    centres = 0.5 * (edges[1:] + edges[:-1])
    ax.errorbar(centres, counts, yerr=errors, fmt="o", ms=4, color=colour, label=label, zorder=4)


def draw_band(
    ax: Any,
    edges: np.ndarray,
    centre: npt.ArrayLike,
    errors: npt.ArrayLike,
    colour: Any,
    label: str | None = None,
) -> None:
    """A shaded ±error band around a histogram (or around 1 in a ratio panel).

    NaN (an empty bin of a ratio) is drawn as 0, so the band has a gap there instead of
    breaking the whole step patch.
    """
    middle = np.nan_to_num(np.asarray(centre, dtype=float))
    half = np.nan_to_num(np.asarray(errors, dtype=float))
    ax.stairs(
        middle + half,
        edges,
        baseline=middle - half,
        fill=True,
        color=colour,
        alpha=BAND_ALPHA,
        lw=0,
        label=label,
    )


def draw_line(
    ax: Any, edges: np.ndarray, counts: np.ndarray, errors: np.ndarray, colour: Any, label: str
) -> None:
    """One synthetic sample: its histogram as a line over its statistical band."""
    ax.stairs(counts, edges, color=colour, lw=2, label=label)
    draw_band(ax, edges, counts, errors, colour, label=f"{label} stat. unc.")


def draw_stack(
    ax: Any,
    edges: np.ndarray,
    series: Mapping[str, Mapping[str, np.ndarray]],
    total: np.ndarray,
    total_errors: np.ndarray,
    band_label: str = "synthetic stat. unc.",
) -> None:
    """Filled stack of processes (first at the bottom), their summed band and outline.

    ``band_label`` names what the band is the error of (the synthetic events, or simulated
    events when they are the prediction)."""
    base = np.zeros(len(edges) - 1)
    for colour, (name, values) in zip(cycle_colours(len(series)), series.items(), strict=True):
        top = base + values["counts"]
        ax.stairs(top, edges, baseline=base, fill=True, color=colour, alpha=0.8, label=name)
        base = top
    ax.stairs(total, edges, color="black", lw=1)
    # Expected bin yields (a binned fit) have no sampling error to show.
    if np.any(np.asarray(total_errors) > 0):
        draw_band(ax, edges, total, total_errors, "grey", label=band_label)


def draw_interval(
    ax: Any,
    edges: np.ndarray,
    low: npt.ArrayLike,
    high: npt.ArrayLike,
    label: str | None = None,
) -> None:
    """A hatched band between two histograms (a prediction's parameter uncertainty).

    Hatched rather than shaded, so it stays distinguishable from a statistical band drawn
    under it. NaN (an empty bin of a ratio) leaves a gap.
    """
    lo = np.nan_to_num(np.asarray(low, dtype=float))
    hi = np.nan_to_num(np.asarray(high, dtype=float))
    ax.stairs(hi, edges, baseline=lo, fill=False, hatch="////", color="dimgrey", lw=0, label=label)
