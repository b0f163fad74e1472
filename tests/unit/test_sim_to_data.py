"""Simulation-to-data factors: the arithmetic, the `sim_to_data` block, applying a factor."""

import copy

import numpy as np
import pandas as pd
import pytest

from innfer_lib.core.config_files import ConfigKeyError
from innfer_lib.core.errors import DataError
from innfer_lib.core.io import write_parquet, write_yaml
from innfer_lib.data.sim_to_data import (
    apply_factor,
    group_factors,
    group_name,
    normalisation_factors,
    process_factor,
    sim_to_data_options,
)

CATEGORIES = ["a", "b", "c"]
PROCESSES = ["sig", "bkg"]
# A hand example: group {a, b}, data 120 + 80 = 200; the background (40 + 50) is normalised
# and the signal (30 + 20) is not, so f = (200 − 50) / 90 = 5/3.
DATA = {"a": 120.0, "b": 80.0}
NOMINAL = {"a": {"sig": 30.0, "bkg": 50.0}, "b": {"sig": 20.0, "bkg": 40.0}}


def test_factor_of_a_hand_example():
    record = normalisation_factors(["a", "b"], ["bkg"], DATA, NOMINAL)
    assert record["factor"] == pytest.approx(5 / 3)
    assert record["sums"] == {"data": 200.0, "normalised": 90.0, "others": 50.0}
    assert record["categories"]["b"] == {
        "data": 80.0,
        "processes": {
            "sig": {"factor": 1.0, "sum": 20.0},
            "bkg": {"factor": pytest.approx(5 / 3), "sum": 40.0},
        },
    }
    # Normalised, the group's simulation adds up to the data.
    scaled = sum(
        e["factor"] * e["sum"]
        for c in record["categories"].values()
        for e in c["processes"].values()
    )
    assert scaled == pytest.approx(200.0)


def test_every_process_normalised_is_the_plain_ratio():
    record = normalisation_factors(["a"], PROCESSES, DATA, NOMINAL)
    assert record["factor"] == pytest.approx(120.0 / 80.0)
    assert record["sums"]["others"] == 0.0


def test_factor_not_positive_is_an_error_naming_group_and_numbers():
    with pytest.raises(DataError, match=r"\['a'\].*data sum 25 .* nominal yield 30 .*≤ 0"):
        normalisation_factors(["a"], ["bkg"], {"a": 25.0}, NOMINAL)
    with pytest.raises(DataError, match=r"\['a'\].*\['sig'\] have a total nominal yield of 0"):
        normalisation_factors(["a"], ["sig"], DATA, {"a": {"sig": 0.0, "bkg": 50.0}})
    with pytest.raises(DataError, match="category 'b'"):
        normalisation_factors(["a", "b"], ["bkg"], {"a": 120.0}, NOMINAL)


def test_options_default_to_one_group_per_category_and_every_process():
    options = sim_to_data_options({}, CATEGORIES, PROCESSES)
    assert options.groups == (("a",), ("b",), ("c",))
    assert options.processes == ("sig", "bkg") and not options.apply
    assert list(options.names) == ["a", "b", "c"]


def test_options_groups_and_processes():
    block = {"groups": [["b", "a"], ["c"]], "processes": ["bkg"], "apply": True}
    options = sim_to_data_options(block, CATEGORIES, PROCESSES)
    assert options.names == {"b+a": ("b", "a"), "c": ("c",)}
    assert options.group_of("a") == "b+a" and options.group_of("c") == "c"
    assert options.processes == ("bkg",) and options.apply
    partial = sim_to_data_options({"groups": [["a"]]}, CATEGORIES, PROCESSES)
    assert partial.group_of("b") is None  # not normalised
    assert group_name(["x", "y"]) == "x+y"


@pytest.mark.parametrize(
    ("block", "path", "message"),
    [
        (
            {"groups": [["a", "bb"]]},
            ("sim_to_data", "groups", 0),
            "'bb' is not a category; did you mean 'b'",
        ),
        ({"groups": [["a"], ["b", "a"]]}, ("sim_to_data", "groups", 1), "already in group 0"),
        (
            {"processes": ["sig", "ttbar"]},
            ("sim_to_data", "processes"),
            r"'ttbar' is not a process \(known: sig, bkg\)",
        ),
    ],
)
def test_options_name_unknown_and_repeated_names(block, path, message):
    with pytest.raises(ConfigKeyError, match=message) as err:
        sim_to_data_options(block, CATEGORIES, PROCESSES)
    assert err.value.problem.path == path


def _parameters():
    return {
        "yields": {"nominal": 200.0, "lnN": {"nu": [0.9, 1.1]}},
        "eff_events": {"val": {0: 150.0}},
        "binned_fit_input": [
            {"bin_ind": 0, "yields": {"all": {"nominal": 120.0, "lnN": {"nu": [0.9, 1.1]}}}},
            {"bin_ind": 1, "yields": {"all": {"nominal": 80.0, "lnN": {}}}},
        ],
        "validation_binned_fit": {"val": {0: [110.0, 90.0]}, "full": {0: [100.0, 100.0]}},
    }


def test_apply_factor_scales_every_yield_and_nothing_else():
    params = _parameters()
    before = copy.deepcopy(params)
    out = apply_factor(params, 1.5, "a+b")
    assert params == before  # the input is left alone
    assert out["yields"] == {"nominal": 300.0, "lnN": {"nu": [0.9, 1.1]}}
    assert [b["yields"]["all"]["nominal"] for b in out["binned_fit_input"]] == [180.0, 120.0]
    assert out["binned_fit_input"][0]["yields"]["all"]["lnN"] == {"nu": [0.9, 1.1]}
    assert out["validation_binned_fit"] == {"val": {0: [165.0, 135.0]}, "full": {0: [150.0, 150.0]}}
    assert out["eff_events"] == before["eff_events"]
    assert out["sim_to_data"] == {"factor": 1.5, "group": "a+b"}
    plain = apply_factor({"yields": {"nominal": 10.0}}, 1.0, None)
    assert plain["yields"]["nominal"] == 10.0 and plain["sim_to_data"]["group"] is None


def test_group_factors_from_files(tmp_path):
    """Data sums are Σ wt when the file has weights and the event count otherwise."""
    data = {
        "a": pd.DataFrame({"X1": np.zeros(120)}),
        "b": pd.DataFrame({"X1": np.zeros(40), "wt": np.full(40, 2.0)}),
    }
    data_files, parameter_files = {}, {}
    for c, frame in data.items():
        data_files[c] = str(tmp_path / f"data_{c}.parquet")
        write_parquet(data_files[c], frame)
        for p, nominal in NOMINAL[c].items():
            path = str(tmp_path / f"{p}_{c}.yaml")
            write_yaml(path, {"yields": {"nominal": nominal}})
            parameter_files.setdefault(c, {})[p] = path
    record = group_factors(["a", "b"], ["bkg"], data_files, parameter_files)
    assert record["sums"]["data"] == pytest.approx(200.0)
    assert record["factor"] == pytest.approx(5 / 3)
    assert process_factor(record, "bkg", "a", "f.yaml") == pytest.approx(5 / 3)
    assert process_factor(record, "sig", "a", "f.yaml") == 1.0
    with pytest.raises(DataError, match="f.yaml: no factor for process 'ttbar'"):
        process_factor(record, "ttbar", "a", "f.yaml")
    write_yaml(parameter_files["b"]["sig"], {"eff_events": {}})
    with pytest.raises(DataError, match=r"process 'sig', category 'b'.*sig_b.yaml.*yields.nominal"):
        group_factors(["a", "b"], ["bkg"], data_files, parameter_files)
