"""Toy coverage: the binomial and pull maths, toy generation, and the `toys` config checks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from innfer_lib.core.analysis import load_analysis
from innfer_lib.core.config_files import ConfigKeyError
from innfer_lib.core.errors import ConfigError
from innfer_lib.core.fit_sets import expand_fit_sets, toy_options
from innfer_lib.data.benchmarks import get_benchmark
from innfer_lib.inference.toys import (
    ToyProcess,
    draw_toy,
    n_batches,
    toy_indices,
    toy_seed,
)
from innfer_lib.results.coverage import (
    LEVELS,
    POOLED,
    clopper_pearson,
    coverage,
    coverage_summary,
    markdown_table,
    pooled_pulls,
    pull_statistics,
    toy_figures,
)


# ------------------------------------------------------------------------------ coverage maths
def test_levels_are_the_gaussian_one_and_two_sigma_fractions():
    assert LEVELS[1] == pytest.approx(0.682689, abs=1e-6)
    assert LEVELS[2] == pytest.approx(0.954500, abs=1e-6)


def test_clopper_pearson_known_values_and_edges():
    low, high = clopper_pearson(683, 1000)
    assert low < 0.683 < high
    # the exact interval is a bit wider than the normal approximation ±√(p(1−p)/n)
    assert high - low == pytest.approx(2 * math.sqrt(0.683 * 0.317 / 1000), rel=0.05)
    assert clopper_pearson(0, 10)[0] == 0.0
    assert clopper_pearson(10, 10)[1] == 1.0
    # k = 0 of 10 at 68.27 %: upper edge solves (1−p)^10 = (1 − 0.6827)/2
    assert clopper_pearson(0, 10)[1] == pytest.approx(1 - ((1 - LEVELS[1]) / 2) ** 0.1, rel=1e-6)
    with pytest.raises(ValueError):
        clopper_pearson(3, 0)


def test_coverage_counts_and_deviation():
    c = coverage([True] * 683 + [False] * 317, LEVELS[1])
    assert c["covered"] == 683 and c["n"] == 1000
    assert c["fraction"] == pytest.approx(0.683)
    assert abs(c["deviation"]) < 0.1
    assert coverage([], LEVELS[1])["fraction"] is None


def test_pull_statistics_of_unit_gaussians_and_their_errors():
    pulls = np.random.default_rng(1).standard_normal(20_000)
    stats = pull_statistics(pulls)
    assert stats["n"] == 20_000
    assert abs(stats["mean"]) < 3 * stats["mean_error"]
    assert abs(stats["width"] - 1) < 3 * stats["width_error"]
    assert stats["width_error"] == pytest.approx(stats["width"] / math.sqrt(2 * 19_999))
    assert pull_statistics([0.5])["width"] is None
    assert pull_statistics([1.0, math.nan, 3.0])["n"] == 2


def test_toy_figures_use_the_side_towards_the_truth():
    interval = {"crossings": {-2: 0.0, -1: 1.0, 0: 2.0, 1: 4.0, 2: 6.0}}
    below = toy_figures(interval, truth=3.0, best=2.0)  # truth above: the upper σ (2)
    assert below["pull"] == pytest.approx(-0.5)
    assert below["covered"] == {1: True, 2: True}
    above = toy_figures(interval, truth=0.5, best=2.0)  # truth below: the lower σ (1)
    assert above["pull"] == pytest.approx(1.5)
    assert above["covered"] == {1: False, 2: True}
    assert toy_figures({"crossings": {0: 2.0, 1: 3.0}}, 2.0, 2.0) is None
    assert toy_figures({"error": "failed"}, 2.0, 2.0) is None


def _batch(val: int, truth: float, n: int, seed: int, sigma: float = 1.0) -> dict:
    """Toys of an ideal Gaussian estimator: θ̂ ~ N(truth, σ), interval θ̂ ± kσ."""
    rng = np.random.default_rng(seed)
    toys = []
    for i, best in enumerate(truth + sigma * rng.standard_normal(n)):
        crossings = {k: float(best + k * sigma) for k in (-2, -1, 0, 1, 2)}
        toys.append(
            {
                "toy": i,
                "valid": True,
                "best_fit": {"a": float(best)},
                "intervals": {"exact": {"a": {"crossings": crossings}}, "broken": {"error": "x"}},
            }
        )
    toys.append({"toy": n, "valid": False, "best_fit": {"a": 0.0}})
    return {"val": val, "truth": {"a": truth}, "toys": toys}


def test_coverage_summary_of_an_exact_gaussian_interval():
    batches = [_batch(0, 1.0, 3000, 1), _batch(1, 5.0, 3000, 2)]
    summary = coverage_summary(batches, ["exact", "broken"], ["a"])
    assert summary["vals"] == [0, 1] and summary["n_toys"] == 6002
    assert summary["n_fit_failed"] == 2
    pooled = summary["sources"]["exact"]["a"][POOLED]
    assert pooled["n_used"] == 6000 and pooled["n_fit_failed"] == 2
    for k, nominal in LEVELS.items():
        c = pooled["coverage"][k]
        assert c["low"] - 0.01 < nominal < c["high"] + 0.01
        assert abs(c["deviation"]) < 3.5
    assert abs(pooled["pull"]["width"] - 1) < 3 * pooled["pull"]["width_error"]
    broken = summary["sources"]["broken"]["a"][0]
    assert broken["n_used"] == 0 and broken["n_interval_failed"] == 3000
    assert len(pooled_pulls(batches, "exact", "a")) == 6000
    table = markdown_table(summary)
    assert "| exact | a | pooled | 6002 | 6000 | 2 | 0 |" in table


def test_too_narrow_intervals_undercover():
    batch = _batch(0, 0.0, 4000, 3)
    for toy in batch["toys"][:-1]:
        c = toy["intervals"]["exact"]["a"]["crossings"]
        best = c[0]
        toy["intervals"]["exact"]["a"]["crossings"] = {
            k: best + 0.5 * (v - best) for k, v in c.items()
        }
    cell = coverage_summary([batch], ["exact"], ["a"])["sources"]["exact"]["a"][POOLED]
    assert cell["coverage"][1]["high"] < 0.45  # ±0.5σ covers 38 %
    assert cell["pull"]["width"] == pytest.approx(2.0, rel=0.05)


# ----------------------------------------------------------------------------- toy generation
class _Normal:
    """A sampler of N(mean, 1) events, mean = the parameter `m` (or 0 without parameters)."""

    def __init__(self, parameters: list[str]):
        self.parameters = parameters

    def sample(self, n, params, seed):
        mean = float(params.get("m", 0.0)) if self.parameters else 100.0
        return np.random.default_rng(seed).normal(mean, 1.0, size=(n, 1))


def _process(name: str, parameters: list[str], nominal: float, rate: str | None) -> ToyProcess:
    params = {"yields": {"nominal": nominal}, "density": {"X_columns": ["x"]}}
    if rate:
        params["rate_parameter"] = rate
    return ToyProcess(name, _Normal(parameters), params)


GENERATOR = {
    "inclusive": [
        _process("signal", ["m"], 100.0, "mu_signal"),
        _process("background", [], 400.0, None),
    ]
}
TRUTH = {"m": 2.0, "mu_signal": 0.5}


def test_toy_counts_are_poisson_and_split_by_yield():
    toys = [draw_toy(GENERATOR, TRUTH, i, toy_seed(7, "fit", 0, i)) for i in range(1500)]
    totals = np.array([len(t.events["inclusive"]) for t in toys])
    signal = np.array([t.counts["inclusive"]["signal"] for t in toys])
    expected = 0.5 * 100 + 400
    assert abs(totals.mean() - expected) < 4 * math.sqrt(expected / len(toys))
    # Poisson: the variance equals the mean (within its ~3 % sampling error here)
    assert totals.var(ddof=1) == pytest.approx(expected, rel=0.12)
    assert signal.mean() == pytest.approx(50.0, rel=0.02)
    assert signal.var(ddof=1) == pytest.approx(50.0, rel=0.12)  # each process Poisson too
    # the signal events are drawn at the truth (mean 2), the background at 100
    x = np.concatenate([t.events["inclusive"][:, 0] for t in toys[:200]])
    assert np.sum(x < 50) == sum(int(t.counts["inclusive"]["signal"]) for t in toys[:200])
    assert np.all(toys[0].weights("inclusive") == 1.0)


def test_toys_are_reproducible_and_independent():
    a = draw_toy(GENERATOR, TRUTH, 3, toy_seed(7, "fit", 2, 3))
    b = draw_toy(GENERATOR, TRUTH, 3, toy_seed(7, "fit", 2, 3))
    np.testing.assert_array_equal(a.events["inclusive"], b.events["inclusive"])
    assert toy_seed(7, "fit", 2, 3) == toy_seed(7, "fit", 2, 3)
    others = {toy_seed(7, "fit", 2, 4), toy_seed(7, "fit", 3, 3), toy_seed(7, "other", 2, 3)}
    others.add(toy_seed(8, "fit", 2, 3))
    assert len(others) == 4 and toy_seed(7, "fit", 2, 3) not in others


def test_a_weighted_generator_is_refused():
    weighted = _process("signal", ["m"], 100.0, None)
    weighted.sampler.event_weights = lambda x, p: np.ones(len(x))  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="ratio models"):
        draw_toy({"inclusive": [weighted]}, {"m": 1.0}, 0, 1)


def test_batches_cover_every_toy_once():
    assert n_batches(600, 100) == 6 and n_batches(601, 100) == 7 and n_batches(5, 50) == 1
    indices = [i for b in range(n_batches(601, 100)) for i in toy_indices(601, 100, b)]
    assert indices == list(range(601))
    with pytest.raises(ValueError):
        toy_indices(600, 100, 6)


# ------------------------------------------------------------------------------- config errors
@pytest.fixture(scope="module")
def analysis():
    return load_analysis(get_benchmark("Dim1GaussianWithExpBkgVaryingYield").analysis_config("x"))


@pytest.mark.parametrize(
    "options, path, message",
    [
        ({"toys": 0}, "fits.c.toys", ">= 1"),
        ({"toys": 2.5}, "fits.c.toys", "integer"),
        ({"toys": True}, "fits.c.toys", "integer"),
        ({"toy_options": {"per_job": 5}}, "fits.c.toy_options", "without toys"),
        ({"toys": 5, "likelihood": "binned_extended"}, "fits.c.toys", "unbinned"),
        ({"toys": 5, "toy_options": {"scan_points": 8}}, "fits.c.toy_options.scan_points", "odd"),
        (
            {"toys": 5, "toy_options": {"scan_points": 5, "scan_sigma_step": 0.5}},
            "fits.c.toy_options.scan_sigma_step",
            "±2σ",
        ),
        ({"toys": 5, "toy_options": {"parameters": ["Y2"]}}, "fits.c.toy_options.parameters", "Y2"),
    ],
)
def test_bad_toy_options_name_the_key(analysis, options, path, message):
    with pytest.raises(ConfigKeyError) as err:
        expand_fit_sets({"c": options}, analysis)
    assert path in str(err.value) and message in str(err.value)


def test_toy_options_are_filled_and_carry_the_count(analysis):
    fits = expand_fit_sets({"c": {"toys": 120}, "plain": {}}, analysis)
    assert fits["plain"]["toys"] is None
    options = toy_options(fits["c"])
    assert options["n"] == 120 and options["per_job"] == 50
    assert options["sources"] == ["hessian", "sandwich", "scan"]


# ------------------------------------------------------------------------------ interval sources
def test_a_failing_source_is_recorded_and_the_others_still_run():
    from innfer_lib.inference import toy_intervals as ti

    def fails(fit):
        raise ti.IntervalError("no minimum")

    ti.register_source("test_fails", fails)
    ti.register_source("test_works", lambda fit: {"a": {"crossings": {0: 1.0}}})
    seconds: dict[str, float] = {}
    try:
        out = ti.toy_intervals(None, ["test_fails", "test_works"], seconds)  # type: ignore[arg-type]
    finally:
        del ti.SOURCES["test_fails"], ti.SOURCES["test_works"]
    assert out["test_fails"] == {"error": "IntervalError: no minimum"}
    assert out["test_works"]["a"]["crossings"] == {0: 1.0}
    assert set(seconds) == {"test_fails", "test_works"}
    assert set(ti.SOURCES) == {"hessian", "sandwich", "scan", "minos", "bootstrap"}


def test_reported_parameters_default_to_pois_and_rates():
    from innfer_lib.core.fit_sets import reported_parameters

    free = ["Y1", "mu_signal", "nu"]
    assert reported_parameters(free, ["Y1"], ["mu_signal"], None) == ["Y1", "mu_signal"]
    assert reported_parameters(free, ["Y1"], ["mu_signal"], ["nu"]) == ["nu"]
