"""Scan grids: the parameter values a 1-D or 2-D likelihood scan is evaluated at.

Replaces INNFER's ScanPointsFromHessian / ScanPointsFromApproximate. The grid has exactly
``n_points`` values centred on the best fit (INNFER's float ``ceil`` could give one more or one
fewer, which broke the fixed job count of the workflow), and values outside the physical range
are dropped (1-D) or the axis is spread over its allowed part (2-D).
"""

from __future__ import annotations

import math

import numpy as np


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


def scan_points_in_range(
    low: float,
    high: float,
    n_points: int,
    limits: tuple[float | None, float | None] | None = None,
) -> list[float]:
    """``n_points`` values evenly over [low, high], the same for every fit (a fixed range).

    Comparing two densities' likelihood curves at fixed values (e.g. ΔNLL at ν = ±1) needs the
    same grid in both, which steps of each fit's own σ do not give. Values outside ``limits``
    are dropped, as in `scan_points_from_sigma`.

    Raises:
        ValueError: ``n_points`` is not positive, or the range is not finite with low < high.
    """
    if n_points < 1:
        raise ValueError(f"n_points must be positive: {n_points}")
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ValueError(f"scan range must be finite with low < high: [{low}, {high}]")
    lo, hi = _bounds(limits)
    return [float(v) for v in np.linspace(low, high, n_points) if lo <= v <= hi]


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


def scan_points_given(
    values: list[float], limits: tuple[float | None, float | None] | None = None
) -> list[float]:
    """The analyst's values (`scan_points: {from: input}`) inside the physical range.

    Values outside ``limits`` are dropped, as in `scan_points_from_sigma`: the density was not
    trained there. The scan jobs beyond the returned list write skipped records.
    """
    lo, hi = _bounds(limits)
    return [float(v) for v in values if lo <= v <= hi]
