"""The stacked ratio figure: events against a stack of per-process predictions, with a ratio.

Shared by the Generator "combined" plot (synthetic processes against all simulated events) and
the PostFit plot (post-fit processes against the fitted events): a `ratio.RatioFigure` whose
prediction is a `histograms.Stack`, optionally with one more total drawn over it (the pre-fit
prediction) to show how far the stack is from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from innfer_lib.plots.draw import draw_interval, draw_points, draw_stack
from innfer_lib.plots.histograms import Stack, divide
from innfer_lib.plots.ratio import RATIO_LABEL, RatioFigure, compare
from innfer_lib.plots.style import apply_style


@dataclass(frozen=True)
class Overlay:
    """Another prediction's total, drawn dashed over the stack and in the ratio panel.

    Attributes:
        counts: Its histogram in the stack's bins.
        ratio: ``counts`` relative to the stack total (NaN where the total is 0).
        label: Its legend text.
    """

    counts: np.ndarray
    ratio: np.ndarray
    label: str


@dataclass(frozen=True)
class IntervalBand:
    """The prediction's parameter uncertainty: per-bin bounds of its total, and their label.

    Attributes:
        low: Lower bound of the total per bin.
        high: Upper bound of the total per bin.
        label: Its legend text.
    """

    low: np.ndarray
    high: np.ndarray
    label: str


def stacked_ratio_plot(
    hists: Stack,
    names: tuple[str, str],
    xlabel: str,
    ratio_range: tuple[float, float],
    outputs: Sequence[str],
    title: str,
    *,
    events_label: str,
    text: str = "",
    ratio_label: str = RATIO_LABEL,
    overlay: Overlay | None = None,
    band: IntervalBand | None = None,
    band_label: str = "synthetic stat. unc.",
) -> dict[str, Any]:
    """Draw the stack, the overlay and the events over their ratio to the stack total; save.

    Args:
        hists: The events and the processes in common bins (`histograms.stack`).
        names: Keys of the events and of the processes in the returned record (the total is
            ``f"{names[1]}_total"``).
        xlabel: x-axis label.
        ratio_range: y range of the ratio panel.
        outputs: Paths to write ([pdf, png]).
        title: Figure title.
        events_label: Legend text of the events.
        text: Extra text in the top-left corner.
        ratio_label: y label of the ratio panel.
        overlay: Another total to draw over the stack, or None.
        band: The total's parameter-uncertainty band, hatched over the stack and around 1 in
            the ratio panel, or None.
        band_label: Legend text of the stack's statistical band.

    Returns:
        ``{"edges", names[0]: events, names[1]: {process: ...}, f"{names[1]}_total":
        {"counts", "errors"}, "ratio", "ratio_errors", "synthetic_band", "chi2", "ndf",
        "xlabel", "empty"}``.
    """
    edges, events, total, total_err = hists.edges, hists.events, hists.total, hists.total_errors
    numbers = compare(events["counts"], events["errors"], total, total_err)

    apply_style()
    figure = RatioFigure()
    draw_stack(figure.main, edges, hists.processes, total, total_err, band_label)
    if overlay is not None:
        figure.main.stairs(overlay.counts, edges, color="grey", lw=2, ls="--", label=overlay.label)
        figure.ratio.stairs(overlay.ratio, edges, color="grey", lw=2, ls="--")
    if band is not None:
        draw_interval(figure.main, edges, band.low, band.high, label=band.label)
        draw_interval(figure.ratio, edges, divide(band.low, total), divide(band.high, total))
    draw_points(figure.main, edges, events["counts"], events["errors"], events_label)
    tops = [total + total_err, events["counts"] + events["errors"]]
    if overlay is not None:
        tops.append(overlay.counts)
    if band is not None:
        tops.append(band.high)
    figure.finish_main(edges, tops, hists.empty)
    figure.finish(
        edges, numbers, ratio_range, xlabel, title, outputs, text=text, ratio_label=ratio_label
    )
    return {
        "edges": edges,
        names[0]: events,
        names[1]: hists.processes,
        f"{names[1]}_total": {"counts": total, "errors": total_err},
        **numbers.record(),
        "xlabel": xlabel,
        "empty": hists.empty,
    }
