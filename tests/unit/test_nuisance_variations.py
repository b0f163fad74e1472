"""Nuisance variations (issue 18): names, yields, shapes, the stacked files and the Asimov."""

import numpy as np
import pandas as pd
import pytest

from innfer_lib.core.analysis import load_analysis
from innfer_lib.core.errors import ConfigError, DataError
from innfer_lib.core.io import read_parquet, write_parquet
from innfer_lib.data.benchmarks import SHAPE_NUISANCE, get_benchmark
from innfer_lib.data.measured_yields import measure_yields
from innfer_lib.data.nuisance_variations import (
    VARIATION_COLUMN,
    Variation,
    double_variations,
    process_nuisances,
    single_variations,
    stack_variations,
    variation_label,
    variation_point,
    variation_rows,
    variation_sample,
    variation_samples,
    variation_sets,
    variation_specs,
    variations,
)
from innfer_lib.data.preprocessor import Preprocessor
from innfer_lib.data.schema import SPLIT_COLUMN, WEIGHT
from innfer_lib.data.splits import SIM_TYPES
from innfer_lib.data.validation_sets import point_set, validation_sample
from innfer_lib.data.yields import process_yield
from innfer_lib.density.models import TrueDensity
from innfer_lib.density.sampling import make_asimov

N = 20_000
NOMINAL = 1000.0
#: ln of the per-event weight factor of `tilt` at +1, per unit of x_nom: w(tilt) = w e^{a tilt x}.
TILT = 0.2
#: Relative scale shift of x per unit of `scale`.
SCALE = 0.1


def _raw():
    """One process, x ~ N(0, 1) (x_nom), at two values of a file-column POI m; three
    nuisances: `scale` moves x (the flow learns it), `tilt` reweights events (a regression
    learns it), `lumi` only scales the yield (κ = 1.1)."""
    return {
        "name": "VariationToy",
        "variables": ["x"],
        "pois": ["m"],
        "nuisances": ["lumi", "scale", "tilt"],
        "default_values": {"m": 1.0},
        "files": {
            "sim": {
                "inputs": ["sim.parquet"],
                "weight": "w",
                "parameters": ["m"],
                "calculate": {"x": f"x_nom * (1 + {SCALE} * scale)"},
                "weight_shifts": {"tilt": f"exp({TILT} * tilt * x_nom)"},
            }
        },
        "models": {
            "proc": {
                "density_models": [
                    {
                        "parameters": ["m", "scale"],
                        "file": "sim",
                        "shifts": {"scale": {"type": "continuous", "range": [-2.0, 2.0]}},
                    }
                ],
                "regression_models": [
                    {
                        "parameter": "tilt",
                        "file": "sim",
                        "shifts": {"tilt": {"type": "continuous", "range": [-2.0, 2.0]}},
                    }
                ],
                "yields": [{"file": "sim"}],
            }
        },
        "inference": {"lnN": {"proc": [{"parameter": "lumi", "rate": 1.1}]}},
        "validation": {"loop": [{"m": 1.0}, {"m": 2.0}], "files": {"proc": [{"file": "sim"}]}},
        "preprocess": {"train_test_val_split": "0.6:0.2:0.2"},
    }


@pytest.fixture(scope="module")
def toy():
    """The analysis, its PreProcess job and the yields PreProcess measured."""
    rng = np.random.default_rng(11)
    m = rng.choice([1.0, 2.0], N)
    frame = pd.DataFrame({"x_nom": rng.normal(0.0, 1.0, N), "m": m})
    # Σw = NOMINAL at each m, as the benchmarks are normalised.
    frame["w"] = np.where(m == 1.0, NOMINAL / np.sum(m == 1.0), NOMINAL / np.sum(m == 2.0))
    analysis = load_analysis(_raw())
    pre = Preprocessor(analysis, "proc", "inclusive", {"sim": frame}, seed=3)
    parameters = {
        "density": {"X_columns": ["x"]},
        "yields": measure_yields(pre),
        "rate_parameter": None,
    }
    return analysis, pre, parameters


@pytest.fixture(scope="module")
def singles(toy):
    analysis, pre, _ = toy
    specs = variation_specs(variations(analysis, "proc", "inclusive", "single"))
    return specs, variation_sets(pre, specs)


def test_the_nuisances_of_a_process_are_its_shape_and_lnn_ones(toy):
    analysis = toy[0]
    assert process_nuisances(analysis, "proc", "inclusive") == ["lumi", "scale", "tilt"]
    tags = [v.tag for v in variations(analysis, "proc", "inclusive", "single")]
    assert tags == [
        "lumi_up",
        "lumi_down",
        "scale_up",
        "scale_down",
        "tilt_up",
        "tilt_down",
    ]


def test_double_variations_move_their_own_pair_with_sorted_names():
    """INNFER moved nuisances[0] and [1] whatever the pair; each variation here moves its own."""
    found = double_variations(["tilt", "lumi", "scale"])
    assert len(found) == 3 * 4
    pairs = {tuple(v.values) for v in found}
    assert pairs == {("lumi", "scale"), ("lumi", "tilt"), ("scale", "tilt")}
    assert [v.tag for v in found[:4]] == [
        "lumi_up_scale_up",
        "lumi_up_scale_down",
        "lumi_down_scale_up",
        "lumi_down_scale_down",
    ]
    assert {v.tag: v.values for v in found}["scale_down_tilt_up"] == {"scale": -1.0, "tilt": 1.0}
    assert all(v.order == "double" for v in found)
    assert all(v.order == "single" for v in single_variations(["a"]))
    # A pair is named with its nuisances sorted, whatever order they are given in.
    with pytest.raises(ValueError, match="sorted"):
        Variation((("tilt", "up"), ("lumi", "up")))
    with pytest.raises(ValueError, match="up/down"):
        Variation((("tilt", "sideways"),))


def test_variations_of_one_process_need_distinct_names(toy):
    raw = _raw()
    # `a_up_b` up is named like the pair (a up, b up).
    raw["nuisances"] += ["a", "a_up_b", "b"]
    raw["inference"]["lnN"]["proc"] += [{"parameter": n, "rate": 1.1} for n in ("a", "a_up_b", "b")]
    analysis = load_analysis(raw)
    with pytest.raises(ConfigError, match="'a_up_b_up'"):
        variations(analysis, "proc", "inclusive", "single")
    with pytest.raises(ValueError, match="order"):
        variations(toy[0], "proc", "inclusive", "triple")


def test_rate_nuisance_variations_sum_to_the_yield_at_plus_minus_one(toy, singles):
    """data.md §4.7 [verified]: κ = 1.1 on a nominal 1000 gives 1100 and 909.1, per sim type."""
    analysis, pre, parameters = toy
    specs, frame = singles
    assert parameters["yields"]["nominal"] == pytest.approx(NOMINAL)
    expected = {"lumi_up": 1100.0, "lumi_down": 1000.0 / 1.1}
    for tag, total in expected.items():
        for sim_type in SIM_TYPES:
            _, w = variation_sample(frame, parameters, analysis.defaults, tag, specs[tag], sim_type)
            assert w.sum() == pytest.approx(total, rel=1e-12), (tag, sim_type)
    # A rate nuisance moves no event: its variations are the default point's validation set.
    nominal = point_set(pre, analysis.defaults, "val_0")
    for tag in expected:
        rows = variation_rows(frame, tag, "toy").drop(columns=VARIATION_COLUMN)
        pd.testing.assert_frame_equal(rows, nominal)


def test_weight_nuisance_changes_the_shape_as_the_weights_say(toy, singles):
    analysis, pre, parameters = toy
    specs, frame = singles
    nominal = point_set(pre, analysis.defaults, "val_0")
    for tag, sign in (("tilt_up", 1.0), ("tilt_down", -1.0)):
        rows = variation_rows(frame, tag, "toy")
        # The same events, split the same way, each weight times e^{±a x}.
        np.testing.assert_array_equal(rows[SPLIT_COLUMN], nominal[SPLIT_COLUMN])
        np.testing.assert_allclose(
            rows[WEIGHT], nominal[WEIGHT] * np.exp(sign * TILT * nominal["x"]), rtol=1e-12
        )
        x, w = variation_sample(frame, parameters, analysis.defaults, tag, specs[tag], "full")
        # N(0, 1) tilted by e^{±a x} is N(±a, 1): its mean moves by ±a (σ ≈ 0.01 here).
        assert np.average(x[:, 0], weights=w) == pytest.approx(sign * TILT, abs=0.04)
        point = variation_point(analysis.defaults, specs[tag])
        assert w.sum() == pytest.approx(process_yield(parameters["yields"], point))
    # The measured yield effect of tilt is E[e^{±a x}] = e^{a²/2} for both directions.
    down, up = parameters["yields"]["lnN"]["tilt"]
    assert up == pytest.approx(np.exp(TILT**2 / 2), rel=0.01)
    assert down == pytest.approx(np.exp(TILT**2 / 2), rel=0.01)


def test_feature_nuisance_moves_the_events(toy, singles):
    analysis, pre, _ = toy
    _, frame = singles
    nominal = point_set(pre, analysis.defaults, "val_0")
    for tag, sign in (("scale_up", 1.0), ("scale_down", -1.0)):
        rows = variation_rows(frame, tag, "toy")
        np.testing.assert_allclose(rows["x"], nominal["x"] * (1 + sign * SCALE), rtol=1e-12)
        # The flow is conditioned on scale: the variation's events carry its value.
        assert (rows["scale"] == sign).all()


def test_double_variation_applies_both_nuisances_and_both_yield_effects(toy):
    analysis, pre, parameters = toy
    specs = variation_specs(variations(analysis, "proc", "inclusive", "double"))
    assert len(specs) == 12
    frame = variation_sets(pre, {"scale_down_tilt_up": specs["scale_down_tilt_up"]})
    nominal = point_set(pre, analysis.defaults, "val_0")
    rows = variation_rows(frame, "scale_down_tilt_up", "toy")
    np.testing.assert_allclose(rows["x"], nominal["x"] * (1 - SCALE), rtol=1e-12)
    np.testing.assert_allclose(
        rows[WEIGHT], nominal[WEIGHT] * np.exp(TILT * nominal["x"]), rtol=1e-12
    )
    frame = variation_sets(pre, {"lumi_down_tilt_up": specs["lumi_down_tilt_up"]})
    _, w = variation_sample(
        frame, parameters, analysis.defaults, "lumi_down_tilt_up", specs["lumi_down_tilt_up"]
    )
    kappa_tilt = parameters["yields"]["lnN"]["tilt"][1]
    assert w.sum() == pytest.approx(NOMINAL / 1.1 * kappa_tilt, rel=1e-12)


def test_variation_file_round_trip_keeps_every_name(tmp_path):
    frames = {
        "a_up": pd.DataFrame({"x": [1.0, 2.0], WEIGHT: [1.0, 1.0]}),
        "a_down": pd.DataFrame({"x": [], WEIGHT: []}),
    }
    path = tmp_path / "variations.parquet"
    write_parquet(path, stack_variations(frames))
    back = read_parquet(path)
    assert list(back[VARIATION_COLUMN].cat.categories) == ["a_up", "a_down"]
    assert len(variation_rows(back, "a_up", "f")) == 2
    # A variation without events is known to the file and empty, not an error.
    assert variation_rows(back, "a_down", "f").empty
    with pytest.raises(DataError, match="no variation 'b_up'"):
        variation_rows(back, "b_up", "f")
    with pytest.raises(DataError, match="not a nuisance variation file"):
        variation_rows(back.drop(columns=VARIATION_COLUMN), "a_up", "f")
    with pytest.raises(ValueError, match="no variations"):
        stack_variations({})


def test_labels_and_plot_samples(toy, singles):
    analysis, _, parameters = toy
    specs, frame = singles
    assert variation_label({"jes": 1.0, "isr": -1.0}) == "jes = +1, isr = -1"
    assert variation_label({"jes": 1.0}, {"jes": "JES [σ]"}.get) == "JES [σ] = +1"
    chosen = {t: specs[t] for t in ("lumi_up", "lumi_down")}
    samples = variation_samples(frame, parameters, analysis.defaults, chosen, sim_type="full")
    assert [s["label"] for s in samples] == ["lumi = +1", "lumi = -1"]
    nominal_x, nominal_w = validation_sample(
        variation_rows(frame, "lumi_up", "toy"), parameters, analysis.defaults, "full"
    )
    np.testing.assert_array_equal(samples[0]["x"], nominal_x)
    np.testing.assert_allclose(samples[0]["w"], nominal_w * 1.1)


def test_asimov_at_the_variation_tracks_the_simulated_variation():
    """The shape benchmark: its simulation reweighted to ν = ±1 and its true density sampled
    at ν = ±1 agree in yield exactly and in the shift of X2 within statistics, and both differ
    from the nominal by many σ, so the Asimov really is at the variation."""
    benchmark = get_benchmark("Dim2GaussianWithShapeNuisance")
    analysis = load_analysis(benchmark.analysis_config("inputs"))
    loaded = {"base": benchmark.simulate(400_000, 3)["Signal"]}
    pre = Preprocessor(analysis, "Signal", "inclusive", loaded, seed=4)
    parameters = {
        "density": {"X_columns": ["X1", "X2"]},
        "yields": measure_yields(pre),
        "rate_parameter": None,
    }
    specs = variation_specs(variations(analysis, "Signal", "inclusive", "single"))
    assert list(specs) == [f"{SHAPE_NUISANCE}_up", f"{SHAPE_NUISANCE}_down"]
    frame = variation_sets(pre, specs)
    truth = TrueDensity(benchmark.name, "Signal")
    for tag, values in specs.items():
        x, w = variation_sample(frame, parameters, analysis.defaults, tag, values)
        point = variation_point(analysis.defaults, values)
        asimov = make_asimov(truth, parameters, point, 400_000, seed=5, cap=False)
        assert asimov[WEIGHT].sum() == pytest.approx(w.sum(), rel=1e-12)
        mean_sim = np.average(x[:, 1], weights=w)
        sigma = np.sqrt(np.average((x[:, 1] - mean_sim) ** 2, weights=w) / len(w))
        mean_asimov = np.average(asimov["X2"], weights=asimov[WEIGHT])
        assert abs(mean_sim - mean_asimov) < 4 * sigma, (tag, mean_sim, mean_asimov, sigma)
        assert abs(mean_asimov) > 5 * sigma  # the nominal X2 has mean 0
