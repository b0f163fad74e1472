"""Likelihood scans: grids, one profiled point per job, collection into crossings, debug tables.

This replaces INNFER's ScanPointsFrom*, Scan, ScanCollect and LikelihoodDebug steps (spec
inference.md §4-§5). Everything here works on numbers and callables: a scan job receives a
``minimise_fn(start, fixed) -> result`` (for example `fit.minimise` with the likelihood bound in),
so this module never imports TensorFlow and its tests need no network.

What differs from INNFER, and why:

* The grid has exactly ``n_points`` points centred on the best fit; INNFER's float ``ceil`` could
  give one more or one fewer, which broke the fixed job count of the workflow.
* A scan point records which parameters were profiled and their values by name; INNFER listed
  every other column but only the free values, so the two lists could be misaligned.
* Failed or non-finite points are dropped and counted instead of being carried as NaN.
* Crossings come from a cubic spline through the points on each side of the minimum, solved for
  −2ΔlnL = 1 and 4, and the minimum itself is interpolated. INNFER sorted each side by y and
  interpolated linearly, which is biased for curved profiles and wrong for non-monotone ones,
  and it took the best grid point as the central value (off by up to half a grid step).
* A crossing outside the scanned range is left out and listed under ``open``, so a too-narrow
  grid is visible rather than silently giving a one-sided interval.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from scipy.interpolate import CubicSpline, RectBivariateSpline

#: Δ(−2 ln L) of the ±kσ crossings for one parameter (Wilks, one degree of freedom).
SIGMA_LEVELS: dict[int, float] = {1: 1.0, 2: 4.0}


def _two_dof_level(n_sigma: int) -> float:
    """Δ(−2 ln L) enclosing the same probability as ±n σ of a Gaussian, for two parameters.

    For two degrees of freedom the χ² CDF is 1 − exp(−q/2), so q = −2 ln(1 − p) with
    p = erf(n/√2): 2.30 for 68.3 % and 6.18 for 95.4 %.
    """
    return -2.0 * math.log1p(-math.erf(n_sigma / math.sqrt(2.0)))


#: Δ(−2 ln L) of the 68.3 % (key 1) and 95.4 % (key 2) contours of two parameters.
CONTOUR_LEVELS_2D: dict[int, float] = {1: _two_dof_level(1), 2: _two_dof_level(2)}

#: Signature of the minimiser a scan job is given: (start, fixed) -> `fit.minimise`-like dict
#: with ``columns``, ``best_fit``, ``best_fit_nll`` (= 2·min(−ln L)), ``valid`` and ``status``.
MinimiseFn = Callable[[Mapping[str, float], Mapping[str, float]], Mapping[str, Any]]


# --------------------------------------------------------------------------------------------
# Scan points
# --------------------------------------------------------------------------------------------
def _bounds(limits: tuple[float | None, float | None] | None) -> tuple[float, float]:
    """(low, high) with None read as an open side, so comparisons need no special cases."""
    if limits is None:
        return -math.inf, math.inf
    lo, hi = limits
    return (-math.inf if lo is None else float(lo)), (math.inf if hi is None else float(hi))


def _check_grid(n_points: int, sigma: float, name: str) -> None:
    """Reject grids that cannot be centred on the best fit or have no width."""
    if n_points < 1 or n_points % 2 == 0:
        raise ValueError(
            f"n_points must be odd and positive, so the best fit is a grid point: {n_points}"
        )
    if not (math.isfinite(sigma) and sigma > 0):
        raise ValueError(f"{name} must be finite and positive: {sigma}")


def scan_points_from_sigma(
    best: float,
    sigma: float,
    n_points: int = 41,
    sigma_step: float = 0.2,
    limits: tuple[float | None, float | None] | None = None,
) -> list[float]:
    """Scan values b̂ + k·s·σ for k = −(N−1)/2 … (N−1)/2 (INNFER's ScanPointsFromHessian grid).

    The integer k is used directly, so there are exactly ``n_points`` values with the best fit
    in the middle; INNFER built the grid with ``ceil`` of a float ratio and could get one value
    more or fewer, which the workflow's static job count cannot absorb.

    Values outside ``limits`` (the physical range, e.g. μ ≥ 0) are **dropped**, so fewer than
    ``n_points`` values can come back: the likelihood is undefined there, and a point moved to
    the edge would duplicate another. The Scan jobs with an index beyond the returned list
    should write `skipped_scan_point` records, which `collect_scan` counts but does not use.

    Args:
        best: Best-fit value of the scanned parameter.
        sigma: Its uncertainty (from the Hessian or an approximate scan); sets the step.
        n_points: Number of values before clipping; must be odd.
        sigma_step: Step between neighbouring values in units of ``sigma`` (INNFER's
            ``--sigma-between-scan-points``); the default covers ±4σ with 41 points.
        limits: (low, high) of the physical range, inclusive; None for an open side.

    Returns:
        Ascending scan values inside the limits.

    Raises:
        ValueError: ``n_points`` is even or not positive, ``best`` is not finite, or ``sigma``
            or ``sigma_step`` is not finite and positive.
    """
    _check_grid(n_points, sigma, "sigma")
    if not math.isfinite(best):
        raise ValueError(f"best fit must be finite: {best}")
    if not (math.isfinite(sigma_step) and sigma_step > 0):
        raise ValueError(f"sigma_step must be finite and positive: {sigma_step}")
    half = (n_points - 1) // 2
    step = sigma_step * sigma
    lo, hi = _bounds(limits)
    values = (float(best + k * step) for k in range(-half, half + 1))
    return [v for v in values if lo <= v <= hi]


def _axis(best: float, sigma: float, n_points: int, n_sigma: float, name: str) -> np.ndarray:
    """One axis of a 2-D grid: ``n_points`` values over best ± n_sigma·sigma, best included."""
    _check_grid(n_points, sigma, f"sigma_{name}")
    if not math.isfinite(best):
        raise ValueError(f"best_{name} must be finite: {best}")
    half = (n_points - 1) // 2
    if half == 0:
        return np.array([float(best)])
    return best + np.arange(-half, half + 1) * (n_sigma * sigma / half)


def scan_points_2d(
    best_a: float,
    sigma_a: float,
    best_b: float,
    sigma_b: float,
    n_points: int = 21,
    n_sigma: float = 3.0,
    limits_a: tuple[float | None, float | None] | None = None,
    limits_b: tuple[float | None, float | None] | None = None,
) -> list[tuple[float, float]]:
    """A regular ``n_points`` × ``n_points`` grid over b̂ ± n_sigma·σ for two parameters.

    ±3σ per axis contains the 95.4 % contour (Δ = 6.18, i.e. ±2.49σ along an axis) of a
    Gaussian likelihood with room to spare; an odd count puts the best fit on a node. An axis
    that crosses a limit is spread over its allowed part instead (`_clipped_axis`).

    Args:
        best_a: Best fit of the first parameter.
        sigma_a: Its uncertainty.
        best_b: Best fit of the second parameter.
        sigma_b: Its uncertainty.
        n_points: Values per axis; must be odd.
        n_sigma: Half-width of each axis in units of its σ.
        limits_a: Physical range of the first parameter; None for open.
        limits_b: Physical range of the second parameter; None for open.

    Returns:
        (a, b) pairs, a varying slowest.

    Raises:
        ValueError: ``n_points`` is even, a best fit is not finite, or a σ or ``n_sigma`` is not
            finite and positive.
    """
    if not (math.isfinite(n_sigma) and n_sigma > 0):
        raise ValueError(f"n_sigma must be finite and positive: {n_sigma}")
    a_values = _clipped_axis(_axis(best_a, sigma_a, n_points, n_sigma, "a"), limits_a)
    b_values = _clipped_axis(_axis(best_b, sigma_b, n_points, n_sigma, "b"), limits_b)
    return [(float(a), float(b)) for a in a_values for b in b_values]


def _clipped_axis(values: np.ndarray, limits: tuple[float | None, float | None] | None):
    """The axis, or as many values spread evenly over its part inside the limits.

    Dropping the nodes beyond a limit (as the 1-D scan does) can leave a 2-D axis with one
    value when a best fit sits at a limit with a wide σ, and no contour can be drawn; the
    allowed part of the window at full resolution is what the contour needs.
    """
    lo, hi = _bounds(limits)
    if values.size < 2 or (values[0] >= lo and values[-1] <= hi):
        return values
    start, stop = max(values[0], lo), min(values[-1], hi)
    if not start < stop:
        raise ValueError(
            f"scan window [{values[0]}, {values[-1]}] lies outside the limits {limits}"
        )
    return np.linspace(start, stop, values.size)


# --------------------------------------------------------------------------------------------
# One scan job
# --------------------------------------------------------------------------------------------
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
        minimise_fn: ``(start, fixed) -> result``, e.g. ``lambda s, f: fit.minimise(vg, cols, s,
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


# --------------------------------------------------------------------------------------------
# Smooth profile through the scan points
# --------------------------------------------------------------------------------------------
class ProfileCurve:
    """Two cubic splines through the scan points, one per side of the lowest point.

    A profile likelihood is smooth on each side of its minimum but need not be symmetric, and
    a test case or a parameter at a physical boundary can even have a kink there; one spline
    through all points would ring around such a kink, while two meeting at the lowest point do
    not. Each spline uses scipy's not-a-knot ends, so it reproduces a quadratic exactly.
    """

    def __init__(self, values: Sequence[float], nlls: Sequence[float]):
        """Build the splines.

        Args:
            values: Scan values, strictly ascending.
            nlls: −2 ln L (any offset) at those values, all finite.

        Raises:
            ValueError: Fewer than one point, lengths differ, values not strictly ascending or
                not finite.
        """
        x = np.asarray(values, dtype=float)
        y = np.asarray(nlls, dtype=float)
        if x.shape != y.shape or x.ndim != 1 or x.size == 0:
            raise ValueError(f"need matching 1-D values and nlls, got {x.shape} and {y.shape}")
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
            raise ValueError("scan values and nlls must be finite")
        if np.any(np.diff(x) <= 0):
            raise ValueError("scan values must be strictly ascending")
        self.x, self.y = x, y
        self.index = int(np.argmin(y))
        m = self.index
        self.left = CubicSpline(x[: m + 1], y[: m + 1]) if m >= 1 else None
        self.right = CubicSpline(x[m:], y[m:]) if x.size - m >= 2 else None

    def minimum(self) -> tuple[float, float]:
        """Position and value of the interpolated minimum.

        Only the two grid intervals next to the lowest point are searched: the minimum of the
        smooth curve lies there unless the splines oscillate, and a dip further out would be an
        interpolation artefact rather than a better fit.
        """
        m = self.index
        best = (float(self.x[m]), float(self.y[m]))
        pieces = []
        if self.left is not None:
            pieces.append((self.left, self.x[m - 1], self.x[m]))
        if self.right is not None:
            pieces.append((self.right, self.x[m], self.x[m + 1]))
        for spline, lo, hi in pieces:
            for root in np.atleast_1d(spline.derivative().solve(0.0, extrapolate=False)):
                if np.isfinite(root) and lo <= root <= hi:
                    value = float(spline(root))
                    if value < best[1]:
                        best = (float(root), value)
        return best

    def roots(self, level: float) -> np.ndarray:
        """Every x in the scanned range where the curve equals ``level``, ascending."""
        found = []
        for spline in (self.left, self.right):
            if spline is not None:
                r = np.atleast_1d(spline.solve(level, extrapolate=False))
                found.append(r[np.isfinite(r)])
        if not found:
            return np.empty(0)
        return np.unique(np.concatenate(found))

    def __call__(self, x: np.ndarray | float) -> np.ndarray:
        """The curve at ``x`` (inside the scanned range; each side uses its own spline)."""
        xs = np.asarray(x, dtype=float)
        out = np.full(xs.shape, float(self.y[self.index]))
        split = self.x[self.index]
        if self.left is not None:
            out = np.where(xs < split, self.left(xs), out)
        if self.right is not None:
            out = np.where(xs > split, self.right(xs), out)
        return out

    def sample(self, n_samples: int = 400) -> tuple[np.ndarray, np.ndarray]:
        """The curve on ``n_samples`` points over the scanned range plus the grid points."""
        xs = np.union1d(np.linspace(self.x[0], self.x[-1], n_samples), self.x)
        return xs, self(xs)


def profile_curve(
    scan_values: Sequence[float], nlls: Sequence[float], n_samples: int = 400
) -> tuple[np.ndarray, np.ndarray]:
    """The smooth curve `collect_scan` solves for crossings, sampled for drawing."""
    return ProfileCurve(scan_values, nlls).sample(n_samples)


# --------------------------------------------------------------------------------------------
# ScanCollect
# --------------------------------------------------------------------------------------------
def _usable(value: Any, nll: Any, valid: Any) -> bool:
    """A point is used only if its fit is valid and both numbers are finite."""
    try:
        return bool(valid) and math.isfinite(float(value)) and math.isfinite(float(nll))
    except (TypeError, ValueError):
        return False


def _innermost(
    roots: np.ndarray, centre: float, side: int, scale: float
) -> tuple[float | None, int]:
    """The crossing nearest the minimum on one side, and how many distinct crossings that side has.

    More than one crossing on a side means the profile dips back below the level further out
    (a second minimum); the interval edge is still the innermost one.
    """
    r = roots[roots < centre] if side < 0 else roots[roots > centre]
    if r.size == 0:
        return None, 0
    distinct = 1 + int(np.sum(np.diff(np.sort(r)) > 1e-9 * scale))
    return float(r.max() if side < 0 else r.min()), distinct


def collect_scan(
    point_records: Sequence[Mapping[str, Any]],
    best_fit_nll: float | None = None,
    row: Sequence[float] | None = None,
) -> dict[str, Any]:
    """ScanCollect: −2ΔlnL per point and the ±1σ, ±2σ crossings from a smooth fit.

    Points are sorted by value; failed fits and non-finite values are dropped and counted
    (``n_failed``), skipped jobs counted separately (``n_skipped``); of two points at the same
    value the lower −2 ln L is kept (a minimiser can only overestimate the profile). The
    profile is re-zeroed on the lowest of the points and the best fit, or, without a best fit,
    of the points and the interpolated minimum (so an off-grid minimum does not pull the
    crossings inwards); a best fit that missed the minimum shows as a positive
    ``best_fit_delta``.

    Crossings are found on the `ProfileCurve` (a cubic spline per side) where −2ΔlnL = 1 and 4,
    taking the crossing nearest the minimum on each side. Crossing 0 is the interpolated
    minimum, not the best grid point. A crossing the scanned range does not reach is omitted
    and its key listed in ``open``; a side that crosses a level more than once is listed in
    ``non_monotone``.

    Args:
        point_records: `profiled_scan_point` / `skipped_scan_point` records of one parameter.
        best_fit_nll: −2 ln L of the global best fit (InitialFit), on the points' scale.
        row: Truth values in ``columns`` order; defaults to the records' ``row``.

    Returns:
        INNFER's crossings schema ``{columns, row, varied_column, crossings: {-2, -1, 0, 1, 2}
        (absolute values, missing keys allowed)}`` plus ``scan_values``, ``nlls`` (−2ΔlnL),
        ``open``, ``non_monotone``, ``minimum_at_edge``, ``reference_nll``, ``best_fit_delta``,
        ``n_points``, ``n_used``, ``n_failed`` and ``n_skipped``.

    Raises:
        ValueError: No records, or records of different parameters.
    """
    records = list(point_records)
    if not records:
        raise ValueError("no scan points to collect")
    varied = {r["varied_column"] for r in records}
    if len(varied) != 1:
        raise ValueError(f"scan points of different parameters: {sorted(varied)}")
    column = varied.pop()
    columns = [str(c) for c in records[0].get("columns", [column])]
    if row is None:
        row = next((r["row"] for r in records if r.get("row") is not None), None)

    best_at: dict[float, float] = {}
    n_failed = n_skipped = 0
    for r in records:
        if r.get("scan_value") is None:
            n_skipped += 1
            continue
        if not _usable(r["scan_value"], r.get("nll"), r.get("valid", True)):
            n_failed += 1
            continue
        value, nll = float(r["scan_value"]), float(r["nll"])
        best_at[value] = min(nll, best_at.get(value, math.inf))

    result: dict[str, Any] = {
        "columns": columns,
        "row": None if row is None else [float(v) for v in row],
        "varied_column": column,
        "crossings": {},
        "scan_values": [],
        "nlls": [],
        "open": [-2, -1, 0, 1, 2],
        "non_monotone": [],
        "minimum_at_edge": False,
        "reference_nll": None,
        "best_fit_delta": None,
        "n_points": len(records),
        "n_used": len(best_at),
        "n_failed": n_failed,
        "n_skipped": n_skipped,
    }
    if not best_at:
        return result

    x = np.array(sorted(best_at))
    y = np.array([best_at[v] for v in x])
    curve = ProfileCurve(x, y)
    x0, y0 = curve.minimum()
    have_best = best_fit_nll is not None and math.isfinite(best_fit_nll)
    # A fitted minimum is an evaluation of the likelihood, the spline's minimum only an
    # interpolation (it undershoots next to a kink), so the latter is used only without a fit.
    reference = min(float(y.min()), float(best_fit_nll) if have_best else y0)

    crossings: dict[int, float] = {0: x0}
    open_keys: list[int] = []
    non_monotone: list[int] = []
    scale = float(x[-1] - x[0]) or 1.0
    for k, level in SIGMA_LEVELS.items():
        roots = curve.roots(reference + level)
        for side in (-1, 1):
            crossing, distinct = _innermost(roots, x0, side, scale)
            if crossing is None:
                open_keys.append(side * k)
            else:
                crossings[side * k] = crossing
            if distinct > 1:
                non_monotone.append(side * k)

    result.update(
        crossings={k: float(crossings[k]) for k in sorted(crossings)},
        scan_values=[float(v) for v in x],
        nlls=[float(v - reference) for v in y],
        open=sorted(open_keys),
        non_monotone=sorted(non_monotone),
        minimum_at_edge=curve.index in (0, len(x) - 1),
        reference_nll=float(reference),
        best_fit_delta=float(best_fit_nll - reference) if have_best else None,
    )
    return result


def interval(collected: Mapping[str, Any], n_sigma: int = 1) -> tuple[float | None, float | None]:
    """(down, up) distances of the ±n σ crossings from crossing 0; None for an open side."""
    crossings = {int(k): v for k, v in collected["crossings"].items()}
    if 0 not in crossings:
        return None, None
    centre = crossings[0]
    down = centre - crossings[-n_sigma] if -n_sigma in crossings else None
    up = crossings[n_sigma] - centre if n_sigma in crossings else None
    return down, up


# --------------------------------------------------------------------------------------------
# 2-D scans
# --------------------------------------------------------------------------------------------
def collect_scan_2d(
    records: Sequence[Mapping[str, Any]],
    best_fit_nll: float | None = None,
    row: Sequence[float] | None = None,
    refine: int = 16,
) -> dict[str, Any]:
    """Collect a 2-D scan into a grid of −2ΔlnL for drawing 68.3 % / 95.4 % contours.

    The axes are the distinct scan values of all non-skipped points; a failed or missing point
    is NaN, so holes stay visible. ``minimum`` is the lowest point of a bicubic spline through a
    complete grid evaluated ``refine`` times finer (`smooth_grid_2d`), else the lowest node.
    The grid is re-zeroed as in `collect_scan`: on the lowest of the points and the best fit,
    or, without a best fit, on that interpolated minimum.

    Args:
        records: `profiled_scan_point_2d` / skipped records of one parameter pair.
        best_fit_nll: −2 ln L of the global best fit.
        row: Truth values in ``columns`` order; defaults to the records' ``row``.
        refine: Refinement factor of the smooth grid used for the minimum.

    Returns:
        ``{columns, row, varied_columns, a_values, b_values, nlls (−2ΔlnL, [i_a][i_b], NaN for
        missing), levels: {1: 2.30, 2: 6.18}, minimum: {a, b, nll}, reference_nll, n_points,
        n_failed, n_skipped}``.

    Raises:
        ValueError: No records, records of different parameter pairs, or no usable point.
    """
    records = list(records)
    if not records:
        raise ValueError("no scan points to collect")
    pairs = {tuple(r["varied_columns"]) for r in records}
    if len(pairs) != 1:
        raise ValueError(f"scan points of different parameter pairs: {sorted(pairs)}")
    a_name, b_name = pairs.pop()
    columns = [str(c) for c in records[0].get("columns", [a_name, b_name])]
    if row is None:
        row = next((r["row"] for r in records if r.get("row") is not None), None)

    placed = [r for r in records if r.get("scan_values") is not None]
    n_skipped = len(records) - len(placed)
    a_values = np.unique([float(r["scan_values"][0]) for r in placed])
    b_values = np.unique([float(r["scan_values"][1]) for r in placed])
    grid = np.full((a_values.size, b_values.size), np.nan)
    n_failed = 0
    for r in placed:
        va, vb = (float(v) for v in r["scan_values"])
        if not (_usable(va, r.get("nll"), r.get("valid", True)) and math.isfinite(vb)):
            n_failed += 1
            continue
        i, j = np.searchsorted(a_values, va), np.searchsorted(b_values, vb)
        grid[i, j] = min(float(r["nll"]), np.nan_to_num(grid[i, j], nan=math.inf))
    if not np.any(np.isfinite(grid)):
        raise ValueError(f"no usable point in the 2-D scan of {a_name}, {b_name}")

    i, j = np.unravel_index(np.nanargmin(grid), grid.shape)
    minimum = {"a": float(a_values[i]), "b": float(b_values[j]), "nll": float(grid[i, j])}
    fine = smooth_grid_2d(a_values, b_values, grid, refine)
    if fine is not None:
        fa, fb, fz = fine
        fi, fj = np.unravel_index(np.argmin(fz), fz.shape)
        if fz[fi, fj] < minimum["nll"]:
            minimum = {"a": float(fa[fi]), "b": float(fb[fj]), "nll": float(fz[fi, fj])}
    lowest_point = float(np.nanmin(grid))
    if best_fit_nll is not None and math.isfinite(best_fit_nll):
        reference = min(lowest_point, float(best_fit_nll))
    else:
        reference = minimum["nll"]
    minimum["nll"] -= reference
    return {
        "columns": columns,
        "row": None if row is None else [float(v) for v in row],
        "varied_columns": [a_name, b_name],
        "a_values": [float(v) for v in a_values],
        "b_values": [float(v) for v in b_values],
        "nlls": (grid - reference).tolist(),
        "levels": dict(CONTOUR_LEVELS_2D),
        "minimum": minimum,
        "reference_nll": float(reference),
        "n_points": len(records),
        "n_failed": n_failed,
        "n_skipped": n_skipped,
    }


def smooth_grid_2d(
    a_values: Sequence[float], b_values: Sequence[float], nlls: Any, refine: int = 16
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """A bicubic interpolating spline of a complete grid, evaluated ``refine`` times finer.

    Linear contouring of a coarse grid cuts the corners of an ellipse; the spline (exact for a
    quadratic) gives contours accurate to well below the grid step. Returns None when the grid
    has holes or fewer than four values per axis, and the caller should contour the raw grid.
    """
    a = np.asarray(a_values, dtype=float)
    b = np.asarray(b_values, dtype=float)
    z = np.asarray(nlls, dtype=float)
    if a.size < 4 or b.size < 4 or not np.all(np.isfinite(z)):
        return None
    spline = RectBivariateSpline(a, b, z, kx=3, ky=3, s=0)
    fa = np.linspace(a[0], a[-1], (a.size - 1) * int(refine) + 1)
    fb = np.linspace(b[0], b[-1], (b.size - 1) * int(refine) + 1)
    return fa, fb, spline(fa, fb)


# --------------------------------------------------------------------------------------------
# LikelihoodDebug
# --------------------------------------------------------------------------------------------
def likelihood_debug(
    nll_fn: Callable[[Mapping[str, float]], Any],
    points: Sequence[Mapping[str, float]],
    defaults: Mapping[str, float] | None = None,
    columns: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """The likelihood (and its gradient, if returned) at each hypothesis, as table rows.

    INNFER's LikelihoodDebug only printed; a table can be written by the rule and compared
    between versions. A point that raises is recorded with its error instead of stopping the
    table, because finding the points where the likelihood breaks is what the step is for.

    Args:
        nll_fn: ``point -> value`` or ``point -> (value, gradient)``; the gradient may be a
            mapping by name or a sequence in ``columns`` order.
        points: Hypotheses; parameters they leave out take ``defaults``.
        defaults: Values of the parameters a point does not set (INNFER: the model defaults).
        columns: Names of the gradient entries when it is a sequence; defaults to the point's
            parameter order.

    Returns:
        One row per point: the parameter values, ``nll``, ``delta_nll`` (to the lowest finite
        value of the table), ``finite``, ``error`` and ``grad_<param>`` entries when a gradient
        was returned.
    """
    rows: list[dict[str, Any]] = []
    for point in points:
        full = {**{k: float(v) for k, v in (defaults or {}).items()}}
        full.update({k: float(v) for k, v in point.items()})
        row: dict[str, Any] = dict(full)
        value, gradient, error = None, None, None
        try:
            out = nll_fn(dict(full))
            if isinstance(out, tuple):
                value, gradient = out
            else:
                value = out
            value = float(np.asarray(value).reshape(()))
        except Exception as exc:  # the table records a broken point and goes on
            error = f"{type(exc).__name__}: {exc}"
            value, gradient = None, None
        row["nll"] = value
        row["finite"] = value is not None and math.isfinite(value)
        row["error"] = error
        if gradient is not None:
            if isinstance(gradient, Mapping):
                named = {str(k): float(v) for k, v in gradient.items()}
            else:
                g = np.asarray(gradient, dtype=float).reshape(-1)
                names = list(columns) if columns is not None else list(full)
                if len(names) != g.size:
                    names = [str(n) for n in range(g.size)]
                named = dict(zip(names, (float(v) for v in g), strict=True))
            row.update({f"grad_{k}": v for k, v in named.items()})
        rows.append(row)
    finite = [r["nll"] for r in rows if r["finite"]]
    lowest = min(finite) if finite else None
    for r in rows:
        r["delta_nll"] = r["nll"] - lowest if r["finite"] and lowest is not None else None
    return rows
