"""Minimisation, Hessians, covariances and quick uncertainty estimates of −ln L.

The objective handed to the minimisers is −ln L (errordef 0.5: Δ(−ln L) = 0.5 at 1σ). INNFER
minimised −2 ln L with errordef 0.5 and Nelder–Mead without convergence checks; here every
result records validity, EDM, status and call counts, an invalid fit is retried from
perturbed starts, and MIGRAD can hand over to L-BFGS-B when it never reaches a valid minimum.
A fit that does not converge is a result ("failed"), not an exception, so a grid of
validation points always completes and the summary can show which points failed.

Hessians come from three producers that write the same record (INNFER's Hessian,
HessianNumerical and HessianCollect): the likelihood's nested autodiff, central differences
of the autodiff gradient over all parameters (`hessian_by_differences`), or one gradient
difference per job (`hessian_column` + `hessian_collect`). Differencing the exact gradient
needs one gradient pair per parameter, where differencing the value (INNFER's numdifftools
route) needs O(n²) values and is far less accurate.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from innfer_lib.core.errors import ConfigError, DataError

SIGMAS = (-2, -1, 0, 1, 2)
METHODS = ("minuit", "scipy")
# What a minimiser sees instead of NaN/inf: large enough to lose against any real value, small
# enough that differences of two of them stay finite.
HUGE = 1e300
ERRORDEF = 0.5
# EDM target relative to tolerance·errordef, as Minuit defines it, so that both minimisers
# are judged by the same convergence criterion.
EDM_GOAL_FACTOR = 0.002
RELATIVE_STEP = 1e-4
#: Smoothed Hessians: columns measured over ±SMOOTHING_FRACTION·σ, σ re-estimated this often.
SMOOTHING_FRACTION = 0.5
SMOOTHING_REFINEMENTS = 2
#: Tenfold widenings of the first step allowed while the curvature is not yet positive.
MAX_WIDENINGS = 4
AUTO, AUTODIFF, NUMERICAL = "auto", "autodiff", "numerical"
HESSIAN_METHODS = (AUTO, AUTODIFF, NUMERICAL)
APPROX_RELATIVE_STEP = 1e-3
APPROX_MIN_STEP = 0.1

ValueAndGradient = Callable[[np.ndarray], tuple[float, np.ndarray]]


class _CachedObjective:
    """The −ln L a minimiser sees: cached per point, non-finite values replaced and counted.

    Minuit and scipy ask for the value and the gradient at the same point; computing both once
    halves the cost. A NaN or inf value (a density outside its support, a negative yield)
    must not stop the fit, so what the minimiser sees instead depends on the minimiser:
    MIGRAD backs off from `HUGE` (with a zero gradient) by itself, but L-BFGS-B's line search
    needs a value and gradient that agree, so `barrier` gives a steep bowl around the lowest
    finite point seen, which makes the line search shrink its step back into the finite
    region. The lowest finite point is also what a fit that never converges reports.
    """

    def __init__(self, value_and_gradient: ValueAndGradient):
        self._fn = value_and_gradient
        self._last: tuple[np.ndarray, float, np.ndarray] | None = None
        self.calls = 0
        self.nonfinite = 0
        self.lowest: tuple[float, np.ndarray, np.ndarray] | None = None

    def evaluate(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """(value, gradient) at θ; the value is NaN where −ln L is not finite."""
        theta = np.asarray(theta, np.float64)
        if self._last is None or not np.array_equal(theta, self._last[0]):
            value, grad = self._fn(theta)
            value = float(value)
            grad = np.asarray(grad, np.float64).reshape(theta.shape)
            self.calls += 1
            if not (math.isfinite(value) and np.all(np.isfinite(grad))):
                self.nonfinite += 1
            if math.isfinite(value):
                grad = np.where(np.isfinite(grad), grad, 0.0)
                if self.lowest is None or value < self.lowest[0]:
                    self.lowest = (value, theta.copy(), grad)
            else:
                value = math.nan
            self._last = (theta.copy(), value, grad)
        return self._last[1], self._last[2]

    def value(self, theta: np.ndarray) -> float:
        value = self.evaluate(theta)[0]
        return value if math.isfinite(value) else HUGE

    def gradient(self, theta: np.ndarray) -> np.ndarray:
        value, grad = self.evaluate(theta)
        return grad if math.isfinite(value) else np.zeros_like(grad)

    def barrier(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """Value and gradient, with f_low + 1 + 2|g_low|·d + d² where −ln L is not finite.

        d is the distance to the lowest finite point: the bowl is above every finite value
        the line search compares with, and its gradient points away from that point, so a
        cubic step interpolation lands back between the two.
        """
        value, grad = self.evaluate(theta)
        if math.isfinite(value):
            return value, grad
        if self.lowest is None:
            return HUGE, np.zeros_like(grad)
        f_low, x_low, g_low = self.lowest
        d = np.asarray(theta, np.float64) - x_low
        dist = float(np.linalg.norm(d))
        slope = float(np.linalg.norm(g_low))
        if dist == 0.0:
            return f_low + 1.0, np.zeros_like(grad)
        return f_low + 1.0 + 2.0 * slope * dist + dist**2, (2.0 * slope / dist + 2.0) * d


@dataclass
class _Attempt:
    """The outcome of one minimiser run, whichever minimiser it was."""

    minimiser: str
    values: np.ndarray
    fval: float
    valid: bool
    edm: float
    edm_goal: float
    nfcn: int
    ngrad: int
    call_limit: bool
    at_limit: bool
    above_max_edm: bool
    errors: np.ndarray
    message: str = ""

    def summary(self) -> dict[str, Any]:
        return {
            "minimiser": self.minimiser,
            "valid": self.valid,
            "fval": self.fval,
            "edm": self.edm,
            "nfcn": self.nfcn,
            "message": self.message,
        }


def _clip(x: np.ndarray, columns: Sequence[str], limits: Mapping[str, Any]) -> np.ndarray:
    x = x.copy()
    for i, name in enumerate(columns):
        lo, hi = limits.get(name, (None, None))
        if lo is not None:
            x[i] = max(x[i], lo)
        if hi is not None:
            x[i] = min(x[i], hi)
    return x


def _minuit_attempt(
    objective: _CachedObjective,
    columns: list[str],
    x0: np.ndarray,
    limits: Mapping[str, tuple[float | None, float | None]],
    fixed: Mapping[str, float],
    strategy: int,
    tolerance: float,
    max_calls: int | None,
) -> _Attempt:
    from iminuit import Minuit

    m = Minuit(objective.value, x0, grad=objective.gradient, name=columns)
    m.errordef = Minuit.LIKELIHOOD
    m.strategy = strategy
    m.tol = tolerance
    for name, (lo, hi) in limits.items():
        m.limits[name] = (lo, hi)
    for name, value in fixed.items():
        m.values[name] = value
        m.fixed[name] = True
    m.migrad(ncall=max_calls)
    fm = m.fmin
    return _Attempt(
        minimiser="minuit",
        values=np.array(m.values, np.float64),
        fval=float(fm.fval),
        valid=bool(fm.is_valid),
        edm=float(fm.edm),
        edm_goal=float(fm.edm_goal),
        nfcn=int(fm.nfcn),
        ngrad=int(fm.ngrad),
        call_limit=bool(fm.has_reached_call_limit),
        at_limit=bool(fm.has_parameters_at_limit),
        above_max_edm=bool(fm.is_above_max_edm),
        errors=np.array(m.errors, np.float64),
    )


def _at_bound(x: float, bound: float | None) -> bool:
    return bound is not None and abs(x - bound) <= 1e-10 * max(1.0, abs(bound))


def _scipy_attempt(
    objective: _CachedObjective,
    columns: list[str],
    x0: np.ndarray,
    limits: Mapping[str, tuple[float | None, float | None]],
    fixed: Mapping[str, float],
    strategy: int,
    tolerance: float,
    max_calls: int | None,
) -> _Attempt:
    """L-BFGS-B over the free parameters, judged by Minuit's EDM criterion.

    scipy's own `success` only says that a stopping rule fired; the EDM ½gᵀH⁻¹g (with
    L-BFGS-B's inverse-Hessian estimate and the gradient projected onto the feasible
    directions) is what says the minimum is reached to `tolerance`, as for MIGRAD.
    """
    del strategy  # Minuit only
    from scipy.optimize import minimize

    free = [i for i, c in enumerate(columns) if c not in fixed]
    base = x0.copy()

    def fun(x_free: np.ndarray) -> tuple[float, np.ndarray]:
        theta = base.copy()
        theta[free] = x_free
        value, grad = objective.barrier(theta)
        return value, grad[free]

    bounds = [limits.get(columns[i], (None, None)) for i in free]
    calls_before = objective.calls
    res = minimize(
        fun,
        x0[free],
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxfun": int(max_calls or 15000), "ftol": 1e-13, "gtol": 1e-9},
    )
    values = base.copy()
    values[free] = res.x
    fval, grad = objective.value(values), objective.gradient(values)
    g = grad[free].copy()
    at_limit = False
    for k, (lo, hi) in enumerate(bounds):
        low, high = _at_bound(res.x[k], lo), _at_bound(res.x[k], hi)
        at_limit |= low or high
        # A gradient pushing against an active bound is not a sign of an unfinished fit.
        if (low and g[k] > 0) or (high and g[k] < 0):
            g[k] = 0.0
    try:
        h_inv = np.asarray(res.hess_inv.todense(), np.float64)
    except AttributeError:
        h_inv = np.eye(len(free))
    edm = 0.5 * float(g @ h_inv @ g) if fval < HUGE else math.inf
    goal = EDM_GOAL_FACTOR * tolerance * ERRORDEF
    errors = np.zeros(len(columns))
    errors[free] = np.sqrt(np.clip(np.diag(h_inv), 0.0, None))
    return _Attempt(
        minimiser="scipy",
        values=values,
        fval=float(fval),
        valid=bool(fval < HUGE and edm <= goal),
        edm=edm,
        edm_goal=goal,
        nfcn=int(objective.calls - calls_before),
        ngrad=int(getattr(res, "njev", 0) or 0),
        call_limit=bool(res.status == 1),
        at_limit=bool(at_limit),
        above_max_edm=bool(edm > goal),
        errors=errors,
        message=str(res.message),
    )


_RUNNERS = {"minuit": _minuit_attempt, "scipy": _scipy_attempt}


def _run_attempts(
    method: str,
    objective: _CachedObjective,
    columns: list[str],
    x0: np.ndarray,
    limits: Mapping[str, tuple[float | None, float | None]],
    fixed: Mapping[str, float],
    rng: np.random.Generator,
    retries: int,
    **options: Any,
) -> list[_Attempt]:
    """Run one minimiser until it reports a valid minimum or the retries are used up.

    A retry starts from the best point so far, perturbed by the current error estimate, so
    it explores nearby rather than repeating the same path. L-BFGS-B's first retry is not
    perturbed: a fresh start from where it stopped resets its curvature memory, which is
    usually all it needs.
    """
    attempts: list[_Attempt] = []
    free = np.array([c not in fixed for c in columns])
    for k in range(retries + 1):
        attempt = _RUNNERS[method](objective, columns, x0, limits, fixed, **options)
        attempts.append(attempt)
        if attempt.valid:
            break
        best = min(attempts, key=lambda a: a.fval)
        scale = 0.0 if (method == "scipy" and k == 0) else 1.0
        errors = np.maximum(np.abs(np.nan_to_num(best.errors)), 1e-3)
        x0 = best.values + scale * free * rng.normal(0.0, 1.0, len(columns)) * errors
        x0 = _clip(x0, columns, limits)
    return attempts


def minimise(
    value_and_gradient: ValueAndGradient,
    columns: Sequence[str],
    start: Mapping[str, float],
    limits: Mapping[str, tuple[float | None, float | None]] | None = None,
    fixed: Mapping[str, float] | None = None,
    strategy: int = 1,
    tolerance: float = 0.1,
    retries: int = 3,
    seed: int = 0,
    method: str = "minuit",
    fallback: bool = True,
    max_calls: int | None = None,
) -> dict[str, Any]:
    """Minimise −ln L with its analytic gradient; never raises because a fit did not converge.

    Args:
        value_and_gradient: −ln L and its gradient over the full θ vector in `columns` order.
        columns: parameter names.
        start: starting values for every free column.
        limits: (low, high) per parameter (None for open); physical ranges, not NaN walls.
        fixed: parameters held at the given values (a freeze set).
        strategy: Minuit strategy (1: the gradient is trusted, Hessian updated).
        tolerance: the EDM target is 0.002·tolerance·errordef, for both minimisers.
        retries: extra attempts from perturbed starts when a minimum is invalid.
        seed: seed of the perturbations, so a rerun gives the same file.
        method: `minuit` (MIGRAD) or `scipy` (L-BFGS-B with the same gradient and bounds).
        fallback: with `minuit`, run L-BFGS-B from MIGRAD's best point when every MIGRAD
            attempt is invalid; the two fail on different pathologies (MIGRAD on a Hessian
            it cannot make positive definite, L-BFGS-B rarely on that).
        max_calls: call limit of each attempt (None: the minimiser's default).

    Returns:
        The best-fit record: `best_fit` (fixed values included), `best_fit_nll` (−2 ln L, the
        INNFER convention), `valid`, `status` (`converged` or `failed`), `minimiser` (which
        one produced the result), EDM, call counts, `nonfinite_evaluations` and every attempt.
        A failed fit reports the lowest −ln L point evaluated.

    Raises:
        ConfigError: an unknown method, or a fixed parameter that is not a column.
    """
    if method not in METHODS:
        raise ConfigError(f"minimiser {method!r} is not one of {METHODS}")
    columns = list(columns)
    fixed_values = {str(k): float(v) for k, v in (fixed or {}).items()}
    unknown = [k for k in fixed_values if k not in columns]
    if unknown:
        raise ConfigError(f"fixed parameter(s) {unknown} are not fit parameters {columns}")
    limits = {k: v for k, v in (limits or {}).items() if k in columns}
    objective = _CachedObjective(value_and_gradient)
    x0 = np.array(
        [fixed_values[c] if c in fixed_values else float(start[c]) for c in columns], np.float64
    )
    x0 = _clip(x0, [c if c not in fixed_values else "" for c in columns], limits)
    rng = np.random.default_rng(seed)
    options = {"strategy": strategy, "tolerance": tolerance, "max_calls": max_calls}
    goal = EDM_GOAL_FACTOR * tolerance * ERRORDEF
    fallback_used = False
    if len(fixed_values) == len(columns):
        value = objective.value(x0)
        attempts = [
            _Attempt("none", x0, value, value < HUGE, 0.0, goal, 1, 0, False, False, False, x0 * 0)
        ]
    else:
        attempts = _run_attempts(
            method, objective, columns, x0, limits, fixed_values, rng, retries, **options
        )
        if method == "minuit" and fallback and not any(a.valid for a in attempts):
            fallback_used = True
            best = min(attempts, key=lambda a: a.fval)
            attempts += _run_attempts(
                "scipy",
                objective,
                columns,
                best.values,
                limits,
                fixed_values,
                rng,
                retries,
                **options,
            )
    best = max(attempts, key=lambda a: (a.valid, -a.fval))
    values, fval = best.values, best.fval
    if not best.valid and objective.lowest is not None and objective.lowest[0] < fval:
        fval, values = objective.lowest[0], objective.lowest[1]
    return {
        "columns": columns,
        "best_fit": [float(v) for v in values],
        "best_fit_nll": float(2.0 * fval) if fval < HUGE else math.nan,
        "valid": best.valid,
        "status": "converged" if best.valid else "failed",
        "minimiser": best.minimiser,
        "method": method,
        "fallback_used": fallback_used,
        "message": best.message,
        "edm": best.edm,
        "edm_goal": best.edm_goal,
        "has_reached_call_limit": best.call_limit,
        "is_above_max_edm": best.above_max_edm,
        "at_limit": best.at_limit,
        "nfcn": best.nfcn,
        "ngrad": best.ngrad,
        "likelihood_evaluations": objective.calls,
        "nonfinite_evaluations": objective.nonfinite,
        "strategy": strategy,
        "tolerance": tolerance,
        "attempts": [a.summary() for a in attempts],
        "fixed": fixed_values,
    }


# --- approximate (non-profiled) uncertainty -------------------------------------------------
def _as_vector(values: Sequence[float] | Mapping[str, float], columns: Sequence[str]):
    if isinstance(values, Mapping):
        return np.array([float(values[c]) for c in columns], np.float64)
    return np.array(values, np.float64).reshape(len(columns))


def approximate_uncertainty(
    nll: Callable[[np.ndarray], Any],
    best_fit: Sequence[float] | Mapping[str, float],
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
        nll: −ln L over the full θ (a value, or a (value, gradient) pair).
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
        value = nll(t)
        return float(value[0] if isinstance(value, tuple) else value)

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


# --- Hessians by differences of the autodiff gradient ----------------------------------------
def default_steps(theta: np.ndarray) -> np.ndarray:
    """1e-4·max(1, |θ_i|): small against any parameter's scale, large against rounding."""
    return RELATIVE_STEP * np.maximum(1.0, np.abs(np.asarray(theta, np.float64)))


def _gradient(value_and_gradient: ValueAndGradient, theta: np.ndarray) -> np.ndarray | None:
    value, grad = value_and_gradient(theta)
    grad = np.asarray(grad, np.float64)
    return grad if math.isfinite(float(value)) and np.all(np.isfinite(grad)) else None


def _gradient_slope(
    value_and_gradient: ValueAndGradient, theta: np.ndarray, index: int, step: float
) -> np.ndarray:
    """∂(∇ −ln L)/∂θ_index by a central difference of the gradient.

    The truncation error is O(h²·∂⁴ℓ) ≈ 1e-8 relative for h = 1e-4·scale, and the rounding
    error ε·|∇ℓ|/h is far below that for float64 sums. Where one side is not finite (a step
    across a physical bound: μ < 0, a density outside its support), the one-sided difference
    with the centre is used instead, O(h) accurate.
    """
    theta = np.asarray(theta, np.float64)
    up, down = theta.copy(), theta.copy()
    up[index] += step
    down[index] -= step
    g_up = _gradient(value_and_gradient, up)
    g_down = _gradient(value_and_gradient, down)
    if g_up is not None and g_down is not None:
        return (g_up - g_down) / (2.0 * step)
    g_0 = _gradient(value_and_gradient, theta)
    if g_0 is not None and g_up is not None:
        return (g_up - g_0) / step
    if g_0 is not None and g_down is not None:
        return (g_0 - g_down) / step
    return np.full(len(theta), np.nan)


def smoothed_gradient_slope(
    value_and_gradient: ValueAndGradient,
    theta: Sequence[float],
    index: int,
    fraction: float = SMOOTHING_FRACTION,
    refinements: int = SMOOTHING_REFINEMENTS,
) -> tuple[np.ndarray, float]:
    """One Hessian column measured over ±fraction·σ_index instead of an infinitesimal step.

    For an NLL that is smooth only above some scale (a spline flow's per-event kinks in θ,
    see `Likelihood.smooth`) the curvature that decides the ±1σ interval is the one on the
    σ scale, where the kinks of many events average into a smooth slope of the gradient.
    σ_index = 1/√H_ii (the conditional width) is taken from the previous estimate, starting
    from the default step and widened tenfold while the curvature is not yet positive. For a
    smooth NLL the result equals the infinitesimal one up to O((h/L)²), L the scale on which
    the curvature itself changes.

    Returns:
        The full-length column and the step it was measured with.
    """
    theta = np.asarray(theta, np.float64)

    def positive(column: np.ndarray) -> bool:
        return math.isfinite(column[index]) and column[index] > 0.0

    floor = float(default_steps(theta)[index])
    step = floor
    column = first = _gradient_slope(value_and_gradient, theta, index, step)
    for _ in range(MAX_WIDENINGS):
        if positive(column):
            break
        step *= 10.0
        column = _gradient_slope(value_and_gradient, theta, index, step)
    if not positive(column):
        # No positive curvature on any scale (a flat or concave direction): report the local
        # value, which the covariance step flags as not positive definite.
        return first, floor
    for _ in range(refinements):
        step = max(fraction / math.sqrt(float(column[index])), floor)
        column = _gradient_slope(value_and_gradient, theta, index, step)
        if not positive(column):
            break
    return column, step


def _steps(theta: np.ndarray, steps: float | Sequence[float] | None) -> np.ndarray:
    if steps is None:
        return default_steps(theta)
    return np.broadcast_to(np.asarray(steps, np.float64), theta.shape).copy()


def hessian_by_differences(
    value_and_gradient: ValueAndGradient,
    theta: Sequence[float],
    steps: float | Sequence[float] | None = None,
    indices: Sequence[int] | None = None,
    smoothed: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Hessian of −ln L from central differences of its autodiff gradient, and its steps.

    One gradient pair per parameter (2n gradient calls; up to 3x that when smoothed) instead
    of the nested-tape Hessian: cheaper in memory for large flows, an independent check of the
    autodiff Hessian, and with `smoothed` the right curvature for an NLL with kinks.

    Args:
        value_and_gradient: −ln L and its gradient over the full θ.
        theta: the point (the best fit).
        steps: step per parameter (scalar or one per θ entry); default 1e-4·max(1, |θ_i|).
        indices: the θ entries to differentiate (the unfrozen columns); default all.
        smoothed: measure each column over ±½σ (`smoothed_gradient_slope`); `steps` must
            then be None.

    Returns:
        The (len(indices), len(indices)) matrix ½(H + Hᵀ) and the step of each column.
    """
    theta = np.asarray(theta, np.float64)
    idx = list(range(len(theta))) if indices is None else [int(i) for i in indices]
    if smoothed and steps is not None:
        raise ValueError("hessian: give either explicit steps or smoothed=True, not both")
    h = _steps(theta, steps)
    out = np.empty((len(idx), len(idx)))
    used = np.empty(len(idx))
    for a, i in enumerate(idx):
        if smoothed:
            column, used[a] = smoothed_gradient_slope(value_and_gradient, theta, i)
        else:
            column, used[a] = _gradient_slope(value_and_gradient, theta, i, float(h[i])), h[i]
        out[:, a] = column[idx]
    return 0.5 * (out + out.T), used


def _is_smooth(likelihood: Any) -> bool:
    """`Likelihood.smooth`; an object without it (a bare callable) counts as smooth."""
    return bool(getattr(likelihood, "smooth", True))


def hessian_at(
    likelihood: Any, theta: Sequence[float], indices: Sequence[int], method: str = AUTO
) -> tuple[np.ndarray, dict[str, Any]]:
    """The Hessian of −ln L over the `indices` columns by the chosen method, and how.

    `auto` takes the autodiff Hessian where −ln L is C² (`likelihood.smooth`) and the
    smoothed difference Hessian elsewhere; `numerical` differences with the default step for
    a smooth NLL and smoothed for one with kinks; `autodiff` is taken as asked, even where
    it misses the kinks' curvature (the record then says `smooth: false`).

    Returns:
        The matrix and a record of `method`, `smooth` and, for differences, `steps`.
    """
    if method not in HESSIAN_METHODS:
        raise ConfigError(f"hessian method {method!r} is not one of {HESSIAN_METHODS}")
    smooth = _is_smooth(likelihood)
    idx = [int(i) for i in indices]
    if method == AUTO:
        method = AUTODIFF if smooth else NUMERICAL
    if method == AUTODIFF:
        return likelihood.hessian(theta)[np.ix_(idx, idx)], {"method": method, "smooth": smooth}
    matrix, steps = hessian_by_differences(
        likelihood.value_and_gradient, theta, indices=idx, smoothed=not smooth
    )
    columns = list(getattr(likelihood, "columns", range(len(np.asarray(theta)))))
    info = {
        "method": method,
        "smooth": smooth,
        "steps": {str(columns[i]): float(h) for i, h in zip(idx, steps, strict=True)},
    }
    return matrix, info


def hessian_column(
    likelihood: Any,
    theta: Sequence[float],
    index: int | str,
    step: float | None = None,
    smoothed: bool | None = None,
) -> np.ndarray:
    """One column ∂(∇ −ln L)/∂θ_index of the Hessian, for one job of a parallel Hessian.

    Uses only the likelihood's public `value_and_gradient`, by a central difference along
    one axis (see `_gradient_slope` for its accuracy: ~1e-8 relative for smooth −ln L, well
    inside the 1e-4 agreement with the autodiff Hessian that the tests require). Jobs are
    independent, so n columns run in parallel where the nested autodiff Hessian needs one
    job with all of them.

    Args:
        likelihood: an object with `value_and_gradient` (and `columns` when `index` is a
            name), or the value-and-gradient callable itself.
        theta: the point (the best fit), full length.
        index: the θ entry (or its column name) to differentiate by.
        step: the step (default 1e-4·max(1, |θ_index|)).
        smoothed: measure over ±½σ (`smoothed_gradient_slope`); default: where the
            likelihood is not `smooth`, exactly as `hessian_at` does for the whole matrix.

    Returns:
        The full-length column (one entry per θ entry).
    """
    vg = getattr(likelihood, "value_and_gradient", likelihood)
    theta = np.asarray(theta, np.float64)
    if isinstance(index, str):
        columns = list(getattr(likelihood, "columns", []))
        if index not in columns:
            raise ConfigError(f"hessian column: '{index}' is not one of {columns}")
        index = columns.index(index)
    if smoothed is None:
        smoothed = step is None and not _is_smooth(likelihood)
    if smoothed:
        return smoothed_gradient_slope(vg, theta, int(index))[0]
    h = float(step) if step is not None else float(default_steps(theta)[index])
    return _gradient_slope(vg, theta, int(index), h)


def hessian_column_record(
    best_fit: Mapping[str, Any],
    matrix_columns: Sequence[str],
    column: str,
    values: Sequence[float],
) -> dict[str, Any]:
    """The file one parallel-Hessian job writes: one column over the matrix columns.

    Args:
        best_fit: the best-fit record (`columns`, `best_fit`, `row`, `valid`).
        matrix_columns: the columns of the Hessian (the unfrozen ones).
        column: the column this job differentiated by.
        values: `hessian_column`'s full-length output.
    """
    columns = list(best_fit["columns"])
    values = np.asarray(values, np.float64)
    return {
        "columns": columns,
        "matrix_columns": list(matrix_columns),
        "column": column,
        "hessian_column": [float(values[columns.index(c)]) for c in matrix_columns],
        "best_fit": list(best_fit["best_fit"]),
        "row": list(best_fit.get("row", [])),
        "fit_valid": bool(best_fit.get("valid", True)),
    }


def hessian_collect(columns_files: Sequence[str | Path | Mapping[str, Any]]) -> dict[str, Any]:
    """Assemble parallel-Hessian columns into the Hessian record, symmetrised.

    Every matrix column must come exactly once and all files must belong to the same fit
    (same columns and best fit): INNFER summed whatever files it found, first writer wins,
    so a missing or stale job gave a silently wrong matrix.

    Args:
        columns_files: `hessian_column_record` files (paths) or the records themselves.

    Returns:
        The same record as the single-job Hessian, plus `asymmetry` (max |H − Hᵀ| relative to
        max |H| before symmetrising: a measure of the finite-difference error).

    Raises:
        DataError: no files, a column missing or given twice, or files of different fits.
    """
    from innfer_lib.core.io import read_yaml

    if not columns_files:
        raise DataError("hessian collect: no column files")
    records = [dict(f) if isinstance(f, Mapping) else read_yaml(f) for f in columns_files]
    names = [
        str(f) if not isinstance(f, Mapping) else f"record {i}" for i, f in enumerate(columns_files)
    ]
    ref = records[0]
    matrix_columns = list(ref["matrix_columns"])
    for name, rec in zip(names, records, strict=True):
        for key in ("columns", "matrix_columns", "best_fit"):
            if list(rec[key]) != list(ref[key]):
                raise DataError(
                    f"hessian collect: {name} has {key} {rec[key]}, {names[0]} has {ref[key]}; "
                    "the columns belong to different fits"
                )
    given = [rec["column"] for rec in records]
    duplicated = sorted({c for c in given if given.count(c) > 1})
    missing = [c for c in matrix_columns if c not in given]
    extra = sorted({c for c in given if c not in matrix_columns})
    if duplicated or missing or extra:
        raise DataError(
            f"hessian collect: every matrix column must come exactly once; missing {missing}, "
            f"duplicated {duplicated}, unknown {extra}"
        )
    h = np.empty((len(matrix_columns), len(matrix_columns)))
    for rec in records:
        h[:, matrix_columns.index(rec["column"])] = np.asarray(rec["hessian_column"], np.float64)
    scale = float(np.max(np.abs(h))) if h.size else 0.0
    asymmetry = float(np.max(np.abs(h - h.T)) / scale) if scale > 0 else 0.0
    return {
        "columns": list(ref["columns"]),
        "matrix_columns": matrix_columns,
        "hessian": 0.5 * (h + h.T),
        "best_fit": list(ref["best_fit"]),
        "row": list(ref.get("row", [])),
        "fit_valid": all(bool(r.get("fit_valid", True)) for r in records),
        "asymmetry": asymmetry,
    }


# --- covariances -----------------------------------------------------------------------------
def covariance_from_hessian(hessian: np.ndarray) -> tuple[np.ndarray, bool]:
    """C = H⁻¹ of the −ln L Hessian; also whether H was positive definite.

    A Hessian that is not positive definite means the point is not a minimum; the
    covariance is still returned (from the pseudo-inverse) so the summary can flag it.
    """
    h = np.asarray(hessian, np.float64)
    try:
        chol = np.linalg.cholesky(h)
        inv_chol = np.linalg.inv(chol)
        return inv_chol.T @ inv_chol, True
    except np.linalg.LinAlgError:
        return np.linalg.pinv(h), False


def _is_positive_definite(matrix: np.ndarray) -> bool:
    try:
        np.linalg.cholesky(matrix)
        return bool(np.all(np.isfinite(matrix)))
    except np.linalg.LinAlgError:
        return False


def gaussian_crossings(best_fit: float, sigma: float) -> dict[int, float]:
    """Absolute parameter values at −2σ..+2σ around the best fit (INNFER's crossings schema)."""
    return {k: float(best_fit + k * sigma) for k in SIGMAS}


def _covariance_record(
    hessian_record: Mapping[str, Any], cov: np.ndarray, positive_definite: bool
) -> dict[str, Any]:
    columns = list(hessian_record["matrix_columns"])
    best = dict(zip(hessian_record["columns"], hessian_record["best_fit"], strict=True))
    sigmas = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    return {
        "columns": list(hessian_record["columns"]),
        "matrix_columns": columns,
        "covariance": cov,
        "positive_definite": positive_definite,
        "fit_valid": bool(hessian_record.get("fit_valid", True)),
        "best_fit": list(hessian_record["best_fit"]),
        "row": list(hessian_record["row"]),
        "uncertainty": {c: float(s) for c, s in zip(columns, sigmas, strict=True)},
        "crossings": {
            c: gaussian_crossings(best[c], float(s)) for c, s in zip(columns, sigmas, strict=True)
        },
    }


def covariance_result(hessian_record: Mapping[str, Any]) -> dict[str, Any]:
    """The covariance file: H⁻¹, its validity, and ±1σ/±2σ intervals per parameter."""
    cov, positive_definite = covariance_from_hessian(np.array(hessian_record["hessian"]))
    return _covariance_record(hessian_record, cov, positive_definite)


def local_sandwich_covariance(hessian: np.ndarray, dmatrix: np.ndarray) -> np.ndarray:
    """C = H⁻¹ D H⁻¹, symmetrised (the weighted-fit estimator of arXiv:1911.01303)."""
    h_inv, _ = covariance_from_hessian(hessian)
    cov = h_inv @ np.asarray(dmatrix, np.float64) @ h_inv
    return 0.5 * (cov + cov.T)


def _likelihood_sandwich() -> Callable[..., Any] | None:
    """The likelihood module's `sandwich_covariance`, if this build has a plain function one."""
    try:
        from innfer_lib.inference import likelihood
    except ImportError:
        return None
    fn = getattr(likelihood, "sandwich_covariance", None)
    if fn is None and hasattr(likelihood, "Likelihood"):
        static = inspect.getattr_static(likelihood.Likelihood, "sandwich_covariance", None)
        fn = static.__func__ if isinstance(static, staticmethod) else None
    return fn if callable(fn) else None


def _aligned_dmatrix(dmatrix: Any, matrix_columns: Sequence[str]) -> np.ndarray:
    """D over `matrix_columns`, from an array in that order or a record with its own order."""
    if not isinstance(dmatrix, Mapping):
        d = np.asarray(dmatrix, np.float64)
        if d.shape != (len(matrix_columns), len(matrix_columns)):
            raise DataError(
                f"sandwich: D has shape {d.shape}, the Hessian has {len(matrix_columns)} columns"
            )
        return d
    key = next((k for k in ("D_matrix", "dmatrix", "d_matrix") if k in dmatrix), None)
    if key is None:
        raise DataError(f"sandwich: the D-matrix record has no D_matrix (keys {list(dmatrix)})")
    d = np.asarray(dmatrix[key], np.float64)
    d_columns = list(dmatrix.get("matrix_columns", matrix_columns))
    missing = [c for c in matrix_columns if c not in d_columns]
    if missing:
        raise DataError(
            f"sandwich: the D matrix lacks the Hessian column(s) {missing}; INNFER dropped "
            "such columns silently, which mixes sandwich and plain-Hessian variances"
        )
    order = [d_columns.index(c) for c in matrix_columns]
    return d[np.ix_(order, order)]


def sandwich_result(hessian_record: Mapping[str, Any], dmatrix: Any) -> dict[str, Any]:
    """The covariance file of a weighted fit: C = H⁻¹ D H⁻¹, same schema as `covariance_result`.

    For weighted events the inverse Hessian is not the covariance: D = Σ w² s sᵀ carries the
    weights' spread, and the sandwich combines both (for unit weights D = H and C = H⁻¹).
    Unlike INNFER, the full sandwich is formed over every matrix column.

    Args:
        hessian_record: the Hessian file (`columns`, `matrix_columns`, `hessian`, ...).
        dmatrix: D over the Hessian's matrix columns: an array, or a record with `D_matrix`
            and its own `matrix_columns` (reordered to the Hessian's).

    Returns:
        The `covariance_result` schema plus `method: sandwich` and the D matrix used;
        `positive_definite` is true when both H and C are.
    """
    h = np.asarray(hessian_record["hessian"], np.float64)
    d = _aligned_dmatrix(dmatrix, list(hessian_record["matrix_columns"]))
    cov = None
    external = _likelihood_sandwich()
    if external is not None:
        try:
            out = external(h, d)
        except TypeError:
            out = None
        out = out[0] if isinstance(out, tuple) else out
        if out is not None and np.shape(out) == h.shape:
            cov = np.asarray(out, np.float64)
    if cov is None:
        cov = local_sandwich_covariance(h, d)
    positive_definite = _is_positive_definite(h) and _is_positive_definite(cov)
    record = _covariance_record(hessian_record, cov, positive_definite)
    record["method"] = "sandwich"
    record["dmatrix"] = d
    return record
