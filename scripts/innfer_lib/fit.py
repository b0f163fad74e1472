"""Minuit fits with autodiff gradients, and covariances from the autodiff Hessian.

The objective handed to Minuit is −ln L (errordef 0.5). INNFER minimised −2 ln L with
errordef 0.5 and Nelder–Mead without convergence checks; here every result records Minuit's
validity, EDM, status and call counts, and an invalid fit is retried from perturbed starts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

SIGMAS = (-2, -1, 0, 1, 2)


class _CachedObjective:
    """Minuit asks for value and gradient at the same point; compute both once."""

    def __init__(self, value_and_gradient: Callable[[np.ndarray], tuple[float, np.ndarray]]):
        self._fn = value_and_gradient
        self._last: tuple[np.ndarray, float, np.ndarray] | None = None
        self.calls = 0

    def _eval(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        theta = np.asarray(theta, np.float64)
        if self._last is None or not np.array_equal(theta, self._last[0]):
            value, grad = self._fn(theta)
            self.calls += 1
            self._last = (theta.copy(), value, grad)
        return self._last[1], self._last[2]

    def value(self, theta: np.ndarray) -> float:
        v = self._eval(theta)[0]
        return v if math.isfinite(v) else 1e300

    def gradient(self, theta: np.ndarray) -> np.ndarray:
        return self._eval(theta)[1]


def minimise(
    value_and_gradient: Callable[[np.ndarray], tuple[float, np.ndarray]],
    columns: Sequence[str],
    start: Mapping[str, float],
    limits: Mapping[str, tuple[float | None, float | None]] | None = None,
    fixed: Mapping[str, float] | None = None,
    strategy: int = 1,
    tolerance: float = 0.1,
    retries: int = 3,
    seed: int = 0,
) -> dict[str, Any]:
    """Run MIGRAD with the analytic gradient; retry from perturbed starts when invalid.

    Args:
        value_and_gradient: −ln L and its gradient over the full θ vector in `columns` order.
        columns: parameter names.
        start: starting values for every column.
        limits: (low, high) per parameter (None for open); physical ranges, not NaN walls.
        fixed: parameters held at the given values.
        strategy: Minuit strategy (1: the gradient is trusted, Hessian updated).
        tolerance: Minuit's tolerance; the EDM target is 0.002·tolerance·errordef.
        retries: extra attempts when MIGRAD reports an invalid minimum.
        seed: seed of the perturbations, so a rerun gives the same file.
    """
    from iminuit import Minuit

    objective = _CachedObjective(value_and_gradient)
    x0 = np.array([float(start[c]) for c in columns])
    rng = np.random.default_rng(seed)
    attempts = []
    best = None
    for _ in range(retries + 1):
        m = Minuit(objective.value, x0, grad=objective.gradient, name=list(columns))
        m.errordef = Minuit.LIKELIHOOD
        m.strategy = strategy
        m.tol = tolerance
        for name, (lo, hi) in (limits or {}).items():
            if name in columns:
                m.limits[name] = (lo, hi)
        for name, value in (fixed or {}).items():
            m.values[name] = value
            m.fixed[name] = True
        m.migrad()
        fm = m.fmin
        attempts.append({"valid": bool(fm.is_valid), "fval": float(fm.fval), "edm": float(fm.edm)})
        if best is None or (fm.is_valid, -fm.fval) > (best.fmin.is_valid, -best.fmin.fval):
            best = m
        if fm.is_valid:
            break
        # Perturb by the current error estimate (or 10% of the range) and try again.
        errors = np.array([max(abs(e), 1e-3) for e in m.errors])
        x0 = np.array(m.values) + rng.normal(0.0, 1.0, len(columns)) * errors
        for i, name in enumerate(columns):
            lo, hi = (limits or {}).get(name, (None, None))
            if lo is not None:
                x0[i] = max(x0[i], lo)
            if hi is not None:
                x0[i] = min(x0[i], hi)
    fm = best.fmin
    return {
        "columns": list(columns),
        "best_fit": [float(v) for v in best.values],
        "best_fit_nll": float(2.0 * fm.fval),
        "valid": bool(fm.is_valid),
        "status": "converged" if fm.is_valid else "invalid minimum",
        "edm": float(fm.edm),
        "edm_goal": float(fm.edm_goal),
        "has_reached_call_limit": bool(fm.has_reached_call_limit),
        "is_above_max_edm": bool(fm.is_above_max_edm),
        "at_limit": bool(fm.has_parameters_at_limit),
        "nfcn": int(fm.nfcn),
        "ngrad": int(fm.ngrad),
        "likelihood_evaluations": objective.calls,
        "strategy": strategy,
        "tolerance": tolerance,
        "attempts": attempts,
        "fixed": {k: float(v) for k, v in (fixed or {}).items()},
    }


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


def gaussian_crossings(best_fit: float, sigma: float) -> dict[int, float]:
    """Absolute parameter values at −2σ..+2σ around the best fit (INNFER's crossings schema)."""
    return {k: float(best_fit + k * sigma) for k in SIGMAS}


def covariance_result(hessian_record: Mapping[str, Any]) -> dict[str, Any]:
    """The covariance file: H⁻¹, its validity, and ±1σ/±2σ intervals per parameter."""
    cov, positive_definite = covariance_from_hessian(np.array(hessian_record["hessian"]))
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
