"""Fit a density's own parameters to one sample: the `inference` performance metric.

A quick closure test of the density alone, before any likelihood with yields and nuisances
is built: minimise −Σ w log p(x | θ) over θ with Minuit, σ± from MINOS. INNFER used
Nelder-Mead and a parabola through two points; MINOS gives the exact −ΔlnL = ½ crossings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class DensityFit:
    """Best fit and the distances to the ΔNLL = ½ crossings (positive numbers) per parameter."""

    values: dict[str, float]
    upper: dict[str, float]
    lower: dict[str, float]
    valid: bool


def fit_density_parameters(
    density: Any,
    x: np.ndarray,
    w: np.ndarray,
    limits: Mapping[str, tuple[float, float]],
    start: Mapping[str, float],
) -> DensityFit:
    """Minimise the weighted NLL of ``x`` over the density's parameters within ``limits``.

    Args:
        density: A `density.models.Density` (float64 ``log_prob``, one θ for all events).
        x: Events, shape (n, n_x), physical units.
        w: Event weights; their sum sets the curvature, so pass weights scaled to the
            sample's effective number of events for a data-like σ.
        limits: (low, high) per parameter: Minuit stays inside (the flow's trained range).
        start: Starting value per parameter.

    Returns:
        The fit; a crossing MINOS cannot find inside the limits is the distance to the limit.
    """
    import tensorflow as tf
    from iminuit import Minuit

    names = list(density.parameters)
    events = tf.constant(np.asarray(x, np.float64))
    weights = tf.constant(np.asarray(w, np.float64))

    def nll(*values: float) -> float:
        params = {n: tf.constant(float(v), tf.float64) for n, v in zip(names, values, strict=True)}
        return -float(tf.reduce_sum(weights * density.log_prob(events, params)))

    x0 = [float(np.clip(start[n], *limits[n])) for n in names]
    minuit = Minuit(nll, *x0, name=names)
    minuit.errordef = Minuit.LIKELIHOOD
    minuit.strategy = 1
    for n in names:
        minuit.limits[n] = limits[n]
    minuit.migrad()
    valid = bool(minuit.valid)
    upper, lower = {}, {}
    if valid:
        minuit.minos()
    for n in names:
        error = minuit.merrors[n] if n in minuit.merrors else None
        if error is not None:
            upper[n], lower[n] = float(error.upper), float(-error.lower)
        else:
            upper[n] = lower[n] = float(minuit.errors[n])
    return DensityFit({n: float(minuit.values[n]) for n in names}, upper, lower, valid)
