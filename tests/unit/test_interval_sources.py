"""MINOS and bootstrap records as interval sources: fit results, failed sides, the plot, and
the `bootstrap` fit-set block."""

import math

import numpy as np
import pytest

from innfer_lib.core.fit_sets import fit_set_options
from innfer_lib.plots.bootstrap import bootstrap_plot
from innfer_lib.results.intervals import BOOTSTRAP, MINOS, fit_result, intervals_from_records

BEST = {"columns": ["m", "mu"], "best_fit": [0.1, 1.2], "valid": True, "fixed": {}}
TRUTH = {"m": 0.0, "mu": 1.0}


def _minos_record(name: str, crossings: dict, valid: bool = True) -> dict:
    return {"columns": ["m", "mu"], "varied_column": name, "crossings": crossings, "valid": valid}


def test_asymmetric_minos_crossings_give_per_side_sigmas():
    records = [
        _minos_record("m", {-2: -0.3, -1: -0.1, 0: 0.1, 1: 0.4, 2: 0.7}),
        _minos_record("mu", {-1: 1.0, 0: 1.2, 1: 1.5}),
    ]
    intervals = intervals_from_records(MINOS, records)
    result = fit_result(BEST, intervals, TRUTH, MINOS, valid_from=records)
    assert result["fit_valid"] and result["source"] == MINOS
    m = result["parameters"]["m"]
    assert m["sigma_down"] == pytest.approx(0.2) and m["sigma_up"] == pytest.approx(0.3)
    assert m["pull"] == pytest.approx(0.1 / 0.2)  # best fit above the truth: the lower side


def test_a_failed_minos_side_marks_the_fit_and_leaves_that_sigma_open():
    records = [
        _minos_record("m", {-1: -0.1, 0: 0.1}, valid=False),
        _minos_record("mu", {-1: 1.0, 0: 1.2, 1: 1.5}),
    ]
    intervals = intervals_from_records(MINOS, records)
    result = fit_result(BEST, intervals, TRUTH, MINOS, valid_from=records)
    assert not result["fit_valid"] and result["invalid_reasons"] == ["interval_failed: m"]
    assert math.isnan(result["parameters"]["m"]["sigma_up"])
    assert result["parameters"]["m"]["sigma_down"] == pytest.approx(0.2)


def test_bootstrap_records_are_a_source():
    record = {"columns": ["m", "mu"], "varied_column": "mu", "crossings": {0: 1.2, -1: 1.1, 1: 1.3},
              "valid": True}  # fmt: skip
    assert intervals_from_records(BOOTSTRAP, [record]) == {"mu": {0: 1.2, -1: 1.1, 1: 1.3}}


def test_bootstrap_block_is_off_by_default_and_filled_when_given():
    assert fit_set_options({})["bootstrap"] is None
    assert fit_set_options({})["minos"] is False
    filled = fit_set_options({"bootstrap": {}})["bootstrap"]
    assert filled == {"n": 100, "per_job": 25, "method": "poisson"}
    assert fit_set_options({"bootstrap": {"n": 7}})["bootstrap"]["n"] == 7


def test_bootstrap_plot_draws_histogram_gaussian_and_lines():
    rng = np.random.default_rng(1)
    values = rng.normal(1.0, 0.1, 200)
    collected = {
        "results": list(values),
        "mean": float(values.mean()),
        "std": float(values.std(ddof=1)),
        "n_valid": 200,
        "n_replicas": 201,
    }
    drawn = bootstrap_plot(collected, 1.05, "mu")
    assert drawn["counts"].sum() == 200
    assert set(drawn["lines"]) == {"mean", "-1sigma", "+1sigma", "truth"}
    x, y = drawn["gaussian"]
    width = drawn["edges"][1] - drawn["edges"][0]
    assert np.trapezoid(y, x) == pytest.approx(200 * width, rel=0.01)  # scaled to the counts
    nothing = {**collected, "results": [], "mean": math.nan, "std": math.nan}
    empty = bootstrap_plot(nothing, None, "mu")
    assert "fewer than two" in empty["text"]
