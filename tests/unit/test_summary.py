"""Fit results as intervals, closure summaries, χ² against the truth, tables and their plots."""

import math

import numpy as np
import pytest

from innfer_lib.core.errors import ConfigError, DataError
from innfer_lib.plots.impacts import value_text
from innfer_lib.plots.scan import result_text
from innfer_lib.results.intervals import (
    fit_result,
    intervals_from_records,
    merge_all_but_one,
    pull,
)
from innfer_lib.results.rounding import decimals
from innfer_lib.results.summary import chi_squared, collect, parameter_views
from innfer_lib.results.tables import table_csv, table_markdown, table_rows

PARAMS = ["Y1", "mu", "nu"]


def _best_fit(values, fixed=None, valid=True):
    return {"columns": PARAMS, "best_fit": values, "valid": valid, "fixed": fixed or {}}


def _covariance(values, sigmas):
    return {
        "crossings": {
            p: {k: v + k * s for k in (-2, -1, 0, 1, 2)}
            for p, v, s in zip(PARAMS, values, sigmas, strict=True)
        },
        "positive_definite": True,
    }


# --- results -------------------------------------------------------------------------------
def test_pull_uses_the_error_on_the_side_of_the_truth():
    # Best fit below the truth: the distance is covered by the upper error.
    assert pull(9.0, 10.0, down=0.5, up=2.0) == pytest.approx(-0.5)
    assert pull(11.0, 10.0, down=0.5, up=2.0) == pytest.approx(2.0)
    # INNFER compared with 1.0: for a truth of 10 it would have taken the down error here.
    assert math.isnan(pull(9.0, 10.0, down=0.5, up=math.nan))


def test_fit_result_from_a_covariance():
    values, sigmas = [172.6, 0.9, 0.3], [0.2, 0.1, 0.8]
    record = fit_result(
        _best_fit(values),
        intervals_from_records("covariance", [_covariance(values, sigmas)]),
        {"Y1": 172.5, "mu": 1.0, "nu": 0.0},
        "covariance",
        constrained=["nu"],
    )
    y1 = record["parameters"]["Y1"]
    assert y1["sigma_down"] == pytest.approx(0.2) and y1["sigma_up"] == pytest.approx(0.2)
    assert y1["pull"] == pytest.approx(0.5)
    assert record["parameters"]["nu"]["constrained"] and not y1["constrained"]
    assert record["fit_valid"] and record["intervals_valid"]


def test_fit_result_from_asymmetric_scans_and_frozen_parameters():
    scan = {
        "varied_column": "Y1",
        "crossings": {-2: 171.0, -1: 172.0, 0: 172.6, 1: 172.9, 2: 173.4},
    }
    record = fit_result(
        _best_fit([172.6, 1.0, 0.0], fixed={"mu": 1.0}),
        intervals_from_records("scan", [scan]),
        {"Y1": 173.0, "mu": 1.0, "nu": 0.0},
        "scan",
    )
    y1 = record["parameters"]["Y1"]
    assert (y1["sigma_down"], y1["sigma_up"]) == pytest.approx((0.6, 0.3))
    assert y1["pull"] == pytest.approx(-0.4 / 0.3)  # below the truth: the upper error
    assert "mu" not in record["parameters"]  # frozen
    assert math.isnan(record["parameters"]["nu"]["sigma"])  # not scanned
    with pytest.raises(DataError, match="varied_column"):
        intervals_from_records("scan", [{"crossings": {}}])
    with pytest.raises(DataError, match="not one of"):
        intervals_from_records("guess", [])


def test_all_but_one_merge_takes_each_parameter_from_its_own_fit():
    truth = {"Y1": 172.5, "mu": 1.0, "nu": 0.0}
    a = fit_result(
        _best_fit([172.7, 1.0, 0.0], fixed={"mu": 1.0, "nu": 0.0}),
        intervals_from_records("covariance", [_covariance([172.7, 1, 0], [0.1, 1, 1])]),
        truth,
        "covariance",
    )
    b = fit_result(
        _best_fit([172.5, 1.2, 0.0], fixed={"Y1": 172.5, "nu": 0.0}),
        intervals_from_records("covariance", [_covariance([172.5, 1.2, 0], [1, 0.1, 1])]),
        truth,
        "covariance",
    )
    merged = merge_all_but_one({"Y1": a, "mu": b})
    assert merged["parameters"]["Y1"]["best_fit"] == 172.7
    assert merged["parameters"]["mu"]["pull"] == pytest.approx(2.0)
    assert merged["reference"] == "truth"
    on_data = merge_all_but_one({"Y1": {**a, "reference": "nominal"}})
    assert on_data["reference"] == "nominal"
    with pytest.raises(DataError, match="floating only 'nu'"):
        merge_all_but_one({"nu": a})


# --- summaries -----------------------------------------------------------------------------
VALS = [0, 1, 2]
TRUTHS = [{"Y1": y, "mu": 1.0, "nu": 0.0} for y in (171.0, 172.0, 0.0 + 173.0)]


def _results(fit, density, shift, sigma):
    out = {}
    for v, truth in zip(VALS, TRUTHS, strict=True):
        values = [truth["Y1"] + shift * (v + 1), 1.0 + 0.1 * shift, 0.2 * shift]
        out[(fit, density, v)] = fit_result(
            _best_fit(values),
            intervals_from_records("covariance", [_covariance(values, [sigma, 0.1, 1.0])]),
            truth,
            "covariance",
            constrained=["nu"],
        )
    return out


@pytest.fixture
def summary():
    results = {
        **_results("closure", "learned", 0.1, 0.1),
        **_results("closure", "truth", -0.05, 0.1),
        **_results("asimov", "learned", 0.0, 0.2),
    }
    series = [("closure", "learned"), ("closure", "truth"), ("asimov", "learned")]
    return collect("both", "Toy", series, VALS, results, PARAMS, TRUTHS), results


def test_summary_numbers_pulls_and_chi2_against_truth(summary):
    s, results = summary
    assert s["parameters"] == ["Y1", "mu"]  # the constant constrained nuisance is left out
    assert s["varied"] == ["Y1"] and s["views"] == {"Y1": "ratio", "mu": "ratio"}
    point = s["points"][1]
    assert point["results"]["closure"]["learned"]["Y1"]["best_fit"] == pytest.approx(172.2)
    assert point["learned_vs_true"]["closure"]["best_fit_difference_learned_minus_true"][
        "Y1"
    ] == pytest.approx(0.2 + 0.1)
    # learned pulls are 1, 2, 3 → χ² = 14; the true-density ones −0.5, −1, −1.5 → 3.5.
    assert s["chi2"]["closure"]["learned"]["Y1"]["chi2"] == pytest.approx(14.0)
    assert s["chi2"]["closure"]["truth"]["Y1"]["chi2"] == pytest.approx(3.5)
    assert s["chi2"]["closure"]["learned"]["Y1"]["per_val"] == pytest.approx({0: 1, 1: 4, 2: 9})
    assert s["chi2"]["asimov"]["learned"]["Y1"]["chi2"] == 0.0
    # μ̂ = 1.01 ± 0.1 at every point: pulls 0.1 → χ² = 0.03.
    assert s["chi2"]["closure"]["learned"]["mu"]["chi2"] == pytest.approx(0.03)
    alone = chi_squared([("closure", "truth")], VALS, results, ["Y1"])
    assert alone["closure"]["truth"]["Y1"] == s["chi2"]["closure"]["truth"]["Y1"]
    assert alone["closure"]["truth"]["Y1"]["p_value"] == pytest.approx(0.3208, abs=1e-3)


def test_views_fall_back_to_difference_for_a_zero_truth():
    assert parameter_views(["a"], [{"a": 1.0}, {"a": 0.0}], "auto") == {"a": "difference"}
    assert parameter_views(["a"], [{"a": 2.0}], "auto") == {"a": "ratio"}
    with pytest.raises(ConfigError, match="truth of 0"):
        parameter_views(["a"], [{"a": 0.0}], "ratio")


def test_summary_plot_draws_the_truth_relative_values(summary, tmp_path):
    from innfer_lib.plots.summary import summary_plot

    s, _ = summary
    outputs = [str(tmp_path / "s.pdf"), str(tmp_path / "s.png")]
    axes = summary_plot(s, outputs, title="toy")
    ax = axes[0]
    # Containers alternate ±2σ (no marker) and ±1σ per series: 3 series × 2.
    assert len(ax.containers) == 6
    marker_line = ax.containers[1].lines[0]
    ratios = marker_line.get_ydata()
    expected = [(t["Y1"] + 0.1 * (v + 1)) / t["Y1"] for v, t in zip(VALS, TRUTHS, strict=True)]
    np.testing.assert_allclose(ratios, expected)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("χ²/ndf = 14.0/3" in t for t in legend)
    for path in outputs:
        assert (tmp_path / path).stat().st_size > 1000


def test_summary_per_val_plot_separates_constrained_nuisances(summary, tmp_path):
    from innfer_lib.plots.summary_per_val import summary_per_val_plot

    s, results = summary
    full = collect(
        "both",
        "Toy",
        [(x["fit"], x["density"]) for x in s["series"]],
        VALS,
        results,
        PARAMS,
        TRUTHS,
        parameters=PARAMS,
    )
    axes = summary_per_val_plot(full, 1, [str(tmp_path / "p.png")], PARAMS)
    assert len(axes["unconstrained"]) == 2 and axes["constrained"] is not None
    # The nuisance pad shows θ̂ − θ_true: 0.02 for the learned closure series.
    x = np.asarray(axes["constrained"].containers[1].lines[0].get_xdata(), float)
    assert x[0] == pytest.approx(0.02)


def test_results_table_rows_csv_and_markdown():
    results = {(d, v): r for (f, d, v), r in _results("closure", "learned", 0.1, 0.1).items()}
    rows = table_rows("closure", results)
    assert len(rows) == 3 * 3
    first = rows[0]
    assert first["parameter"] == "Y1" and first["pull"] == pytest.approx(1.0)
    csv_text = table_csv(rows)
    assert csv_text.splitlines()[0].startswith("fit,density,val,parameter,reference,truth,best_fit")
    assert csv_text.splitlines()[1].startswith("closure,learned,0,Y1,truth,171.0,171.1")
    md = table_markdown(rows)
    assert "| learned | 0 | Y1 | 171 | 171.10 +0.10 −0.10 | +1.00 | yes |" in md


def test_a_data_fit_table_calls_its_reference_nominal_not_truth():
    """Observed data have no truth: their row holds the defaults (the fit record says so)."""
    values = [172.02, 1.02, -0.3]
    best = {**_best_fit(values), "data": {"data_type": "data", "truth": "defaults"}}
    nominal = {"Y1": 172.5, "mu": 1.0, "nu": 0.0}
    cov = intervals_from_records("covariance", [_covariance(values, [0.31, 0.04, 0.7])])
    record = fit_result(best, cov, nominal, "covariance", constrained=["nu"])
    assert record["reference"] == "nominal"
    sim = fit_result({**best, "data": {"data_type": "sim"}}, cov, nominal, "covariance")
    assert (
        sim["reference"] == "truth"
        and fit_result(_best_fit(values), cov, nominal, "covariance")["reference"] == "truth"
    )
    rows = table_rows("data", {("learned", 0): record})
    assert {r["reference"] for r in rows} == {"nominal"}
    assert table_csv(rows).splitlines()[1].startswith("data,learned,0,Y1,nominal,172.5,172.02")
    md = table_markdown(rows)
    assert "| learned | 0 | Y1 | 172.5 (nominal) | 172.02 +0.31 −0.31 | -1.55 | yes |" in md


def test_tables_and_plots_round_to_two_digits_of_sigma_with_one_function():
    """σ = 0.1 − ε (a difference of fitted values) gets two digits, in tables and on plots."""
    sigma = 171.2 - 171.1  # 0.09999999999999432
    assert sigma < 0.1 and decimals(sigma) == decimals(0.1) == 2
    assert decimals(0.0999999) == 3 and decimals(0.099) == 3
    assert decimals(25.0) == 0 and decimals(1.5) == 1 and decimals(0.5, -0.02) == 3
    assert decimals() == decimals(None, math.nan, math.inf, 0.0) == 3
    # The impacts header and the scan result were rounded without the offset before (3 digits).
    assert value_text(171.1, sigma) == "171.10 ± 0.10"
    scan = {"crossings": {"0": 171.1, "-1": 171.0, "1": 171.2}}  # both sides 0.1 − ε
    assert result_text(scan, "x") == "x = $171.10^{+0.10}_{-0.10}$"
    row = {"density": "d", "val": 0, "parameter": "x", "truth": 1.0, "reference": "truth"}
    row |= {"best_fit": 1.0, "sigma_down": sigma, "sigma_up": sigma, "pull": 0.0}
    assert "| 1.00 +0.10 −0.10 |" in table_markdown([{**row, "fit_valid": True}])
