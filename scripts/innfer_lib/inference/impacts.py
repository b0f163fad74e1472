"""Impacts of each floating parameter on the POIs, and the pulls of the constrained nuisances.

The impact of a parameter k on a POI is how far the POI's best fit moves when k is held at its
post-fit ±1σ value and everything else is refitted (INNFER's impacts). Two estimates share one
file schema, so the plot does not care which one it draws:

* refit: one profiled fit per (k, shift), with k frozen at the covariance file's ±1σ crossing;
  impact = POI(refit) − POI(best fit). The crossings are an input of the job: INNFER read
  them from a file that might not exist, and then silently refitted with k floating, which
  gives an impact of zero.
* approximate: the linear (Gaussian) limit of the refit, ±(P_poi,k/P_kk)·σ_k with P = H⁻¹
  and σ_k from the covariance; ±C_poi,k/√C_kk when the covariance is H⁻¹. INNFER used
  C_poi,k/√C_kk always, which is not what its refits measure once the covariance is a
  sandwich. The matrices span only the floating parameters (`matrix_columns`); INNFER looked
  the POI up in `columns` (every parameter), which picks the wrong row as soon as any
  parameter is frozen.

This module works on numbers and records only (no TensorFlow): the refit receives a
``minimise_fn`` exactly like a scan point, and reuses `scan_point.profiled_scan_point` for it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from innfer_lib.core.errors import DataError
from innfer_lib.inference.covariance import covariance_from_hessian
from innfer_lib.inference.scan_point import MinimiseFn, profiled_scan_point

REFIT, APPROXIMATE = "refit", "approximate"
METHODS = (REFIT, APPROXIMATE)
#: The shift wildcard: which ±1σ crossing a refit holds its parameter at.
SHIFTS: dict[str, int] = {"up": 1, "down": -1}
#: Constrained nuisances are in units of their prefit uncertainty (unit-Gaussian constraint).
PREFIT_SIGMA = 1.0


# --------------------------------------------------------------------------------------------
# Which parameters and POIs take part
# --------------------------------------------------------------------------------------------
def impacted_pois(floating: Sequence[str], pois: Sequence[str]) -> list[str]:
    """POIs that float and have at least one other floating parameter to be impacted by.

    A frozen POI cannot move, and a POI that floats alone has nothing to rank.
    """
    return [p for p in pois if p in floating and any(k != p for k in floating)]


def refit_parameters(floating: Sequence[str], pois: Sequence[str]) -> list[str]:
    """Floating parameters that need ±1σ refits: those that impact some other floating POI.

    With one POI these are all floating parameters except the POI; with several, each POI
    also impacts the others, so it gets refits too.
    """
    targets = impacted_pois(floating, pois)
    return [k for k in floating if any(p != k for p in targets)]


# --------------------------------------------------------------------------------------------
# Refit impacts
# --------------------------------------------------------------------------------------------
def _best_values(record: Mapping[str, Any], source: str) -> dict[str, float]:
    try:
        return {
            str(c): float(v) for c, v in zip(record["columns"], record["best_fit"], strict=True)
        }
    except KeyError as err:
        raise DataError(f"{source}: no {err.args[0]!r} (a best-fit or covariance file?)") from None
    except ValueError:
        raise DataError(f"{source}: 'columns' and 'best_fit' differ in length") from None


def shifted_value(
    covariance_record: Mapping[str, Any],
    parameter: str,
    shift: str,
    limits: Mapping[str, tuple[float | None, float | None]] | None = None,
    source: str = "covariance file",
) -> tuple[float, bool]:
    """The value a refit holds ``parameter`` at: its post-fit ±1σ crossing, inside its limits.

    A crossing beyond a physical limit (a rate below 0) is moved onto the limit, since the
    likelihood is not defined outside; the second value says so, and the impact is then that
    of the smaller shift.

    Raises:
        DataError: an unknown shift, or the covariance file has no ±1σ crossing of
            ``parameter`` (it is frozen, or the file is not a covariance file).
    """
    if shift not in SHIFTS:
        raise DataError(f"impact shift {shift!r} is not one of {list(SHIFTS)}")
    crossings = (covariance_record.get("crossings") or {}).get(parameter)
    if crossings is None:
        raise DataError(
            f"{source}: crossings: no entry for '{parameter}' (floating parameters: "
            f"{list(covariance_record.get('matrix_columns', []))})"
        )
    by_sigma = {int(k): v for k, v in crossings.items()}
    key = SHIFTS[shift]
    if key not in by_sigma or by_sigma[key] is None or not math.isfinite(float(by_sigma[key])):
        raise DataError(f"{source}: crossings.{parameter}: no finite {key:+d}σ crossing")
    value = float(by_sigma[key])
    lo, hi = (limits or {}).get(parameter) or (None, None)
    clipped = min(max(value, -math.inf if lo is None else lo), math.inf if hi is None else hi)
    return float(clipped), clipped != value


def refit_impact(
    minimise_fn: MinimiseFn,
    parameter: str,
    shift: str,
    best_fit_record: Mapping[str, Any],
    covariance_record: Mapping[str, Any],
    *,
    frozen: Mapping[str, float] | None = None,
    limits: Mapping[str, tuple[float | None, float | None]] | None = None,
    source: str = "covariance file",
) -> dict[str, Any]:
    """One impact refit: ``parameter`` held at its ±1σ crossing, the other floating ones refitted.

    It is a profiled scan point at one value, so it runs through `scan_point.profiled_scan_point`
    (same start at the best fit, same handling of the fit set's frozen parameters).

    Args:
        minimise_fn: ``(start, fixed) -> result`` as for a scan point.
        parameter: The parameter held fixed.
        shift: ``up`` or ``down``: which crossing.
        best_fit_record: The initial fit (``columns``, ``best_fit``, ``row``).
        covariance_record: The covariance file of the fit set (``crossings``).
        frozen: Parameters the fit set freezes, with their values.
        limits: Physical limits; a crossing beyond one is moved onto it.
        source: Name of the covariance file, for messages.

    Returns:
        The scan-point record (``columns``, ``nll``, ``profiled``, ``frozen``, ``valid``,
        ``status``, ``row``) with ``parameter``, ``shift``, ``fixed_value``, ``clipped`` and
        ``best_fit_value`` (the parameter's best fit) in place of the scan fields.

    Raises:
        DataError: as `shifted_value`.
    """
    value, clipped = shifted_value(covariance_record, parameter, shift, limits, source)
    point = profiled_scan_point(minimise_fn, parameter, value, best_fit_record, frozen=frozen)
    point.pop("varied_column")
    point.pop("scan_value")
    best = _best_values(best_fit_record, "best-fit record")
    return {
        "parameter": parameter,
        "shift": shift,
        "fixed_value": value,
        "clipped": clipped,
        "best_fit_value": best[parameter],
        **point,
    }


def impact_size(entry: Mapping[str, Any]) -> float:
    """max(|up|, |down|): the ranking key; NaN (no estimate) ranks last."""
    sizes = [abs(float(entry[k])) for k in ("up", "down")]
    if not all(math.isfinite(s) for s in sizes):
        return -math.inf
    return max(sizes)


def rank_impacts(entries: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Entries by decreasing max(|up|, |down|); ties keep their order (the sort is stable)."""
    return sorted((dict(e) for e in entries), key=impact_size, reverse=True)


def collect_refit_impacts(
    best_fit_record: Mapping[str, Any],
    records: Sequence[Mapping[str, Any]],
    pois: Sequence[str],
    sources: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Refit impacts on every POI: POI(refit) − POI(best fit), ranked.

    Args:
        best_fit_record: The initial fit the refits started from.
        records: `refit_impact` records, an up and a down one per parameter.
        pois: The POIs to report (each must have been refitted, not frozen, in the records).
        sources: File names of the records, for messages.

    Returns:
        ``{method: refit, columns, row, pois: {poi: {best_fit, impacts: [{parameter, up,
        down, valid, clipped, fixed: {up, down}}] ranked}}}``; ``valid`` is false when either
        refit did not converge (the numbers are kept, the plot marks them).

    Raises:
        DataError: a parameter lacks its up or down refit, has one twice, or a refit record
            does not give a POI's value.
    """
    names = list(sources) if sources is not None else [f"record {i}" for i in range(len(records))]
    best = _best_values(best_fit_record, "best-fit record")
    by_key: dict[tuple[str, str], tuple[Mapping[str, Any], str]] = {}
    order: list[str] = []
    for record, name in zip(records, names, strict=True):
        key = (str(record["parameter"]), str(record["shift"]))
        if key in by_key:
            raise DataError(f"{name}: a second {key[1]} refit of '{key[0]}' ({by_key[key][1]})")
        by_key[key] = (record, name)
        if key[0] not in order:
            order.append(key[0])
    for parameter in order:
        missing = [s for s in SHIFTS if (parameter, s) not in by_key]
        if missing:
            raise DataError(f"impact refits of '{parameter}': no {missing} refit among {names}")

    result: dict[str, Any] = {
        "method": REFIT,
        "columns": list(best_fit_record["columns"]),
        "row": list(best_fit_record.get("row") or []),
        "pois": {},
    }
    for poi in pois:
        if poi not in best:
            raise DataError(f"best-fit record: POI '{poi}' is not among {list(best)}")
        entries = []
        for parameter in order:
            if parameter == poi:
                continue
            shifted: dict[str, float] = {}
            for shift in SHIFTS:
                record, name = by_key[(parameter, shift)]
                profiled = record.get("profiled") or {}
                if poi not in profiled:
                    raise DataError(
                        f"{name}: POI '{poi}' was not refitted (profiled: {sorted(profiled)})"
                    )
                shifted[shift] = float(profiled[poi]) - best[poi]
            records_of = [by_key[(parameter, s)][0] for s in SHIFTS]
            entries.append(
                {
                    "parameter": parameter,
                    **shifted,
                    "valid": all(bool(r.get("valid", False)) for r in records_of),
                    "clipped": any(bool(r.get("clipped", False)) for r in records_of),
                    "fixed": {s: float(by_key[(parameter, s)][0]["fixed_value"]) for s in SHIFTS},
                }
            )
        result["pois"][poi] = {"best_fit": best[poi], "impacts": rank_impacts(entries)}
    return result


# --------------------------------------------------------------------------------------------
# Approximate impacts
# --------------------------------------------------------------------------------------------
def _matrix(covariance_record: Mapping[str, Any], source: str) -> tuple[list[str], np.ndarray]:
    try:
        columns = [str(c) for c in covariance_record["matrix_columns"]]
        cov = np.asarray(covariance_record["covariance"], np.float64)
    except KeyError as err:
        raise DataError(f"{source}: no {err.args[0]!r}; is it a covariance file?") from None
    if cov.shape != (len(columns), len(columns)):
        raise DataError(
            f"{source}: covariance has shape {cov.shape} but {len(columns)} matrix_columns"
        )
    return columns, cov


def _profiling_matrix(
    hessian_record: Mapping[str, Any], columns: Sequence[str], source: str
) -> np.ndarray:
    """H⁻¹ over `columns`: its ratios say how the profiled parameters follow a held one.

    Inverted where every covariance is (`covariance.covariance_from_hessian`). Where H is not
    positive definite the result is NaN, so that every impact taken from it is invalid: a
    singular H has no inverse (its pseudo-inverse would pass for finite slopes), and at a
    point where H is indefinite the best fit is not a minimum, so the refits these slopes
    linearise do not start from one.
    """
    try:
        h_columns = [str(c) for c in hessian_record["matrix_columns"]]
        hessian = np.asarray(hessian_record["hessian"], np.float64)
    except KeyError as err:
        raise DataError(f"{source}: no {err.args[0]!r}; is it a Hessian file?") from None
    if h_columns != list(columns):
        raise DataError(
            f"{source}: matrix_columns {h_columns} differ from the covariance's {list(columns)}"
        )
    if hessian.shape != (len(columns), len(columns)):
        raise DataError(f"{source}: hessian has shape {hessian.shape}, not {len(columns)}²")
    h_inv, positive_definite = covariance_from_hessian(hessian)
    return h_inv if positive_definite else np.full_like(hessian, math.nan)


def approximate_impacts(
    covariance_record: Mapping[str, Any],
    pois: Sequence[str],
    source: str = "covariance file",
    hessian_record: Mapping[str, Any] | None = None,
    hessian_source: str = "Hessian file",
) -> dict[str, Any]:
    """The linear limit of the refit impacts, for every other floating parameter k.

    A refit holds k at k̂ ± σ_k and profiles the rest, which moves the POI by
    ±(P_poi,k/P_kk)·σ_k with P = H⁻¹: how far the POI follows k is a property of the
    likelihood's curvature, and σ_k comes from the covariance the fit set reports. With the
    covariance H⁻¹ this is the familiar ±C_poi,k/√C_kk. With the sandwich H⁻¹DH⁻¹ of a
    weighted fit the two differ (on the VaryingYield benchmark's truth density the sandwich
    alone gave 0.0035 where the refits moved Y1 by 0.0062), so the Hessian is used for the
    slope whenever `hessian_record` is given; without it, P is the covariance itself.

    Rows and columns are indexed by `matrix_columns`, the floating parameters the matrices
    span. A non-positive C_kk or P_kk (a matrix that is not positive definite) gives NaN and
    ``valid: false`` rather than an error, so the plot still shows the other parameters; a
    Hessian that is not positive definite makes every entry so (`_profiling_matrix`).

    Raises:
        DataError: a record lacks its matrix, a shape or the columns do not match, or a POI
            does not float.
    """
    columns, cov = _matrix(covariance_record, source)
    best = _best_values(covariance_record, source)
    slope = (
        cov
        if hessian_record is None
        else _profiling_matrix(hessian_record, columns, hessian_source)
    )
    result: dict[str, Any] = {
        "method": APPROXIMATE,
        "slope_from": "covariance" if hessian_record is None else "hessian",
        "columns": list(covariance_record["columns"]),
        "row": list(covariance_record.get("row") or []),
        "positive_definite": bool(covariance_record.get("positive_definite", True)),
        "pois": {},
    }
    for poi in pois:
        if poi not in columns:
            raise DataError(
                f"{source}: matrix_columns: POI '{poi}' does not float (floating: {columns})"
            )
        i = columns.index(poi)
        entries = []
        for j, parameter in enumerate(columns):
            if parameter == poi:
                continue
            c_kk, p_kk, p_ik = float(cov[j, j]), float(slope[j, j]), float(slope[i, j])
            ok = all(math.isfinite(v) for v in (c_kk, p_kk, p_ik)) and c_kk > 0 and p_kk > 0
            up = p_ik / p_kk * math.sqrt(c_kk) if ok else math.nan
            entries.append({"parameter": parameter, "up": up, "down": -up, "valid": ok})
        result["pois"][poi] = {"best_fit": best[poi], "impacts": rank_impacts(entries)}
    return result


# --------------------------------------------------------------------------------------------
# Pulls and the POI result
# --------------------------------------------------------------------------------------------
def pulls(
    covariance_record: Mapping[str, Any],
    constrained: Sequence[str],
    source: str = "covariance file",
) -> dict[str, dict[str, Any]]:
    """Post-fit value, σ and (for constrained nuisances) the pull of each floating parameter.

    A constrained nuisance's prior is a unit Gaussian around the truth (the constraint centre),
    so its pull is (θ̂ − θ_truth)/σ_prefit with σ_prefit = 1, and its post-fit σ in the same
    units is the pull's error bar: a bar shorter than 1 means the data constrain it beyond its
    prior. POIs and rates have no prior, hence no pull (``pull`` and ``pull_error`` None).

    Returns:
        ``{parameter: {value, truth, sigma, constrained, pull, pull_error}}`` in
        `matrix_columns` order.

    Raises:
        DataError: the record lacks best fit, truth row or uncertainties.
    """
    columns, _ = _matrix(covariance_record, source)
    best = _best_values(covariance_record, source)
    try:
        truth = dict(zip(covariance_record["columns"], covariance_record["row"], strict=True))
        sigma = {str(k): float(v) for k, v in covariance_record["uncertainty"].items()}
    except KeyError as err:
        raise DataError(f"{source}: no {err.args[0]!r}; is it a covariance file?") from None
    out: dict[str, dict[str, Any]] = {}
    for parameter in columns:
        if parameter not in sigma:
            raise DataError(f"{source}: uncertainty: no entry for '{parameter}'")
        is_constrained = parameter in constrained
        value, centre, error = best[parameter], float(truth[parameter]), sigma[parameter]
        out[parameter] = {
            "value": value,
            "truth": centre,
            "sigma": error,
            "constrained": is_constrained,
            "pull": (value - centre) / PREFIT_SIGMA if is_constrained else None,
            "pull_error": error / PREFIT_SIGMA if is_constrained else None,
        }
    return out


def poi_result(
    covariance_record: Mapping[str, Any], poi: str, source: str = "covariance file"
) -> tuple[float, float]:
    """(best fit, σ) of a POI from the covariance file, for the plot's header.

    Raises:
        DataError: the POI does not float in the covariance file.
    """
    best = _best_values(covariance_record, source)
    sigma = (covariance_record.get("uncertainty") or {}).get(poi)
    if poi not in best or sigma is None:
        raise DataError(f"{source}: uncertainty: no entry for POI '{poi}'")
    return best[poi], float(sigma)
