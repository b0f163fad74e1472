"""NLL value, gradient and Hessian against finite differences and closed forms."""

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from innfer_lib.data.yields import lnn_factor  # noqa: E402
from innfer_lib.inference.covariance import covariance_from_hessian  # noqa: E402
from innfer_lib.inference.likelihood import Likelihood, fitted_yields  # noqa: E402
from innfer_lib.inference.minimiser import minimise  # noqa: E402
from innfer_lib.inference.model import Category, Process  # noqa: E402


class GaussianShape:
    """N(x; m, s) with the mean a parameter: a density with a known MLE."""

    x_columns = ["x"]
    smooth_in_parameters = True

    def __init__(self, mean_param, sigma=1.0):
        self.parameters = [mean_param]
        self.mean_param = mean_param
        self.sigma = sigma

    def log_prob(self, x, params):
        z = (x[:, 0] - params[self.mean_param]) / self.sigma
        return -0.5 * z**2 - np.log(self.sigma * np.sqrt(2 * np.pi))


class FlatShape:
    """Uniform on [-10, 10]; a background with no parameters."""

    x_columns = ["x"]
    parameters = []
    smooth_in_parameters = True

    def log_prob(self, x, params):
        return tf.fill(tf.shape(x)[:1], tf.constant(-np.log(20.0), tf.float64))


def _problem(kind="unbinned_extended"):
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.normal(0.3, 1.0, 400), rng.uniform(-10, 10, 600)])[:, None]
    w = rng.uniform(0.5, 1.5, len(x))
    processes = [
        Process("sig", GaussianShape("m"), nominal=350.0, rate_parameter="mu_sig"),
        Process("bkg", FlatShape(), nominal=650.0, lnN={"nu": (0.9, 1.2)}),
    ]
    columns = ["m", "mu_sig", "nu"]
    like = Likelihood(
        columns,
        [Category("c", x, w, processes)],
        kind=kind,
        constrained=["nu"],
        constraint_centres={"nu": 0.1},
        batch_size=256,
    )
    return like, columns


def _numeric_gradient(f, theta, h=1e-5):
    g = np.zeros_like(theta)
    for i in range(len(theta)):
        e = np.zeros_like(theta)
        e[i] = h
        g[i] = (f(theta + e) - f(theta - e)) / (2 * h)
    return g


@pytest.mark.parametrize("kind", ["unbinned_extended", "unbinned"])
@pytest.mark.parametrize("theta", [[0.2, 1.1, 0.3], [0.5, 0.8, -0.7], [0.0, 1.0, 0.45]])
def test_gradient_and_hessian_match_finite_differences(kind, theta):
    like, _ = _problem(kind)
    theta = np.array(theta)
    value, grad = like.value_and_gradient(theta)
    assert np.isfinite(value)
    num_grad = _numeric_gradient(like, theta)
    np.testing.assert_allclose(grad, num_grad, rtol=1e-6, atol=1e-6)
    hess = like.hessian(theta)
    num_hess = np.array(
        [
            _numeric_gradient(lambda t, i=i: like.value_and_gradient(t)[1][i], theta)
            for i in range(3)
        ]
    )
    np.testing.assert_allclose(hess, num_hess, rtol=1e-5, atol=1e-5)
    # Every parameter type (shape, rate, lnN + constraint) has a non-zero derivative.
    assert np.all(np.abs(np.diag(hess)) > 1e-3)


def test_fitted_yields_are_the_yields_at_theta():
    like, _ = _problem()
    yields = fitted_yields(like, np.array([0.2, 1.1, 0.3]))
    assert list(yields) == ["c"] and list(yields["c"]) == ["sig", "bkg"]
    assert yields["c"]["sig"] == pytest.approx(350.0 * 1.1, rel=1e-14)
    assert yields["c"]["bkg"] == pytest.approx(650.0 * float(lnn_factor(0.3, 0.9, 1.2)))


def test_batching_does_not_change_the_result():
    like, _ = _problem()
    theta = np.array([0.2, 1.1, 0.3])
    v1, g1 = like.value_and_gradient(theta)
    like2 = Likelihood(
        like.columns,
        like.event_categories,
        constrained=["nu"],
        constraint_centres={"nu": 0.1},
        batch_size=10_000,
    )
    v2, g2 = like2.value_and_gradient(theta)
    assert v1 == pytest.approx(v2, rel=1e-12)
    np.testing.assert_allclose(g1, g2, rtol=1e-10)


def test_gaussian_mean_fit_matches_closed_form():
    """For unweighted N(m, 1) events the MLE is the sample mean and σ = 1/√N exactly."""
    rng = np.random.default_rng(5)
    x = rng.normal(1.7, 1.0, 2000)[:, None]
    like = Likelihood(
        ["m"],
        [Category("c", x, np.ones(len(x)), [Process("g", GaussianShape("m"), nominal=2000.0)])],
    )
    result = minimise(like.value_and_gradient, ["m"], start={"m": 0.0}, limits={"m": (-5, 5)})
    assert result["valid"]
    # MIGRAD stops at EDM < 2e-4·errordef: the minimum is found to ~1% of σ.
    assert result["best_fit"][0] == pytest.approx(x.mean(), abs=0.01 / np.sqrt(len(x)))
    cov, pd = covariance_from_hessian(like.hessian(np.array(result["best_fit"])))
    assert pd
    assert np.sqrt(cov[0, 0]) == pytest.approx(1 / np.sqrt(len(x)), rel=1e-9)


def test_rate_parameter_fit_recovers_yield():
    like, columns = _problem()
    result = minimise(
        like.value_and_gradient,
        columns,
        start={"m": 0.0, "mu_sig": 1.0, "nu": 0.0},
        limits={"m": (-5, 5), "mu_sig": (0, None)},
    )
    assert result["valid"]
    assert result["nfcn"] < 200
    # MIGRAD's minimum is a stationary point of the autodiff gradient, for every parameter type.
    _, grad = like.value_and_gradient(np.array(result["best_fit"]))
    assert np.all(np.abs(grad) < 0.05)
    assert 0.7 < result["best_fit"][1] < 1.6
