"""When a fit's result may be trusted, and why not: one definition for every file and table.

A fit result is valid only if the minimiser converged (MIGRAD's or L-BFGS-B's EDM criterion,
`minimiser.minimise`'s `valid`), the Hessian at the best fit is positive definite (the point is
a minimum, `covariance.covariance_from_hessian`), and no floating parameter sits at one of its
limits (a fit pushed against the edge of the trained range reports the edge, with intervals
that mean nothing). Each failed condition is a reason string; the best-fit file, the
covariance file and the fit's result file carry the reasons they can see, and tables,
summaries, the job's terminal line and the run's closing line all read them from there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

#: Reason codes as they appear in `invalid_reasons` (the at-limit one is followed by names).
MINIMISER_FAILED = "minimiser_failed"
HESSIAN_NOT_POSITIVE_DEFINITE = "hessian_not_positive_definite"
AT_LIMIT = "at_limit"
INTERVAL_FAILED = "interval_failed"
#: A parameter within this fraction of its range (of max(1, |bound|) for a one-sided limit)
#: of a bound is at the limit. MIGRAD's bounded-parameter transform never reaches a bound
#: exactly, and iminuit's own flag (within half an error) misses a parameter whose error
#: collapsed to 0 at the bound, which is the typical stuck fit.
LIMIT_TOLERANCE = 1e-4

Limits = Mapping[str, tuple[float | None, float | None]]


def _near(value: float, bound: float | None, scale: float) -> bool:
    return bound is not None and abs(value - bound) <= LIMIT_TOLERANCE * scale


def parameters_at_limit(
    columns: Sequence[str],
    values: Sequence[float],
    limits: Limits,
    fixed: Iterable[str] = (),
) -> list[str]:
    """The floating parameters that sit at (within `LIMIT_TOLERANCE` of) a limit."""
    frozen = set(fixed)
    out = []
    for name, value in zip(columns, values, strict=True):
        if name in frozen or name not in limits:
            continue
        lo, hi = limits[name]
        if lo is not None and hi is not None and hi > lo:
            scales = (hi - lo, hi - lo)
        else:
            scales = (max(1.0, abs(lo or 0.0)), max(1.0, abs(hi or 0.0)))
        if _near(float(value), lo, scales[0]) or _near(float(value), hi, scales[1]):
            out.append(str(name))
    return out


def at_limit_reason(parameters: Sequence[str]) -> str:
    """`at_limit: mtop, mu`: the reason string naming the parameters."""
    return f"{AT_LIMIT}: {', '.join(parameters)}"


def best_fit_reasons(best_fit: Mapping[str, Any]) -> list[str]:
    """What the minimisation alone says against a fit: it failed, or parameters at a limit.

    Args:
        best_fit: the initial-fit record (`valid`, and `parameters_at_limit` from
            `minimiser.minimise`).
    """
    reasons = []
    if not bool(best_fit["valid"]):
        reasons.append(MINIMISER_FAILED)
    at_limit = list(best_fit.get("parameters_at_limit") or [])
    if at_limit:
        reasons.append(at_limit_reason(at_limit))
    return reasons


def verdict(reasons: Sequence[str]) -> dict[str, Any]:
    """The keys every file with a validity writes: `fit_valid` and `invalid_reasons`."""
    return {"fit_valid": not reasons, "invalid_reasons": list(reasons)}


def covariance_reasons(positive_definite: bool) -> list[str]:
    """What a covariance file says against the fit: the Hessian is not a minimum's."""
    return [] if positive_definite else [HESSIAN_NOT_POSITIVE_DEFINITE]


def interval_reasons(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """What the interval files of a fit say against it (covariance, scan or approximate).

    A covariance file says whether H was positive definite; an approximate-uncertainty file
    whether its steps found the ±1σ crossings (`valid`, per `varied_column`).
    """
    reasons: list[str] = []
    failed: list[str] = []
    for record in records:
        if not bool(record.get("positive_definite", True)):
            reasons += [r for r in covariance_reasons(False) if r not in reasons]
        if not bool(record.get("valid", True)):
            failed.append(str(record.get("varied_column", "?")))
    if failed:
        reasons.append(f"{INTERVAL_FAILED}: {', '.join(failed)}")
    return reasons


def describe(reasons: Sequence[str]) -> str:
    """The reasons for a reader: `at limit: mtop; hessian not positive definite`.

    Only the reason codes lose their underscores; parameter names stay as written.
    """
    readable = []
    for reason in reasons:
        code, sep, names = reason.partition(": ")
        readable.append(code.replace("_", " ") + sep + names)
    return "; ".join(readable)
