"""Input plots: training inputs per (column, split) and validation inputs overlaid with a ratio.

These replace INNFER's InputPlotTraining and InputPlotValidation (spec data.md §5). Both
functions take numbers, not files, and return what they drew (bin edges and per-series values),
so that tests and callers can check the plot without reading the image back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from innfer_lib.data.weighted_stats import effective_events
from innfer_lib.plots.histograms import (
    DEGENERATE_HALF_WIDTH,
    finite,
    histogram,
    quantile_range,
    widen,
)
from innfer_lib.plots.ratio import RatioFigure
from innfer_lib.plots.save import save
from innfer_lib.plots.style import apply_style, cycle_colours
from innfer_lib.plots.text import no_events, plain, set_title

N_BINS = 40
#: The validation plots frame the bulk between the 1 % and 99 % quantiles of the reference.
VALIDATION_QUANTILES = (0.01, 0.99)
MANY_SAMPLES = 10
REFERENCE_COLOUR = "black"


def training_distribution_plot(
    frames: Mapping[str, pd.DataFrame],
    column: str,
    weight: str = "wt",
    standardisation: Mapping[str, float] | None = None,
    transformed: bool = False,
    label: str | None = None,
    outputs: Sequence[str] = (),
    title: str = "",
    *,
    n_bins: int = N_BINS,
) -> dict[str, Any]:
    """Weighted histogram of one training input column, one step line per split.

    The stored train/test values are standardised, so the raw view inverts the standardisation
    to show the physical values the user configured, and the transformed view shows what the
    network actually sees. As in INNFER, there are ``n_bins`` equal bins over [min, max] of the
    plotted values (all splits together, so overlaid splits share the binning), with one empty
    bin added on each side so the edges of the distribution are visible.

    Args:
        frames: Split name ("train", "test") to a DataFrame holding ``column`` and ``weight``;
            normally one entry, several are overlaid with a legend.
        column: Column to plot.
        weight: Weight column name.
        standardisation: ``{"mean": m, "std": s}`` used to store the column, or None when the
            stored values are not standardised.
        transformed: Plot the stored (standardised) values instead of x * std + mean.
        label: x-axis label; the column name when None.
        outputs: Paths to write ([pdf, png]); nothing is written when empty.
        title: Figure title.
        n_bins: Number of bins inside [min, max] (the padding bins come on top).

    Returns:
        ``{"edges": (n_bins + 3,) edges including the padding bins, "hists": {split: (n_bins + 2,)
        sum of weights per bin}, "sumw2": {split: Σw² per bin}, "sum_weights": {split: Σw},
        "n_events": {split: entries}, "n_eff": {split: (Σw)²/Σw²}, "n_dropped": {split:
        non-finite entries left out}, "range": (min, max) before padding, "xlabel": str,
        "empty": True when no split has any entry}``.

    Raises:
        KeyError: A frame lacks ``column`` or ``weight``, or ``standardisation`` lacks mean/std.
    """
    values: dict[str, np.ndarray] = {}
    weights: dict[str, np.ndarray] = {}
    dropped: dict[str, int] = {}
    for split, frame in frames.items():
        for name in (column, weight):
            if name not in frame.columns:
                raise KeyError(f"split {split!r} has no column {name!r}")
        x = frame[column].to_numpy(dtype=float)
        if standardisation is not None and not transformed:
            x = x * float(standardisation["std"]) + float(standardisation["mean"])
        values[split], weights[split], dropped[split] = finite(
            x, frame[weight].to_numpy(dtype=float)
        )

    filled = [x for x in values.values() if x.size]
    empty = not filled
    lo = min(float(x.min()) for x in filled) if filled else 0.0
    hi = max(float(x.max()) for x in filled) if filled else 0.0
    lo, hi = widen(lo, hi)  # a fixed parameter (or no events) has no width

    hists: dict[str, np.ndarray] = {}
    sumw2: dict[str, np.ndarray] = {}
    inner = np.linspace(lo, hi, n_bins + 1)
    for split in values:
        x, w = values[split], weights[split]
        # Not `histograms.histogram`: np.histogram with a bin count and a range takes another
        # path than with explicit edges (sums in another order), and Σw² is returned, not √.
        counts, inner = np.histogram(x, bins=n_bins, range=(lo, hi), weights=w)
        squares, _ = np.histogram(x, bins=n_bins, range=(lo, hi), weights=w**2)
        hists[split] = np.concatenate([[0.0], counts, [0.0]])
        sumw2[split] = np.concatenate([[0.0], squares, [0.0]])
    width = (hi - lo) / n_bins
    edges = np.concatenate([[lo - width], inner, [hi + width]])

    xlabel = label if label is not None else column
    if transformed:
        xlabel += " (standardised)"

    apply_style()
    fig, ax = plt.subplots(figsize=(8, 6))
    for colour, split in zip(cycle_colours(len(values)), values, strict=True):
        w = weights[split]
        n_eff = effective_events(w)
        text = f"{split}: N = {w.size}, Σw = {np.sum(w):.4g}, N$_{{\\rm eff}}$ = {n_eff:.4g}"
        if dropped[split]:
            text += f" ({dropped[split]} non-finite dropped)"
        ax.stairs(hists[split], edges, color=colour, lw=2, label=text)
    if empty:
        no_events(ax)
    low = min([0.0] + [float(h.min()) for h in hists.values()])
    high = max([0.0] + [float(h.max()) for h in hists.values()])
    ax.set_ylim(low * 1.1 if low < 0 else 0.0, high * 1.35 if high > 0 else 1.0)
    ax.set_xlim(edges[0], edges[-1])
    ax.set_xlabel(plain(xlabel))
    ax.set_ylabel("sum of weights per bin")
    set_title(ax, title)
    if values:
        ax.legend(loc="upper right", fontsize=11)
    save(fig, outputs)  # closes the figure; writes nothing when there are no outputs

    return {
        "edges": edges,
        "hists": hists,
        "sumw2": sumw2,
        "sum_weights": {s: float(np.sum(w)) for s, w in weights.items()},
        "n_events": {s: int(w.size) for s, w in weights.items()},
        "n_eff": {s: effective_events(w) for s, w in weights.items()},
        "n_dropped": dropped,
        "range": (lo, hi),
        "xlabel": xlabel,
        "empty": empty,
    }


def validation_distribution_plot(
    samples: Sequence[Mapping[str, Any]],
    column: str,
    reference: int,
    label: str | None = None,
    ratio_range: tuple[float, float] = (0.5, 1.5),
    outputs: Sequence[str] = (),
    title: str = "",
    *,
    n_bins: int = N_BINS,
    unit_area: bool = True,
) -> dict[str, Any]:
    """Unit-area distributions of one column for several validation points, with a ratio panel.

    Unit area removes the yield so that only shape changes with the parameters are seen; the
    ratio to the default point (``reference``) shows their size, against the reference's own
    statistical band so a real shift can be told from a fluctuation. The range is the 1-99 %
    quantiles of the reference, so far tails do not squash the bulk (INNFER took the first
    point; the default point is the natural anchor of the ratio). Values outside the range are
    not drawn, and the area is 1 over the drawn range.

    Args:
        samples: One mapping per point: ``{"label": str, "x": values, "w": weights}``; ``w``
            may be missing or None for unit weights.
        column: Column name, the x-axis label when ``label`` is None.
        reference: Index into ``samples`` of the reference (default) point.
        label: x-axis label.
        ratio_range: y range of the ratio panel.
        outputs: Paths to write ([pdf, png]); nothing is written when empty.
        title: Figure title.
        n_bins: Number of bins.
        unit_area: Normalise each sample to unit area (shapes only). False draws the weights
            as they are, in events per bin, so the ratio to the reference also shows a change
            of the yield (the nuisance-variation plots, whose samples are normalised to the
            yield at their point).

    Returns:
        ``{"edges": (n_bins + 1,) edges (empty when nothing could be binned), "hists": per
        sample (input order) the unit-area density (events per bin without ``unit_area``) or
        None when skipped, "errors": per sample
        the statistical error of the density or None, "ratios": per sample density / reference
        density (NaN where the reference bin is empty) or None, "reference_band": relative
        statistical error of the reference per bin, "reference": index, "legend": legend texts
        in drawing order, "skipped": indices of skipped samples, "range": (low, high),
        "xlabel": str, "empty": True when every sample is empty}``.

    Raises:
        IndexError: ``reference`` does not index ``samples`` (with at least one sample).
        ValueError: A sample's ``x`` and ``w`` differ in length.
    """
    n = len(samples)
    if n and not -n <= reference < n:
        raise IndexError(f"reference {reference} out of range for {n} samples")
    reference = reference % n if n else reference

    xs: list[np.ndarray] = []
    ws: list[np.ndarray] = []
    for i, sample in enumerate(samples):
        x = np.asarray(sample["x"], dtype=float).ravel()
        raw_w = sample.get("w")
        w = np.ones_like(x) if raw_w is None else np.asarray(raw_w, dtype=float).ravel()
        if w.shape != x.shape:
            raise ValueError(f"sample {i}: {x.size} values but {w.size} weights")
        x, w, _ = finite(x, w)
        xs.append(x)
        ws.append(w)

    labels = [str(s.get("label", f"sample {i}")) for i, s in enumerate(samples)]
    xlabel = label if label is not None else column
    empty = all(x.size == 0 for x in xs)

    # Bin on the reference; if it is empty, fall back to all points so the others still show.
    if empty:
        lo, hi = -DEGENERATE_HALF_WIDTH, DEGENERATE_HALF_WIDTH
        edges = np.array([], dtype=float)
    else:
        if xs[reference].size:
            lo, hi = quantile_range(xs[reference], ws[reference], VALIDATION_QUANTILES)
        else:
            lo, hi = quantile_range(np.concatenate(xs), np.concatenate(ws), VALIDATION_QUANTILES)
        edges = np.linspace(lo, hi, n_bins + 1)

    hists: list[np.ndarray | None] = [None] * n
    errors: list[np.ndarray | None] = [None] * n
    notes = {i: "no events, skipped" for i, x in enumerate(xs) if x.size == 0}
    if not empty:
        widths = np.diff(edges)
        for i, (x, w) in enumerate(zip(xs, ws, strict=True)):
            if i in notes:
                continue
            counts, sigma = histogram(x, w, edges)
            area = float(np.sum(counts))
            if area <= 0:
                notes[i] = "no weight in range, skipped"
                continue
            scale = area * widths if unit_area else np.ones_like(widths)
            hists[i] = counts / scale
            errors[i] = sigma / scale

    ref_hist = hists[reference] if n else None
    ref_errors = errors[reference] if n else None
    ratios: list[np.ndarray | None] = [None] * n
    band = np.full(max(edges.size - 1, 0), np.nan)
    if ref_hist is not None and ref_errors is not None:
        filled = ref_hist > 0
        band = np.divide(ref_errors, ref_hist, out=np.full_like(ref_hist, np.nan), where=filled)
        for i, hist in enumerate(hists):
            if hist is not None:
                ratios[i] = np.divide(hist, ref_hist, out=np.full_like(hist, np.nan), where=filled)

    apply_style()
    figure = RatioFigure()
    fig, ax, rax = figure.fig, figure.main, figure.ratio
    many = n > MANY_SAMPLES
    others = [i for i in range(n) if i != reference]
    if many:
        cmap = plt.get_cmap("viridis")
        palette = [cmap(v) for v in np.linspace(0.0, 0.95, len(others))]
    else:
        palette = cycle_colours(len(others))
    colours = {reference: REFERENCE_COLOUR, **dict(zip(others, palette, strict=True))}

    legend: list[str] = []
    for i in ([reference] if n else []) + others:
        text = labels[i] + (" (reference)" if i == reference else "")
        if i in notes:
            text += f": {notes[i]}"
            ax.plot([], [], " ", label=text)
        elif hists[i] is not None:
            lw = 2.5 if i == reference else 1.5
            ax.stairs(
                hists[i],
                edges,
                color=colours[i],
                lw=lw,
                label=text,
                zorder=3 if i == reference else 2,
            )
            if ratios[i] is not None and i != reference:
                rax.stairs(ratios[i], edges, color=colours[i], lw=lw)
        legend.append(text)

    if ref_hist is not None:
        safe = np.nan_to_num(band, nan=0.0)
        rax.stairs(1 + safe, edges, baseline=1 - safe, fill=True, color="grey", alpha=0.35)
        text = "reference stat. unc. (ratio)"
        ax.fill_between([], [], color="grey", alpha=0.35, label=text)
        legend.append(text)
    rax.axhline(1.0, color="grey", ls="--", lw=1)

    if empty:
        no_events(ax)
    else:
        top = max([0.0] + [float(h.max()) for h in hists if h is not None])
        ax.set_ylim(0.0, top * 1.4 if top > 0 else 1.0)
        ax.set_xlim(edges[0], edges[-1])
    rax.set_ylim(*ratio_range)
    ax.set_ylabel("unit-area density" if unit_area else "events per bin")
    rax.set_ylabel("ratio to ref.", fontsize=13)
    rax.set_xlabel(plain(xlabel))
    set_title(ax, title)
    if legend:
        if many:
            ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, ncol=1)
        else:
            ax.legend(loc="upper right", fontsize=11)
    save(fig, outputs)  # closes the figure; writes nothing when there are no outputs

    return {
        "edges": edges,
        "hists": hists,
        "errors": errors,
        "ratios": ratios,
        "reference_band": band,
        "reference": reference,
        "legend": legend,
        "skipped": sorted(notes),
        "range": (lo, hi),
        "xlabel": xlabel,
        "empty": empty,
    }
