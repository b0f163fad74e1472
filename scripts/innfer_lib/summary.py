"""Closure summaries: best fit against truth at every validation point, per density source."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from innfer_lib.config import Analysis


def _ratio(a: float, b: float) -> float:
    """a/b, NaN when b is zero (a parameter the fit has no information on)."""
    return float(a / b) if b else float("nan")


def collect(
    analysis: Analysis,
    vals: Sequence[int],
    densities: Sequence[str],
    covariances: Mapping[tuple[str, int], Mapping[str, Any]],
    best_fits: Mapping[tuple[str, int], Mapping[str, Any]],
) -> dict[str, Any]:
    """Gather best fits, σ and pulls, and the χ² of best fit vs truth.

    The χ² is taken against the truth of each point (INNFER compared against 1.0 by mistake),
    and σ_learned/σ_true tells whether the learned density is as sharp as the real one.
    """
    # Frozen parameters have no uncertainty: the summary covers the floating ones.
    first = next(iter(covariances.values()), {})
    params = [p for p in analysis.fit_parameters if p in first.get("uncertainty", {})]
    varied = [p for p in params if len({pt[p] for pt in analysis.validation_points}) > 1]
    points = []
    for val in vals:
        truth = {p: analysis.validation_points[val][p] for p in params}
        results: dict[str, dict[str, Any]] = {}
        for density in densities:
            cov, fit = covariances[(density, val)], best_fits[(density, val)]
            best = dict(zip(cov["columns"], cov["best_fit"], strict=True))
            results[density] = {
                p: {
                    "best_fit": float(best[p]),
                    "sigma": float(cov["uncertainty"][p]),
                    "pull": float((best[p] - truth[p]) / cov["uncertainty"][p])
                    if cov["uncertainty"][p] > 0
                    else float("nan"),
                    "interval_1sigma": [cov["crossings"][p][-1], cov["crossings"][p][1]],
                    "interval_2sigma": [cov["crossings"][p][-2], cov["crossings"][p][2]],
                    "fit_valid": bool(fit["valid"]),
                    "hessian_positive_definite": bool(cov["positive_definite"]),
                }
                for p in params
            }
        point = {"val": val, "truth": truth, "results": results}
        if "learned" in results and "truth" in results:
            point["sigma_ratio_learned_over_true"] = {
                p: _ratio(results["learned"][p]["sigma"], results["truth"][p]["sigma"])
                for p in params
            }
            point["best_fit_difference_learned_minus_true"] = {
                p: results["learned"][p]["best_fit"] - results["truth"][p]["best_fit"]
                for p in params
            }
        points.append(point)
    chi2 = {}
    for density in densities:
        chi2[density] = {}
        for p in params:
            pulls = np.array([pt["results"][density][p]["pull"] for pt in points])
            chi2[density][p] = {"chi2": float(np.sum(pulls**2)), "ndf": len(pulls)}
    return {
        "analysis": analysis.name,
        "parameters": params,
        "varied": varied,
        "densities": list(densities),
        "points": points,
        "chi2": chi2,
    }
