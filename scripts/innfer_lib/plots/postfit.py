"""PostFitPlot: the stacked post-fit prediction against the fitted events, with a ratio.

A `stacked.stacked_ratio_plot` whose stack is the per-process Asimov samples at the best fit
(unbinned fits) or the fitted bin yields (binned fits, INNFER's BinnedDistributions), with the
pre-fit total overlaid to show how far the fit had to move the model and the band of the fit's
parameter uncertainty (`inference.postfit_band`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from innfer_lib.plots.histograms import (
    GENERATOR_BINS,
    GENERATOR_QUANTILES,
    Stack,
    divide,
    histogram,
    pooled,
    resolve_edges,
    stack,
    values_and_weights,
)
from innfer_lib.plots.stacked import IntervalBand, Overlay, stacked_ratio_plot

#: Legend texts of the pre-fit total and of the band.
PREFIT_LABEL = "pre-fit total"
BAND_LABEL = "post-fit unc. (fit covariance)"
#: Keys of the events and of the processes in the returned records.
NAMES = ("observed", "predicted")


def _prefit_sample(
    sample: tuple[Any, Any] | Mapping[str, tuple[Any, Any]],
) -> tuple[np.ndarray, np.ndarray]:
    """The pre-fit total as one (x, w): given as one sample or per process (summed)."""
    if isinstance(sample, Mapping):
        return pooled(values_and_weights(p, f"prefit {k}") for k, p in sample.items())
    x, w, _ = values_and_weights(sample, "prefit")
    return x, w


def postfit_edges(
    observed: tuple[Any, Any],
    predicted_by_process: Mapping[str, tuple[Any, Any]],
    bins: int | Sequence[float] = GENERATOR_BINS,
) -> np.ndarray:
    """The bin edges `postfit_plot` draws in, for computing a band in the same bins."""
    x, w, _ = values_and_weights(observed, NAMES[0])
    processes = [values_and_weights(p, NAMES[1]) for p in predicted_by_process.values()]
    return resolve_edges(bins, (x, w), pooled(processes), GENERATOR_QUANTILES)[0]


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
    band: tuple[np.ndarray, np.ndarray] | None = None,
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
        band: (low, high) of the post-fit total per bin (`postfit_band.Band`), in the bins
            ``bins`` gives, so ``bins`` must then be explicit edges.

    Returns:
        ``{"edges", "observed": {...}, "predicted": {process: {...}}, "predicted_total":
        {"counts", "errors"}, "prefit_total": counts or None, "ratio", "ratio_errors",
        "synthetic_band", "prefit_ratio", "band": (low, high) or None, "chi2", "ndf",
        "xlabel", "empty"}``.

    Raises:
        ValueError: a band without explicit edges, or with another number of bins.
    """
    if band is not None and np.ndim(bins) == 0:
        raise ValueError("a post-fit band needs the explicit bin edges it was computed in")
    hists = stack(observed, predicted_by_process, bins, NAMES)
    prefit_counts = None
    if prefit is not None:
        prefit_counts, _ = histogram(*_prefit_sample(prefit), hists.edges)
    return _draw(hists, label if label is not None else column, ratio_range, outputs, title,
                 observed_label, text, prefit_counts, band)  # fmt: skip


def _draw(
    hists: Stack,
    xlabel: str,
    ratio_range: tuple[float, float],
    outputs: Sequence[str],
    title: str,
    observed_label: str,
    text: str,
    prefit_counts: np.ndarray | None,
    band: tuple[np.ndarray, np.ndarray] | None,
) -> dict[str, Any]:
    """The stacked ratio plot with the pre-fit overlay and the band, and their numbers."""
    overlay = None
    if prefit_counts is not None:
        overlay = Overlay(prefit_counts, divide(prefit_counts, hists.total), PREFIT_LABEL)
    interval = None
    if band is not None:
        low, high = (np.asarray(b, np.float64) for b in band)
        if low.shape != hists.total.shape or high.shape != hists.total.shape:
            raise ValueError(
                f"band of {low.shape} bins for a histogram of {hists.total.shape} bins"
            )
        interval = IntervalBand(low, high, BAND_LABEL)
    drawn = stacked_ratio_plot(
        hists,
        NAMES,
        xlabel,
        ratio_range,
        outputs,
        title,
        events_label=observed_label,
        text=text,
        ratio_label=f"{observed_label} / post-fit",
        overlay=overlay,
        band=interval,
    )
    return {
        **drawn,
        "prefit_total": None if overlay is None else overlay.counts,
        "prefit_ratio": None if overlay is None else overlay.ratio,
        "band": None if interval is None else (interval.low, interval.high),
    }


def binned_postfit_plot(
    edges: Sequence[float],
    observed: Sequence[float],
    predicted_by_process: Mapping[str, Sequence[float]],
    column: str,
    label: str | None = None,
    outputs: Sequence[str] = (),
    prefit: Sequence[float] | None = None,
    band: tuple[np.ndarray, np.ndarray] | None = None,
    *,
    ratio_range: tuple[float, float] = (0.5, 1.5),
    observed_label: str = "data",
    title: str = "",
    text: str = "",
) -> dict[str, Any]:
    """PostFitPlot of a binned fit (INNFER's BinnedDistributions): counts against bin yields.

    The fitted counts are points with √n errors (Poisson, as the binned likelihood treats
    them); the stack is each process's expected yield per bin at the best fit, which has no
    sampling error, so its uncertainty is the band alone.

    Args:
        edges: The fit's bin edges.
        observed: Fitted counts per bin.
        predicted_by_process: Process name to its expected yield per bin at the best fit.
        column: The binned variable; the x-axis label when ``label`` is None.
        label: x-axis label.
        outputs: Paths to write ([pdf, png]).
        prefit: The expected total per bin at the pre-fit point, or None.
        band: (low, high) of the post-fit total per bin, or None.
        ratio_range: y range of the ratio panel.
        observed_label: Legend text of the counts.
        title: Figure title.
        text: Extra text in the top-left corner.

    Returns:
        The record of `postfit_plot`.
    """
    e = np.asarray(edges, np.float64)
    n = np.asarray(observed, np.float64)
    zeros = np.zeros(len(e) - 1)
    processes = {
        name: {"counts": np.asarray(c, np.float64), "errors": zeros}
        for name, c in predicted_by_process.items()
    }
    total = np.sum([p["counts"] for p in processes.values()], axis=0)
    hists = Stack(
        edges=e,
        empty=bool(n.sum() == 0 and total.sum() == 0),
        events={"counts": n, "errors": np.sqrt(np.clip(n, 0.0, None))},
        processes=processes,
        total=total,
        total_errors=zeros,
    )
    prefit_counts = None if prefit is None else np.asarray(prefit, np.float64)
    return _draw(hists, label if label is not None else column, ratio_range, outputs, title,
                 observed_label, text, prefit_counts, band)  # fmt: skip
