"""Profile-likelihood intervals by MINOS: INNFER's UncertaintyFromMinimisation, done by Minuit.

INNFER searched each side for Δ(−2 ln L) = 1 with a hand-rolled secant/spline iteration over
Nelder–Mead refits (at most 10 steps, |Δ − 1| < 0.01) and then symmetrised the two errors.
MINOS does the same profiled search to Minuit's own precision, for both sides and any level,
so here the ±1σ and ±2σ crossings of each parameter are MINOS's, kept asymmetric, with a
validity flag and a reason per side. A side that fails (the crossing lies beyond the
parameter's limit, MINOS finds a new minimum or runs out of calls, or raises) is a failed
record, never an exception: the workflow goes on and the fit's result shows the interval as
failed (`validity.interval_reasons`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from innfer_lib.inference.contract import ParameterValues, by_name
from innfer_lib.inference.minimiser import minimum_valid, minuit_at

#: The σ levels MINOS is run at (iminuit's `cl` ≥ 1 means "this many σ": Δ(−ln L) = k²/2).
LEVELS = (1, 2)
#: Reason codes of a failed side.
FROZEN = "frozen"
MINIMUM_INVALID = "minimum_invalid"
AT_LIMIT = "at_limit"
NEW_MINIMUM = "new_minimum"
CALL_LIMIT = "call_limit"
MINOS_INVALID = "minos_invalid"
MINOS_ERROR = "minos_error"
NOT_FINITE = "not_finite"


def _side_reason(error: Any, upper: bool) -> str | None:
    """Why one side of an `iminuit.util.MError` cannot be used, or None if it can."""
    side = "upper" if upper else "lower"
    if getattr(error, f"at_{side}_limit"):
        return AT_LIMIT
    if getattr(error, f"{side}_new_min"):
        return NEW_MINIMUM
    if getattr(error, f"at_{side}_max_fcn"):
        return CALL_LIMIT
    if not getattr(error, f"{side}_valid"):
        return MINOS_INVALID
    if not math.isfinite(float(getattr(error, side))):
        return NOT_FINITE
    return None


def _record(
    columns: list[str],
    parameter: str,
    centre: float,
    crossings: dict[int, float],
    sides: dict[int, dict[str, Any]],
    nfcn: int,
) -> dict[str, Any]:
    reasons = sorted({s["reason"] for s in sides.values() if s["reason"] is not None})
    return {
        "columns": columns,
        "varied_column": parameter,
        "crossings": {0: float(centre), **{k: crossings[k] for k in sorted(crossings)}},
        "sides": {k: sides[k] for k in sorted(sides)},
        "valid": all(s["valid"] for s in sides.values()),
        "reasons": reasons,
        "nfcn": int(nfcn),
    }


def _failed(columns: list[str], parameter: str, centre: float, reason: str) -> dict[str, Any]:
    sides = {k: {"valid": False, "reason": reason} for k in (-2, -1, 1, 2)}
    return _record(columns, parameter, centre, {}, sides, 0)


def minos_intervals(
    job: Any,
    best_fit: ParameterValues,
    parameters: Sequence[str],
) -> dict[str, dict[str, Any]]:
    """MINOS ±1σ and ±2σ crossings of each parameter, profiled over the other free ones.

    MINOS needs a Minuit that has itself found the minimum, so MIGRAD first runs from
    `best_fit` (a few calls when that is the minimum) with the fit set's strategy and
    tolerance, the problem's limits and its frozen parameters; MINOS then runs at cl = 1
    and cl = 2 (σ units: Δ(−ln L) = ½ and 2, errordef ½ as for every fit here). MINOS is
    Minuit's, so this does not depend on the fit set's `minimiser.method`.

    Args:
        job: a `fit_job.FitJob` whose likelihood holds the events to profile (its current
            events: a toy or bootstrap caller sets them first); only `job.problem` and
            `job.options["minimiser"]` are read.
        best_fit: the best fit, by name or as a vector in `job.problem.columns` order.
        parameters: the parameters to get intervals for.

    Returns:
        {parameter: record}, each record in the common crossings schema:
        `columns`, `varied_column`, `crossings` {0: θ̂, ±1, ±2: absolute values at ±kσ; a
        failed side is left out}, `sides` {±1, ±2: {valid, reason}} with reason one of
        `FROZEN`, `MINIMUM_INVALID`, `AT_LIMIT`, `NEW_MINIMUM`, `CALL_LIMIT`,
        `MINOS_INVALID`, `MINOS_ERROR` (an exception; its text is appended after ": "),
        `NOT_FINITE`, or None; `valid` (every side valid), `reasons` (the sorted distinct
        reasons) and `nfcn` (MINOS's calls). θ̂ is MIGRAD's minimum, which `best_fit`
        should already be.
    """
    problem = job.problem
    columns = list(problem.columns)
    start = by_name(best_fit, columns)
    options = job.options["minimiser"]
    m = minuit_at(
        problem.likelihood.value_and_gradient,
        columns,
        start=start,
        limits=problem.limits,
        fixed=problem.fixed,
        strategy=int(options["strategy"]),
        tolerance=float(options["tolerance"]),
    )
    try:
        m.migrad()
        valid = minimum_valid(m)
    except (RuntimeError, ValueError) as exc:
        valid = False
        minimum_error = f"{MINIMUM_INVALID}: {exc}"
    else:
        minimum_error = MINIMUM_INVALID
    out: dict[str, dict[str, Any]] = {}
    for parameter in parameters:
        if parameter not in columns:
            raise ValueError(f"MINOS: '{parameter}' is not a fit parameter {columns}")
        if parameter in problem.fixed:
            out[parameter] = _failed(columns, parameter, start[parameter], FROZEN)
            continue
        centre = float(m.values[parameter])
        if not valid:
            out[parameter] = _failed(columns, parameter, centre, minimum_error)
            continue
        crossings: dict[int, float] = {}
        sides: dict[int, dict[str, Any]] = {}
        nfcn = 0
        for level in LEVELS:
            try:
                m.minos(parameter, cl=level)
                error = m.merrors[parameter]
            except (RuntimeError, ValueError) as exc:
                for sign in (-1, 1):
                    sides[sign * level] = {"valid": False, "reason": f"{MINOS_ERROR}: {exc}"}
                continue
            nfcn += int(error.nfcn)
            for sign, upper in ((-1, False), (1, True)):
                reason = _side_reason(error, upper)
                sides[sign * level] = {"valid": reason is None, "reason": reason}
                if reason is None:
                    offset = float(error.upper if upper else error.lower)
                    crossings[sign * level] = centre + offset
        out[parameter] = _record(columns, parameter, centre, crossings, sides, nfcn)
    return out
