"""How one fit series looks in the summary plots: colour, marker, legend text, interval bars.

A summary overlays series, each one fit set fitted with one density source; both summary
plots (over validation points, and at one point) draw a series the same way, so they read
alike side by side.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from innfer_lib.plots.style import COLOURS, LABELS

#: Marker per series, cycled.
SERIES_MARKERS = ("o", "s", "^", "D", "v", "P", "X")


def series_style(index: int, density: str, n_fits: int) -> dict[str, Any]:
    """Colour by density source, marker by fit set, so overlays stay readable."""
    colour = COLOURS.get(density) if n_fits == 1 else f"C{index}"
    return {"color": colour, "marker": SERIES_MARKERS[index % len(SERIES_MARKERS)]}


def interval_bars(
    ax: Any,
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    one: npt.ArrayLike,
    two: npt.ArrayLike | None,
    style: Mapping[str, Any],
    label: str | None,
    horizontal: bool = False,
) -> None:
    """Thin ±2σ bars (when `two` is given) under thick ±1σ bars with the series marker.

    `one` and `two` are [[down...], [up...]] distances; `horizontal` draws them along x.
    """
    key = "xerr" if horizontal else "yerr"
    if two is not None:
        ax.errorbar(
            x,
            y,
            fmt="none",
            ecolor=style["color"],
            elinewidth=1,
            capsize=3,
            alpha=0.6,
            **{key: np.asarray(two, float)},
        )
    ax.errorbar(
        x,
        y,
        fmt=style["marker"],
        color=style["color"],
        elinewidth=3,
        ms=6,
        label=label,
        **{key: np.asarray(one, float)},
    )


def series_label(fit: str, density: str, n_fits: int, labels: Mapping[str, str]) -> str:
    """The density source's name, prefixed by the fit set's label when several fit sets show."""
    base = LABELS.get(density, density)
    return base if n_fits == 1 else f"{labels.get(fit, fit)}, {base}"


def point_label(point: Mapping[str, Any], varied: Sequence[str]) -> str:
    """A validation point by the values of the varied parameters (its index if none varies)."""
    return ", ".join(f"{k}={v:g}" for k, v in point["truth"].items() if k in varied) or (
        f"val {point['val']}"
    )
