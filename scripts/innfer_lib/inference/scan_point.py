"""One scan job: the likelihood with one or two parameters fixed and the others profiled.

Replaces INNFER's Scan step. A job receives a ``minimise_fn(start, fixed) -> result`` (for
example `minimiser.minimise` with the likelihood bound in), so this module works on numbers and
callables only and never imports TensorFlow. A point records which parameters were profiled
and their values by name; INNFER listed every other column but only the free values, so the
two lists could be misaligned.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

#: Signature of the minimiser a scan job is given: (start, fixed) -> `minimiser.minimise`-like
#: dict with ``columns``, ``best_fit``, ``best_fit_nll`` (= 2·min(−ln L)), ``valid``, ``status``.
MinimiseFn = Callable[[Mapping[str, float], Mapping[str, float]], Mapping[str, Any]]


def _fixed_scan(
    minimise_fn: MinimiseFn,
    scanned: Mapping[str, float],
    best_fit_record: Mapping[str, Any],
    frozen: Mapping[str, float] | None,
    start: Mapping[str, float] | None,
    evaluate_fn: Callable[[Mapping[str, float]], float] | None,
) -> dict[str, Any]:
    """Hold ``scanned`` (and the frozen parameters) fixed and profile everything else."""
    columns = [str(c) for c in best_fit_record["columns"]]
    best = {c: float(v) for c, v in zip(columns, best_fit_record["best_fit"], strict=True)}
    unknown = sorted(set(scanned) - set(columns))
    if unknown:
        raise ValueError(f"scanned parameter(s) {unknown} not in the fit's columns {columns}")
    for name, value in scanned.items():
        if not math.isfinite(value):
            raise ValueError(f"scan value of {name} must be finite: {value}")
    if frozen is None:
        frozen = best_fit_record.get("fixed") or {}
    held = {str(k): float(v) for k, v in frozen.items() if k not in scanned}
    fixed = {**held, **{k: float(v) for k, v in scanned.items()}}
    begin = {**best, **{k: float(v) for k, v in (start or {}).items()}, **fixed}
    free = [c for c in columns if c not in fixed]

    if not free and evaluate_fn is not None:
        # Nothing to profile: one likelihood evaluation is the whole job (INNFER's single Run).
        nll = float(evaluate_fn(dict(begin)))
        values = begin
        valid = math.isfinite(nll)
        status = "evaluated" if valid else "non-finite nll"
    else:
        result = minimise_fn(dict(begin), dict(fixed))
        order = [str(c) for c in result.get("columns", columns)]
        values = {**begin, **dict(zip(order, (float(v) for v in result["best_fit"]), strict=True))}
        nll = float(result["best_fit_nll"])
        valid = bool(result.get("valid", True)) and math.isfinite(nll)
        status = str(result.get("status", "converged" if valid else "invalid"))
        if not math.isfinite(nll):
            status = "non-finite nll"
    return {
        "columns": columns,
        "nll": nll,
        "profiled": {c: float(values[c]) for c in free},
        "frozen": held,
        "valid": valid,
        "status": status,
        "row": list(best_fit_record["row"]) if "row" in best_fit_record else None,
    }


def profiled_scan_point(
    minimise_fn: MinimiseFn,
    column: str,
    value: float,
    best_fit_record: Mapping[str, Any],
    *,
    frozen: Mapping[str, float] | None = None,
    start: Mapping[str, float] | None = None,
    evaluate_fn: Callable[[Mapping[str, float]], float] | None = None,
) -> dict[str, Any]:
    """One Scan job: −2 ln L with ``column`` fixed at ``value`` and the other free ones profiled.

    The fit starts from the best fit with the scanned value inserted (INNFER's choice), or from
    ``start`` when given, so a caller running several points in one job can warm-start each from
    its neighbour. When the scanned parameter is the only free one, there is nothing to profile
    and, given ``evaluate_fn``, the likelihood is evaluated once; otherwise ``minimise_fn`` is
    called with every parameter fixed (Minuit then only evaluates).

    Args:
        minimise_fn: ``(start, fixed) -> result``, e.g. ``lambda s, f: minimise(vg, cols, s,
            limits, f)``; the result needs ``columns``, ``best_fit``, ``best_fit_nll`` (−2 ln L
            at the minimum) and optionally ``valid`` and ``status``.
        column: Scanned parameter.
        value: Its fixed value.
        best_fit_record: The InitialFit result: ``columns``, ``best_fit``, optionally ``row``
            (truth) and ``fixed`` (parameters frozen in that fit, which stay frozen here).
        frozen: Frozen parameters and values, replacing ``best_fit_record["fixed"]``.
        start: Starting values that override the best fit (warm start).
        evaluate_fn: ``point -> −2 ln L`` for the no-free-parameter case, on the same scale as
            ``best_fit_nll``.

    Returns:
        ``{columns, varied_column, scan_value, nll (−2 ln L), profiled: {param: value} of the
        parameters that were actually free, frozen: {param: value}, valid, status, row}``.

    Raises:
        ValueError: ``column`` is not a fit column or ``value`` is not finite.
    """
    record = _fixed_scan(
        minimise_fn, {column: float(value)}, best_fit_record, frozen, start, evaluate_fn
    )
    return {"varied_column": column, "scan_value": float(value), **record}


def profiled_scan_point_2d(
    minimise_fn: MinimiseFn,
    columns: tuple[str, str],
    values: tuple[float, float],
    best_fit_record: Mapping[str, Any],
    *,
    frozen: Mapping[str, float] | None = None,
    start: Mapping[str, float] | None = None,
    evaluate_fn: Callable[[Mapping[str, float]], float] | None = None,
) -> dict[str, Any]:
    """One point of a 2-D scan: two parameters fixed, the rest profiled (see `profiled_scan_point`).

    Returns:
        ``{columns, varied_columns: [a, b], scan_values: [va, vb], nll, profiled, frozen, valid,
        status, row}``.

    Raises:
        ValueError: The two columns are equal or unknown, or a value is not finite.
    """
    a, b = columns
    if a == b:
        raise ValueError(f"a 2-D scan needs two different parameters, got {a!r} twice")
    va, vb = (float(v) for v in values)
    record = _fixed_scan(minimise_fn, {a: va, b: vb}, best_fit_record, frozen, start, evaluate_fn)
    return {"varied_columns": [a, b], "scan_values": [va, vb], **record}


def skipped_scan_point(
    best_fit_record: Mapping[str, Any], column: str, reason: str = "outside the scan grid"
) -> dict[str, Any]:
    """The record a Scan job writes when its index has no scan value (grid clipped by limits).

    The number of Scan jobs is fixed when the workflow is built, but clipping can shorten the
    grid; writing this record keeps every declared output present while `collect_scan` knows
    to ignore it (it is counted as skipped, not failed).
    """
    return {
        "varied_column": column,
        "scan_value": None,
        "columns": [str(c) for c in best_fit_record["columns"]],
        "nll": None,
        "profiled": {},
        "frozen": {},
        "valid": False,
        "status": f"skipped: {reason}",
        "row": list(best_fit_record["row"]) if "row" in best_fit_record else None,
    }
