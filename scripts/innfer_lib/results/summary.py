"""Closure summaries: best fit against truth over validation points, for several fit sets.

A summary overlays series, each one fit set fitted with one density source (learned or the
benchmark's true density), and reads their `results.intervals.fit_result` records, so the
interval source (covariance, sandwich, scan, approximate) is the fit set's choice, not the
plot's.
Truth-relative views (ratio, or difference where a truth is 0) and χ² against the truth come
from the same numbers the plots draw; `results.tables` writes them as tables.
A fit that is not valid (`inference.validity`) stays in the points, marked with its reasons,
and is listed under `invalid_fits`; its pull is left out of the χ², which counts it instead
(`invalid`), because its σ (zero at a limit, a pseudo-inverse's without a minimum) would make
the pull meaningless.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from typing import Any

# χ²'s survival function from scipy.special: scipy.stats would add 0.8 s to the start of each
# of a run's summary jobs (nine per-point plots in the README run) for this one function.
from scipy.special import chdtrc

from innfer_lib.core.errors import ConfigError

RATIO, DIFFERENCE, AUTO = "ratio", "difference", "auto"
VIEWS = (AUTO, RATIO, DIFFERENCE)

Key = tuple[str, str, int]  # (fit entry, density, val)


def _ratio(a: float, b: float) -> float:
    """a/b, NaN when b is zero (a parameter the fit has no information on)."""
    return float(a / b) if b else float("nan")


def parameter_views(
    params: Sequence[str], truths: Sequence[Mapping[str, float]], view: str
) -> dict[str, str]:
    """Ratio or difference per parameter: a ratio to a truth of 0 is undefined.

    Raises:
        ConfigError: an unknown view, or `ratio` asked for a parameter with a zero truth.
    """
    if view not in VIEWS:
        raise ConfigError(f"summary view {view!r} is not one of {VIEWS}")
    out = {}
    for p in params:
        has_zero = any(float(t[p]) == 0.0 for t in truths)
        if view == RATIO and has_zero:
            raise ConfigError(
                f"summary view 'ratio': parameter {p!r} has a truth of 0 at some validation "
                "point; use view 'difference' or 'auto'"
            )
        out[p] = DIFFERENCE if view == DIFFERENCE or has_zero else RATIO
    return out


def default_parameters(
    analysis_parameters: Sequence[str],
    floating: Collection[str],
    constrained: Collection[str],
    varied: Collection[str],
) -> list[str]:
    """POIs, rates and any parameter varied over the validation points, if floating.

    Constrained nuisances that stay at one value belong to the per-point summary, where
    they share one pad, rather than to one pad each here.
    """
    return [
        p for p in analysis_parameters if p in floating and (p not in constrained or p in varied)
    ]


def collect(
    name: str,
    analysis_name: str,
    series: Sequence[tuple[str, str]],
    vals: Sequence[int],
    results: Mapping[Key, Mapping[str, Any]],
    analysis_parameters: Sequence[str],
    validation_points: Sequence[Mapping[str, float]],
    view: str = AUTO,
    parameters: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Gather best fits, intervals and pulls of every series at every validation point.

    Args:
        name: the summary's name.
        analysis_name: for titles and the record.
        series: (fit entry, density) pairs, the first is the main one.
        vals: validation indices, in plot order.
        results: `intervals.fit_result` records per (fit entry, density, val).
        analysis_parameters: all parameters, in the analysis' order.
        validation_points: the canonical validation loop (for which parameters vary).
        view: auto, ratio or difference.
        parameters: the parameters to show; default `default_parameters`.
    """
    first = results[(series[0][0], series[0][1], vals[0])]
    floating: set[str] = set()
    constrained: set[str] = set()
    for record in results.values():
        floating.update(record["parameters"])
        constrained.update(p for p, r in record["parameters"].items() if r["constrained"])
    varied = [p for p in analysis_parameters if len({float(pt[p]) for pt in validation_points}) > 1]
    if parameters is None:
        parameters = default_parameters(analysis_parameters, floating, constrained, varied)
    unknown = [p for p in parameters if p not in floating]
    if unknown:
        raise ConfigError(
            f"summary {name!r}: parameters {unknown} are not floating in any of its fits "
            f"(floating: {sorted(floating)})"
        )
    truths = [results[(series[0][0], series[0][1], v)]["truth"] for v in vals]
    views = parameter_views(parameters, truths, view)
    points = []
    for val, truth in zip(vals, truths, strict=True):
        per_fit: dict[str, dict[str, Any]] = {}
        for fit, density in series:
            record = results[(fit, density, val)]
            per_fit.setdefault(fit, {})[density] = {
                p: {
                    **record["parameters"][p],
                    "fit_valid": bool(record["fit_valid"]),
                    "invalid_reasons": list(record["invalid_reasons"]),
                    "intervals_valid": bool(record["intervals_valid"]),
                }
                for p in parameters
                if p in record["parameters"]
            }
        point: dict[str, Any] = {
            "val": int(val),
            "truth": {p: float(truth[p]) for p in truth},
            "results": per_fit,
        }
        comparison = {}
        for fit, by_density in per_fit.items():
            if "learned" in by_density and "truth" in by_density:
                learned, true = by_density["learned"], by_density["truth"]
                common = [p for p in parameters if p in learned and p in true]
                comparison[fit] = {
                    "sigma_ratio_learned_over_true": {
                        p: _ratio(learned[p]["sigma"], true[p]["sigma"]) for p in common
                    },
                    "best_fit_difference_learned_minus_true": {
                        p: learned[p]["best_fit"] - true[p]["best_fit"] for p in common
                    },
                }
        if comparison:
            point["learned_vs_true"] = comparison
        points.append(point)
    return {
        "summary": name,
        "analysis": analysis_name,
        "parameters": list(parameters),
        "varied": [p for p in varied if p in parameters],
        "views": views,
        "series": [{"fit": f, "density": d} for f, d in series],
        "source": first["source"],
        "points": points,
        "invalid_fits": invalid_fits(series, vals, results),
        "chi2": chi_squared(series, vals, results, parameters),
    }


def invalid_fits(
    series: Sequence[tuple[str, str]],
    vals: Sequence[int],
    results: Mapping[Key, Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """The summary's fits that are not valid, with their reasons, in series and point order."""
    return [
        {"fit": fit, "density": density, "val": int(v), "reasons": list(record["invalid_reasons"])}
        for fit, density in series
        for v in vals
        if not (record := results[(fit, density, v)])["fit_valid"]
    ]


def chi_squared(
    series: Sequence[tuple[str, str]],
    vals: Sequence[int],
    results: Mapping[Key, Mapping[str, Any]],
    parameters: Sequence[str],
) -> dict[str, Any]:
    """χ² = Σ_val pull² per series and parameter, pulls taken against each point's truth.

    Also the per-point terms and the mean (INNFER's `all`), and the p-value of the total for
    the number of points; points without a finite pull are counted in `missing`, invalid
    fits (`inference.validity`) are left out and counted in `invalid`.
    """
    out: dict[str, Any] = {}
    for fit, density in series:
        per_param = {}
        for p in parameters:
            terms = {}
            missing = invalid = 0
            for v in vals:
                result = results[(fit, density, v)]
                record = result["parameters"].get(p)
                value = record["pull"] if record is not None else math.nan
                if record is not None and not result["fit_valid"]:
                    invalid += 1
                elif math.isfinite(value):
                    terms[int(v)] = float(value**2)
                else:
                    missing += 1
            total = float(sum(terms.values()))
            ndf = len(terms)
            per_param[p] = {
                "per_val": terms,
                "chi2": total,
                "ndf": ndf,
                "mean": total / ndf if ndf else math.nan,
                "p_value": float(chdtrc(ndf, total)) if ndf else math.nan,
                "missing": missing,
                "invalid": invalid,
            }
        out.setdefault(fit, {})[density] = per_param
    return out


def view_values(
    entry: Mapping[str, Any], truth: float, view: str
) -> tuple[float, dict[int, float]]:
    """The best fit and the crossings in the plotted view (θ/θ_true or θ − θ_true)."""
    crossings = {int(k): float(v) for k, v in entry["crossings"].items()}
    if view == RATIO:
        return entry["best_fit"] / truth, {k: c / truth for k, c in crossings.items()}
    return entry["best_fit"] - truth, {k: c - truth for k, c in crossings.items()}
