"""The post-fit band: parameter draws from the fit covariance, the per-bin spread of the
prediction, and the binned post-fit plot. Numbers only (no TensorFlow) except the last test."""

import subprocess
import sys

import numpy as np
import pytest

from innfer_lib.inference.postfit_band import (
    BAND_QUANTILES,
    band,
    histogram_draws,
    parameter_samples,
    propagate,
)
from innfer_lib.plots.postfit import binned_postfit_plot, postfit_edges, postfit_plot
from tests.plot_files import assert_written, plot_outputs

COLUMNS = ["mu", "nu", "frozen"]
COVARIANCE = {"matrix_columns": ["nu", "mu"], "covariance": [[0.04, -0.018], [-0.018, 0.01]]}


def test_module_does_not_import_tensorflow():
    code = "import sys, innfer_lib.inference.postfit_band; assert 'tensorflow' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_band_quantiles_are_one_sigma():
    assert BAND_QUANTILES == pytest.approx((0.158655, 0.841345), abs=1e-6)


def test_parameter_samples_follow_the_covariance_and_keep_frozen_values():
    theta = [1.0, 0.5, 7.0]
    samples = parameter_samples(theta, COLUMNS, COVARIANCE, n_samples=20_000, seed=3)
    assert samples.shape == (20_000, 3)
    assert np.all(samples[:, 2] == 7.0)  # not in the covariance: held at its value
    np.testing.assert_allclose(samples[:, :2].mean(axis=0), [1.0, 0.5], atol=0.005)
    # Columns reordered from the covariance's (nu, mu) to the likelihood's (mu, nu).
    np.testing.assert_allclose(
        np.cov(samples[:, :2].T), [[0.01, -0.018], [-0.018, 0.04]], rtol=0.05, atol=5e-4
    )
    again = parameter_samples(theta, COLUMNS, COVARIANCE, n_samples=20_000, seed=3)
    np.testing.assert_array_equal(samples, again)


def test_parameter_samples_are_clipped_to_the_limits_and_reject_bad_covariances():
    samples = parameter_samples(
        [0.05, 0.5, 7.0], COLUMNS, COVARIANCE, 2000, seed=1, limits={"mu": (0.0, None),
        "nu": (None, None)}
    )  # fmt: skip
    assert samples[:, 0].min() == 0.0 and samples[:, 1].min() < 0.0
    with pytest.raises(ValueError, match="not parameters"):
        parameter_samples([1.0], ["mu"], COVARIANCE)
    bad = {"matrix_columns": ["mu"], "covariance": [[np.nan]]}
    with pytest.raises(ValueError, match="non-finite"):
        parameter_samples([1.0], ["mu"], bad)


def test_band_from_the_covariance_of_a_linear_prediction():
    # counts = A θ: the band's half-width is the propagated σ = √diag(A C Aᵀ), correlations
    # included (the quadrature sum of one-parameter shifts, INNFER's band, would differ).
    a = np.array([[10.0, 5.0], [3.0, -20.0], [0.0, 8.0], [1.0, 1.0]])
    theta = np.array([1.0, 0.5, 0.0])
    samples = parameter_samples(theta, COLUMNS, COVARIANCE, n_samples=40_000, seed=5)
    result = propagate(lambda t: a @ t[:2], samples)
    cov = np.array([[0.01, -0.018], [-0.018, 0.04]])
    sigma = np.sqrt(np.diag(a @ cov @ a.T))
    centre = a @ theta[:2]
    np.testing.assert_allclose(result.high - centre, sigma, rtol=0.03)
    np.testing.assert_allclose(centre - result.low, sigma, rtol=0.03)
    uncorrelated = np.sqrt((a**2) @ np.diag(cov))
    assert not np.allclose(sigma, uncorrelated, rtol=0.1)
    assert result.n_samples == 40_000


def test_band_of_a_non_linear_prediction_is_asymmetric():
    samples = np.random.default_rng(2).normal(0.0, 1.0, (20_000, 1))
    result = propagate(lambda t: np.exp(t), samples)
    assert result.low[0] == pytest.approx(np.exp(-1.0), rel=0.03)
    assert result.high[0] == pytest.approx(np.exp(1.0), rel=0.03)
    with pytest.raises(ValueError, match="n_samples"):
        band(np.ones((1, 3)))


def test_histogram_draws_sum_the_processes_with_each_draws_weights():
    edges = np.array([0.0, 1.0, 2.0])
    values = {"a": np.array([0.5, 1.5, np.nan]), "b": np.array([0.2])}
    draws = [
        {"a": np.array([1.0, 2.0, 5.0]), "b": np.array([3.0])},
        {"a": np.array([2.0, 4.0, 5.0]), "b": np.array([0.0])},
    ]
    np.testing.assert_allclose(histogram_draws(values, draws, edges), [[4.0, 2.0], [2.0, 4.0]])


def test_unbinned_postfit_plot_with_band(tmp_path):
    rng = np.random.default_rng(1)
    signal = (rng.normal(0.0, 1.0, 5000), np.full(5000, 300.0 / 5000))
    observed = (rng.normal(0.0, 1.0, 300), None)
    edges = postfit_edges(observed, {"signal": signal})
    assert len(edges) == 41
    total = np.histogram(signal[0], edges, weights=signal[1])[0]
    outputs = plot_outputs(tmp_path, "postfit_band")
    drawn = postfit_plot(
        observed, {"signal": signal}, "x", outputs=outputs, bins=edges,
        band=(0.9 * total, 1.1 * total), prefit={"signal": (signal[0], signal[1] * 0.8)},
    )  # fmt: skip
    assert_written(outputs, more_than=1000)
    np.testing.assert_allclose(drawn["band"][1], 1.1 * total)
    with pytest.raises(ValueError, match="explicit bin edges"):
        postfit_plot(observed, {"signal": signal}, "x", band=(total, total))
    with pytest.raises(ValueError, match="bins"):
        postfit_plot(observed, {"signal": signal}, "x", bins=edges, band=(total[:3], total[:3]))


def test_binned_postfit_plot(tmp_path):
    edges = [0.0, 1.0, 2.0, 3.0]
    processes = {"bkg": [50.0, 30.0, 20.0], "sig": [5.0, 20.0, 5.0]}
    outputs = plot_outputs(tmp_path, "postfit_binned")
    drawn = binned_postfit_plot(
        edges,
        [56.0, 49.0, 26.0],
        processes,
        "x",
        "x [GeV]",
        outputs,
        prefit=[50.0, 40.0, 22.0],
        band=(np.array([53.0, 47.0, 24.0]), np.array([57.0, 53.0, 26.0])),
        title="binned",
    )
    assert_written(outputs, more_than=1000)
    np.testing.assert_allclose(drawn["predicted_total"]["counts"], [55.0, 50.0, 25.0])
    np.testing.assert_allclose(drawn["observed"]["errors"], np.sqrt([56.0, 49.0, 26.0]))
    np.testing.assert_allclose(drawn["ratio"], [56 / 55, 49 / 50, 26 / 25])
    np.testing.assert_allclose(drawn["prefit_ratio"], [50 / 55, 40 / 50, 22 / 25])
    assert drawn["ndf"] == 3
