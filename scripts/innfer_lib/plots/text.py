"""Text on figures: axis text shown literally, and notices.

Column names and user labels go through `plain`, so a name such as ``m_top_had`` reads the
same with and without LaTeX rendering; numbers quoted with an error are rounded by
`results.rounding.decimals`, as in the results tables.
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt


def plain(text: str) -> str:
    """Return axis text that matplotlib shows literally.

    Column names such as ``m_top_had`` must stay readable: without usetex matplotlib already draws
    them verbatim, but with usetex an underscore would start a subscript, so it is escaped there.
    Text that contains ``$`` is taken to be deliberate mathtext and passed through unchanged.
    """
    if "$" in text or not plt.rcParams.get("text.usetex", False):
        return text
    for char in ("\\", "_", "%", "&", "#", "^", "{", "}"):
        text = text.replace(char, "\\" + char)
    return text


def set_title(ax: Any, title: str, y: float | None = None) -> None:
    """Title of an axis in literal text; no title (and no space for one) when empty.

    ``y`` pins the title's height (`style.title_y`); None lets matplotlib place it.
    """
    if title:
        ax.set_title(plain(title), fontsize=14, y=y)


def no_events(ax: Any) -> None:
    """Write "no events" in the middle of an axis so an empty input still yields a figure."""
    ax.text(0.5, 0.5, "no events", transform=ax.transAxes, ha="center", va="center", fontsize=20)
