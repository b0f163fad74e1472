"""The look of every figure: mplhep's CMS style, the colours and legend names of the sources.

A plot function calls `apply_style` first, so a figure looks the same whatever the process drew
before it. The font sizes sit in ``resources/plots/innfer.mplstyle`` (on top of the CMS style),
so all figures can be restyled without touching code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.ticker import AutoMinorLocator, FixedLocator

#: The style file shipped with the repository (``resources/plots``), applied after CMS.
STYLE_FILE = Path(__file__).resolve().parents[3] / "resources" / "plots" / "innfer.mplstyle"

#: Colour per density source (and of observed data), shared by every comparison.
COLOURS = {"learned": "#5790fc", "truth": "#e42536", "data": "black"}
#: Legend text per density source.
LABELS = {"learned": "learned density", "truth": "true density"}

#: Simulated (or observed) events: black points.
SIMULATED_COLOUR = "black"
#: Synthetic events from the learned density: its line and band.
SYNTHETIC_COLOUR = COLOURS["learned"]
#: Opacity of the statistical-error bands.
BAND_ALPHA = 0.3
#: Minor intervals per major one on the small panels of many-panel figures: a single minor tick
#: halfway, where the CMS style puts 4 or 5.
PANEL_MINOR_DIVISIONS = 2


def apply_style() -> None:
    """Set pyplot to the CMS style with innfer's font sizes.

    mplhep is imported here, not at module level: it is slow to import and only a job that
    draws needs it.
    """
    import mplhep

    plt.style.use(mplhep.style.CMS)
    plt.style.use(STYLE_FILE)


def cycle_colours(n: int) -> list[str]:
    """Take ``n`` colours from the active (CMS) property cycle, wrapping if it is too short.

    Black is left out: it marks the simulated events and the reference in every plot.
    """
    cycle = [c["color"] for c in plt.rcParams["axes.prop_cycle"] if "color" in c]
    cycle = [c for c in cycle if str(c).lower() not in ("k", "black", "#000000")] or ["C0"]
    return [cycle[i % len(cycle)] for i in range(n)]


def fix_ticks(ax: Any, minor_divisions: int | None = PANEL_MINOR_DIVISIONS) -> None:
    """Fix the tick positions of a finished panel, optionally with fewer minor ticks.

    A tick is several artists that matplotlib places again in every layout pass of a save (the
    draw, the tight box, each format), recomputing the locators each time, several times per
    axis; in a figure of many panels that is most of the time it takes. Fixing the positions
    (those the locators give for the final limits, so nothing moves) lets matplotlib skip the
    locators in every later pass. On a small panel of a many-panel figure the CMS style's 4 or
    5 minor ticks per interval are not needed to read it, and each costs as much as a major
    tick, so ``minor_divisions`` thins them first; None keeps the style's minor ticks (a
    full-size panel must look as before). Minor ticks that were switched off stay off, and only
    the style's automatic minor locator is replaced (a log axis keeps its own).

    Call it once all data and limits of the panel are set: the positions no longer follow the
    limits. For axes that share x or y, calling it for each is harmless (they share locators).

    Args:
        ax: The panel.
        minor_divisions: Minor intervals per major one, or None for the style's.
    """
    for axis in (ax.xaxis, ax.yaxis):
        if minor_divisions is not None and isinstance(axis.get_minor_locator(), AutoMinorLocator):
            axis.set_minor_locator(AutoMinorLocator(minor_divisions))
        major, minor = axis.get_majorticklocs(), axis.get_minorticklocs()
        axis.set_major_locator(FixedLocator(major))
        axis.set_minor_locator(FixedLocator(minor))


def title_y(ax: Any) -> float | None:
    """1.0 if that is where matplotlib's automatic placement would put the panel's title.

    Left to itself, matplotlib places a title in every layout pass by measuring the panel's
    ticks and tick labels again, a large part of a save of a small figure. The title lands on
    the top of the axes (y = 1) unless x tick labels or the x label sit on top, or the y axis
    shows an offset ("1e6") that the title would cover; in those cases None keeps the
    automatic placement. Call it after `fix_ticks` (or once the limits are final): the offset
    depends on the tick values.

    Args:
        ax: The panel the title goes on.

    Returns:
        1.0 to pass as the title's ``y``, or None for automatic placement.
    """
    xaxis, yaxis = ax.xaxis, ax.yaxis
    ticks = (xaxis.get_major_ticks(1)[0], xaxis.get_minor_ticks(1)[0])
    if any(tick.label2.get_visible() for tick in ticks) or xaxis.get_label_position() == "top":
        return None
    formatter = yaxis.get_major_formatter()
    formatter.set_locs(yaxis.get_majorticklocs())
    return None if formatter.get_offset() else 1.0
