"""PostFitPlot: the stacked post-fit prediction against the fitted events, with a ratio.

A `stacked.stacked_ratio_plot` whose stack is the per-process Asimov samples at the best fit,
optionally with the pre-fit total overlaid to show how far the fit had to move the model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from innfer_lib.plots.histograms import (
    GENERATOR_BINS,
    divide,
    histogram,
    pooled,
    stack,
    values_and_weights,
)
from innfer_lib.plots.stacked import Overlay, stacked_ratio_plot


def _prefit_sample(
    sample: tuple[Any, Any] | Mapping[str, tuple[Any, Any]],
) -> tuple[np.ndarray, np.ndarray]:
    """The pre-fit total as one (x, w): given as one sample or per process (summed)."""
    if isinstance(sample, Mapping):
        return pooled(values_and_weights(p, f"prefit {k}") for k, p in sample.items())
    x, w, _ = values_and_weights(sample, "prefit")
    return x, w


def postfit_plot(
    observed: tuple[Any, Any],
    predicted_by_process: Mapping[str, tuple[Any, Any]],
    column: str,
    label: str | None = None,
    outputs: Sequence[str] = (),
    prefit: tuple[Any, Any] | Mapping[str, tuple[Any, Any]] | None = None,
    *,
    bins: int | Sequence[float] = GENERATOR_BINS,
    ratio_range: tuple[float, float] = (0.5, 1.5),
    observed_label: str = "data",
    title: str = "",
    text: str = "",
) -> dict[str, Any]:
    """PostFitPlot: the stacked post-fit prediction against the fitted events, with a ratio.

    The prediction is the per-process Asimov samples at the best fit with weights summing to
    the fitted yields, so the stack is what the fit believes the data look like; the observed
    events are points with √Σw² errors. The optional pre-fit total (dashed, also in the ratio
    panel relative to the post-fit total) shows how far the fit had to move the model. Binning
    as in the Generator plots (40 bins between the 0.1 % and 99.9 % observed quantiles).

    Args:
        observed: ``(x, w)`` of the fitted events; ``w`` None for unweighted data.
        predicted_by_process: Process name to ``(x, w)`` of its post-fit Asimov events, stacked
            from the bottom in the given order.
        column: Column name; the x-axis label when ``label`` is None.
        label: x-axis label.
        outputs: Paths to write ([pdf, png]).
        prefit: ``(x, w)`` of the pre-fit total, or process name to ``(x, w)`` (summed).
        bins: Number of bins, or explicit edges.
        ratio_range: y range of the ratio panel.
        observed_label: Legend text of the observed events.
        title: Figure title.
        text: Extra text in the top-left corner (e.g. the best-fit values).

    Returns:
        ``{"edges", "observed": {...}, "predicted": {process: {...}}, "predicted_total":
        {"counts", "errors"}, "prefit_total": counts or None, "ratio", "ratio_errors",
        "synthetic_band", "prefit_ratio", "chi2", "ndf", "xlabel", "empty"}``.
    """
    names = ("observed", "predicted")
    hists = stack(observed, predicted_by_process, bins, names)
    overlay = None
    if prefit is not None:
        prefit_counts, _ = histogram(*_prefit_sample(prefit), hists.edges)
        overlay = Overlay(prefit_counts, divide(prefit_counts, hists.total), "pre-fit total")
    drawn = stacked_ratio_plot(
        hists,
        names,
        label if label is not None else column,
        ratio_range,
        outputs,
        title,
        events_label=observed_label,
        text=text,
        ratio_label=f"{observed_label} / post-fit",
        overlay=overlay,
    )
    return {
        **drawn,
        "prefit_total": None if overlay is None else overlay.counts,
        "prefit_ratio": None if overlay is None else overlay.ratio,
    }
