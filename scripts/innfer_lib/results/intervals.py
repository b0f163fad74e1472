"""One fit's result as intervals per parameter, whatever produced the uncertainty.

Summaries, tables, χ² and impacts plots all need the same thing from a fit: its best fit and
the ±1σ/±2σ crossings of each parameter. Those come from a covariance (H⁻¹ or the sandwich,
symmetric), a profiled scan, the approximate step, MINOS or a bootstrap (possibly
asymmetric). This module turns any of them into one record, so every consumer reads one
format and computes pulls the same way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from innfer_lib.core.errors import DataError
from innfer_lib.inference.validity import best_fit_reasons, interval_reasons, verdict

COVARIANCE, SCAN, APPROXIMATE = "covariance", "scan", "approximate"
MINOS, BOOTSTRAP = "minos", "bootstrap"
SOURCES = (COVARIANCE, SCAN, APPROXIMATE, MINOS, BOOTSTRAP)
SIGMA_LEVELS = (-2, -1, 1, 2)


def _crossings(raw: Mapping[Any, Any]) -> dict[int, float]:
    return {int(k): float(v) for k, v in raw.items() if v is not None}


def intervals_from_records(
    source: str, records: Sequence[Mapping[str, Any]]
) -> dict[str, dict[int, float]]:
    """Crossings {param: {k: θ at kσ}} from the files of one uncertainty source.

    Args:
        source: `covariance` (one covariance or sandwich file with crossings per parameter),
            or `scan`/`approximate`/`minos`/`bootstrap` (one file per parameter, with
            `varied_column`).
        records: the loaded files.

    Raises:
        DataError: an unknown source, or a file without the keys its source writes.
    """
    if source not in SOURCES:
        raise DataError(f"uncertainty source {source!r} is not one of {SOURCES}")
    out: dict[str, dict[int, float]] = {}
    for record in records:
        if "crossings" not in record:
            raise DataError(f"{source} result without 'crossings': keys {sorted(record)}")
        if source == COVARIANCE:
            for param, crossings in record["crossings"].items():
                out[str(param)] = _crossings(crossings)
        else:
            if "varied_column" not in record:
                raise DataError(f"{source} result without 'varied_column'")
            out[str(record["varied_column"])] = _crossings(record["crossings"])
    return out


def sigma_side(best: float, truth: float, down: float, up: float) -> float:
    """The σ towards the truth: the upper error when the best fit lies below the truth.

    INNFER compared the best fit against 1.0 instead of the truth, so points with a truth
    far from 1 used the wrong side.
    """
    return up if best < truth else down


def pull(best: float, truth: float, down: float, up: float) -> float:
    """(θ̂ − θ_true)/σ on the side of the truth; NaN without that σ."""
    sigma = sigma_side(best, truth, down, up)
    if not (math.isfinite(sigma) and sigma > 0.0):
        return math.nan
    return (best - truth) / sigma


def fit_result(
    best_fit: Mapping[str, Any],
    intervals: Mapping[str, Mapping[int, float]],
    truth: Mapping[str, float],
    source: str,
    constrained: Sequence[str] = (),
    valid_from: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The result record of one fit: per floating parameter its best fit, σ and pull.

    Args:
        best_fit: the initial_fit record (`columns`, `best_fit`, `valid`, `fixed`).
        intervals: crossings per parameter (`intervals_from_records`); parameters without
            one (not scanned, frozen) get NaN errors.
        truth: the validation point's parameter values (the defaults for observed data, which
            `reference` then says).
        source: which source the intervals came from (recorded).
        constrained: nuisances with a unit-Gaussian constraint (their pulls are drawn apart).
        valid_from: the interval files, whose own validity flags are folded in.

    Returns:
        The record: `fit_valid` and `invalid_reasons` are the fit's whole verdict
        (`inference.validity`: the minimiser, parameters at a limit, the Hessian, the
        intervals); `intervals_valid` is the interval files' part of it.
    """
    columns = [str(c) for c in best_fit["columns"]]
    values = dict(zip(columns, (float(v) for v in best_fit["best_fit"]), strict=True))
    fixed = set(best_fit.get("fixed") or {})
    interval_valid = all(
        bool(r.get("positive_definite", True)) and bool(r.get("valid", True)) for r in valid_from
    )
    reasons = best_fit_reasons(best_fit) + interval_reasons(valid_from)
    params: dict[str, Any] = {}
    for name in columns:
        if name in fixed:
            continue
        best, t = values[name], float(truth[name])
        crossings = dict(intervals.get(name, {}))
        centre = crossings.get(0, best)
        down = centre - crossings[-1] if -1 in crossings else math.nan
        up = crossings[1] - centre if 1 in crossings else math.nan
        params[name] = {
            "truth": t,
            "best_fit": best,
            "crossings": {k: float(crossings[k]) for k in sorted(crossings)},
            "sigma_down": float(down),
            "sigma_up": float(up),
            "sigma": float(0.5 * (down + up)),
            "pull": float(pull(best, t, down, up)),
            "constrained": name in constrained,
        }
    return {
        "source": source,
        **verdict(reasons),
        "intervals_valid": interval_valid,
        "truth": {k: float(v) for k, v in truth.items()},
        "reference": reference_of(best_fit),
        "parameters": params,
    }


#: What a fit's `truth` values are: the simulated point, or (observed data) the nominal point.
TRUTH, NOMINAL = "truth", "nominal"
#: The `truth` entry of a fit record's data info when the row is the defaults (observed data).
TRUTH_FROM_DEFAULTS = "defaults"


def reference_of(best_fit: Mapping[str, Any]) -> str:
    """`nominal` for a fit of observed data, whose `truth` is only the defaults, else `truth`.

    Observed data have no true parameters; their row holds the defaults (INNFER's choice), so
    a table must not call those the truth or the distance to them a closure pull.
    """
    data = best_fit.get("data") or {}
    from_defaults = isinstance(data, Mapping) and data.get("truth") == TRUTH_FROM_DEFAULTS
    return NOMINAL if from_defaults else TRUTH


def merge_all_but_one(results: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """One record from the fits that each float a single parameter (INNFER's all-but-one).

    The merged record is invalid when any of the fits is, with every reason of every fit.

    Args:
        results: {parameter: the fit_result of the fit set floating only that parameter}.

    Raises:
        DataError: a fit set's result does not hold the parameter it floats.
    """
    if not results:
        raise DataError("all-but-one collect: no fit results")
    params: dict[str, Any] = {}
    reasons: list[str] = []
    intervals_valid = True
    truth: dict[str, float] = {}
    for name, record in results.items():
        if name not in record["parameters"]:
            raise DataError(
                f"all-but-one collect: the fit floating only {name!r} has results for "
                f"{sorted(record['parameters'])}"
            )
        params[name] = dict(record["parameters"][name])
        reasons += [r for r in record["invalid_reasons"] if r not in reasons]
        intervals_valid = intervals_valid and bool(record["intervals_valid"])
        truth = dict(record["truth"])
    first = next(iter(results.values()))
    return {
        "source": first["source"],
        **verdict(reasons),
        "intervals_valid": intervals_valid,
        "truth": truth,
        "reference": first.get("reference", TRUTH),
        "parameters": params,
    }
