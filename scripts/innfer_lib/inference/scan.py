"""Scan results: the profile curve through scan points, its crossings, and 2-D contour grids.

Replaces INNFER's ScanCollect (the points come from `scan_point`, on grids from `scan_grid`).
Works on numbers only, so plotting code can import it without TensorFlow. What differs from
INNFER, and why:

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
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
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


class ProfileCurve:
    """Two cubic splines through the scan points, one per side of the lowest point.

    A profile likelihood is smooth on each side of its minimum but need not be symmetric, and
    a test case or a parameter at a physical boundary can even have a kink there; one spline
    through all points would ring around such a kink, while two meeting at the lowest point do
    not. Each spline uses scipy's not-a-knot ends, so it reproduces a quadratic exactly.
    """

    def __init__(self, values: ArrayLike, nlls: ArrayLike):
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
    scan_values: ArrayLike, nlls: ArrayLike, n_samples: int = 400
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
    y0 = curve.minimum()[1]
    fitted = best_fit_nll if best_fit_nll is not None and math.isfinite(best_fit_nll) else None
    # A fitted minimum is an evaluation of the likelihood, the spline's minimum only an
    # interpolation (it undershoots next to a kink), so the latter is used only without a fit.
    reference = min(float(y.min()), float(fitted) if fitted is not None else y0)
    result.update(_curve_crossings(curve, reference))
    result["best_fit_delta"] = float(fitted - reference) if fitted is not None else None
    return result


def _curve_crossings(curve: ProfileCurve, reference: float) -> dict[str, Any]:
    """Crossings of ``reference`` + 1 and + 4 on the curve, and the points re-zeroed on it.

    The part of `collect_scan` that `rezero_scan` repeats with another reference.
    """
    x, y = curve.x, curve.y
    x0 = curve.minimum()[0]
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
    return {
        "crossings": {k: float(crossings[k]) for k in sorted(crossings)},
        "scan_values": [float(v) for v in x],
        "nlls": [float(v - reference) for v in y],
        "open": sorted(open_keys),
        "non_monotone": sorted(non_monotone),
        "minimum_at_edge": curve.index in (0, len(x) - 1),
        "reference_nll": float(reference),
    }


def rezero_scan(collected: Mapping[str, Any]) -> dict[str, Any]:
    """The scan re-zeroed on the minimum of its smooth curve (INNFER's --rezero-scan).

    `collect_scan` zeroes −2ΔlnL on the global best fit when there is one. When that fit
    stopped short of the true minimum (a tolerance too loose, a second minimum the scan found),
    every point sits above zero and the crossings of 1 and 4 are too close to the minimum.
    Re-zeroing takes the lowest value of the `ProfileCurve` through the points as zero and
    solves for the crossings again; INNFER did this on a cubic spline sampled at 1000 points
    with linear interpolation, here the spline itself is solved. ``rezero_shift`` is what was
    subtracted (≥ 0 when the best fit was above the curve's minimum; negative when the curve
    was already below zero, as an interpolation next to a kink can be).

    Args:
        collected: `collect_scan` output.

    Returns:
        A copy with ``crossings``, ``nlls``, ``open``, ``non_monotone`` and
        ``reference_nll`` recomputed, plus ``rezero_shift``; unchanged (shift 0) without
        usable points.
    """
    out = dict(collected)
    if not collected.get("scan_values"):
        out["rezero_shift"] = 0.0
        return out
    curve = ProfileCurve(collected["scan_values"], collected["nlls"])
    shift = curve.minimum()[1]
    out.update(_curve_crossings(curve, shift))
    if collected.get("reference_nll") is not None:
        out["reference_nll"] = float(collected["reference_nll"]) + shift
    if collected.get("best_fit_delta") is not None:
        out["best_fit_delta"] = float(collected["best_fit_delta"]) - shift
    out["rezero_shift"] = float(shift)
    return out


def interval(collected: Mapping[str, Any], n_sigma: int = 1) -> tuple[float | None, float | None]:
    """(down, up) distances of the ±n σ crossings from crossing 0; None for an open side."""
    crossings = {int(k): v for k, v in collected["crossings"].items()}
    if 0 not in crossings:
        return None, None
    centre = crossings[0]
    down = centre - crossings[-n_sigma] if -n_sigma in crossings else None
    up = crossings[n_sigma] - centre if n_sigma in crossings else None
    return down, up


def breakdown(
    total: Mapping[str, Any], stat: Mapping[str, Any], n_sigma: int = 1
) -> dict[str, Any]:
    """Stat. and syst. parts of a scan's interval (INNFER's --scan-plot-breakdown).

    ``total`` floats every parameter, ``stat`` holds the nuisances fixed (a fit set with
    `freeze: all-nuisances`); per side syst = √(tot² − stat²), the part the nuisances add in
    quadrature. A stat. interval wider than the total (scan noise, or a stat. fit that was
    not the same problem) gives syst 0 and is flagged in ``stat_exceeds_total`` rather than
    an imaginary number; an open side gives None.

    Returns:
        ``{"total": {"down", "up"}, "stat": {...}, "syst": {...}, "stat_exceeds_total":
        [sides]}`` with distances from each scan's own crossing 0.
    """
    tot_down, tot_up = interval(total, n_sigma)
    stat_down, stat_up = interval(stat, n_sigma)
    syst: dict[str, float | None] = {}
    exceeds: list[str] = []
    for side, t, s in (("down", tot_down, stat_down), ("up", tot_up, stat_up)):
        if t is None or s is None:
            syst[side] = None
            continue
        if s > t:
            exceeds.append(side)
        syst[side] = math.sqrt(max(t * t - s * s, 0.0))
    return {
        "total": {"down": tot_down, "up": tot_up},
        "stat": {"down": stat_down, "up": stat_up},
        "syst": syst,
        "stat_exceeds_total": exceeds,
    }


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
    a_values: ArrayLike, b_values: ArrayLike, nlls: ArrayLike, refine: int = 16
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
