"""Input plots: the drawn histograms equal np.histogram of the inputs, files are written."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from innfer_lib.plots.inputs import training_distribution_plot, validation_distribution_plot
from tests.plot_files import assert_written, plot_outputs

STD = {"mean": 172.5, "std": 3.0}


def _frame(rng, n=2000, column="m_top_had", mean=0.0):
    return pd.DataFrame(
        {column: rng.normal(mean, 1.0, n), "wt": rng.uniform(0.5, 1.5, n)},
    )


def test_module_does_not_import_tensorflow():
    # A fresh interpreter: other test modules in the same session may import tensorflow.
    code = "import sys, innfer_lib.plots.inputs; assert 'tensorflow' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_training_raw_and_transformed_match_np_histogram(tmp_path):
    rng = np.random.default_rng(1)
    frame = _frame(rng)
    stored = frame["m_top_had"].to_numpy()
    w = frame["wt"].to_numpy()

    out_raw = plot_outputs(tmp_path, "distributions_m_top_had_train")
    raw = training_distribution_plot(
        {"train": frame}, "m_top_had", standardisation=STD, outputs=out_raw
    )
    out_tr = plot_outputs(tmp_path, "distributions_m_top_had_train_transformed")
    tr = training_distribution_plot(
        {"train": frame}, "m_top_had", standardisation=STD, transformed=True, outputs=out_tr
    )
    assert_written(out_raw + out_tr)

    physical = stored * STD["std"] + STD["mean"]
    expected_raw, inner_raw = np.histogram(
        physical, bins=40, range=(physical.min(), physical.max()), weights=w
    )
    expected_tr, inner_tr = np.histogram(
        stored, bins=40, range=(stored.min(), stored.max()), weights=w
    )

    # One empty padding bin on each side of the 40 bins over [min, max].
    assert raw["edges"].shape == (43,) and raw["hists"]["train"].shape == (42,)
    assert raw["hists"]["train"][0] == 0 and raw["hists"]["train"][-1] == 0
    np.testing.assert_allclose(raw["hists"]["train"][1:-1], expected_raw)
    np.testing.assert_allclose(raw["edges"][1:-1], inner_raw)
    np.testing.assert_allclose(tr["hists"]["train"][1:-1], expected_tr)
    np.testing.assert_allclose(tr["edges"][1:-1], inner_tr)
    np.testing.assert_allclose(np.diff(raw["edges"]), np.diff(raw["edges"])[0])

    # Raw and transformed differ only by the standardisation: same counts, mapped edges.
    np.testing.assert_allclose(raw["hists"]["train"], tr["hists"]["train"], rtol=1e-10)
    np.testing.assert_allclose(raw["edges"], tr["edges"] * STD["std"] + STD["mean"])
    assert not np.allclose(raw["edges"], tr["edges"])

    assert raw["sum_weights"]["train"] == pytest.approx(w.sum())
    assert raw["n_eff"]["train"] == pytest.approx(w.sum() ** 2 / np.sum(w**2))
    assert raw["xlabel"] == "m_top_had"
    assert tr["xlabel"] == "m_top_had (standardised)"


def test_training_without_standardisation_plots_stored_values():
    rng = np.random.default_rng(2)
    frame = _frame(rng)
    res = training_distribution_plot({"test": frame}, "m_top_had", label="m_{top}")
    x = frame["m_top_had"].to_numpy()
    expected, _ = np.histogram(x, bins=40, range=(x.min(), x.max()), weights=frame["wt"])
    np.testing.assert_allclose(res["hists"]["test"][1:-1], expected)
    assert res["xlabel"] == "m_{top}"


def test_training_overlay_shares_binning(tmp_path):
    rng = np.random.default_rng(3)
    train, test = _frame(rng, mean=0.0), _frame(rng, n=500, mean=2.0)
    out = plot_outputs(tmp_path, "overlay")
    res = training_distribution_plot({"train": train, "test": test}, "m_top_had", outputs=out)
    assert_written(out)
    both = np.concatenate([train["m_top_had"], test["m_top_had"]])
    assert res["range"] == pytest.approx((both.min(), both.max()))
    for split, frame in (("train", train), ("test", test)):
        expected, _ = np.histogram(
            frame["m_top_had"], bins=40, range=res["range"], weights=frame["wt"]
        )
        np.testing.assert_allclose(res["hists"][split][1:-1], expected)
        assert res["hists"][split].sum() == pytest.approx(frame["wt"].sum())
    assert res["n_events"] == {"train": 2000, "test": 500}


def test_training_degenerate_column(tmp_path):
    frame = pd.DataFrame({"Y1": np.full(100, 171.5), "wt": np.full(100, 0.2)})
    out = plot_outputs(tmp_path, "degenerate")
    res = training_distribution_plot({"train": frame}, "Y1", outputs=out)
    assert_written(out)
    assert res["range"] == pytest.approx((171.0, 172.0))
    assert np.all(np.diff(res["edges"]) > 0)
    assert res["hists"]["train"].sum() == pytest.approx(20.0)
    assert np.count_nonzero(res["hists"]["train"]) == 1


def test_training_empty_and_non_finite(tmp_path):
    empty = pd.DataFrame({"x": np.array([], dtype=float), "wt": np.array([], dtype=float)})
    out = plot_outputs(tmp_path, "empty")
    res = training_distribution_plot({"train": empty}, "x", standardisation=STD, outputs=out)
    assert_written(out)
    assert res["empty"] and res["hists"]["train"].sum() == 0
    assert training_distribution_plot({}, "x")["empty"]

    frame = pd.DataFrame({"x": [1.0, np.nan, 2.0, 3.0], "wt": [1.0, 1.0, np.inf, 1.0]})
    res = training_distribution_plot({"train": frame}, "x")
    assert res["n_dropped"]["train"] == 2
    assert res["hists"]["train"].sum() == pytest.approx(2.0)


def test_training_missing_column_raises():
    with pytest.raises(KeyError, match="wt"):
        training_distribution_plot({"train": pd.DataFrame({"x": [1.0]})}, "x")


def _samples(rng, shifts, n=3000):
    return [
        {
            "label": f"Y1={172.5 + s:g}, jes=1",
            "x": rng.normal(172.5 + s, 5.0, n),
            "w": rng.uniform(0.1, 2.0, n),
        }
        for s in shifts
    ]


def test_validation_unit_area_and_reference_ratio(tmp_path):
    rng = np.random.default_rng(4)
    samples = _samples(rng, [-1.0, 0.0, 1.0])
    out = plot_outputs(tmp_path, "X_distributions_m_top_had_ratio")
    res = validation_distribution_plot(samples, "m_top_had", reference=1, outputs=out)
    assert_written(out)

    ref = samples[1]
    lo, hi = np.quantile(ref["x"], [0.01, 0.99], weights=ref["w"], method="inverted_cdf")
    np.testing.assert_allclose(res["edges"], np.linspace(lo, hi, 41))
    widths = np.diff(res["edges"])
    for sample, hist in zip(samples, res["hists"], strict=True):
        assert np.sum(hist * widths) == pytest.approx(1.0)
        expected, _ = np.histogram(
            sample["x"], bins=res["edges"], weights=sample["w"], density=True
        )
        np.testing.assert_allclose(hist, expected)

    filled = res["hists"][1] > 0
    np.testing.assert_allclose(res["ratios"][1][filled], 1.0)
    np.testing.assert_allclose(res["ratios"][0], res["hists"][0] / res["hists"][1])

    # Reference band: sqrt(Σw²) per bin over the bin's sum of weights.
    counts, _ = np.histogram(ref["x"], bins=res["edges"], weights=ref["w"])
    sumw2, _ = np.histogram(ref["x"], bins=res["edges"], weights=ref["w"] ** 2)
    np.testing.assert_allclose(res["reference_band"], np.sqrt(sumw2) / counts)

    assert res["legend"][0] == "Y1=172.5, jes=1 (reference)"
    assert res["reference"] == 1 and res["skipped"] == []


def test_validation_events_per_bin_keep_the_yield(tmp_path):
    """Without unit area (the nuisance-variation plots) a sample scaled by κ has ratio κ."""
    rng = np.random.default_rng(7)
    x = rng.normal(0.0, 1.0, 4000)
    w = np.full(x.size, 0.25)
    samples = [{"label": "nominal", "x": x, "w": w}, {"label": "up", "x": x, "w": 1.1 * w}]
    out = plot_outputs(tmp_path, "X_distributions_x_yield")
    res = validation_distribution_plot(samples, "x", reference=0, outputs=out, unit_area=False)
    assert_written(out)
    counts, _ = np.histogram(x, bins=res["edges"], weights=w)
    sumw2, _ = np.histogram(x, bins=res["edges"], weights=w**2)
    np.testing.assert_allclose(res["hists"][0], counts)
    np.testing.assert_allclose(res["errors"][0], np.sqrt(sumw2))
    filled = counts > 0
    np.testing.assert_allclose(res["ratios"][1][filled], 1.1)
    # The default still divides the yield out.
    unit = validation_distribution_plot(samples, "x", reference=0)
    np.testing.assert_allclose(unit["ratios"][1][filled], 1.0)


def test_validation_unweighted_uses_plain_quantiles():
    rng = np.random.default_rng(5)
    x = rng.exponential(2.0, 5000)
    res = validation_distribution_plot([{"label": "a", "x": x, "w": None}], "pt", reference=0)
    lo, hi = np.quantile(x, [0.01, 0.99], method="inverted_cdf")
    assert res["range"] == pytest.approx((lo, hi))


def test_validation_many_samples_and_underscores(tmp_path):
    rng = np.random.default_rng(6)
    samples = _samples(rng, np.linspace(-3, 3, 13), n=400)
    out = plot_outputs(tmp_path, "many")
    res = validation_distribution_plot(
        samples, "m_top_had", reference=6, outputs=out, title="model_a / cat_1"
    )
    assert_written(out)
    assert res["legend"][0].endswith("(reference)") and len(res["legend"]) == 14
    assert res["xlabel"] == "m_top_had"


def test_validation_empty_samples_skipped(tmp_path):
    rng = np.random.default_rng(7)
    samples = _samples(rng, [0.0, 1.0])
    samples.insert(1, {"label": "Y1=175", "x": np.array([]), "w": np.array([])})
    out = plot_outputs(tmp_path, "skipped")
    res = validation_distribution_plot(samples, "m_top_had", reference=0, outputs=out)
    assert_written(out)
    assert res["skipped"] == [1]
    assert res["hists"][1] is None and res["ratios"][1] is None
    assert any("no events" in text for text in res["legend"])


def test_validation_empty_reference_still_plots_others(tmp_path):
    rng = np.random.default_rng(8)
    samples = [{"label": "default", "x": [], "w": []}] + _samples(rng, [0.0])
    res = validation_distribution_plot(
        samples, "x", reference=0, outputs=plot_outputs(tmp_path, "r")
    )
    assert res["hists"][0] is None and res["ratios"][1] is None
    assert np.sum(res["hists"][1] * np.diff(res["edges"])) == pytest.approx(1.0)


def test_validation_all_empty(tmp_path):
    out = plot_outputs(tmp_path, "all_empty")
    empty = {"label": "a", "x": np.array([]), "w": np.array([])}
    res = validation_distribution_plot([empty, dict(empty, label="b")], "x", 0, outputs=out)
    assert_written(out)
    assert res["empty"] and res["skipped"] == [0, 1]
    out = plot_outputs(tmp_path, "none")
    assert validation_distribution_plot([], "x", 0, outputs=out)["empty"]
    assert_written(out)


def test_validation_bad_inputs():
    with pytest.raises(IndexError):
        validation_distribution_plot([{"label": "a", "x": [1.0], "w": [1.0]}], "x", 3)
    with pytest.raises(ValueError, match="weights"):
        validation_distribution_plot([{"label": "a", "x": [1.0, 2.0], "w": [1.0]}], "x", 0)
