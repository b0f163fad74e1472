"""Density performance metrics and the p-value chain, without TensorFlow (issue 16)."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import wasserstein_distance
from sklearn.metrics import roc_auc_score

from innfer_lib.core.errors import ConfigError
from innfer_lib.density import two_sample
from innfer_lib.density.performance import (
    MetricOptions,
    PointSample,
    density_validation_indices,
    sample_metrics,
    simulated_points,
    summary_metric_keys,
    synthetic_points,
)
from innfer_lib.density.pvalues import (
    PValueSetup,
    calibration,
    collect_toys,
    frame_to_samples,
    p_value,
    p_values,
    pvalue_keys,
    samples_to_frame,
    toy_batches,
    toy_metrics,
)
from innfer_lib.plots.metrics import metric_label, metrics_overview_plot, pvalue_plot
from tests.plot_files import assert_written, plot_outputs


class GaussianDensity:
    """x ~ N(θ + shift, 1) in 2-D: a stand-in density that samples with NumPy."""

    parameters = ["Y1"]

    def __init__(self, shift=0.0):
        self.shift = shift

    def sample(self, n, params, seed):
        rng = np.random.default_rng(seed)
        return rng.normal(params["Y1"] + self.shift, 1.0, size=(n, 2))


def gaussian_points(seed, n=1500, shift=0.0, weights="unit", points=(0.0, 1.0)):
    rng = np.random.default_rng(seed)
    out = []
    for i, mu in enumerate(points):
        x = rng.normal(mu + shift, 1.0, size=(n, 2))
        if weights == "unit":
            w = np.ones(n)
        else:  # positive and negative weights independent of x: same distribution, N_eff < N
            w = rng.gamma(2.0, 0.5, n) * np.where(rng.random(n) < 0.05, -1.0, 1.0)
        out.append(PointSample(i, {"Y1": mu}, x, w / w.sum()))
    return out


# ------------------------------------------------------------------------- two-sample metrics


def test_wasserstein_is_scipys_for_positive_weights():
    rng = np.random.default_rng(1)
    u, v = rng.normal(size=300), rng.normal(0.4, 1.3, size=500)
    wu, wv = rng.random(300), rng.random(500)
    assert two_sample.wasserstein_1d(u, v, wu, wv) == pytest.approx(
        wasserstein_distance(u, v, wu, wv), rel=1e-12
    )


def test_wasserstein_of_shifted_samples_is_the_shift_and_takes_negative_weights():
    x = np.linspace(-3, 3, 201)
    assert two_sample.wasserstein_1d(x, x + 0.25, np.ones(201), np.ones(201)) == pytest.approx(
        0.25, rel=1e-9
    )
    w = np.ones(201)
    w[::10] = -0.5
    assert two_sample.wasserstein_1d(x, x, w, w) == 0.0
    assert np.isfinite(two_sample.wasserstein_1d(x, x + 0.1, w, np.ones(201)))


def test_weighted_auc_is_sklearns_for_positive_weights():
    rng = np.random.default_rng(0)
    labels = rng.random(800) < 0.4
    score = np.round(rng.normal(size=800) + 0.5 * labels, 1)  # ties
    w = rng.random(800)
    assert two_sample.weighted_auc(labels, score, w) == pytest.approx(
        roc_auc_score(labels, score, sample_weight=w), rel=1e-12
    )


def test_histogram_of_identical_samples_and_its_dof():
    x = np.random.default_rng(2).normal(size=5000)
    result = two_sample.histogram_comparison(x, np.ones(5000), x, np.ones(5000))
    assert result.chi_squared == 0.0
    assert result.dof == two_sample.HISTOGRAM_BINS - 1
    assert result.kl_divergence == pytest.approx(0.0, abs=1e-15)


def test_discrete_variable_gets_one_bin_per_value():
    edges = two_sample.histogram_edges(np.array([0.0, 1.0, 1.0, 3.0]))
    assert np.allclose(edges, [-0.5, 0.5, 2.0, 4.0])


def test_histogram_chi_squared_per_dof_averages_one_under_the_null():
    values = []
    for seed in range(40):
        rng = np.random.default_rng(seed)
        a, b = rng.normal(size=4000), rng.normal(size=4000)
        values.append(
            two_sample.histogram_comparison(a, np.ones(4000), b, np.ones(4000)).chi_squared_per_dof
        )
    # σ of one χ²/dof with 39 dof is √(2/39) ≈ 0.23; of the mean of 40 about 0.036.
    assert np.mean(values) == pytest.approx(1.0, abs=0.12)


@pytest.mark.parametrize("weights", ["unit", "signed"])
def test_classifier_test_is_a_half_for_one_distribution_and_flags_a_shift(weights):
    same = gaussian_points(3, weights=weights)
    sim_x = np.concatenate([s.x for s in same])
    sim_w = np.concatenate([s.w for s in same])
    twin = np.random.default_rng(4).normal(size=sim_x.shape) + np.repeat([0.0, 1.0], 1500)[:, None]
    null = two_sample.classifier_two_sample(sim_x, sim_w, twin, np.ones(len(twin)), seed=5)
    assert abs(null.auc - 0.5) < 0.04 and abs(null.accuracy - 0.5) < 0.04
    shifted = twin + np.array([0.3, 0.0])
    alt = two_sample.classifier_two_sample(sim_x, sim_w, shifted, np.ones(len(twin)), seed=5)
    assert alt.auc > 0.56


def test_sample_checks_name_the_sample():
    with pytest.raises(ValueError, match="synthetic: 3 events but 2 weights"):
        two_sample.sliced_wasserstein(np.zeros((3, 1)), np.ones(3), np.zeros((3, 1)), np.ones(2))
    with pytest.raises(ValueError, match="simulated: non-finite"):
        two_sample.histogram_comparison(np.array([np.nan]), np.ones(1), np.zeros(1), np.ones(1))


# ------------------------------------------------------------------------ metric orchestration

OPTIONS = MetricOptions(families=("histogram", "multidim"), datasets=("val",))


def test_sample_metrics_write_every_summary_key_and_flag_a_wrong_density():
    sims = gaussian_points(6)
    good = sample_metrics(
        sims, synthetic_points(GaussianDensity(), sims, 7), OPTIONS, "val", ["a", "b"]
    )
    keys = summary_metric_keys(OPTIONS, ["a", "b"])
    assert set(keys) <= set(good)
    assert "chi_squared_per_dof_val_val_ind_1_b" in good
    bad = sample_metrics(
        sims, synthetic_points(GaussianDensity(0.4), sims, 7), OPTIONS, "val", ["a", "b"]
    )
    assert bad["bdt_auc_val"] > good["bdt_auc_val"] + 0.03
    assert bad["chi_squared_per_dof_val_mean"] > 2 * good["chi_squared_per_dof_val_mean"]
    assert bad["wasserstein_sliced_val"] > 2 * good["wasserstein_sliced_val"]
    assert bad["k_means_chi_squared_val"] > 1.5 * good["k_means_chi_squared_val"]


def test_summary_keys_follow_the_choice():
    options = MetricOptions(
        families=("loss", "multidim", "inference"), multidim=("bdt",), datasets=("val", "test_inf")
    )
    assert summary_metric_keys(options, ["x"]) == [
        "loss_train",
        "loss_test",
        "loss_difference",
        "loss_test_plus_difference",
        "bdt_auc_val",
        "bdt_accuracy_val",
        "inference_chi_squared_val",
        "inference_distance_val",
        "bdt_auc_test_inf",
        "bdt_accuracy_test_inf",
        "inference_chi_squared_test_inf",
        "inference_distance_test_inf",
    ]
    block = {"families": ["histogram"], "dataset": "test_inf"}
    assert pvalue_keys(block, ["bdt"], ["x"]) == [
        "chi_squared_per_dof_test_inf_sum",
        "chi_squared_per_dof_test_inf_mean",
        "kl_divergence_test_inf_mean",
    ]


@pytest.mark.parametrize(
    ("block", "match"),
    [
        ({"families": ["loss", "histogramm"]}, r"families: \['histogramm'\] is not known"),
        ({"multidim": ["bdt", "mmd"]}, r"multidim: \['mmd'\] is not known"),
        ({"datasets": []}, "datasets: an empty list"),
    ],
)
def test_unknown_metric_names_are_errors(block, match):
    with pytest.raises(ConfigError, match=match):
        MetricOptions.from_config(block)


def test_density_points_are_those_that_move_only_density_parameters():
    defaults = {"Y1": 172.5, "nu": 0.0, "mu_sig": 1.0}
    points = [
        {"Y1": 172.5, "nu": 0.0, "mu_sig": 1.0},
        {"Y1": 171.0, "nu": 0.0, "mu_sig": 1.0},
        {"Y1": 172.5, "nu": 1.0, "mu_sig": 1.0},
        {"Y1": 172.5, "nu": 0.0, "mu_sig": 2.0},
    ]
    assert density_validation_indices(points, defaults, ["Y1"]) == [0, 1]
    assert density_validation_indices(points, defaults, ["Y1", "nu"]) == [0, 1, 2]


def test_simulated_points_take_one_split_and_skip_empty_points():
    frame = pd.DataFrame(
        {"a": [1.0, 2.0, 3.0], "b": [0.0, 0.0, 1.0], "wt": [1.0, 3.0, 2.0], "split": [2, 2, 1]}
    )
    empty = frame.assign(split=[1, 1, 1])
    sims = simulated_points(
        {0: frame, 4: empty}, {0: {"Y1": 1.0}, 4: {"Y1": 2.0}}, ["a", "b"], ["Y1"], "val"
    )
    assert [s.index for s in sims] == [0]
    assert np.allclose(sims[0].w, [0.25, 0.75]) and sims[0].theta == {"Y1": 1.0}
    with pytest.raises(KeyError, match=r"point 0: the events lack column\(s\) \['c'\]"):
        simulated_points({0: frame}, {0: {"Y1": 1.0}}, ["c"], ["Y1"], "val")


def test_synthetic_points_match_rows_or_effective_events():
    sims = gaussian_points(8, n=1000, weights="signed")
    rows = synthetic_points(GaussianDensity(), sims, 1)
    eff = synthetic_points(GaussianDensity(), sims, 1, events="effective")
    assert [len(s.x) for s in rows] == [1000, 1000]
    assert [len(s.x) for s in eff] == [round(s.effective_events) for s in sims]
    assert all(s.w.sum() == pytest.approx(1.0) for s in eff)
    again = synthetic_points(GaussianDensity(), sims, 1)
    assert np.array_equal(rows[1].x, again[1].x)


# --------------------------------------------------------------------------------- p-values


def test_toy_batches_and_bad_counts():
    assert toy_batches(100, 20) == [(0, 20), (20, 40), (40, 60), (60, 80), (80, 100)]
    assert toy_batches(7, 3) == [(0, 3), (3, 6), (6, 7)]
    with pytest.raises(ValueError, match="at least 1, got 0 and 20"):
        toy_batches(0, 20)
    with pytest.raises(ValueError, match="at least 1"):
        toy_batches(10, 0)


def test_p_value_counts_the_observed_among_the_toys():
    toys = [1.0, 2.0, 3.0, 4.0]
    assert p_value(2.5, toys) == pytest.approx(3 / 5)
    assert p_value(10.0, toys) == pytest.approx(1 / 5)  # never 0
    assert p_value(0.0, toys) == 1.0
    assert p_value(3.0, toys) == pytest.approx(3 / 5)  # ties count as at least as large
    table = p_values({"m": 2.5}, {"m": toys}, ["m"])
    assert table["m"]["toys"] == 4 and table["m"]["toy_mean"] == 2.5
    with pytest.raises(KeyError, match="'n' is not in the sim-vs-synth metrics"):
        p_values({"m": 2.5}, {"m": toys}, ["n"])


def test_collect_toys_keeps_toy_order_and_refuses_duplicates():
    collected = collect_toys([{2: {"m": 3.0}, 3: {"m": 4.0}}, {0: {"m": 1.0}, 1: {"m": 2.0}}])
    assert collected == {"m": [1.0, 2.0, 3.0, 4.0]}
    with pytest.raises(ValueError, match="toy 1 appears in two batches"):
        collect_toys([{1: {"m": 1.0}}, {1: {"m": 1.0}}])
    with pytest.raises(ValueError, match="toy 1 has metrics"):
        collect_toys([{0: {"m": 1.0}, 1: {"n": 1.0}}])


def test_reference_round_trips_through_a_frame():
    sims = gaussian_points(9, n=50)
    frame = samples_to_frame(sims, ["a", "b"])
    back = frame_to_samples(frame, sims, ["a", "b"])
    for a, b in zip(sims, back, strict=True):
        assert np.array_equal(a.x, b.x) and np.array_equal(a.w, b.w) and a.theta == b.theta


def test_toys_do_not_depend_on_their_batch():
    sims = gaussian_points(10, n=400)
    options = MetricOptions(families=("histogram", "multidim"), multidim=("wasserstein",))
    setup = PValueSetup(options, "val", 11, ["a", "b"])
    reference = synthetic_points(GaussianDensity(), sims, 0, events="effective")
    together = toy_metrics(GaussianDensity(), reference, sims, range(0, 3), setup)
    alone = toy_metrics(GaussianDensity(), reference, sims, range(2, 3), setup)
    assert together[2] == alone[2]


def test_calibration_is_uniform_for_weighted_samples_of_the_density():
    """A quick version of the slow calibration: 30 datasets, 120 toys, histogram family."""
    density = GaussianDensity()
    options = MetricOptions(families=("histogram",), datasets=("val",))
    setup = PValueSetup(options, "val", 12, ["a", "b"])
    keys = summary_metric_keys(options, ["a", "b"])
    result = calibration(
        density, lambda j: gaussian_points(100 + j, n=800, weights="signed"), 30, 120, setup, keys
    )
    for key in keys:
        assert result[key]["ks_p_value"] > 0.001, (key, result[key]["ks_statistic"])
        assert len(result[key]["p_values"]) == 30


# ------------------------------------------------------------------------------------- plots


def test_metric_labels_are_readable():
    assert metric_label("bdt_auc_val") == "BDT AUC (0.5: indistinguishable), val events"
    assert metric_label("chi_squared_per_dof_test_inf_mean").endswith(
        "test_inf events (mean over points and variables)"
    )
    assert metric_label("wasserstein_unbinned_val_m_top").endswith("val events, m_top")
    assert metric_label("loss_test").endswith("test")
    assert metric_label("something_else") == "something_else"


def test_pvalue_and_overview_plots_are_written(tmp_path):
    outputs = plot_outputs(tmp_path, "p")
    hist = pvalue_plot("bdt_auc_val", 0.52, [0.49, 0.5, 0.51, 0.5], 0.2, outputs, "G")
    assert hist["counts"].sum() == 4 and hist["edges"][-1] > 0.52
    assert_written(outputs, 1000)
    outputs = plot_outputs(tmp_path, "o")
    metrics = {
        "learned": {"chi_squared_per_dof_val_val_ind_0_x": 1.3, "bdt_auc_val": 0.51},
        "truth": {"chi_squared_per_dof_val_val_ind_0_x": 0.9, "bdt_auc_val": 0.5},
    }
    overview = metrics_overview_plot(metrics, ["bdt_auc_val"], outputs, "G")
    assert overview["points"]["learned"] == [("val 0 x", 1.3)]
    assert overview["table"] == [["bdt_auc_val", "0.51", "0.5"]]
    assert_written(outputs, 1000)


def test_schema_names_are_the_librarys():
    from innfer_lib.core.config_files import WORKFLOW_SCHEMA
    from innfer_lib.core.io import read_yaml
    from innfer_lib.density.performance import DATASETS, FAMILIES, MULTIDIM
    from innfer_lib.density.pvalues import PVALUE_FAMILIES

    schema = read_yaml(WORKFLOW_SCHEMA)
    metrics = schema["properties"]["density_performance_metrics"]["properties"]
    assert tuple(metrics["families"]["items"]["enum"]) == FAMILIES
    assert tuple(metrics["multidim"]["items"]["enum"]) == MULTIDIM
    assert tuple(metrics["datasets"]["items"]["enum"]) == DATASETS
    pvalues = schema["properties"]["pvalues"]["properties"]
    assert tuple(pvalues["families"]["items"]["enum"]) == PVALUE_FAMILIES
    assert tuple(pvalues["dataset"]["enum"]) == DATASETS
