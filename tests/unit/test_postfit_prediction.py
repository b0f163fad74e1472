"""Post-fit predictions at a parameter point: per-process bin yields of a binned likelihood and
the reweighting of best-fit samples of an unbinned one."""

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from innfer_lib.inference.likelihood import Likelihood  # noqa: E402
from innfer_lib.inference.model import BinnedCategory, BinnedProcess, Category, Process  # noqa: E402
from innfer_lib.inference.postfit_band import parameter_samples, propagate  # noqa: E402
from innfer_lib.inference.postfit_prediction import (  # noqa: E402
    EventReweighter,
    binned_predictions,
    binned_total,
)

COLUMNS = ["m", "mu"]


def _binned(kind):
    sig = BinnedProcess(
        "sig", np.array([[4.0, 9.0], [6.0, 12.0]]), {}, poi="m", grid=[0.0, 1.0],
        rate_parameter="mu",
    )  # fmt: skip
    bkg = BinnedProcess("bkg", np.array([[5.0, 10.0]]), {})
    category = BinnedCategory("a", np.array([12.0, 30.0]), [sig, bkg])
    return Likelihood(COLUMNS, [category], kind=kind)


def test_binned_predictions_per_process():
    likelihood = _binned("binned_extended")
    out = binned_predictions(likelihood, [0.5, 2.0])["a"]
    np.testing.assert_allclose(out.processes["sig"], [10.0, 21.0])  # (5, 10.5) × μ = 2
    np.testing.assert_allclose(out.processes["bkg"], [5.0, 10.0])
    np.testing.assert_allclose(out.total, likelihood.expected_bins([0.5, 2.0])["a"])
    np.testing.assert_array_equal(out.observed, [12.0, 30.0])
    shape_only = binned_predictions(_binned("binned"), [0.5, 2.0])["a"]
    assert shape_only.total.sum() == pytest.approx(42.0)
    np.testing.assert_allclose(shape_only.total / out.total, 42.0 / 46.0)


def test_binned_band_of_the_rate_parameter():
    likelihood = _binned("binned_extended")
    cov = {"matrix_columns": ["mu"], "covariance": [[0.01]]}
    samples = parameter_samples([0.0, 1.0], COLUMNS, cov, n_samples=4000, seed=1)
    result = propagate(binned_total(likelihood, "a"), samples)
    # Only μ varies: the total moves by ±0.1 × the signal (4, 9).
    np.testing.assert_allclose((result.high - result.low) / 2, [0.4, 0.9], rtol=0.06)
    with pytest.raises(ValueError, match="no bins"):
        binned_predictions(Likelihood(COLUMNS, [_events()], kind="unbinned_extended"), [0, 1])


class _Gaussian:
    """N(m, 1) in one observable, differentiable in m."""

    parameters = ("m",)
    smooth_in_parameters = True

    def log_prob(self, x, params):
        return -0.5 * (x[:, 0] - params["m"]) ** 2 - 0.5 * np.log(2 * np.pi)


def _events():
    process = Process("sig", _Gaussian(), 100.0, rate_parameter="mu")
    return Category("a", np.zeros((3, 1)), np.ones(3), [process])


def test_event_reweighting_moves_the_sample_to_another_point():
    rng = np.random.default_rng(4)
    x = rng.normal(0.0, 1.0, (200_000, 1))
    w = np.full(len(x), 100.0 / len(x))  # sums to λ(θ̂) = 100 × μ̂ (μ̂ = 1)
    reweighter = EventReweighter(COLUMNS, _events(), {"sig": (x, w)}, [0.0, 1.0])
    np.testing.assert_allclose(reweighter.weights([0.0, 1.0])["sig"], w)
    moved = reweighter.weights([0.2, 1.5])["sig"]
    assert moved.sum() == pytest.approx(150.0, rel=0.01)  # the yield follows μ
    assert np.average(x[:, 0], weights=moved) == pytest.approx(0.2, abs=0.01)
    with pytest.raises(ValueError, match="no post-fit events"):
        EventReweighter(COLUMNS, _events(), {}, [0.0, 1.0])
