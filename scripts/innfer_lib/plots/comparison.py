"""Numbers behind the density comparison plot: validation events vs learned and true densities.

In one dimension both densities are drawn as curves (λ·p(x) per bin width) and integrated
per bin for the ratio panel. In more dimensions a flow's marginal has no closed form, so the
learned density is shown by sampling it (the validation events are draws from the truth).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

N_BINS = 40
GRID_PER_BIN = 20


def _edges(x: np.ndarray) -> np.ndarray:
    lo, hi = np.quantile(x, [0.001, 0.999])
    return np.linspace(lo, hi, N_BINS + 1)


def histogram(x: np.ndarray, w: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted counts and their Poisson-like errors √Σw² per bin."""
    counts, _ = np.histogram(x, bins=edges, weights=w)
    sumw2, _ = np.histogram(x, bins=edges, weights=w**2)
    return counts, np.sqrt(sumw2)


def mixture_log_density(processes: Sequence[tuple[Any, float]], x: np.ndarray, point) -> np.ndarray:
    """log Σ_p λ_p p_p(x) at a parameter point, from (density, yield) pairs (float64)."""
    import tensorflow as tf

    xt = tf.constant(x, tf.float64)
    params = {k: tf.constant(float(v), tf.float64) for k, v in point.items()}
    logs = [np.log(lam) + density.log_prob(xt, params).numpy() for density, lam in processes]
    return np.logaddexp.reduce(np.stack(logs), axis=0)


def panels(
    x: np.ndarray,
    w: np.ndarray,
    variables: Sequence[str],
    models: Mapping[str, Sequence[tuple[Any, float]]],
    point: Mapping[str, float],
    seed: int = 0,
) -> list[dict[str, Any]]:
    """One panel per variable comparing events with each density source.

    Args:
        x: validation events (n, d), all processes together.
        w: their weights, normalised to the expected yield.
        variables: names of the columns of x.
        models: per density source, (density, expected yield) for every process.
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
        for source, processes in models.items():
            if x.shape[1] == 1:
                width = edges[1] - edges[0]
                grid = np.linspace(edges[0], edges[-1], N_BINS * GRID_PER_BIN + 1)
                dens = np.exp(mixture_log_density(processes, grid[:, None], point))
                panel["curves"][source] = (grid, dens * width)
                per_bin = [
                    np.trapezoid(
                        dens[i * GRID_PER_BIN : (i + 1) * GRID_PER_BIN + 1],
                        grid[i * GRID_PER_BIN : (i + 1) * GRID_PER_BIN + 1],
                    )
                    for i in range(N_BINS)
                ]
                panel["binned"][source] = np.array(per_bin)
            elif all(hasattr(d, "sample") for d, _ in processes):
                hist = np.zeros(N_BINS)
                for k, (density, lam) in enumerate(processes):
                    n = max(20 * len(w), 10_000)
                    samples = density.sample(n, point, seed + k)
                    h, _ = np.histogram(samples[:, j], bins=edges)
                    hist += h * lam / n
                panel["hists"][source] = hist
                panel["binned"][source] = hist
        out.append(panel)
    return out
