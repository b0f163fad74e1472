"""Minimisation of −ln L: MIGRAD or L-BFGS-B attempts, retries from perturbed starts, fallback.

The objective handed to the minimisers is −ln L (errordef 0.5: Δ(−ln L) = 0.5 at 1σ). INNFER
minimised −2 ln L with errordef 0.5 and Nelder–Mead without convergence checks; here every
result records validity, EDM, status and call counts, an invalid fit is retried from
perturbed starts, and MIGRAD can hand over to L-BFGS-B when it never reaches a valid minimum.
A fit that does not converge is a result ("failed"), not an exception, so a grid of
validation points always completes and the summary can show which points failed.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from innfer_lib.core.errors import ConfigError
from innfer_lib.inference.contract import ValueAndGradient
from innfer_lib.inference.validity import parameters_at_limit

METHODS = ("minuit", "scipy")
# What a minimiser sees instead of NaN/inf: large enough to lose against any real value, small
# enough that differences of two of them stay finite.
HUGE = 1e300
ERRORDEF = 0.5
# EDM target relative to tolerance·errordef, as Minuit defines it, so that both minimisers
# are judged by the same convergence criterion.
EDM_GOAL_FACTOR = 0.002
#: Relative step of the Hessian Minuit is given (`_CachedObjective.hessian`).
HESSIAN_STEP = 1e-4
#: Longest step of that Hessian, in units of the error its first estimate implies.
HESSIAN_STEP_IN_SIGMA = 0.1

Limits = Mapping[str, tuple[float | None, float | None]]


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
        self._hessian: tuple[np.ndarray, np.ndarray] | None = None

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

    def hessian(
        self, theta: np.ndarray, free: Sequence[int], limits: Sequence[tuple[Any, Any]]
    ) -> np.ndarray:
        """∂²(−ln L)/∂θ² by forward differences of the analytic gradient: one call per free column.

        MIGRAD seeds its curvature and HESSE measures it from function values alone: of the
        120 calls of a six-parameter fit of four flows (tests/perf/bench_multi_flow.py
        --fit), 110 were for those and 10 for gradients. Handing Minuit this matrix, which
        costs one gradient per parameter, fitted the same minimum in 43 calls (2.8× faster).
        The step, 10⁻⁴ of the parameter's size (at least 10⁻⁴), goes away from a limit; a
        column whose step lands where −ln L is not finite is tried the other way, and stays
        zero if both are (as Minuit's own estimate from values would be; so is the whole
        matrix where −ln L itself is not finite). A step longer than a tenth of the error the
        column implies (σ = 1/√H_ii for −ln L) is retaken at that tenth: a difference over
        many σ measures the shape of −ln L far from the point, not its curvature there.
        Fixed rows and columns are zero with a unit diagonal (Minuit ignores them). The result
        is symmetrised and cached per point: Minuit may ask for it and for its diagonal
        (`g2`) at the same point.
        """
        theta = np.asarray(theta, np.float64)
        if self._hessian is not None and np.array_equal(theta, self._hessian[0]):
            return self._hessian[1]
        h = np.zeros((theta.size, theta.size))
        if math.isfinite(self.evaluate(theta)[0]):
            g0 = self.gradient(theta)
            for i in free:
                step = HESSIAN_STEP * max(abs(theta[i]), 1.0)
                column = self._difference(theta, g0, i, step, limits[i][1])
                if column is not None and column[i] > 0.0:
                    sigma_step = HESSIAN_STEP_IN_SIGMA / math.sqrt(column[i])
                    if step > sigma_step:
                        retaken = self._difference(theta, g0, i, sigma_step, limits[i][1])
                        column = column if retaken is None else retaken
                if column is not None:
                    h[:, i] = column
        fixed = sorted(set(range(theta.size)) - set(free))
        h[fixed, :] = 0.0
        h[:, fixed] = 0.0
        h[fixed, fixed] = 1.0
        h = 0.5 * (h + h.T)
        self._hessian = (theta.copy(), h)
        return h

    def _difference(
        self, theta: np.ndarray, g0: np.ndarray, i: int, step: float, high: float | None
    ) -> np.ndarray | None:
        """(∇(θ + step·eᵢ) − ∇θ)/step, stepping down if up would pass `high` or is not finite."""
        above = high is not None and theta[i] + step > high
        for sign in (-1.0, 1.0) if above else (1.0, -1.0):
            shifted = theta.copy()
            shifted[i] += sign * step
            if math.isfinite(self.evaluate(shifted)[0]):
                return (self.gradient(shifted) - g0) / (sign * step)
        return None

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


@dataclass(frozen=True)
class _Task:
    """What every attempt of one minimisation shares; only the start changes between them."""

    objective: _CachedObjective
    columns: list[str]
    limits: Limits
    fixed: Mapping[str, float]
    strategy: int
    tolerance: float
    max_calls: int | None


def _minuit(task: _Task, x0: np.ndarray) -> Any:
    """A Minuit over the task's objective: errordef ½ for −ln L, limits, frozen values.

    Minuit gets the gradient and a Hessian from differences of it (`_CachedObjective.hessian`)
    for its seed and HESSE, instead of the second derivatives it would estimate from values.
    """
    from iminuit import Minuit

    objective = task.objective
    free = [i for i, c in enumerate(task.columns) if c not in task.fixed]
    limits = [task.limits.get(c, (None, None)) for c in task.columns]

    def hessian(x: np.ndarray) -> np.ndarray:
        return objective.hessian(x, free, limits)

    def g2(x: np.ndarray) -> np.ndarray:
        return np.diag(hessian(x)).copy()

    # iminuit warns that g2 has no effect next to a Hessian, yet Minuit2 still calls it when
    # MIGRAD cannot make the curvature positive definite (without g2 an unbounded −ln L raised
    # "'NoneType' object is not callable" inside migrad, iminuit 2.33).
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="hessian overrides g2")
        m = Minuit(
            objective.value, x0, grad=objective.gradient, g2=g2, hessian=hessian, name=task.columns
        )
    m.errordef = Minuit.LIKELIHOOD
    m.strategy = task.strategy
    m.tol = task.tolerance
    for name, (lo, hi) in task.limits.items():
        m.limits[name] = (lo, hi)
    for name, value in task.fixed.items():
        m.values[name] = value
        m.fixed[name] = True
    return m


def minuit_at(
    value_and_gradient: ValueAndGradient,
    columns: Sequence[str],
    start: Mapping[str, float],
    limits: Limits | None = None,
    fixed: Mapping[str, float] | None = None,
    strategy: int = 1,
    tolerance: float = 0.1,
) -> Any:
    """A MIGRAD-ready `iminuit.Minuit` set up exactly as `minimise` sets up its attempts.

    For callers that need Minuit itself after the minimisation (MINOS): the same cached,
    NaN-safe objective, errordef, strategy, tolerance, limits and frozen values, so an
    interval is measured on the same function the fit minimised. Nothing is run yet.
    """
    columns = list(columns)
    fixed_values = {str(k): float(v) for k, v in (fixed or {}).items()}
    limits = {k: v for k, v in (limits or {}).items() if k in columns}
    x0 = np.array(
        [fixed_values[c] if c in fixed_values else float(start[c]) for c in columns], np.float64
    )
    x0 = _clip(x0, [c if c not in fixed_values else "" for c in columns], limits)
    objective = _CachedObjective(value_and_gradient)
    task = _Task(objective, columns, limits, fixed_values, strategy, tolerance, None)
    return _minuit(task, x0)


def minimum_valid(m: Any) -> bool:
    """Whether a Minuit after MIGRAD holds a valid minimum: Minuit says so, at a finite −ln L.

    Where −ln L is not finite all around, the gradient and curvature Minuit is given are zero
    (see `_CachedObjective`), and it may call that point a minimum; it is none.
    """
    return bool(m.valid) and float(m.fval) < HUGE


def _minuit_attempt(task: _Task, x0: np.ndarray) -> _Attempt:
    m = _minuit(task, x0)
    m.migrad(ncall=task.max_calls)
    fm = m.fmin
    return _Attempt(
        minimiser="minuit",
        values=np.array(m.values, np.float64),
        fval=float(fm.fval),
        valid=minimum_valid(m),
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


def _scipy_attempt(task: _Task, x0: np.ndarray) -> _Attempt:
    """L-BFGS-B over the free parameters, judged by Minuit's EDM criterion.

    scipy's own `success` only says that a stopping rule fired; the EDM ½gᵀH⁻¹g (with
    L-BFGS-B's inverse-Hessian estimate and the gradient projected onto the feasible
    directions) is what says the minimum is reached to `tolerance`, as for MIGRAD.
    """
    from scipy.optimize import minimize

    objective, columns, limits = task.objective, task.columns, task.limits
    free = [i for i, c in enumerate(columns) if c not in task.fixed]
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
        options={"maxfun": int(task.max_calls or 15000), "ftol": 1e-13, "gtol": 1e-9},
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
    # L-BFGS-B's inverse-Hessian estimate from its curvature memory (a LinearOperator).
    h_inv = np.asarray(res.hess_inv.todense(), np.float64)
    edm = 0.5 * float(g @ h_inv @ g) if fval < HUGE else math.inf
    goal = EDM_GOAL_FACTOR * task.tolerance * ERRORDEF
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
        ngrad=int(res.njev),
        call_limit=bool(res.status == 1),
        at_limit=bool(at_limit),
        above_max_edm=bool(edm > goal),
        errors=errors,
        message=str(res.message),
    )


#: The attempt function of each minimiser (`minimise`'s `method`).
RUNNERS: dict[str, Callable[[_Task, np.ndarray], _Attempt]] = {
    "minuit": _minuit_attempt,
    "scipy": _scipy_attempt,
}


def _run_attempts(
    method: str, task: _Task, x0: np.ndarray, rng: np.random.Generator, retries: int
) -> list[_Attempt]:
    """Run one minimiser until it reports a valid minimum or the retries are used up.

    A retry starts from the best point so far, perturbed by the current error estimate, so
    it explores nearby rather than repeating the same path. L-BFGS-B's first retry is not
    perturbed: a fresh start from where it stopped resets its curvature memory, which is
    usually all it needs.
    """
    columns = task.columns
    attempts: list[_Attempt] = []
    free = np.array([c not in task.fixed for c in columns])
    for k in range(retries + 1):
        attempt = RUNNERS[method](task, x0)
        attempts.append(attempt)
        if attempt.valid:
            break
        best = min(attempts, key=lambda a: a.fval)
        scale = 0.0 if (method == "scipy" and k == 0) else 1.0
        errors = np.maximum(np.abs(np.nan_to_num(best.errors)), 1e-3)
        x0 = best.values + scale * free * rng.normal(0.0, 1.0, len(columns)) * errors
        x0 = _clip(x0, columns, task.limits)
    return attempts


def minimise(
    value_and_gradient: ValueAndGradient,
    columns: Sequence[str],
    start: Mapping[str, float],
    limits: Limits | None = None,
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
        one produced the result), `parameters_at_limit` (`validity.parameters_at_limit`),
        EDM, call counts, `nonfinite_evaluations` and every attempt.
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
    task = _Task(objective, columns, limits, fixed_values, strategy, tolerance, max_calls)
    goal = EDM_GOAL_FACTOR * tolerance * ERRORDEF
    fallback_used = False
    if len(fixed_values) == len(columns):
        value = objective.value(x0)
        attempts = [
            _Attempt("none", x0, value, value < HUGE, 0.0, goal, 1, 0, False, False, False, x0 * 0)
        ]
    else:
        attempts = _run_attempts(method, task, x0, rng, retries)
        if method == "minuit" and fallback and not any(a.valid for a in attempts):
            fallback_used = True
            best = min(attempts, key=lambda a: a.fval)
            attempts += _run_attempts("scipy", task, best.values, rng, retries)
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
        "parameters_at_limit": parameters_at_limit(
            columns, [float(v) for v in values], limits, fixed_values
        ),
        "nfcn": best.nfcn,
        "ngrad": best.ngrad,
        "likelihood_evaluations": objective.calls,
        "nonfinite_evaluations": objective.nonfinite,
        "strategy": strategy,
        "tolerance": tolerance,
        "attempts": [a.summary() for a in attempts],
        "fixed": fixed_values,
    }
