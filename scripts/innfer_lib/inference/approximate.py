"""INNFER's ApproximateUncertainty: a quick, non-profiled σ per parameter from two steps.

Cheaper than a Hessian or a scan (a handful of −ln L values, no derivatives), and used to
place scan grids when no Hessian is wanted. The other parameters stay at the best fit, so the
estimate is the conditional σ, not the profiled one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from innfer_lib.core.errors import ConfigError
from innfer_lib.inference.covariance import gaussian_crossings

APPROX_RELATIVE_STEP = 1e-3
APPROX_MIN_STEP = 0.1


def _as_vector(
    values: Sequence[float] | np.ndarray | Mapping[str, float], columns: Sequence[str]
) -> np.ndarray:
    if isinstance(values, Mapping):
        return np.array([float(values[c]) for c in columns], np.float64)
    return np.array(values, np.float64).reshape(len(columns))


def approximate_uncertainty(
    nll: Callable[[np.ndarray], float],
    best_fit: Sequence[float] | np.ndarray | Mapping[str, float],
    column: str,
    columns: Sequence[str],
    step: float | None = None,
    max_restarts: int = 5,
) -> dict[str, Any]:
    """INNFER's ApproximateUncertainty: a two-step quadratic estimate, not profiled.

    The other parameters stay at the best fit. With the step h = max(|b̂|·0.001, 0.1) and
    Δ = −ln L(b̂ ± h) − min, a parabola through the minimum gives σ₁ = h/√(2Δ) (Δ(−ln L) = ½
    at 1σ); evaluating again at b̂ ± σ₁ gives the refined σ = σ₁/√(2Δ'). Each side is kept
    separately, because likelihoods near a physical bound are asymmetric, and INNFER's
    symmetrised value is returned alongside. A Δ < 0 means b̂ was not the minimum along this
    column: b̂ moves to the lower point and the estimate restarts (at most `max_restarts`).

    Args:
        nll: −ln L over the full θ (e.g. a `contract.NegativeLogLikelihood`).
        best_fit: the best-fit θ, in `columns` order or by name.
        column: the parameter to estimate.
        columns: every parameter name.
        step: the first step h (default INNFER's rule).
        max_restarts: how often the best fit may move before giving up.

    Returns:
        `uncertainty` {down, up, symmetrised}, `crossings` (absolute values at −2..2σ from
        the per-side quadratic; a side without an estimate is left out),
        `symmetrised_crossings`, the possibly moved `best_fit`, `restarts` and `valid`.
    """
    columns = list(columns)
    if column not in columns:
        raise ConfigError(f"approximate uncertainty: '{column}' is not one of {columns}")
    index = columns.index(column)
    theta = _as_vector(best_fit, columns)
    evaluations = 0

    def f(t: np.ndarray) -> float:
        nonlocal evaluations
        evaluations += 1
        return float(nll(t))

    def at(value: float) -> np.ndarray:
        t = theta.copy()
        t[index] = value
        return t

    def sigma_from(h: float, delta: float) -> float:
        return h / math.sqrt(2.0 * delta) if delta > 0 and math.isfinite(delta) else math.nan

    restarts = 0
    valid = True
    while True:
        centre, f0 = theta[index], f(theta)
        h = (
            float(step)
            if step is not None
            else max(abs(centre) * APPROX_RELATIVE_STEP, APPROX_MIN_STEP)
        )
        sigmas: dict[int, float] = {}
        lower: np.ndarray | None = None
        for side in (1, -1):
            delta = f(at(centre + side * h)) - f0
            if delta < 0:
                lower = at(centre + side * h)
                break
            first = sigma_from(h, delta)
            if not math.isfinite(first):
                sigmas[side] = math.nan
                continue
            delta2 = f(at(centre + side * first)) - f0
            if delta2 < 0:
                lower = at(centre + side * first)
                break
            sigmas[side] = sigma_from(first, delta2)
        if lower is None:
            break
        if restarts >= max_restarts:
            valid = False
            break
        theta, restarts = lower, restarts + 1
    up, down = sigmas.get(1, math.nan), sigmas.get(-1, math.nan)
    valid = valid and math.isfinite(up) and math.isfinite(down)
    symmetrised = 0.5 * (up + down)
    crossings = {0: float(centre)}
    for k in (1, 2):
        if math.isfinite(up):
            crossings[k] = float(centre + k * up)
        if math.isfinite(down):
            crossings[-k] = float(centre - k * down)
    return {
        "columns": columns,
        "varied_column": column,
        "best_fit": [float(v) for v in theta],
        "step": h,
        "uncertainty": {"down": down, "up": up, "symmetrised": symmetrised},
        "crossings": dict(sorted(crossings.items())),
        "symmetrised_crossings": gaussian_crossings(centre, symmetrised)
        if math.isfinite(symmetrised)
        else {0: float(centre)},
        "restarts": restarts,
        "best_fit_moved": restarts > 0,
        "nll_evaluations": evaluations,
        "valid": valid,
    }
