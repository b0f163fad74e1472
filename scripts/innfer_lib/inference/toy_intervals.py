"""The interval sources of one toy fit, each a function of the fitted toy.

Coverage compares sources on the same toys, so each is one entry of `SOURCES`: a function
from the fitted toy (`ToyFit`) to `{parameter: {"crossings": {-2..2}}}` in INNFER's crossings
schema. A source that fails on a toy raises; the caller records the error for that toy and
source and goes on, so one bad interval never loses the batch. New sources (MINOS, the
bootstrap) plug in with `register_source` without touching the others.

Sources here:

* `hessian`: θ̂ ± kσ with σ² the diagonal of H⁻¹ (the fit set's `hessian` method);
* `sandwich`: θ̂ ± kσ from H⁻¹DH⁻¹, where for unweighted toys D = Σ_e s_e s_eᵀ, the
  per-event score outer products (`Likelihood.dmatrix`);
* `scan`: the crossings of the profile likelihood on a small grid around θ̂ (steps of the
  Hessian σ), from `scan.collect_scan`, the same spline crossings as the workflow's scans;
* `minos`: MINOS's profile crossings at ΔlnL = ½ and 2 (`minos.minos_intervals`);
* `bootstrap`: θ̂ ± k·std of Poisson-bootstrap refits of the toy (`bootstrap`).

TensorFlow enters only through the likelihood the `FitJob` holds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from innfer_lib.inference.covariance import (
    covariance_from_hessian,
    gaussian_crossings,
    sandwich_covariance,
)
from innfer_lib.inference.fit_job import FitJob
from innfer_lib.inference.hessian import hessian_at
from innfer_lib.inference.scan import collect_scan
from innfer_lib.inference.scan_grid import scan_points_from_sigma
from innfer_lib.inference.scan_point import profiled_scan_point

#: The fit set's `hessian` option as a toy sees it: `parallel` spreads the columns over jobs
#: in the main fits, which a toy in a batch cannot; its numbers are the numerical method's.
TOY_HESSIAN = {"auto": "auto", "autodiff": "autodiff", "numerical": "numerical"}
TOY_HESSIAN["parallel"] = "numerical"


class IntervalError(RuntimeError):
    """A source could not give an interval for this toy (recorded, not fatal)."""


@dataclass
class ToyFit:
    """A fitted toy: the job's likelihood holds its events, `best` is its minimum."""

    job: FitJob
    best: dict[str, Any]
    #: Parameters whose intervals are reported (floating POIs and rate parameters, or the
    #: `toy_options.parameters` list).
    parameters: list[str]
    options: Mapping[str, Any]
    hessian_method: str
    seed: int
    _cache: dict[str, Any] = field(default_factory=dict)

    @property
    def theta(self) -> np.ndarray:
        return np.asarray(self.best["best_fit"], np.float64)

    def best_value(self, parameter: str) -> float:
        return float(self.best["best_fit"][self.job.problem.columns.index(parameter)])

    def hessian(self) -> np.ndarray:
        """H over the floating parameters at θ̂, computed once per toy for every source."""
        if "hessian" not in self._cache:
            method = TOY_HESSIAN[self.hessian_method]
            h, _ = hessian_at(
                self.job.problem.likelihood, self.theta, self.job.free_indices, method
            )
            self._cache["hessian"] = np.asarray(h, np.float64)
        return self._cache["hessian"]

    def hessian_sigma(self, parameter: str) -> float:
        """σ from H⁻¹ (the step of the scan grid)."""
        cov, positive = covariance_from_hessian(self.hessian())
        i = self.job.free.index(parameter)
        sigma = float(np.sqrt(cov[i, i]))
        if not positive or not np.isfinite(sigma) or sigma <= 0:
            raise IntervalError("the Hessian at the toy's best fit is not positive definite")
        return sigma


IntervalSource = Callable[[ToyFit], dict[str, dict[str, Any]]]
SOURCES: dict[str, IntervalSource] = {}


def register_source(name: str, source: IntervalSource) -> None:
    """Make `source` available as `toy_options.sources: [name]`."""
    SOURCES[name] = source


def _gaussian_intervals(fit: ToyFit, cov: np.ndarray, positive: bool) -> dict[str, Any]:
    if not positive:
        raise IntervalError("the Hessian at the toy's best fit is not positive definite")
    out = {}
    for p in fit.parameters:
        i = fit.job.free.index(p)
        variance = float(cov[i, i])
        if not np.isfinite(variance) or variance <= 0:
            raise IntervalError(f"variance of {p} is {variance}")
        out[p] = {"crossings": gaussian_crossings(fit.best_value(p), float(np.sqrt(variance)))}
    return out


def hessian_intervals(fit: ToyFit) -> dict[str, Any]:
    """θ̂ ± kσ from C = H⁻¹."""
    cov, positive = covariance_from_hessian(fit.hessian())
    return _gaussian_intervals(fit, cov, positive)


def sandwich_intervals(fit: ToyFit) -> dict[str, Any]:
    """θ̂ ± kσ from C = H⁻¹DH⁻¹ (D = Σ_e s_e s_eᵀ for unit weights)."""
    idx = fit.job.free_indices
    d = fit.job.problem.likelihood.dmatrix(fit.theta)[np.ix_(idx, idx)]
    cov, positive = sandwich_covariance(fit.hessian(), d)
    return _gaussian_intervals(fit, cov, positive)


def scan_intervals(fit: ToyFit) -> dict[str, Any]:
    """Profile-likelihood crossings on `scan_points` values b̂ + k·`scan_sigma_step`·σ_H.

    The best fit itself is the grid's middle point, so it is not refitted; every other point
    profiles the remaining free parameters, starting from the best fit.
    """
    n_points = int(fit.options["scan_points"])
    step = float(fit.options["scan_sigma_step"])
    minimise_fn = fit.job.minimise_fn(fit.seed)
    record = dict(fit.best)
    out = {}
    for p in fit.parameters:
        best = fit.best_value(p)
        values = scan_points_from_sigma(
            best, fit.hessian_sigma(p), n_points, step, fit.job.problem.limits.get(p)
        )
        points = [
            {
                "varied_column": p,
                "scan_value": best,
                "nll": float(fit.best["best_fit_nll"]),
                "valid": True,
            }
        ]
        for value in values:
            if value != best:
                points.append(profiled_scan_point(minimise_fn, p, value, record))
        collected = collect_scan(points, best_fit_nll=float(fit.best["best_fit_nll"]))
        out[p] = {
            "crossings": collected["crossings"],
            "open": collected["open"],
            "n_failed": collected["n_failed"],
        }
    return out


def minos_source(fit: ToyFit) -> dict[str, Any]:
    """MINOS's asymmetric crossings (`minos.minos_intervals`); a failed side is left out,
    so the toy counts as an interval failure for that level, with MINOS's reasons kept."""
    from innfer_lib.inference.minos import minos_intervals

    found = minos_intervals(fit.job, fit.best["best_fit"], fit.parameters)
    return {
        p: {"crossings": r["crossings"], "valid": r["valid"], "reasons": r["reasons"]}
        for p, r in found.items()
    }


def bootstrap_source(fit: ToyFit) -> dict[str, Any]:
    """θ̂ ± k·std over `bootstraps` Poisson-bootstrap refits of the toy's own events
    (`bootstrap.bootstrap_fit`, which restores the toy's events afterwards)."""
    from innfer_lib.inference.bootstrap import bootstrap_fit, collect_bootstrap

    replicas = [
        bootstrap_fit(fit.job, fit.best["best_fit"], b, seed=[fit.seed])
        for b in range(int(fit.options["bootstraps"]))
    ]
    best = {p: fit.best_value(p) for p in fit.parameters}
    found = collect_bootstrap(replicas, fit.parameters, best_fit=best)
    return {
        p: {
            "crossings": r["crossings"],
            "n_valid": r["n_valid"],
            "valid": r["valid"],
            "reasons": r["reasons"],
        }
        for p, r in found.items()
    }


register_source("hessian", hessian_intervals)
register_source("sandwich", sandwich_intervals)
register_source("scan", scan_intervals)
register_source("minos", minos_source)
register_source("bootstrap", bootstrap_source)


def toy_intervals(
    fit: ToyFit, sources: Sequence[str], seconds: dict[str, float] | None = None
) -> dict[str, dict[str, Any]]:
    """Every requested source's intervals of one toy; a failing source records its error.

    Args:
        fit: the fitted toy.
        sources: names in `SOURCES`.
        seconds: filled with the wall time of each source (the cost of each, per toy).

    Returns:
        `{source: {parameter: {"crossings": ...}}}`, or `{source: {"error": message}}`.
    """
    out: dict[str, dict[str, Any]] = {}
    for name in sources:
        started = time.perf_counter()
        try:
            out[name] = SOURCES[name](fit)
        except (IntervalError, ValueError, np.linalg.LinAlgError) as err:
            out[name] = {"error": f"{type(err).__name__}: {err}"}
        if seconds is not None:
            seconds[name] = time.perf_counter() - started
    return out


def best_fit_values(fit: ToyFit) -> Mapping[str, float]:
    """{parameter: θ̂} of the reported parameters."""
    return {p: fit.best_value(p) for p in fit.parameters}
