"""Bootstrap uncertainties: refit resampled copies of the fitted events, read σ off the spread.

INNFER's BootstrapFit undersampled the validation events *without* replacement to their
effective count and rescaled the weights so that Σw = n_eff: not a bootstrap (the replicas
share most events, so their spread underestimates σ, and the yield no longer fluctuates).
Here each replica resamples the events of every category *with* replacement:

* `poisson` (default): every event's weight is multiplied by an independent Poisson(1)
  count. The total Σw then fluctuates as the extended likelihood assumes, and for any
  per-event function g the replicas reproduce Var[Σ_e w_e g(x_e)] = Σ_e w_e² g(x_e)², which is
  the sandwich's D (`likelihood.TermSum.dmatrix`); so on weighted events the bootstrap σ
  estimates the same thing as H⁻¹DH⁻¹, without its asymptotic assumptions.
* `multinomial`: the classic fixed-count bootstrap (N draws from N events), for shape-only
  fits or a fixed-size comparison; it fixes the event count, so in an extended fit it
  misses the count's own fluctuation.

Replica b draws from `numpy.random.default_rng([*seed, b])`: the same (seed, b) always gives
the same events, whichever job or batch fits it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from innfer_lib.inference.contract import ParameterValues, by_name
from innfer_lib.inference.validity import best_fit_reasons, verdict

POISSON, MULTINOMIAL = "poisson", "multinomial"
METHODS = (POISSON, MULTINOMIAL)
#: A bootstrap result is invalid when more replicas than this fraction failed to converge:
#: dropping them biases the spread (failed replicas are the extreme ones).
MAX_FAILED_FRACTION = 0.1
#: The σ levels of the crossings.
LEVELS = (-2, -1, 1, 2)
#: Φ(k) of each level k, the quantile of the replicas a percentile crossing sits at.
_NORMAL_CDF = {k: 0.5 * math.erfc(-k / math.sqrt(2.0)) for k in LEVELS}


def replica_rng(seed: int | Sequence[int], replica: int) -> np.random.Generator:
    """The generator of replica `replica`: `default_rng([*seed, replica])`."""
    parts = [int(seed)] if isinstance(seed, int | np.integer) else [int(s) for s in seed]
    return np.random.default_rng([*parts, int(replica)])


def resample_counts(rng: np.random.Generator, n_events: int, method: str = POISSON) -> np.ndarray:
    """How many times each of `n_events` events appears in a replica.

    Raises:
        ValueError: an unknown method.
    """
    if method == POISSON:
        return rng.poisson(1.0, n_events)
    if method == MULTINOMIAL:
        return (
            rng.multinomial(n_events, np.full(n_events, 1.0 / n_events))
            if n_events
            else (np.zeros(0, np.int64))
        )
    raise ValueError(f"bootstrap method {method!r} is not one of {METHODS}")


def resample_events(
    x: np.ndarray, weights: np.ndarray, counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The replica's events: weight × count, events drawn zero times left out.

    A category whose every event drew zero keeps them all at weight 0 (−ln L is then its
    yield term alone), so the likelihood never sees an empty batch.
    """
    keep = counts > 0
    if not np.any(keep):
        return np.asarray(x, np.float64), np.zeros(len(weights), np.float64)
    return (
        np.asarray(x, np.float64)[keep],
        np.asarray(weights, np.float64)[keep] * counts[keep],
    )


def bootstrap_fit(
    job: Any,
    best_fit: ParameterValues,
    replica: int,
    seed: int | Sequence[int],
    method: str = POISSON,
) -> dict[str, Any]:
    """Fit one bootstrap replica of the job's current events, starting from the best fit.

    Each event category is resampled in the order of `likelihood.event_categories` from
    `replica_rng(seed, replica)`; the events are swapped in with `set_events` (no retracing)
    and the job's events are put back afterwards, even if the fit raises, so many replicas
    (or a toy's replicas) can run on one job in a loop.

    Args:
        job: a `fit_job.FitJob` (its `minimise` gives the fit set's minimiser options,
            limits and frozen parameters).
        best_fit: the fit of the unresampled events, by name or in `problem.columns` order.
        replica: the replica index b.
        seed: the seed (or seed parts) of the fit and point; with b it fixes the events.
        method: `poisson` or `multinomial` (module docstring).

    Returns:
        `replica`, `method`, `columns`, `best_fit` (all columns, frozen ones included),
        `best_fit_nll`, `valid` (the minimiser's), `fit_valid` and `invalid_reasons`
        (`validity.best_fit_reasons`: failed minimiser, parameters at a limit),
        `n_events` and `sum_weights` per category of the replica, `nfcn`.

    Raises:
        ValueError: an unknown method, or a likelihood without event categories.
    """
    if method not in METHODS:
        raise ValueError(f"bootstrap method {method!r} is not one of {METHODS}")
    likelihood = job.problem.likelihood
    categories = likelihood.event_categories
    if not categories:
        raise ValueError("bootstrap needs an event likelihood (unbinned kinds or poisson)")
    columns = list(job.problem.columns)
    start = by_name(best_fit, columns)
    rng = replica_rng(seed, replica)
    originals = [(c.name, c.x, c.weights) for c in categories]
    n_events, sum_weights = {}, {}
    try:
        for name, x, w in originals:
            counts = resample_counts(rng, len(w), method)
            new_x, new_w = resample_events(np.asarray(x), np.asarray(w), counts)
            likelihood.set_events(name, new_x, new_w)
            n_events[name] = int(np.sum(counts))
            sum_weights[name] = float(np.sum(new_w))
        result = job.minimise(start, seed=int(replica))
    finally:
        for name, x, w in originals:
            likelihood.set_events(name, x, w)
    reasons = best_fit_reasons(result)
    return {
        "replica": int(replica),
        "method": method,
        "columns": columns,
        "best_fit": [float(v) for v in result["best_fit"]],
        "best_fit_nll": float(result["best_fit_nll"]),
        "valid": bool(result["valid"]),
        **verdict(reasons),
        "n_events": n_events,
        "sum_weights": sum_weights,
        "nfcn": int(result["nfcn"]),
    }


def collect_bootstrap(
    replicas: Sequence[Mapping[str, Any]],
    parameters: Sequence[str],
    best_fit: Mapping[str, float] | None = None,
) -> dict[str, dict[str, Any]]:
    """Per parameter: the spread of the valid replicas' best fits as crossings.

    The crossings are centre ± k·std (k = 1, 2), with std the sample standard deviation of
    the valid replicas and the centre the best fit of the unresampled events (the replica
    mean without it): the "normal" bootstrap interval. Percentiles of the replicas are
    reported alongside (`percentiles`) but not used, because with the default 100 replicas
    the 2.3 % and 97.7 % quantiles rest on about two replicas each, while the std's relative
    error is 1/√(2(n − 1)) ≈ 7 %; and the replicas scatter around θ̂, not the truth, so a
    percentile interval would inherit the fit's bias twice. Use `percentiles` to see
    asymmetry.

    Args:
        replicas: `bootstrap_fit` records (any order, any batches).
        parameters: the parameters to summarise.
        best_fit: the fit of the unresampled events by name (the centre).

    Returns:
        {parameter: record} in the common crossings schema: `columns`, `varied_column`,
        `crossings` {0, ±1, ±2} (left out without two valid replicas), `mean`, `std`,
        `percentiles` {±1, ±2}, `results` (the valid replicas' values, by replica order),
        `replicas` (their indices), `failed` (indices of invalid replicas), `n_replicas`,
        `n_valid`, `method`, `valid` and `reasons` (`too_few_valid_replicas`,
        `too_many_failed_replicas`).

    Raises:
        ValueError: replicas with different columns, or a parameter not among them.
    """
    if not replicas:
        raise ValueError("collect_bootstrap: no replicas")
    ordered = sorted(replicas, key=lambda r: int(r["replica"]))
    columns = [str(c) for c in ordered[0]["columns"]]
    if any([str(c) for c in r["columns"]] != columns for r in ordered):
        raise ValueError("collect_bootstrap: replicas with different columns")
    valid = [r for r in ordered if bool(r["fit_valid"])]
    failed = [int(r["replica"]) for r in ordered if not bool(r["fit_valid"])]
    methods = sorted({str(r["method"]) for r in ordered})
    out: dict[str, dict[str, Any]] = {}
    for parameter in parameters:
        if parameter not in columns:
            raise ValueError(f"collect_bootstrap: '{parameter}' is not one of {columns}")
        index = columns.index(parameter)
        values = np.array([float(r["best_fit"][index]) for r in valid], np.float64)
        mean = float(np.mean(values)) if len(values) else math.nan
        std = float(np.std(values, ddof=1)) if len(values) > 1 else math.nan
        centre = float(best_fit[parameter]) if best_fit is not None else mean
        reasons = []
        if len(values) < 2:
            reasons.append("too_few_valid_replicas")
        if len(failed) > MAX_FAILED_FRACTION * len(ordered):
            reasons.append("too_many_failed_replicas")
        crossings: dict[int, float] = {0: centre}
        percentiles: dict[int, float] = {}
        if len(values) > 1:
            crossings |= {k: centre + k * std for k in LEVELS}
            percentiles = {k: float(np.quantile(values, _NORMAL_CDF[k])) for k in LEVELS}
        out[parameter] = {
            "columns": columns,
            "varied_column": parameter,
            "crossings": crossings,
            "mean": mean,
            "std": std,
            "percentiles": percentiles,
            "results": [float(v) for v in values],
            "replicas": [int(r["replica"]) for r in valid],
            "failed": failed,
            "n_replicas": len(ordered),
            "n_valid": len(valid),
            "method": methods[0] if len(methods) == 1 else methods,
            "valid": not reasons,
            "reasons": reasons,
        }
    return out
