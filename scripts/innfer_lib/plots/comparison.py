"""Density comparison plot: validation events against the densities scaled to the yield.

In one dimension every density source is drawn as a curve (λ·p(x) per bin width) and
integrated per bin for the ratio panel. In more dimensions a flow's marginal has no closed
form, so a learned density is shown by sampling it, and the true density is not drawn: the
validation events are draws from it. Which sources are sampled is the caller's decision
(`Source.samplers`), not something guessed from the objects.

The densities are evaluated through their `log_prob` on NumPy inputs; TensorFlow is the
densities' business, and this module does not import it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np

from innfer_lib.plots.histograms import histogram
from innfer_lib.plots.save import save
from innfer_lib.plots.style import COLOURS, LABELS, apply_style, fix_ticks, title_y

if TYPE_CHECKING:
    from innfer_lib.density.models import Density
    from innfer_lib.density.sampling import Sampler

N_BINS = 40
GRID_PER_BIN = 20


@dataclass(frozen=True)
class Source:
    """One density source of the comparison (learned or true), summed over the processes.

    Attributes:
        processes: ``(density, expected yield)`` per process; in one dimension their mixture
            is drawn as a curve.
        samplers: The same processes as samplers, for a source drawn from samples in more
            than one dimension (a learned flow); None for a source drawn in one dimension only
            (the truth, which the validation events already show).
    """

    processes: Sequence[tuple[Density, float]]
    samplers: Sequence[tuple[Sampler, float]] | None = None


def _edges(x: np.ndarray) -> np.ndarray:
    lo, hi = np.quantile(x, [0.001, 0.999])
    return np.linspace(lo, hi, N_BINS + 1)


def mixture_log_density(
    processes: Sequence[tuple[Density, float]], x: np.ndarray, point: Mapping[str, float]
) -> np.ndarray:
    """log Σ_p λ_p p_p(x) at a parameter point, from (density, yield) pairs (float64)."""
    params = {k: float(v) for k, v in point.items()}
    logs = [np.log(lam) + np.asarray(density.log_prob(x, params)) for density, lam in processes]
    return np.logaddexp.reduce(np.stack(logs), axis=0)


def panels(
    x: np.ndarray,
    w: np.ndarray,
    variables: Sequence[str],
    sources: Mapping[str, Source],
    point: Mapping[str, float],
    seed: int = 0,
) -> list[dict[str, Any]]:
    """One panel per variable comparing events with each density source.

    Args:
        x: validation events (n, d), all processes together.
        w: their weights, normalised to the expected yield.
        variables: names of the columns of x.
        sources: per density source name, its processes (and samplers).
        point: the parameter point the events were simulated at.
        seed: seed of the flow samples.
    """
    out = []
    for j, var in enumerate(variables):
        edges = _edges(x[:, j])
        counts, errors = histogram(x[:, j], w, edges)
        panel: dict[str, Any] = {
            "variable": var,
            "edges": edges,
            "counts": counts,
            "errors": errors,
            "curves": {},
            "hists": {},
            "binned": {},
        }
        for name, source in sources.items():
            if x.shape[1] == 1:
                width = edges[1] - edges[0]
                grid = np.linspace(edges[0], edges[-1], N_BINS * GRID_PER_BIN + 1)
                dens = np.exp(mixture_log_density(source.processes, grid[:, None], point))
                panel["curves"][name] = (grid, dens * width)
                per_bin = [
                    np.trapezoid(
                        dens[i * GRID_PER_BIN : (i + 1) * GRID_PER_BIN + 1],
                        grid[i * GRID_PER_BIN : (i + 1) * GRID_PER_BIN + 1],
                    )
                    for i in range(N_BINS)
                ]
                panel["binned"][name] = np.array(per_bin)
            elif source.samplers is not None:
                hist = np.zeros(N_BINS)
                for k, (sampler, lam) in enumerate(source.samplers):
                    n = max(20 * len(w), 10_000)
                    samples = sampler.sample(n, point, seed + k)
                    h, _ = np.histogram(samples[:, j], bins=edges)
                    hist += h * lam / n
                panel["hists"][name] = hist
                panel["binned"][name] = hist
        out.append(panel)
    return out


def density_plot(
    panels: Sequence[Mapping[str, Any]], outputs: Sequence[str], title: str = ""
) -> None:
    """Validation events (weighted histogram) against the densities scaled to the yield.

    Each panel: {variable, edges, counts, errors, curves: {density: (x, y)} and/or
    hists: {density: counts}}; y values are events per bin.
    """
    apply_style()
    fig, axes = plt.subplots(
        2,
        len(panels),
        figsize=(7 * len(panels), 7),
        squeeze=False,
        gridspec_kw={"height_ratios": [3, 1]},
        sharex="col",
    )
    for i, panel in enumerate(panels):
        ax, rax = axes[0, i], axes[1, i]
        edges = np.asarray(panel["edges"])
        centres = 0.5 * (edges[1:] + edges[:-1])
        counts = np.asarray(panel["counts"])
        errors = np.asarray(panel["errors"])
        ax.errorbar(
            centres, counts, yerr=errors, fmt="o", color="black", ms=4, label="validation events"
        )
        for density, (cx, cy) in panel.get("curves", {}).items():
            ax.plot(cx, cy, color=COLOURS.get(density), lw=2, label=LABELS.get(density, density))
        for density, hist in panel.get("hists", {}).items():
            ax.stairs(
                hist,
                edges,
                color=COLOURS.get(density),
                lw=2,
                label=f"{LABELS.get(density, density)} (samples)",
            )
        for density, pred in panel.get("binned", {}).items():
            pred = np.asarray(pred)
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(pred > 0, counts / pred, np.nan)
                rerr = np.where(pred > 0, errors / pred, np.nan)
            rax.errorbar(
                centres,
                ratio,
                yerr=rerr,
                fmt="o",
                ms=3,
                color=COLOURS.get(density),
                label=LABELS.get(density, density),
            )
        rax.axhline(1.0, color="grey", ls="--")
        rax.set_ylim(0.8, 1.2)
        rax.set_ylabel("events / density", fontsize=12)
        rax.set_xlabel(panel["variable"])
        ax.set_ylabel("events per bin")
        ax.legend(fontsize=11)
    # Full-size panels keep the style's minor ticks; only their positions are fixed.
    for ax in axes.flat:
        fix_ticks(ax, minor_divisions=None)
    if title:
        axes[0, 0].set_title(title, fontsize=13, y=title_y(axes[0, 0]))
    save(fig, outputs)
