"""Analysis config validation and the preprocessing contract on a small benchmark."""

import numpy as np
import pytest
import yaml

from innfer_lib.core.analysis import load_analysis, parse_split
from innfer_lib.core.errors import ConfigError, DataError
from innfer_lib.data.benchmarks import get_benchmark
from innfer_lib.data.loading import load_file
from innfer_lib.data.preprocess import preprocess
from innfer_lib.data.preprocessor import Preprocessor
from innfer_lib.data.splits import SPLIT_CODE
from innfer_lib.data.validation_sets import validation_sample
from innfer_lib.data.weighted_stats import effective_events, weighted_mean_std
from innfer_lib.data.yields import lnn_factor, process_yield


@pytest.fixture(scope="module")
def dim1(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dim1")
    bench = get_benchmark("Dim1Gaussian")
    for stem, frame in bench.simulate(40_000, seed=3).items():
        frame.to_parquet(tmp / f"{stem}.parquet")
    return load_analysis(bench.analysis_config(str(tmp)))


def test_split_string():
    assert parse_split("0.4:0.3:0.3") == pytest.approx((0.4, 0.3, 0.3))
    assert parse_split("8:1:1") == pytest.approx((0.8, 0.1, 0.1))
    with pytest.raises(ConfigError, match="train_test_val_split"):
        parse_split("1:1")


def test_schema_error_names_key(tmp_path):
    raw = get_benchmark("Dim2").analysis_config(str(tmp_path))
    raw["validation"]["loop"][0]["Y1"] = "high"
    path = tmp_path / "a.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError) as err:
        load_analysis(path)
    assert str(path) in str(err.value) and "validation.loop[0].Y1" in str(err.value)


def test_default_must_be_validated(tmp_path):
    raw = get_benchmark("Dim1Gaussian").analysis_config(str(tmp_path))
    raw["validation"]["loop"] = [p for p in raw["validation"]["loop"] if p["Y1"] != 172.5]
    with pytest.raises(ConfigError, match="default point"):
        load_analysis(raw)


def test_unknown_parameter_in_loop(tmp_path):
    raw = get_benchmark("Dim1Gaussian").analysis_config(str(tmp_path))
    raw["validation"]["loop"][0]["Y2"] = 1.0
    with pytest.raises(ConfigError, match=r"validation.loop\[0\].*Y2"):
        load_analysis(raw)


def test_python_config_is_parsed_not_executed(tmp_path):
    raw = get_benchmark("Dim1Gaussian").analysis_config(str(tmp_path))
    path = tmp_path / "cfg.py"
    path.write_text(f"import os\nconfig = {raw!r}\n")
    assert load_analysis(path).name == "Benchmark_Dim1Gaussian"
    path.write_text("config = dict(name=__import__('os').getcwd())\n")
    with pytest.raises(ConfigError, match="literal"):
        load_analysis(path)


def test_varying_yield_parameters(tmp_path):
    analysis = load_analysis(
        get_benchmark("Dim1GaussianWithExpBkgVaryingYield").analysis_config(str(tmp_path))
    )
    assert analysis.fit_parameters == ["Y1", "mu_Gaussian"]
    assert analysis.model_parameters("ExpBkg") == []
    assert analysis.validation_points[analysis.default_index] == {"Y1": 172.5, "mu_Gaussian": 1.0}


def test_load_data_missing_column(dim1, tmp_path):
    frame = get_benchmark("Dim1Gaussian").simulate(500, seed=1)["Gaussian"].drop(columns=["X1"])
    bad = tmp_path / "bad.parquet"
    frame.to_parquet(bad)
    raw = dict(dim1.raw)
    raw["files"] = {"base": {**raw["files"]["base"], "inputs": [str(bad)]}}
    missing = r"bad.parquet.*missing column\(s\) 'X1' \(read by variables\)"
    with pytest.raises(DataError, match=missing):
        load_file(load_analysis(raw), "base")


def test_preprocess_contract(dim1):
    loaded = {"base": load_file(dim1, "base")}
    res = preprocess(Preprocessor(dim1, "Gaussian", "inclusive", loaded, seed=42))
    p = res.parameters
    # Σwt = 1000 per Y1 value, so the nominal yield at the default point is 1000.
    assert p["yields"]["nominal"] == pytest.approx(1000.0)
    # Standardised training data: weighted mean 0 and std 1 for X and Y.
    for col in ["X1", "Y1"]:
        m, s = weighted_mean_std(res.train[col].to_numpy(), res.train["wt"].to_numpy())
        assert m == pytest.approx(0.0, abs=1e-9) and s == pytest.approx(1.0, rel=1e-9)
    # Points dropped from training never reach train/test.
    y_raw = (
        res.train["Y1"] * p["density"]["standardisation"]["Y1"]["std"]
        + p["density"]["standardisation"]["Y1"]["mean"]
    )
    assert not np.any(np.isclose(y_raw.to_numpy()[:, None], [171.5, 172.5, 173.5]).any(axis=1))
    # Validation sets: one per canonical point, only that point's events; a dropped point is
    # validation-only, a trained one keeps 30% in val.
    assert sorted(res.validation) == list(range(9))
    for i, point in enumerate(dim1.validation_points):
        frame = res.validation[i]
        assert np.allclose(frame["Y1"], point["Y1"])
        frac_val = np.mean(frame["split"] == SPLIT_CODE["val"])
        if point["Y1"] in (171.5, 172.5, 173.5, 174.5):
            assert frac_val == 1.0
        else:
            assert 0.25 < frac_val < 0.35
        x, w = validation_sample(frame, p, point, "val")
        assert w.sum() == pytest.approx(1000.0)
        assert p["eff_events"]["val"][i] == pytest.approx(effective_events(w))


def test_preprocess_is_reproducible(dim1):
    loaded = {"base": load_file(dim1, "base")}
    a = preprocess(Preprocessor(dim1, "Gaussian", "inclusive", loaded, seed=42))
    b = preprocess(Preprocessor(dim1, "Gaussian", "inclusive", loaded, seed=42))
    c = preprocess(Preprocessor(dim1, "Gaussian", "inclusive", loaded, seed=43))
    assert a.train.equals(b.train) and a.parameters == b.parameters
    assert not a.train.equals(c.train)


@pytest.mark.parametrize("kappa", [(0.9, 1.2), (0.8, 1.05), (1.1, 1.3)])
def test_lnn_interpolation_is_smooth_at_half(kappa):
    """Value, slope and curvature have no jump at |ν| = 0.5: the gap closes linearly in δ.

    (INNFER's polynomial left a 0.55% jump in the value that does not shrink.)
    """
    f = lambda nu: lnn_factor(np.float64(nu), *kappa)  # noqa: E731
    assert f(1.0) == pytest.approx(kappa[1]) and f(-1.0) == pytest.approx(kappa[0])
    assert f(0.0) == pytest.approx(1.0)

    def deriv(x, order, h):
        if order == 0:
            return f(x)
        if order == 1:
            return (f(x + h) - f(x - h)) / (2 * h)
        return (f(x + h) - 2 * f(x) + f(x - h)) / h**2

    for edge in (0.5, -0.5):
        for order in range(3):
            gaps = []
            for delta in (1e-2, 1e-3):
                h = delta / 4
                gaps.append(abs(deriv(edge - delta, order, h) - deriv(edge + delta, order, h)))
            assert gaps[1] < 0.2 * gaps[0] + 1e-6, (edge, order, gaps)


def test_process_yield():
    y = {"nominal": 100.0, "lnN": {"nu": [0.9, 1.2]}}
    assert process_yield(y, {"nu": 1.0, "mu": 2.0}, "mu") == pytest.approx(240.0)
    assert process_yield(y, {}, None) == pytest.approx(100.0)
