"""Generator "combined" plot: the stacked synthetic processes against all simulated events.

This is how a fit sees the data, so it shows whether the processes add up; the per-process
Generator plots show which one is off. A `stacked.stacked_ratio_plot`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from innfer_lib.plots.histograms import GENERATOR_BINS, stack
from innfer_lib.plots.ratio import RATIO_LABEL
from innfer_lib.plots.stacked import stacked_ratio_plot


def stacked_generator_plot(
    simulated_total: tuple[Any, Any],
    synthetic_by_process: Mapping[str, tuple[Any, Any]],
    column: str,
    label: str | None = None,
    bins: int | Sequence[float] = GENERATOR_BINS,
    ratio_range: tuple[float, float] = (0.5, 1.5),
    outputs: Sequence[str] = (),
    title: str = "",
    *,
    simulated_label: str = "simulated",
    text: str = "",
    ratio_label: str = RATIO_LABEL,
    band_label: str = "synthetic stat. unc.",
) -> dict[str, Any]:
    """Generator "combined" view: stacked synthetic processes against all simulated events.

    This is how a fit sees the data, so it shows whether the processes add up; the per-process
    plots show which one is off. Binning as in `generator_plot`, from the summed simulated
    events.

    Args:
        simulated_total: ``(x, w)`` of all simulated events (every process, in events).
        synthetic_by_process: Process name (legend text) to ``(x, w)`` of its synthetic events,
            stacked in the given order from the bottom.
        column: Column name; the x-axis label when ``label`` is None.
        label: x-axis label.
        bins: Number of bins, or explicit edges.
        ratio_range: y range of the ratio panel.
        outputs: Paths to write ([pdf, png]).
        title: Figure title.
        simulated_label: Legend text of the simulated events.
        text: Extra text in the top-left corner.
        ratio_label: y label of the ratio panel ("data / sim." for observed data).
        band_label: Legend text of the stack's statistical band ("simulated stat. unc." when
            the stack is simulated events).

    Returns:
        ``{"edges", "simulated": {...as generator_plot}, "synthetic": {process: {...}},
        "synthetic_total": {"counts", "errors"}, "ratio", "ratio_errors", "synthetic_band",
        "chi2", "ndf", "xlabel", "empty"}``.
    """
    names = ("simulated", "synthetic")
    hists = stack(simulated_total, synthetic_by_process, bins, names)
    xlabel = label if label is not None else column
    return stacked_ratio_plot(
        hists,
        names,
        xlabel,
        ratio_range,
        outputs,
        title,
        events_label=simulated_label,
        text=text,
        ratio_label=ratio_label,
        band_label=band_label,
    )
