"""Writing a figure: one file per output (PDF and PNG), each atomically, then closing it.

A job killed mid-write must not leave a half-written plot that Snakemake would take as done,
and a plot function that is called many times in one job must not keep its figures open.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt

from innfer_lib.core.io import atomic_path


def save(fig: Any, outputs: Sequence[str]) -> None:
    """Write one figure to each output, in the format its extension names, and close it.

    With no outputs nothing is written (tests that only check the drawn Axes).
    """
    for path in outputs:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=str(path).rsplit(".", 1)[-1], bbox_inches="tight", dpi=120)
    plt.close(fig)
