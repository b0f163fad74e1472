"""Ensemble summary: how far the best fits of K equally good flows scatter, against σ_stat.

Every member of a density ensemble (`density.ensemble`) is the same architecture trained
with another seed; fitting the same events with each gives K best fits whose scatter is an
uncertainty of the learned density itself, which the statistical σ of one fit cannot show.
This module reduces the members' best fits at each validation point to their mean and
standard deviation (the spread) and divides the spread by σ_stat of the main fit (member 0's
result, the one the closure summary shows).

Criterion: a parameter is flagged `flow_limited` at a point when spread/σ_stat ≥ 1/3. Added
in quadrature, a spread of σ_stat/3 makes the total error √(1 + 1/9) ≈ 1.054 σ_stat, a
5 % increase, about what is still worth quoting; below it the data limit the result. A much
lower line would flag noise: the spread of K members is itself uncertain by about
1/√(2(K − 1)) (50 % for K = 3), which the record states beside it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from innfer_lib.core.errors import DataError
from innfer_lib.core.paths import INPUT_KEY_SEPARATOR
from innfer_lib.inference.validity import best_fit_reasons

#: spread/σ_stat at and above which the flow, not the data, limits a result (module docstring).
FLOW_LIMITED_RATIO = 1.0 / 3.0


def member_input(val: int, member: int) -> str:
    """Name of the ensemble summary's input holding member `member`'s best fit at `val`.

    The rule builds its named inputs and the script reads them with these two functions, so
    the convention cannot drift between the two sides (like `paths.input_key`).
    """
    return INPUT_KEY_SEPARATOR.join(["member", str(val), str(member)])


def result_input(val: int) -> str:
    """Name of the ensemble summary's input holding the main fit's result (σ_stat) at `val`."""
    return INPUT_KEY_SEPARATOR.join(["result", str(val)])


def spread_statistics(values: Sequence[float]) -> dict[str, float]:
    """Mean, spread (sample standard deviation) and range of the members' best fits.

    The spread uses K − 1 (ddof=1): K is small (a few flows), and the population formula
    would understate the scatter by √((K − 1)/K), 18 % at K = 3. `spread_rel_uncertainty` is
    the standard error of a Gaussian sample's standard deviation relative to it,
    1/√(2(K − 1)), so a reader sees how far to trust a spread from few members.

    Returns:
        `n`, `mean`, `spread`, `spread_rel_uncertainty`, `min`, `max`; NaN spread (and its
        uncertainty) with fewer than two values, NaN everything with none.
    """
    x = np.asarray(values, np.float64)
    n = int(x.size)
    if n == 0:
        nan = math.nan
        return {
            "n": 0,
            "mean": nan,
            "spread": nan,
            "spread_rel_uncertainty": nan,
            "min": nan,
            "max": nan,
        }
    spread = float(np.std(x, ddof=1)) if n > 1 else math.nan
    return {
        "n": n,
        "mean": float(np.mean(x)),
        "spread": spread,
        "spread_rel_uncertainty": 1.0 / math.sqrt(2.0 * (n - 1)) if n > 1 else math.nan,
        "min": float(np.min(x)),
        "max": float(np.max(x)),
    }


def spread_ratio(spread: float, sigma_stat: float) -> float:
    """spread/σ_stat; NaN without a positive, finite σ_stat (a failed or frozen interval)."""
    if not (math.isfinite(sigma_stat) and sigma_stat > 0.0):
        return math.nan
    return float(spread / sigma_stat)


def flow_limited(ratio: float, threshold: float = FLOW_LIMITED_RATIO) -> bool:
    """Whether the members scatter by at least `threshold` σ_stat (False for a NaN ratio)."""
    return bool(math.isfinite(ratio) and ratio >= threshold)


def _member_values(record: Mapping[str, Any]) -> dict[str, float]:
    return dict(zip(record["columns"], (float(v) for v in record["best_fit"]), strict=True))


def ensemble_point(
    members: Sequence[Mapping[str, Any]], main_result: Mapping[str, Any]
) -> dict[str, Any]:
    """One validation point: per floating parameter, the members' best fits against σ_stat.

    Args:
        members: the initial_fit records of members 0..K−1, in member order (member 0 is
            the main flow's best fit).
        main_result: the main fit's `results.intervals.fit_result` record, whose σ is
            σ_stat and whose parameters are the ones shown.

    A member whose fit is not valid (failed minimisation, parameter at a limit) is listed in
    `invalid_members` and left out of the statistics, as the closure χ² leaves out invalid
    fits: its best fit is where the minimiser stopped, not a property of the flow. Its value
    is still recorded in `members`.

    Raises:
        DataError: a member's record lacks a parameter of the main result.
    """
    values = [_member_values(m) for m in members]
    invalid = [k for k, m in enumerate(members) if best_fit_reasons(m)]
    params: dict[str, Any] = {}
    for name, entry in main_result["parameters"].items():
        for k, v in enumerate(values):
            if name not in v:
                raise DataError(f"ensemble member {k}: no best fit of {name!r} (has {sorted(v)})")
        stats = spread_statistics([v[name] for k, v in enumerate(values) if k not in invalid])
        sigma = float(entry["sigma"])
        ratio = spread_ratio(stats["spread"], sigma)
        params[name] = {
            "truth": float(entry["truth"]),
            "members": [v[name] for v in values],
            **stats,
            "sigma_stat": sigma,
            "ratio": ratio,
            "flow_limited": flow_limited(ratio),
        }
    return {
        "truth": dict(main_result["truth"]),
        # `nominal` for observed data, whose "truth" is only the defaults (results.intervals).
        "reference": str(main_result.get("reference", "truth")),
        "main_fit_valid": bool(main_result["fit_valid"]),
        "invalid_members": invalid,
        "parameters": params,
    }


def ensemble_summary(
    fit: str,
    vals: Sequence[int],
    members: Mapping[int, Sequence[Mapping[str, Any]]],
    main_results: Mapping[int, Mapping[str, Any]],
) -> dict[str, Any]:
    """The ensemble summary of one fit set over its validation points.

    Args:
        fit: the fit set's name.
        vals: its validation points, in the order shown.
        members: per point, the members' initial_fit records (member order).
        main_results: per point, the main learned fit's result (σ_stat).

    Returns:
        The record `ensemble_plot` draws and the YAML holds: `points` (per point as
        `ensemble_point`, with `val`), and per parameter `worst_ratio` and
        `flow_limited_points` (the points at or above the criterion), so the verdict is
        readable without the plot.

    Raises:
        DataError: no points, or points with different numbers of members.
    """
    if not vals:
        raise DataError(f"ensemble summary of {fit!r}: no validation points")
    sizes = {len(members[v]) for v in vals}
    if len(sizes) != 1:
        raise DataError(f"ensemble summary of {fit!r}: member counts differ between points")
    points = [{"val": int(v), **ensemble_point(members[v], main_results[v])} for v in vals]
    names = list(points[0]["parameters"])
    varied = [
        p for p in names if len({float(pt["parameters"][p]["truth"]) for pt in points}) > 1
    ]
    verdicts = {}
    for name in names:
        ratios = [pt["parameters"][name]["ratio"] for pt in points]
        finite = [r for r in ratios if math.isfinite(r)]
        verdicts[name] = {
            "worst_ratio": max(finite) if finite else math.nan,
            "median_ratio": float(np.median(finite)) if finite else math.nan,
            "flow_limited_points": [
                pt["val"] for pt in points if pt["parameters"][name]["flow_limited"]
            ],
        }
    return {
        "fit": fit,
        "members": sizes.pop(),
        "criterion": {
            "flow_limited_ratio": FLOW_LIMITED_RATIO,
            "meaning": "spread/sigma_stat >= flow_limited_ratio: the flow, not the data, "
            "limits the result",
        },
        "parameters": names,
        "varied": varied,
        "verdict": verdicts,
        "points": points,
    }
