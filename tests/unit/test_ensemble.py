"""Density ensembles: the `ensemble` option, member seeds and names, the spread statistics,
the ensemble summary and its plot, and (slow) two members trained through the library."""

import math

import numpy as np
import pytest
import yaml

from innfer_lib.core.errors import ConfigError, DataError
from innfer_lib.core.paths import ensemble_member, ensemble_member_index
from innfer_lib.density.ensemble import (
    ENSEMBLE_KEY,
    ensemble_size,
    member_architecture,
    member_seed,
)
from innfer_lib.density.models import LEARNED
from innfer_lib.density.train_job import load_architecture
from innfer_lib.density.training_options import check_density_options
from innfer_lib.results.ensemble import (
    FLOW_LIMITED_RATIO,
    ensemble_point,
    ensemble_summary,
    flow_limited,
    spread_ratio,
    spread_statistics,
)


# --- the option ----------------------------------------------------------------------------
@pytest.mark.parametrize("value", [1, 3, 10, 2.0])
def test_ensemble_accepts_whole_numbers_from_one(value):
    check_density_options({ENSEMBLE_KEY: value})
    assert ensemble_size({ENSEMBLE_KEY: value}) == int(value)


def test_ensemble_defaults_to_one_flow():
    assert ensemble_size({}) == 1


@pytest.mark.parametrize("value", [0, -2, 2.5, "3", "three", True, None])
def test_bad_ensemble_names_the_key_and_the_value(value):
    with pytest.raises(ValueError, match=r"^ensemble must be an integer >= 1") as err:
        check_density_options({ENSEMBLE_KEY: value})
    assert repr(value) in str(err.value)


def test_load_architecture_names_the_file_of_a_bad_ensemble(tmp_path):
    path = tmp_path / "arch.yaml"
    path.write_text(yaml.safe_dump({"epochs": 1, ENSEMBLE_KEY: 0}))
    with pytest.raises(ConfigError, match=rf"{path}: ensemble must be an integer >= 1, got 0"):
        load_architecture(path)


# --- members: seeds and names --------------------------------------------------------------
def test_member_zero_keeps_the_seed_and_the_others_get_distinct_derived_ones():
    seeds = [member_seed(42, k) for k in range(50)]
    assert seeds[0] == 42
    assert len(set(seeds)) == 50
    assert all(0 <= s < 2**31 for s in seeds)
    # Not consecutive seeds: member 1 of seed 42 is not the main flow of seed 43.
    assert member_seed(42, 1) != 43
    # Reproducible, and different for another workflow seed.
    assert seeds == [member_seed(42, k) for k in range(50)]
    assert member_seed(43, 1) != member_seed(42, 1)
    with pytest.raises(ValueError, match="member"):
        member_seed(42, -1)


def test_member_architecture_drops_the_key_and_sets_the_member_seed():
    arch = {"epochs": 3, "seed": 7, ENSEMBLE_KEY: 3}
    assert member_architecture(arch, 0) == {"epochs": 3, "seed": 7}
    assert member_architecture(arch, 2) == {"epochs": 3, "seed": member_seed(7, 2)}
    # Member 0 without a seed key stays without one: today's record, unchanged.
    assert member_architecture({"epochs": 3}, 0) == {"epochs": 3}
    assert arch[ENSEMBLE_KEY] == 3  # the caller's mapping is not changed


def test_load_architecture_gives_each_member_its_seed(tmp_path):
    path = tmp_path / "arch.yaml"
    path.write_text(yaml.safe_dump({"epochs": 1, ENSEMBLE_KEY: 3}))
    main = load_architecture(path, seed=42)
    assert main == {"epochs": 1, "seed": 42}
    assert load_architecture(path, seed=42, member=2)["seed"] == member_seed(42, 2)
    # The file's own seed is the one members derive from, as it is the main flow's.
    path.write_text(yaml.safe_dump({"seed": 5, ENSEMBLE_KEY: 2}))
    assert load_architecture(path, seed=42, member=1)["seed"] == member_seed(5, 1)


def test_member_names_round_trip_and_member_zero_is_the_learned_density():
    assert ensemble_member(0) == LEARNED
    assert ensemble_member(2) == "learned_2"
    for k in range(12):
        assert ensemble_member_index(ensemble_member(k)) == k
    for name in ["truth", "learned_0", "learned_", "learned_x", "learned_01", "other_1"]:
        with pytest.raises(ValueError, match="ensemble member"):
            ensemble_member_index(name)


# --- spread statistics ---------------------------------------------------------------------
def test_spread_is_the_sample_standard_deviation():
    stats = spread_statistics([1.0, 2.0, 3.0])
    assert stats["n"] == 3
    assert stats["mean"] == pytest.approx(2.0)
    assert stats["spread"] == pytest.approx(1.0)  # ddof = 1, not sqrt(2/3)
    assert stats["spread_rel_uncertainty"] == pytest.approx(0.5)
    assert (stats["min"], stats["max"]) == (1.0, 3.0)


def test_spread_of_one_or_no_member_is_undefined():
    one = spread_statistics([4.0])
    assert one["mean"] == 4.0 and math.isnan(one["spread"])
    assert math.isnan(spread_statistics([])["mean"])


def test_ratio_and_criterion():
    assert spread_ratio(0.1, 0.5) == pytest.approx(0.2)
    assert math.isnan(spread_ratio(0.1, 0.0)) and math.isnan(spread_ratio(0.1, math.nan))
    assert FLOW_LIMITED_RATIO == pytest.approx(1 / 3)
    assert flow_limited(0.34) and flow_limited(FLOW_LIMITED_RATIO)
    assert not flow_limited(0.3) and not flow_limited(math.nan)


# --- the summary ---------------------------------------------------------------------------
def _member(mu, valid=True, at_limit=()):
    return {
        "columns": ["mu", "nu"],
        "best_fit": [mu, 0.0],
        "valid": valid,
        "parameters_at_limit": list(at_limit),
    }


def _result(truth, best, sigma):
    return {
        "fit_valid": True,
        "truth": {"mu": truth, "nu": 0.0},
        "parameters": {
            "mu": {"truth": truth, "best_fit": best, "sigma": sigma},
            "nu": {"truth": 0.0, "best_fit": 0.0, "sigma": 1.0},
        },
    }


def test_point_compares_the_members_spread_with_sigma_stat():
    point = ensemble_point([_member(1.0), _member(1.2), _member(1.4)], _result(1.0, 1.0, 0.5))
    mu = point["parameters"]["mu"]
    assert mu["members"] == [1.0, 1.2, 1.4]
    assert mu["mean"] == pytest.approx(1.2)
    assert mu["spread"] == pytest.approx(0.2)
    assert mu["sigma_stat"] == 0.5
    assert mu["ratio"] == pytest.approx(0.4)
    assert mu["flow_limited"]
    assert point["parameters"]["nu"]["spread"] == 0.0
    assert not point["parameters"]["nu"]["flow_limited"]


def test_invalid_members_are_listed_and_left_out_of_the_spread():
    members = [_member(1.0), _member(5.0, at_limit=["mu"]), _member(1.1), _member(0.0, False)]
    point = ensemble_point(members, _result(1.0, 1.0, 0.5))
    mu = point["parameters"]["mu"]
    assert point["invalid_members"] == [1, 3]
    assert mu["n"] == 2 and mu["mean"] == pytest.approx(1.05)
    assert mu["members"] == [1.0, 5.0, 1.1, 0.0]  # every value is still recorded


def test_a_member_without_a_parameter_of_the_main_fit_is_an_error():
    member = {"columns": ["mu"], "best_fit": [1.0], "valid": True}
    with pytest.raises(DataError, match="member 1.*'nu'"):
        ensemble_point([_member(1.0), member], _result(1.0, 1.0, 0.5))


def test_summary_gives_the_verdict_per_parameter():
    members = {
        0: [_member(1.0), _member(1.01), _member(0.99)],
        1: [_member(2.0), _member(2.3), _member(1.7)],
    }
    main = {0: _result(1.0, 1.0, 0.5), 1: _result(2.0, 2.0, 0.5)}
    summary = ensemble_summary("closure", [0, 1], members, main)
    assert summary["members"] == 3
    assert summary["varied"] == ["mu"]
    verdict = summary["verdict"]["mu"]
    assert verdict["flow_limited_points"] == [1]
    assert verdict["worst_ratio"] == pytest.approx(0.6)
    assert summary["verdict"]["nu"]["flow_limited_points"] == []
    with pytest.raises(DataError, match="member counts"):
        ensemble_summary("closure", [0, 1], {0: members[0], 1: members[1][:2]}, main)


def test_ensemble_plot_draws_every_parameter_and_writes_both_files(tmp_path):
    from innfer_lib.plots.ensemble import ensemble_plot

    members = {v: [_member(v + 1.0 + 0.1 * k) for k in range(3)] for v in range(3)}
    main = {v: _result(v + 1.0, v + 1.0, 0.2) for v in range(3)}
    summary = ensemble_summary("closure", [0, 1, 2], members, main)
    outputs = [str(tmp_path / "e.pdf"), str(tmp_path / "e.png")]
    pads = ensemble_plot(summary, outputs)
    assert len(pads) == 2
    upper, lower = pads[0]
    assert upper.get_ylabel() == "mu − truth"
    assert lower.get_ylabel() == "spread / σ_stat"
    assert [t.get_text() for t in lower.get_xticklabels()] == ["mu=1", "mu=2", "mu=3"]
    # The ratio pad: 0.1 / 0.2 at every point, all above the line.
    drawn = np.concatenate([line.get_ydata() for line in lower.get_lines()[1:]])
    np.testing.assert_allclose(drawn, 0.5)
    for path in outputs:
        assert (tmp_path / path).stat().st_size > 0
    # A fit of observed data is drawn against the nominal point, and says so.
    for v in main:
        main[v]["reference"] = "nominal"
    data = ensemble_summary("data", [0, 1, 2], members, main)
    assert ensemble_plot(data, [])[0][0].get_ylabel() == "mu − nominal"


# --- two members trained through the library ----------------------------------------------
@pytest.mark.slow
def test_two_members_train_to_different_flows(tmp_path):
    """Members 0 and 1 of a tiny ensemble: same data and architecture, different seeds, so
    different initial weights and batch orders, and different trained flows; member 0 is
    what training without an ensemble gives."""
    import pandas as pd

    from innfer_lib.density.train_job import train_density

    rng = np.random.default_rng(3)
    n = 400
    theta = rng.uniform(-1.0, 1.0, n)
    frame = pd.DataFrame({"x": theta + rng.normal(0.0, 1.0, n), "theta": theta, "wt": np.ones(n)})
    parameters = {"density": {"X_columns": ["x"], "Y_columns": ["theta"]}}
    path = tmp_path / "arch.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "coupling_design": "affine",
                "num_coupling_layers": 2,
                "affine_units_per_dense_layer": 8,
                "epochs": 2,
                "batch_size": 128,
                "early_stopping": False,
                ENSEMBLE_KEY: 2,
            }
        )
    )
    plain = tmp_path / "plain.yaml"
    plain.write_text(path.read_text().replace(f"{ENSEMBLE_KEY}: 2\n", ""))
    x = np.array([[0.0], [0.5]], np.float32)
    cond = np.array([[0.0], [0.0]], np.float32)
    log_probs = []
    for arch in (
        load_architecture(path, seed=42, member=0),
        load_architecture(path, seed=42, member=1),
        load_architecture(plain, seed=42),
    ):
        flow, history = train_density(frame, frame, parameters, arch, progress=False)
        assert len(history["train_loss"]) == 3  # epoch 0 and two epochs
        log_probs.append(np.asarray(flow.log_prob(x, cond)))
    member_0, member_1, without = log_probs
    assert not np.allclose(member_0, member_1)
    np.testing.assert_array_equal(member_0, without)
