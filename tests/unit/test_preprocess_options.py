"""PreProcess options on a small two-process, two-category toy with shape nuisances."""

import copy

import numpy as np
import pandas as pd
import pytest

from innfer_lib.core.analysis import load_analysis
from innfer_lib.core.errors import ConfigError, DataError
from innfer_lib.data import shifts
from innfer_lib.data.datasets import build_dataset
from innfer_lib.data.measured_yields import measure_yields
from innfer_lib.data.preprocess import preprocess
from innfer_lib.data.preprocessor import Preprocessor
from innfer_lib.data.schema import CLASSIFIER_TRUTH
from innfer_lib.data.splits import SPLIT_CODE, assign_splits, strata_of
from innfer_lib.data.training_sets import aux_sets
from innfer_lib.data.weighted_stats import effective_events, reweight_to_shift
from innfer_lib.data.yields import process_yield

N = 6000
MASSES = [1.0, 2.0, 3.0]


def _frames(rng):
    m = rng.choice(MASSES, N)
    sig = pd.DataFrame(
        {
            "x_nom": rng.normal(m, 0.5),
            "m": m,
            "nb": rng.integers(1, 3, N).astype(float),
            "gen_wt": np.where(rng.random(N) < 0.05, -1.0, 1.0) * 0.1,
        }
    )
    bkg = pd.DataFrame(
        {
            "x_nom": rng.exponential(2.0, 2 * N),
            "nb": rng.integers(1, 3, 2 * N).astype(float),
            "gen_wt": np.full(2 * N, 0.2),
        }
    )
    return sig, bkg


def _raw(tmp_path):
    return {
        "name": "Toy",
        "variables": ["x"],
        "pois": ["m"],
        "nuisances": ["jes", "eff", "lumi"],
        "default_values": {"m": 2.0},
        "categories": {"one": "nb == 1", "two": "nb == 2"},
        "files": {
            "sig": {
                "inputs": [str(tmp_path / "sig.parquet")],
                "weight": "gen_wt",
                "parameters": ["m"],
                "calculate": {"x": "x_nom * (1 + 0.05 * jes)"},
                "weight_shifts": {"eff": "1 + 0.1 * eff"},
            },
            "bkg": {
                "inputs": [str(tmp_path / "bkg.parquet")],
                "weight": "gen_wt",
                "calculate": {"x": "x_nom * (1 + 0.05 * jes)"},
                "weight_shifts": {"eff": "1 + 0.1 * eff"},
                "remove_negative_weights": True,
            },
        },
        "models": {
            "sig": {
                "density_models": [
                    {
                        "parameters": ["m", "jes"],
                        "file": "sig",
                        "shifts": {"jes": {"type": "continuous", "range": [-2.0, 2.0]}},
                        "n_copies": 2,
                    }
                ],
                "regression_models": [
                    {
                        "parameter": "eff",
                        "file": "sig",
                        "shifts": {
                            "eff": {
                                "type": "flat_top",
                                "range": [-1.0, 1.0],
                                "other": {"sigma_out": 0.3},
                            }
                        },
                    }
                ],
                "yields": [{"file": "sig"}],
            },
            "bkg": {
                "density_models": [
                    {
                        "parameters": ["jes", "eff"],
                        "file": "bkg",
                        "shifts": {
                            "jes": {"type": "continuous", "range": [-2.0, 2.0]},
                            "eff": {"type": "flat_top", "range": [-1.0, 1.0]},
                        },
                    }
                ],
                "yields": [{"file": "bkg"}],
            },
        },
        "inference": {
            "rate_parameters": ["sig"],
            "lnN": {"bkg": [{"parameter": "lumi", "rate": [0.9, 1.2], "categories": ["two"]}]},
            "nuisance_constraints": ["jes", "eff", "lumi"],
        },
        "validation": {
            "loop": [
                {"m": 2.0},
                {"m": 1.0},
                {"m": 3.0},
                {"jes": 1.0},
                {"eff": -1.0},
                {"mu_sig": 0.5},
            ],
            "files": {"sig": [{"file": "sig"}], "bkg": [{"file": "bkg"}]},
        },
        "preprocess": {
            "train_test_val_split": "0.6:0.2:0.2",
            "drop_from_training": {"sig": {}, "bkg": {}},
        },
    }


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("toy")
    sig, bkg = _frames(np.random.default_rng(5))
    sig.to_parquet(tmp / "sig.parquet")
    bkg.to_parquet(tmp / "bkg.parquet")
    return tmp, {"sig": sig, "bkg": bkg}


def _analysis(toy, **changes):
    raw = copy.deepcopy(_raw(toy[0]))
    for path, value in changes.items():
        node = raw
        keys = path.split("__")
        for k in keys[:-1]:
            node = node[k]
        node[keys[-1]] = value
    return load_analysis(raw)


def test_flat_top_draws_follow_density():
    spec = {"type": "flat_top", "range": [-1.0, 1.0], "other": {"sigma_out": 0.5}}
    values = shifts.draw(spec, 400_000, np.random.default_rng(1), "t")
    hist, edges = np.histogram(values, bins=60, range=(-3, 3), density=True)
    centres = 0.5 * (edges[1:] + edges[:-1])
    expected = shifts.density(spec, centres, "t")
    assert np.allclose(hist, expected, atol=0.01)
    grid = np.linspace(-8, 8, 20001)
    assert np.trapezoid(shifts.density(spec, grid, "t"), grid) == pytest.approx(1.0, abs=1e-4)
    assert shifts.support(spec, "t") == (-2.0, 2.0)


def test_shift_errors_name_the_key():
    with pytest.raises(ConfigError, match="shifts.nu.*range"):
        shifts.draw({"type": "continuous"}, 3, np.random.default_rng(0), "shifts.nu")
    with pytest.raises(ConfigError, match="unknown shift type"):
        shifts.check_shift({"type": "gaussian"}, "x")
    values = shifts.draw({"type": "discrete", "values": [1, 5]}, 1000, np.random.default_rng(0), "")
    assert set(np.unique(values)) == {1.0, 5.0}


def test_build_dataset_order_of_operations(toy):
    analysis = _analysis(toy)
    frame = toy[1]["bkg"]
    out = build_dataset(
        analysis,
        "bkg",
        frame,
        "two",
        {"jes": shifts.fixed(1.0), "eff": shifts.fixed(0.5), "m": shifts.fixed(2.0)},
        np.random.default_rng(0),
        n_copies=3,
    )
    selected = frame[frame.nb == 2]
    assert len(out) == 3 * len(selected)
    assert np.allclose(out["x"], out["x_nom"] * 1.05)
    assert np.allclose(out["wt"], out["gen_wt"] * 1.05)
    assert np.allclose(out["wt_shift"], 1.05)
    assert np.allclose(out["old_wt"], out["gen_wt"])


def test_negative_weights_removed_only_when_asked(toy):
    analysis = _analysis(toy, files__sig__remove_negative_weights=True)
    fixed = {"jes": shifts.fixed(0), "eff": shifts.fixed(0)}
    rng = np.random.default_rng(0)
    kept = build_dataset(_analysis(toy), "sig", toy[1]["sig"], None, fixed, rng)
    removed = build_dataset(analysis, "sig", toy[1]["sig"], None, fixed, rng)
    assert (kept.wt < 0).any() and not (removed.wt < 0).any()
    assert len(removed) == int((toy[1]["sig"].gen_wt > 0).sum())


def test_yields_and_lnn_from_weight_and_feature_shifts(toy):
    analysis = _analysis(toy)
    loaded = toy[1]
    pre = Preprocessor(analysis, "bkg", "two", loaded, seed=1)
    y = measure_yields(pre)
    two = loaded["bkg"][loaded["bkg"].nb == 2]
    assert y["nominal"] == pytest.approx(two.gen_wt.sum())
    # eff scales every weight by 1 ± 0.1; jes moves x but no event leaves the category.
    assert y["lnN"]["eff"] == pytest.approx([0.9, 1.1])
    assert y["lnN"]["jes"] == pytest.approx([1.0, 1.0])
    assert y["lnN"]["lumi"] == [0.9, 1.2]
    assert "lumi" not in measure_yields(Preprocessor(analysis, "bkg", "one", loaded, 1))["lnN"]
    sig = measure_yields(Preprocessor(analysis, "sig", "one", loaded, seed=1))
    at_default = loaded["sig"][(loaded["sig"].nb == 1) & (loaded["sig"].m == 2.0)]
    assert sig["nominal"] == pytest.approx(at_default.gen_wt.sum())
    # eff is learned by the signal's regression model, so it is a shape
    # parameter of the signal and gets its yield effect too.
    assert sig["lnN"]["eff"] == pytest.approx([0.9, 1.1])


def test_feature_shift_with_selection_changes_yield(toy):
    analysis = _analysis(toy, files__bkg__post_calculate_selection="x < 4")
    y = measure_yields(Preprocessor(analysis, "bkg", "one", toy[1], 1))
    down, up = y["lnN"]["jes"]
    assert down > 1.0 > up  # scaling x up pushes events over the cut


def test_config_lnn_clash_with_measured_effect(toy):
    raw = _raw(toy[0])
    raw["inference"]["lnN"] = {"bkg": [{"parameter": "eff", "rate": 1.1}]}
    with pytest.raises(ConfigError, match="no_nuisance_yield_effect"):
        measure_yields(Preprocessor(load_analysis(raw), "bkg", "one", toy[1], 1))
    raw["preprocess"]["no_nuisance_yield_effect"] = ["eff"]
    y = measure_yields(Preprocessor(load_analysis(raw), "bkg", "one", toy[1], 1))
    assert y["lnN"]["eff"] == pytest.approx([1 / 1.1, 1.1])


def test_density_sets_flattened_and_reweighted(toy):
    analysis = _analysis(toy)
    res = preprocess(Preprocessor(analysis, "bkg", "one", toy[1], seed=3))
    info = res.parameters["density"]
    assert info["Y_columns"] == ["eff", "jes"]
    train = res.train
    # Standardised with weights: weighted mean 0 and std 1 on the training set.
    w = train.wt.to_numpy()
    for col in ["x", "eff", "jes"]:
        assert np.average(train[col], weights=w) == pytest.approx(0.0, abs=1e-9)
        assert np.sqrt(np.average(train[col] ** 2, weights=w)) == pytest.approx(1.0, abs=1e-9)
    assert w.mean() == pytest.approx(1.0)
    # eff changes the weight by (1 + 0.1 eff); after flattening the weighted eff distribution
    # follows the flat_top it was drawn from.
    s = info["standardisation"]["eff"]
    eff = train.eff * s["std"] + s["mean"]
    spec = info["shifts"]["eff"]
    inside = (eff > -1) & (eff < 1)
    hist, _ = np.histogram(eff[inside], bins=8, weights=w[inside])
    assert hist.std() / hist.mean() < 0.05
    assert info["training_range"]["eff"] == pytest.approx(list(shifts.support(spec, "")))


def test_density_keeps_file_column_values(toy):
    res = preprocess(Preprocessor(_analysis(toy), "sig", "one", toy[1], seed=3))
    s = res.parameters["density"]["standardisation"]["m"]
    masses = np.unique(np.round(res.train.m * s["std"] + s["mean"], 6))
    assert list(masses) == MASSES
    assert res.parameters["events"]["train"] == len(res.train)


def test_reweight_to_shift_flattens():
    rng = np.random.default_rng(2)
    nu = rng.uniform(-1, 1, 200_000)
    w = 1 + 0.5 * nu
    spec = {"type": "continuous", "range": [-1, 1]}
    new = reweight_to_shift(nu, w, spec, "")
    hist, _ = np.histogram(nu, bins=10, weights=new)
    assert hist.std() / hist.mean() < 0.02


def test_validation_sets_and_normalisation(toy):
    analysis = _analysis(toy)
    res = preprocess(Preprocessor(analysis, "sig", "two", toy[1], seed=3))
    params = res.parameters
    assert set(res.validation) == set(range(6))
    jes_up = res.validation[3]
    assert np.allclose(jes_up.jes, 1.0)
    eff = params["eff_events"]
    assert eff["full"][0] > eff["val"][0] > 0
    # mu_sig = 0.5 halves the expected yield of the same events.
    assert process_yield(params["yields"], analysis.validation_points[5], "mu_sig") == (
        pytest.approx(0.5 * params["yields"]["nominal"])
    )
    frame = res.validation[0]
    val = frame[frame.split == SPLIT_CODE["val"]]
    assert effective_events(val.wt.to_numpy()) == pytest.approx(eff["val"][0])


def test_validation_point_outside_training_range(toy):
    raw = _raw(toy[0])
    raw["validation"]["loop"].append({"jes": 3.0})
    with pytest.raises(DataError, match=r"validation.loop\[6\]: jes = 3 is outside"):
        preprocess(Preprocessor(load_analysis(raw), "bkg", "one", toy[1], seed=3))


def test_missing_shift_for_learned_parameter(toy):
    raw = _raw(toy[0])
    del raw["models"]["bkg"]["density_models"][0]["shifts"]["jes"]
    with pytest.raises(ConfigError, match="'jes' is neither a column.*shifts"):
        preprocess(Preprocessor(load_analysis(raw), "bkg", "one", toy[1], seed=3))


def test_empty_category_is_an_error(toy):
    raw = _raw(toy[0])
    raw["categories"]["two"] = "nb == 7"
    with pytest.raises(DataError, match="yield"):
        preprocess(Preprocessor(load_analysis(raw), "bkg", "two", toy[1], seed=3))


#: A classifier model of eff.
CLASSIFIER_ENTRY = {
    "parameter": "eff",
    "file": "sig",
    "shifts": {"eff": {"type": "continuous", "range": [-2.0, 2.0]}},
}


def test_classifier_sets_are_balanced(toy):
    raw = copy.deepcopy(_analysis(toy).raw)
    raw["models"]["sig"]["classifier_models"] = [CLASSIFIER_ENTRY]
    pre = Preprocessor(load_analysis(raw), "sig", "one", toy[1], seed=4)
    sets = aux_sets(pre, "classifier", "eff")
    train = sets.train
    sums = train.groupby(CLASSIFIER_TRUTH).wt.sum()
    assert sums[0.0] == pytest.approx(sums[1.0])
    assert sets.info["X_columns"] == ["x", "eff"]
    assert CLASSIFIER_TRUTH not in sets.info["standardisation"]
    # Both classes carry eff values drawn from the spec.
    s = sets.info["standardisation"]["eff"]
    for c in (0.0, 1.0):
        eff = train.loc[train[CLASSIFIER_TRUTH] == c, "eff"] * s["std"] + s["mean"]
        assert eff.min() < -1.5 and eff.max() > 1.5
    # Paired: every nominal event carries the eff its shifted copy (the same x) was drawn with.
    by_class = [
        train.loc[train[CLASSIFIER_TRUTH] == c, ["x", "eff"]].sort_values("x").to_numpy()
        for c in (0.0, 1.0)
    ]
    np.testing.assert_array_equal(by_class[0], by_class[1])


def test_paired_values_reach_their_events_through_selections(toy):
    """post_values give each nominal event the value drawn for its row before the shifted
    build's selection, also for events that selection removed (x moves with jes)."""
    analysis = _analysis(toy, files__bkg__post_calculate_selection="x > 1.5")
    frame = toy[1]["bkg"]
    spec = {"type": "continuous", "range": [-2.0, 2.0]}
    drawn: dict = {}
    fixed = {"eff": shifts.fixed(0.0)}
    shifted = build_dataset(
        analysis,
        "bkg",
        frame,
        None,
        {**fixed, "jes": spec},
        np.random.default_rng(1),
        n_copies=2,
        record_draws=drawn,
    )
    nominal = build_dataset(
        analysis,
        "bkg",
        frame,
        None,
        {**fixed, "jes": shifts.fixed(0.0)},
        np.random.default_rng(2),
        n_copies=2,
        post_values={"jes": drawn["jes"]},
    )
    assert len(drawn["jes"]) == 2 * len(frame) and len(shifted) != len(nominal)
    rows = np.flatnonzero(np.tile(frame["x_nom"].to_numpy(), 2) > 1.5)
    np.testing.assert_array_equal(nominal["jes"], drawn["jes"][rows])
    np.testing.assert_allclose(nominal["x"], nominal["x_nom"])
    assert "__innfer_source_row" not in nominal.columns
    with pytest.raises(ValueError, match="post_values.jes: 3 values for 12000 events of files.bkg"):
        build_dataset(
            analysis,
            "bkg",
            frame,
            None,
            fixed,
            np.random.default_rng(2),
            n_copies=1,
            post_values={"jes": np.zeros(3)},
        )


def test_regression_targets_are_weight_ratios(toy):
    pre = Preprocessor(_analysis(toy), "sig", "one", toy[1], seed=4)
    sets = aux_sets(pre, "regression", "eff")
    st = sets.info["standardisation"]
    eff = sets.train.eff * st["eff"]["std"] + st["eff"]["mean"]
    ratio = sets.train.wt_shift * st["wt_shift"]["std"] + st["wt_shift"]["mean"]
    assert np.allclose(ratio, 1 + 0.1 * eff)
    with pytest.raises(ConfigError, match="no entry for parameter 'jes'"):
        aux_sets(pre, "regression", "jes")


def test_pool_over_learns_from_every_poi_value(toy):
    entry = _raw(toy[0])["models"]["sig"]["regression_models"][0]
    at_default = aux_sets(
        Preprocessor(_analysis(toy), "sig", "one", toy[1], seed=4), "regression", "eff"
    )
    pooled_analysis = _analysis(toy, models__sig__regression_models=[{**entry, "pool_over": ["m"]}])
    pooled = aux_sets(
        Preprocessor(pooled_analysis, "sig", "one", toy[1], seed=4), "regression", "eff"
    )
    # Three equally filled masses: pooling triples the events, and the table keeps its columns.
    ratio = pooled.info["events"]["train"] / at_default.info["events"]["train"]
    assert ratio == pytest.approx(3.0, rel=0.1)
    assert pooled.info["X_columns"] == at_default.info["X_columns"] == ["x", "eff"]
    assert pooled.info["pool_over"] == ["m"] and at_default.info["pool_over"] == []
    x = pooled.train.x * pooled.info["standardisation"]["x"]["std"]
    assert (
        x.std() > 1.2 * (at_default.train.x * at_default.info["standardisation"]["x"]["std"]).std()
    )
    for bad, message in (
        (["eff"], "'eff' is a parameter the model learns"),
        (
            ["jes"],
            r"'jes' is not a parameter column of files.sig \(its parameter columns: \['m'\]\)",
        ),
    ):
        analysis = _analysis(toy, models__sig__regression_models=[{**entry, "pool_over": bad}])
        with pytest.raises(ConfigError, match=r"regression_models\[eff\].*pool_over: " + message):
            aux_sets(Preprocessor(analysis, "sig", "one", toy[1], seed=4), "regression", "eff")


def test_splits_reproducible_and_stratified():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.choice([1.0, 2.0, 3.0], 3000)})
    none = np.zeros(3000, dtype=bool)
    strata = strata_of(frame.a.to_numpy())
    codes = assign_splits(frame, (0.5, 0.5, 0.0), none, none, np.random.default_rng(1), strata)
    for v in (1.0, 2.0, 3.0):
        sel = codes[frame.a == v]
        assert abs(np.sum(sel == 1) - np.sum(sel == 0)) <= 1
    again = assign_splits(frame, (0.5, 0.5, 0.0), none, none, np.random.default_rng(1), strata)
    assert np.array_equal(codes, again)
    assert len(np.unique(strata_of(np.linspace(0, 1, 1000)))) == 20


def test_binned_fit_inputs_match_unbinned(toy):
    raw = _raw(toy[0])
    edges = [-5.0, 1.0, 2.0, 3.0, 50.0]
    raw["inference"]["binned_fit"] = {
        "files": {"sig": [{"file": "sig"}], "bkg": [{"file": "bkg"}]},
        "shape_poi_values": [1.0, 2.0],
        "input": {c: {"variable": "x", "binning": edges} for c in ("one", "two")},
    }
    res = preprocess(Preprocessor(load_analysis(raw), "sig", "one", toy[1], seed=3))
    params = res.parameters
    bins = params["binned_fit_input"]
    assert len(bins) == 4
    total = sum(b["yields"][2.0]["nominal"] for b in bins)
    assert total == pytest.approx(params["yields"]["nominal"])
    counts = params["validation_binned_fit"]["val"][0]
    assert sum(counts) == pytest.approx(params["yields"]["nominal"], rel=1e-6)
    bkg = preprocess(Preprocessor(load_analysis(raw), "bkg", "two", toy[1], seed=3)).parameters
    y = bkg["binned_fit_input"][0]["yields"]["all"]
    assert y["lnN"]["lumi"] == [0.9, 1.2] and len(y["lnN"]["eff"]) == 2


def test_normalise_training_in(toy):
    raw = _raw(toy[0])
    raw["preprocess"]["normalise_training_in"] = {"sig": ["m == 1", "m == 3"]}
    res = preprocess(Preprocessor(load_analysis(raw), "sig", "one", toy[1], seed=3))
    s = res.parameters["density"]["standardisation"]["m"]
    m = np.round(res.train.m * s["std"] + s["mean"], 6)
    sums = res.train.groupby(m).wt.sum()
    assert sums[1.0] == pytest.approx(sums[3.0])


def test_standardisation_override(toy):
    raw = _raw(toy[0])
    raw["preprocess"]["standardisation"] = {
        "bkg": {"one": {"density": {"x": {"mean": 1.0, "std": 2.0}}}}
    }
    res = preprocess(Preprocessor(load_analysis(raw), "bkg", "one", toy[1], seed=3))
    assert res.parameters["density"]["standardisation"]["x"] == {"mean": 1.0, "std": 2.0}


@pytest.mark.parametrize(
    ("gaussianise", "pca"), [(False, False), (True, False), (False, True), (True, True)]
)
def test_pretransforms_are_fitted_on_the_standardised_training_events(toy, gaussianise, pca):
    analysis = _analysis(
        toy,
        preprocess__density_pretransform_to_gaussian=gaussianise,
        preprocess__density_pretransform_pca_whitening=pca,
    )
    res = preprocess(Preprocessor(analysis, "bkg", "one", toy[1], seed=3))
    info = res.parameters["density"]
    record = info.get("pretransform")
    if not (gaussianise or pca):
        assert record is None
        return
    assert record["columns"] == info["X_columns"]
    assert (record["gaussianise"] is not None) == gaussianise
    assert (record["pca_whitening"] is not None) == pca
    if gaussianise:
        # The knots are the standardised training quantiles: the median knot of each column
        # is the weighted median of the stored (standardised) training column.
        w = res.train.wt.to_numpy()
        for column, spline in zip(info["X_columns"], record["gaussianise"], strict=True):
            mid = len(spline["z_knots"]) // 2
            assert spline["z_knots"][mid] == pytest.approx(0.0, abs=1e-12)
            order = np.argsort(res.train[column].to_numpy())
            cdf = np.cumsum(w[order]) / w.sum()
            median = res.train[column].to_numpy()[order][np.searchsorted(cdf, 0.5)]
            assert spline["x_knots"][mid] == pytest.approx(median, abs=0.05)
    # The stored training files stay standardised only: the flow applies the maps itself.
    np.testing.assert_allclose(
        np.average(res.train[info["X_columns"][0]], weights=res.train.wt), 0.0, atol=1e-9
    )
