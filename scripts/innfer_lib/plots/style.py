"""The look of every figure: mplhep's CMS style, the colours and legend names of the sources.

A plot function calls `apply_style` first, so a figure looks the same whatever the process drew
before it. The font sizes sit in ``resources/plots/innfer.mplstyle`` (on top of the CMS style),
so all figures can be restyled without touching code.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

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
