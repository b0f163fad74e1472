"""Generator plots: drawn histograms equal np.histogram of the inputs, ratios, files written."""

import subprocess
import sys

import numpy as np
import pytest

from innfer_lib.plots.combined import stacked_generator_plot
from innfer_lib.plots.flow import flow_stages_plot
from innfer_lib.plots.generator import density_comparison_plot, generator_plot
from innfer_lib.plots.generator_2d import unrolled_2d_plot
from innfer_lib.plots.generator_summary import generator_summary_plot
from innfer_lib.plots.histograms import equal_statistics_edges, weighted_quantiles
from innfer_lib.plots.training import epoch_metrics_plot, flatten_metrics, merged_epoch_metrics_plot
from tests.plot_files import assert_written, plot_outputs


def _sample(rng, n, mean=0.0, total=None):
    x = rng.normal(mean, 1.0, n)
    w = rng.uniform(0.5, 1.5, n)
    if total is not None:
        w *= total / w.sum()
    return x, w


def test_module_does_not_import_tensorflow():
    code = "import sys, innfer_lib.plots.generator; assert 'tensorflow' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_generator_plot_histograms_ratio_and_files(tmp_path):
    rng = np.random.default_rng(0)
    xs, ws = _sample(rng, 4000, total=500.0)
    xy = rng.normal(0.0, 1.0, 40_000)
    wy = np.full(xy.size, 500.0 / xy.size)
    xs[:3] = np.nan  # dropped, and counted
    outputs = plot_outputs(tmp_path, "generation_x_0_plot_style_5")
    out = generator_plot((xs, ws), (xy, wy), "x", label="x [GeV]", outputs=outputs, title="t")
    assert_written(outputs)

    keep = np.isfinite(xs)
    lo, hi = np.quantile(xs[keep], [0.001, 0.999], weights=ws[keep], method="inverted_cdf")
    np.testing.assert_allclose(out["edges"], np.linspace(lo, hi, 41))
    sim, _ = np.histogram(xs[keep], bins=out["edges"], weights=ws[keep])
    sim_w2, _ = np.histogram(xs[keep], bins=out["edges"], weights=ws[keep] ** 2)
    syn, _ = np.histogram(xy, bins=out["edges"], weights=wy)
    np.testing.assert_allclose(out["simulated"]["counts"], sim)
    np.testing.assert_allclose(out["simulated"]["errors"], np.sqrt(sim_w2))
    np.testing.assert_allclose(out["synthetic"]["counts"], syn)
    np.testing.assert_allclose(out["ratio"], sim / syn)
    np.testing.assert_allclose(out["ratio_errors"], np.sqrt(sim_w2) / syn)
    np.testing.assert_allclose(out["synthetic_band"], out["synthetic"]["errors"] / syn)
    assert out["simulated"]["n_dropped"] == 3
    assert out["ndf"] == 40 and 0 < out["chi2"] / out["ndf"] < 3  # same distribution
    assert out["xlabel"] == "x [GeV]" and not out["empty"]


def test_generator_plot_explicit_edges_negative_weights_and_empty():
    rng = np.random.default_rng(1)
    xs, ws = _sample(rng, 500)
    ws[:50] *= -1  # NLO-like: quantiles fall back to unweighted ones
    out = generator_plot((xs, ws), (xs, None), "x", bins=[-2, -1, 0, 1, 2])
    expected, _ = np.histogram(xs, bins=[-2, -1, 0, 1, 2], weights=ws)
    np.testing.assert_allclose(out["simulated"]["counts"], expected)
    np.testing.assert_allclose(out["synthetic"]["counts"], np.histogram(xs, [-2, -1, 0, 1, 2])[0])
    q = weighted_quantiles(xs, ws, [0.5])
    assert q[0] == pytest.approx(np.quantile(xs, 0.5))
    empty = generator_plot((np.empty(0), None), (np.empty(0), None), "x")
    assert empty["empty"] and np.all(np.isnan(empty["ratio"]))
    with pytest.raises(ValueError):
        generator_plot((xs, ws[:10]), (xs, None), "x")
    with pytest.raises(ValueError):
        generator_plot((xs, ws), (xs, None), "x", bins=[0.0, 0.0, 1.0])


def test_stacked_generator_plot_sums_processes(tmp_path):
    rng = np.random.default_rng(2)
    sig = _sample(rng, 3000, mean=1.0, total=100.0)
    bkg = _sample(rng, 6000, mean=-1.0, total=400.0)
    sim = (np.concatenate([sig[0], bkg[0]]), np.concatenate([sig[1], bkg[1]]))
    synth = {"signal": _sample(rng, 9000, 1.0, 100.0), "background": _sample(rng, 9000, -1.0, 400)}
    outputs = plot_outputs(tmp_path, "generation_x_combined")
    out = stacked_generator_plot(sim, synth, "x", outputs=outputs)
    assert_written(outputs)
    edges = out["edges"]
    parts = {k: np.histogram(x, bins=edges, weights=w)[0] for k, (x, w) in synth.items()}
    for name, counts in parts.items():
        np.testing.assert_allclose(out["synthetic"][name]["counts"], counts)
    total = parts["signal"] + parts["background"]
    np.testing.assert_allclose(out["synthetic_total"]["counts"], total)
    np.testing.assert_allclose(
        out["ratio"], np.histogram(sim[0], bins=edges, weights=sim[1])[0] / total
    )


def test_equal_statistics_edges_have_equal_counts():
    rng = np.random.default_rng(3)
    x = rng.exponential(2.0, 100_000)
    w = rng.uniform(0.5, 1.5, x.size)
    edges = equal_statistics_edges(x, w, 10)
    counts, _ = np.histogram(x, bins=edges, weights=w)
    assert len(edges) == 11
    np.testing.assert_allclose(counts, w.sum() / 10, rtol=1e-3)
    # a discrete variable merges repeated edges
    discrete = equal_statistics_edges(np.repeat([1.0, 2.0, 3.0], 100), np.ones(300), 10)
    assert np.all(np.diff(discrete) > 0) and len(discrete) <= 4
    assert equal_statistics_edges(np.full(10, 4.0), np.ones(10), 5).tolist() == [3.5, 4.5]


def test_unrolled_2d_plot(tmp_path):
    rng = np.random.default_rng(4)
    a = rng.normal(0.0, 1.0, 20_000)
    b = 0.5 * a + rng.normal(0.0, 1.0, a.size)  # correlated
    sim = (np.column_stack([a, b]), np.ones(a.size))
    a2 = rng.normal(0.0, 1.0, 40_000)
    syn = (np.column_stack([a2, 0.5 * a2 + rng.normal(0.0, 1.0, a2.size)]), np.full(a2.size, 0.5))
    outputs = plot_outputs(tmp_path, "generation_unrolled_2d_a_b_0")
    out = unrolled_2d_plot(sim, syn, ("a", "b"), outputs=outputs)
    assert_written(outputs)
    assert len(out["a_edges"]) == 11 and len(out["b_edges"]) == 6
    np.testing.assert_allclose(np.diff(out["a_edges"]), np.diff(out["a_edges"])[0])
    # b slices hold about equal statistics of the simulated events
    per_slice = out["simulated"]["counts"].reshape(5, 10).sum(axis=1)
    b_in = np.histogram(b, bins=out["b_edges"])[0]
    np.testing.assert_allclose(b_in, b_in.mean(), rtol=0.02)
    expected, _, _ = np.histogram2d(b, a, bins=[out["b_edges"], out["a_edges"]])
    np.testing.assert_allclose(out["simulated"]["counts"], expected.reshape(-1))
    np.testing.assert_allclose(per_slice, expected.sum(axis=1))
    exp_syn, _, _ = np.histogram2d(
        syn[0][:, 1], syn[0][:, 0], bins=[out["b_edges"], out["a_edges"]], weights=syn[1]
    )
    np.testing.assert_allclose(out["synthetic_total"]["counts"], exp_syn.reshape(-1))
    assert len(out["edges"]) == 51 and out["edges"][-1] == 5.0
    with pytest.raises(ValueError):
        unrolled_2d_plot((np.ones((5, 3)), None), syn, ("a", "b"))


def test_generator_summary_plot(tmp_path):
    rng = np.random.default_rng(5)
    points = []
    for i, mean in enumerate([-0.2, 0.0, 0.2]):
        syn = _sample(rng, 50_000, mean, total=100.0 * (1 + i))
        sim = _sample(rng, 5_000, mean, total=100.0 * (1 + i))
        points.append({"label": f"m={mean}", "synthetic": syn, "simulated": sim})
    points.append({"label": "no sim", "synthetic": _sample(rng, 1000), "simulated": None})
    outputs = plot_outputs(tmp_path, "generation_summary_x")
    out = generator_summary_plot(points, 1, "x", outputs=outputs)
    assert_written(outputs)
    x_ref, w_ref = points[1]["synthetic"]
    ref, _ = np.histogram(x_ref, bins=out["edges"], weights=w_ref)
    assert len(out["edges"]) == 11
    np.testing.assert_allclose(ref, ref.mean(), rtol=0.01)  # equal statistics
    np.testing.assert_allclose(out["synthetic_ratios"][1], 1.0)
    for i in range(3):
        x, w = points[i]["simulated"]
        sim, _ = np.histogram(x, bins=out["edges"], weights=w)
        np.testing.assert_allclose(out["simulated_ratios"][i], sim / ref)
    # point 2 has 1.5 times the reference yield and is shifted up: ratios rise across the bins
    assert np.mean(out["synthetic_ratios"][2]) == pytest.approx(1.5, rel=0.15)
    assert out["synthetic_ratios"][2][-1] > out["synthetic_ratios"][2][0]
    assert out["simulated_ratios"][3] is None
    with pytest.raises(IndexError):
        generator_summary_plot(points, 7, "x")


def test_density_comparison_plot_binning(tmp_path):
    rng = np.random.default_rng(6)
    xs, ws = _sample(rng, 5000)
    outputs = plot_outputs(tmp_path, "comparison_x_train_inclusive")
    out = density_comparison_plot(
        (xs, ws), (rng.normal(size=5000), ws), "x", "inclusive", outputs=outputs
    )
    assert_written(outputs)
    lo, hi = np.quantile(xs, [0.02, 0.98], weights=ws, method="inverted_cdf")
    np.testing.assert_allclose(out["edges"], np.linspace(lo, hi, 21))
    np.testing.assert_allclose(
        out["simulated"]["counts"], np.histogram(xs, bins=out["edges"], weights=ws)[0]
    )


def test_flow_stages_plot(tmp_path):
    rng = np.random.default_rng(7)
    stages = [rng.exponential(1.0, 4000) - 1.0, rng.normal(0, 1.5, 4000), rng.normal(0, 1, 4000)]
    outputs = plot_outputs(tmp_path, "flow_x_0")
    out = flow_stages_plot(stages, "x", outputs)
    assert_written(outputs)
    assert len(out["edges"]) == 101 and out["edges"][0] == -3.0 and out["edges"][-1] == 3.0
    for stage, hist in zip(stages, out["hists"], strict=True):
        np.testing.assert_allclose(hist, np.histogram(stage, bins=out["edges"], density=True)[0])
    assert out["fraction_outside"][1] > out["fraction_outside"][2]


def test_epoch_metrics_plots(tmp_path):
    metrics = {
        2: {"loss": {"test": 0.8}, "chi2": 3.0},
        0: {"loss": {"test": 5.0}, "chi2": 9.0, "name": "text"},
        1: {"loss": {"test": 1.0}},
    }
    assert flatten_metrics(metrics[0]) == {"loss_test": 5.0, "chi2": 9.0}
    outputs = plot_outputs(tmp_path, "epoch_pm_loss_test")
    out = epoch_metrics_plot(metrics, "loss_test", outputs)
    assert_written(outputs)
    assert out["epochs"].tolist() == [0, 1, 2] and out["values"].tolist() == [5.0, 1.0, 0.8]
    no_zero = epoch_metrics_plot(metrics, "chi2", plot_outputs(tmp_path, "c_no_zero"), no_zero=True)
    assert no_zero["epochs"].tolist() == [2]
    with pytest.raises(KeyError):
        epoch_metrics_plot(metrics, "typo")
    merged = merged_epoch_metrics_plot(metrics, ["loss_test", "chi2"], plot_outputs(tmp_path, "m"))
    np.testing.assert_allclose(merged["values"]["chi2"], [1.0, 0.0])
    assert merged["values"]["loss_test"].min() == 0.0 and merged["values"]["loss_test"].max() == 1
