"""Fit-set granularity options, checked when the workflow is parsed: per-fit-set validation
points, constraints off, the all-but-one loop, scan points from the analyst's input and
likelihood-debug points (tests/workflow/test_dag.py counts their jobs)."""

from __future__ import annotations

import pytest

from innfer_lib.core.analysis import load_analysis
from innfer_lib.core.config_files import ConfigKeyError
from innfer_lib.core.errors import ConfigError
from innfer_lib.core.fit_sets import (
    all_but_one_columns,
    all_but_one_families,
    expand_fit_sets,
    fit_set_vals,
    scan_values_count,
)
from innfer_lib.data.benchmarks import get_benchmark
from innfer_lib.inference.debug import debug_hypotheses
from innfer_lib.inference.scan_grid import scan_points_given
from innfer_lib.inference.scan_input import read_scan_points

TOP_MASS = "config/examples/top_mass/analysis.yaml"


@pytest.fixture(scope="module")
def varying():
    """Y1 (POI) and mu_Gaussian (rate), 19 validation points."""
    name = "Dim1GaussianWithExpBkgVaryingYield"
    return load_analysis(get_benchmark(name).analysis_config("inputs"))


@pytest.fixture(scope="module")
def top_mass():
    """mtop (POI), mu_ttbar (rate) and the nuisances jes, isr, lumi, wjets_norm."""
    return load_analysis(TOP_MASS)


def _error(fits, analysis) -> ConfigKeyError:
    with pytest.raises(ConfigKeyError) as err:
        expand_fit_sets(fits, analysis)
    return err.value


# ------------------------------------------------------------------- validation points


def test_a_fit_set_fits_its_own_validation_points(varying):
    fits = expand_fit_sets({"all": {}, "asimov0": {"data_type": "asimov",
                            "validation_points": [0]}}, varying)  # fmt: skip
    default = varying.default_index
    assert fit_set_vals(fits["all"], [0, 3, 5], default) == [0, 3, 5]
    assert fit_set_vals(fits["asimov0"], [0, 3, 5], default) == [0]
    # the single-parameter sets of an all-but-one family inherit them
    family = expand_fit_sets({"f": {"freeze": "all-but-one", "validation_points": [2]}}, varying)
    assert {fit_set_vals(o, [0], default)[0] for o in family.values()} == {2}


def test_an_unknown_validation_point_names_the_key_and_the_range(varying):
    err = _error({"mine": {"validation_points": [0, 19]}}, varying)
    assert err.problem.path == ("fits", "mine", "validation_points")
    assert "19 is not a validation point" in str(err) and "0..18" in str(err)


def test_a_data_fit_has_no_validation_points(varying):
    err = _error({"obs": {"data_type": "data", "validation_points": [0]}}, varying)
    assert err.problem.path == ("fits", "obs", "validation_points")
    assert "default point" in str(err)


# ---------------------------------------------------------------------------- constraints


def test_constraints_default_on_and_reach_the_problem_options(top_mass):
    fits = expand_fit_sets({"on": {}, "off": {"constraints": False}}, top_mass)
    assert fits["on"]["constraints"] is True and fits["off"]["constraints"] is False


# ---------------------------------------------------------------------------- all-but-one


def test_all_but_one_loops_over_pois_and_rates_by_default(top_mass):
    assert all_but_one_columns(top_mass) == ["mtop", "mu_ttbar"]
    assert all_but_one_columns(top_mass, loop_over_nuisances=True) == sorted(
        ["mtop", "mu_ttbar", "jes", "isr", "lumi", "wjets_norm"]
    )
    fits = expand_fit_sets({"abo": {"freeze": "all-but-one"}}, top_mass)
    assert list(fits) == ["abo_floating_only_mtop", "abo_floating_only_mu_ttbar"]
    assert fits["abo_floating_only_mtop"]["freeze"] == "all-but-mtop"
    assert all_but_one_families(fits) == {
        "abo": {"mtop": "abo_floating_only_mtop", "mu_ttbar": "abo_floating_only_mu_ttbar"}
    }


def test_loop_over_nuisances_adds_one_fit_set_per_nuisance(top_mass):
    options = {"freeze": "all-but-one", "all_but_one": {"loop_over_nuisances": True}}
    fits = expand_fit_sets({"abo": options}, top_mass)
    assert sorted(all_but_one_families(fits)["abo"]) == top_mass.fit_parameters


def test_all_but_one_options_need_the_all_but_one_freeze(top_mass):
    err = _error({"x": {"all_but_one": {"loop_over_nuisances": True}}}, top_mass)
    assert err.problem.path == ("fits", "x", "all_but_one")
    assert "freeze: all-but-one" in str(err)


# ---------------------------------------------------------------------- scan from input


def _input_fit(**scan_points):
    return {"s": {"scan": ["mtop"], "scan_points": {"from": "input", **scan_points}}}


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("points.yaml", "mtop: [171.5, 172.0, 172.5, 173.5]\n"),
        ("points.csv", "mtop\n171.5\n172.0\n172.5\n173.5\n"),
    ],
)
def test_scan_values_from_a_file_count_the_scan_jobs(top_mass, tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    fits = expand_fit_sets(_input_fit(file=str(path)), top_mass)
    assert fits["s"]["scan_points"]["values"] == {"mtop": [171.5, 172.0, 172.5, 173.5]}
    assert scan_values_count(fits["s"], "mtop") == 4


def test_scan_values_inline_and_a_csv_with_a_shorter_column(top_mass, tmp_path):
    fits = expand_fit_sets(_input_fit(values={"mtop": [172, 173, 174]}), top_mass)
    assert scan_values_count(fits["s"], "mtop") == 3
    path = tmp_path / "two.csv"
    path.write_text("mtop,mu_ttbar\n172,0.9\n173,1.1\n174,\n")
    assert read_scan_points(path, ["mtop", "mu_ttbar"]) == {
        "mtop": [172.0, 173.0, 174.0],
        "mu_ttbar": [0.9, 1.1],
    }
    # the σ-step grid keeps its defaults
    plain = expand_fit_sets({"p": {"scan": "pois"}}, top_mass)["p"]
    assert scan_values_count(plain, "mtop") == 21 and plain["scan_points"]["sigma_step"] == 0.25


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "no such scan-points file"),
        ("mtop: [172, oops]\n", "'oops' is not a number"),
        ("mtop: [173, 172]\n", "strictly ascending"),
        ("mtop: [172, 172, 173]\n", "strictly ascending"),
        ("jes: [0, 1]\nmtop: [172, 173]\n", "'jes' is not scanned"),
        ("- 172\n- 173\n", "expected a mapping"),
        ("mtop: [172]\n", "at least two values"),
        ("mtop: 172\n", "expected a list of numbers"),
        ("mtop: [172, 173\n", "not valid YAML"),
    ],
)
def test_a_bad_scan_points_file_names_the_file_and_what_was_expected(
    top_mass, tmp_path, text, message
):
    path = tmp_path / "points.yaml"
    if text is not None:
        path.write_text(text)
    err = _error(_input_fit(file=str(path)), top_mass)
    assert err.problem.path == ("fits", "s", "scan_points", "file")
    assert str(path) in str(err) and message in str(err)


def test_a_bad_csv_or_suffix_is_refused(tmp_path):
    path = tmp_path / "points.csv"
    path.write_text("mtop,mtop\n1,2\n")
    with pytest.raises(ConfigError, match="distinct name"):
        read_scan_points(path, ["mtop"])
    path.write_text("mtop\n172\n173\n174,175\n")
    with pytest.raises(ConfigError, match="line 4 has more cells"):
        read_scan_points(path, ["mtop"])
    path.write_text("mtop\n172\n173\n")
    with pytest.raises(ConfigError, match=r"no values for the scanned parameter\(s\) \['jes'\]"):
        read_scan_points(path, ["mtop", "jes"])
    other = tmp_path / "points.txt"
    other.write_text("mtop: [1, 2]")
    with pytest.raises(ConfigError, match="unknown scan-points file type"):
        read_scan_points(other, ["mtop"])


@pytest.mark.parametrize(
    ("scan_points", "path", "message"),
    [
        ({"n_points": 5, "values": {"mtop": [1, 2]}}, "n_points", "not used with from: input"),
        ({"range": {"mtop": [1, 2]}, "values": {"mtop": [1, 2]}}, "range", "not used"),
        ({}, None, "exactly one of `file`"),
        ({"file": "a.yaml", "values": {"mtop": [1, 2]}}, None, "exactly one of `file`"),
    ],
)
def test_scan_from_input_refuses_the_grid_keys_and_needs_one_source(
    top_mass, scan_points, path, message
):
    err = _error(_input_fit(**scan_points), top_mass)
    expected = ("fits", "s", "scan_points") + ((path,) if path else ())
    assert err.problem.path == expected and message in str(err)


def test_scan_input_keys_are_refused_for_a_hessian_grid(top_mass):
    fits = {"s": {"scan": ["mtop"], "scan_points": {"values": {"mtop": [1, 2]}}}}
    err = _error(fits, top_mass)
    assert err.problem.path == ("fits", "s", "scan_points", "values")
    assert "only used with from: input" in str(err)


def test_given_scan_values_outside_the_trained_range_are_dropped():
    assert scan_points_given([170.0, 172.0, 175.0], (171.0, 174.0)) == [172.0]
    assert scan_points_given([1.0, 2.0], None) == [1.0, 2.0]


# ---------------------------------------------------------------------- likelihood debug


def test_debug_points_take_the_defaults_for_the_other_parameters(top_mass):
    fits = expand_fit_sets(
        {"d": {"likelihood_debug": True, "debug_points": [{"mtop": 173.0}]}}, top_mass
    )
    labelled = debug_hypotheses(
        {"mtop": 172.0}, top_mass.defaults, {"mtop": 172.1}, fits["d"]["debug_points"]
    )
    assert list(labelled)[:3] == ["truth", "defaults", "best fit"]
    point = labelled["point 0: mtop=173"]
    assert point == {**top_mass.defaults, "mtop": 173.0}


def test_debug_points_name_fit_parameters_and_need_the_debug_step(top_mass):
    err = _error({"d": {"likelihood_debug": True, "debug_points": [{"mtp": 1.0}]}}, top_mass)
    assert err.problem.path == ("fits", "d", "debug_points", 0)
    assert "did you mean 'mtop'" in str(err)
    err = _error({"d": {"debug_points": [{"mtop": 173.0}]}}, top_mass)
    assert "likelihood_debug: true" in str(err)


# ----------------------------------------------------------------------- per-process fits


def test_a_per_process_fit_floats_its_own_shape_and_rate_parameters(top_mass):
    from innfer_lib.core.fit_sets import process_fit_parameters, processes_frozen

    # ttbar: the flow's mtop and jes, the isr regression, its rate; lumi is yield-only (lnN)
    assert process_fit_parameters(top_mass, ["ttbar"]) == ["isr", "jes", "mtop", "mu_ttbar"]
    assert processes_frozen(top_mass, ["ttbar"]) == ["lumi", "wjets_norm"]
    # wjets has no rate parameter; both processes, or none named, are the combined fit
    assert "mtop" not in process_fit_parameters(top_mass, ["wjets"])
    assert processes_frozen(top_mass, ["wjets", "ttbar"]) == processes_frozen(top_mass, None) == []
    fits = expand_fit_sets({"t": {"processes": ["ttbar"], "freeze": "all-but-one"}}, top_mass)
    assert sorted(all_but_one_families(fits)["t"]) == ["mtop", "mu_ttbar"]
    # W+jets has neither a POI nor a rate parameter: nothing to loop over but its nuisances
    err = _error({"w": {"processes": ["wjets"], "freeze": "all-but-one"}}, top_mass)
    assert err.problem.path == ("fits", "w", "freeze") and "loop_over_nuisances" in str(err)
    looped = {"processes": ["wjets"], "freeze": "all-but-one",
              "all_but_one": {"loop_over_nuisances": True}}  # fmt: skip
    assert sorted(all_but_one_families(expand_fit_sets({"w": looped}, top_mass))["w"]) == [
        "isr", "jes"]  # fmt: skip


@pytest.mark.parametrize(
    ("options", "path", "message"),
    [
        ({"processes": ["ttbr"]}, "processes", "did you mean 'ttbar'"),
        ({"processes": ["ttbar"], "data_type": "data"}, "processes", "events of every process"),
        ({"processes": ["ttbar"], "data_type": "resampled"}, "processes", "(data_type: sim"),
        ({"processes": ["ttbar"], "postfit": True}, "processes", "postfit"),
        ({"processes": ["wjets"], "scan": ["mtop"]}, "scan", "not parameters of ['wjets']"),
    ],
)
def test_per_process_fit_errors_name_the_key(top_mass, options, path, message):
    err = _error({"p": options}, top_mass)
    assert err.problem.path == ("fits", "p", path) and message in str(err)
