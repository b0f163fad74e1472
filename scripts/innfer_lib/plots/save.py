"""Writing a figure: one file per output (PDF and PNG), each atomically, then closing it.

A job killed mid-write must not leave a half-written plot that Snakemake would take as done,
and a plot function that is called many times in one job must not keep its figures open.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.transforms import Bbox

from innfer_lib.core.io import atomic_path

#: Resolution of the PNG outputs (the PDF is vector); also the one the crop is measured at.
DPI = 120


def tight_bbox(fig: Any, dpi: float = DPI) -> Bbox:
    """The figure's tight bounding box in inches, padded by ``savefig.pad_inches``.

    What ``savefig(bbox_inches="tight")`` crops to, measured once: with "tight" matplotlib lays
    the figure out and measures it again for every file, so a figure saved as PDF and PNG was
    drawn four times (two thirds of the time of a many-panel plot). The layout pass is kept
    (titles, axis labels and legends take their place only when drawn), but nothing is
    rasterised, and it runs at the PNG's resolution so the PNG crop is the one "tight" gave; the
    PDF's differs by at most a few points (its text is measured with the PDF's font metrics).

    Args:
        fig: The figure, fully drawn into (its artists are not changed).
        dpi: Resolution to lay the figure out at.

    Returns:
        The box to pass as ``bbox_inches`` to ``savefig``.
    """
    fig.set_dpi(dpi)
    fig.draw_without_rendering()
    bbox: Bbox = fig.get_tightbbox().padded(plt.rcParams["savefig.pad_inches"])
    return bbox


def save(fig: Any, outputs: Sequence[str]) -> None:
    """Write one figure to each output, in the format its extension names, and close it.

    The figure is cropped to its content (`tight_bbox`), measured once for all outputs. A layout
    engine (constrained layout) has done its work in that measurement and is switched off, so
    that ``savefig`` neither lays the figure out again per file nor moves anything out of the
    measured box. With no outputs nothing is written (tests that only check the drawn Axes).
    """
    if outputs:
        bbox = tight_bbox(fig)
        fig.set_layout_engine("none")
        for path in outputs:
            with atomic_path(path) as tmp:
                fig.savefig(tmp, format=str(path).rsplit(".", 1)[-1], bbox_inches=bbox, dpi=DPI)
    plt.close(fig)
