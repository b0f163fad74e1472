"""Coverage and pulls of toy fits: how often each interval source contains the truth.

An interval source (H⁻¹, the sandwich, a profile scan, MINOS, bootstraps) gives each toy fit
±1σ and ±2σ crossings. Over many toys at one truth, a correct source covers the truth in
68.3 % and 95.4 % of them, and its pull (θ̂ − θ_true)/σ, with σ on the side of the truth, is
a unit Gaussian. The coverage is a binomial fraction, so its error is the Clopper–Pearson
interval (exact; it stays inside [0, 1] and is right for small counts), and the pull width
has the error σ/√(2(n−1)) of a Gaussian's standard deviation.

A toy that failed its fit, or whose source gave no crossing on a side, is counted, never
silently dropped: the table says how many toys each figure used.

Numbers only: no TensorFlow, no plotting.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from scipy.stats import binomtest, norm

from innfer_lib.results.intervals import pull as side_pull

#: The coverage levels, by the crossing key: ±1σ is 68.27 %, ±2σ is 95.45 %.
LEVELS: dict[int, float] = {k: float(norm.cdf(k) - norm.cdf(-k)) for k in (1, 2)}
#: Confidence level of the coverage error bars: one Gaussian σ.
ERROR_CL = LEVELS[1]
#: Key of the figures pooled over every validation point.
POOLED = "pooled"


def clopper_pearson(k: int, n: int, cl: float = ERROR_CL) -> tuple[float, float]:
    """The exact binomial interval of k successes in n trials at confidence `cl`.

    Raises:
        ValueError: n < 1 or k outside [0, n].
    """
    if n < 1 or not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n and n >= 1, got k={k}, n={n}")
    ci = binomtest(int(k), int(n)).proportion_ci(confidence_level=cl, method="exact")
    return float(ci.low), float(ci.high)


def coverage(covered: Sequence[bool], nominal: float) -> dict[str, Any]:
    """The covered fraction with its Clopper–Pearson interval, against the nominal level.

    `deviation` is (fraction − nominal) in units of the binomial σ at the nominal level,
    √(p(1−p)/n), so a correct source scatters around 0 with unit width.
    """
    n = len(covered)
    out: dict[str, Any] = {"nominal": nominal, "n": n}
    if n == 0:
        return out | {"fraction": None, "low": None, "high": None, "deviation": None}
    k = int(np.sum(covered))
    low, high = clopper_pearson(k, n)
    fraction = k / n
    sigma = math.sqrt(nominal * (1 - nominal) / n)
    return out | {
        "covered": k,
        "fraction": fraction,
        "low": low,
        "high": high,
        "deviation": (fraction - nominal) / sigma,
    }


def pull_statistics(pulls: Sequence[float]) -> dict[str, Any]:
    """Mean and width (sample standard deviation) of the pulls, each with its error.

    Errors: σ/√n for the mean, σ/√(2(n−1)) for the width (Gaussian pulls).
    """
    p = np.asarray([v for v in pulls if math.isfinite(v)], np.float64)
    n = len(p)
    if n < 2:
        return {"n": n, "mean": None, "mean_error": None, "width": None, "width_error": None}
    width = float(np.std(p, ddof=1))
    return {
        "n": n,
        "mean": float(np.mean(p)),
        "mean_error": width / math.sqrt(n),
        "width": width,
        "width_error": width / math.sqrt(2 * (n - 1)),
    }


def _crossings(record: Mapping[str, Any] | None) -> dict[int, float]:
    if not record or "crossings" not in record:
        return {}
    out = {}
    for k, v in record["crossings"].items():
        if v is not None and math.isfinite(float(v)):
            out[int(k)] = float(v)
    return out


def toy_figures(
    interval: Mapping[str, Any] | None, truth: float, best: float
) -> dict[str, Any] | None:
    """One toy's pull and coverage flags for one source and parameter; None if unusable.

    The central value is the source's crossing 0 (a scan's interpolated minimum) or else the
    fit's best value; a source without both ±1σ crossings gives no pull and no 68.3 %
    verdict, one without ±2σ no 95.4 % verdict.
    """
    c = _crossings(interval)
    if -1 not in c or 1 not in c:
        return None
    centre = c.get(0, best)
    out: dict[str, Any] = {
        "pull": side_pull(centre, truth, centre - c[-1], c[1] - centre),
        "covered": {1: c[-1] <= truth <= c[1]},
    }
    if -2 in c and 2 in c:
        out["covered"][2] = c[-2] <= truth <= c[2]
    return out


def _summarise(
    toys: Iterable[Mapping[str, Any]], source: str, parameter: str, truth_of: Any
) -> dict[str, Any]:
    """Pull and coverage figures of one source and parameter over a set of toy records."""
    pulls: list[float] = []
    covered: dict[int, list[bool]] = {k: [] for k in LEVELS}
    n_toys = n_fit_failed = n_interval_failed = 0
    for toy in toys:
        n_toys += 1
        if not toy.get("valid"):
            n_fit_failed += 1
            continue
        interval = (toy.get("intervals") or {}).get(source, {}).get(parameter)
        truth = float(truth_of(toy)[parameter])
        figures = toy_figures(interval, truth, float(toy["best_fit"][parameter]))
        if figures is None:
            n_interval_failed += 1
            continue
        pulls.append(figures["pull"])
        for k, inside in figures["covered"].items():
            covered[k].append(bool(inside))
    return {
        "n_toys": n_toys,
        "n_fit_failed": n_fit_failed,
        "n_interval_failed": n_interval_failed,
        "n_used": len(pulls),
        "pull": pull_statistics(pulls),
        "coverage": {k: coverage(covered[k], LEVELS[k]) for k in LEVELS},
    }


def coverage_summary(
    batches: Iterable[Mapping[str, Any]],
    sources: Sequence[str],
    parameters: Sequence[str],
) -> dict[str, Any]:
    """Per source, parameter and validation point (and pooled): pulls and coverage.

    Args:
        batches: the `toy_fit` records of one fit set and density: each has `val`, `truth`
            ({parameter: value}) and `toys` (per-toy records with `valid`, `best_fit` and
            `intervals: {source: {parameter: {crossings}}}`).
        sources: the interval sources to report.
        parameters: the parameters to report.

    Returns:
        `{sources: {source: {parameter: {val | "pooled": figures}}}, n_toys, n_fit_failed,
        vals}`, the figures as `_summarise` gives them.
    """
    per_val: dict[int, list[Mapping[str, Any]]] = {}
    truths: dict[int, Mapping[str, float]] = {}
    for batch in batches:
        val = int(batch["val"])
        truths[val] = batch["truth"]
        for toy in batch["toys"]:
            per_val.setdefault(val, []).append({**toy, "val": val})
    vals = sorted(per_val)
    everything = [t for v in vals for t in per_val[v]]

    def truth_of(toy: Mapping[str, Any]) -> Mapping[str, float]:
        return truths[int(toy["val"])]

    out: dict[str, Any] = {}
    for source in sources:
        for parameter in parameters:
            cell: dict[int | str, Any] = {
                v: _summarise(per_val[v], source, parameter, truth_of) for v in vals
            }
            cell[POOLED] = _summarise(everything, source, parameter, truth_of)
            out.setdefault(source, {})[parameter] = cell
    return {
        "vals": vals,
        "truth": {v: dict(truths[v]) for v in vals},
        "n_toys": len(everything),
        "n_fit_failed": sum(1 for t in everything if not t.get("valid")),
        "sources": out,
    }


def pooled_pulls(batches: Iterable[Mapping[str, Any]], source: str, parameter: str) -> np.ndarray:
    """Every usable pull of one source and parameter, over all points (for histograms)."""
    out = []
    for batch in batches:
        truth = float(batch["truth"][parameter])
        for toy in batch["toys"]:
            if not toy.get("valid"):
                continue
            interval = (toy.get("intervals") or {}).get(source, {}).get(parameter)
            figures = toy_figures(interval, truth, float(toy["best_fit"][parameter]))
            if figures is not None and math.isfinite(figures["pull"]):
                out.append(figures["pull"])
    return np.asarray(out, np.float64)


def _fmt(value: float | None, error: float | None, digits: int = 3) -> str:
    if value is None:
        return "–"
    return f"{value:.{digits}f} ± {error:.{digits}f}" if error is not None else f"{value:.3f}"


def _percent(c: Mapping[str, Any]) -> str:
    if c.get("fraction") is None:
        return "–"
    f, lo, hi = 100 * c["fraction"], 100 * c["low"], 100 * c["high"]
    return f"{f:.1f} (+{hi - f:.1f} −{f - lo:.1f})"


TABLE_COLUMNS = (
    "source",
    "parameter",
    "val",
    "toys",
    "used",
    "fit failed",
    "interval failed",
    "pull mean",
    "pull width",
    "coverage 68.3 % [%]",
    "coverage 95.4 % [%]",
)


def table_rows(summary: Mapping[str, Any]) -> list[list[str]]:
    """One row per source, parameter and point (pooled last), formatted for people."""
    rows = []
    for source, per_parameter in summary["sources"].items():
        for parameter, cells in per_parameter.items():
            for val, f in cells.items():
                p = f["pull"]
                rows.append(
                    [
                        source,
                        parameter,
                        str(val),
                        str(f["n_toys"]),
                        str(f["n_used"]),
                        str(f["n_fit_failed"]),
                        str(f["n_interval_failed"]),
                        _fmt(p["mean"], p["mean_error"]),
                        _fmt(p["width"], p["width_error"]),
                        _percent(f["coverage"][1]),
                        _percent(f["coverage"][2]),
                    ]
                )
    return rows


def markdown_table(summary: Mapping[str, Any]) -> str:
    """The coverage table as Markdown (the error of a coverage is its Clopper–Pearson 68 %)."""
    lines = [
        "| " + " | ".join(TABLE_COLUMNS) + " |",
        "|" + "---|" * len(TABLE_COLUMNS),
    ]
    lines += ["| " + " | ".join(row) + " |" for row in table_rows(summary)]
    return "\n".join(lines) + "\n"
