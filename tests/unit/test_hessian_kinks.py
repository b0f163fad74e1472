"""Hessians of NLLs with kinks in θ: which densities have them, and the smoothed Hessian.

A spline flow's log-density has per-event kinks in θ. Autodiff returns the curvature between
the kinks; the NLL's curvature on the scale of its uncertainty also holds the kinks' share.
These tests pin down both facts with NLLs whose true curvature is known in closed form.
"""

import math

import numpy as np
import pytest
from scipy.stats import norm

from innfer_lib.core.errors import ConfigError
from innfer_lib.inference.hessian import hessian_at, hessian_by_differences, hessian_column


def _kinked_value_and_gradient(n: int, eps: float):
    """Σ_e ½(θ − x_e)² + ε|θ − c_e| with kinks c_e evenly spaced on [−1, 1].

    Between kinks the curvature is n; each kink adds a slope jump of 2ε, and there are n/2
    per unit θ, so on any scale wider than 2/n the NLL's curvature is n(1 + ε).
    """
    x = np.linspace(-0.5, 0.5, n)
    c = np.linspace(-1.0, 1.0, n)

    def vg(theta):
        t = float(np.asarray(theta)[0])
        value = 0.5 * np.sum((t - x) ** 2) + eps * np.sum(np.abs(t - c))
        grad = np.sum(t - x) + eps * np.sum(np.sign(t - c))
        return value, np.array([grad])

    return vg


def test_smoothed_differences_measure_the_curvature_across_kinks():
    n, eps = 20_000, 0.5
    vg = _kinked_value_and_gradient(n, eps)
    theta = np.array([0.1234])
    smoothed, steps = hessian_by_differences(vg, theta, smoothed=True)
    # The step is ~σ/2 of the curvature it measured, far above the kink spacing 1e-4.
    assert steps[0] == pytest.approx(0.5 / math.sqrt(n * (1 + eps)), rel=0.02)
    assert smoothed[0, 0] == pytest.approx(n * (1 + eps), rel=0.01)
    # The local curvature (what autodiff returns) is 1/(1 + ε) of that: σ 18 % too small.
    assert n == pytest.approx(smoothed[0, 0] / (1 + eps), rel=0.01)
    with pytest.raises(ValueError, match="not both"):
        hessian_by_differences(vg, theta, steps=1e-3, smoothed=True)


def test_smoothed_differences_of_a_smooth_nll_match_the_exact_hessian():
    """Away from kinks the wider step costs only O((h/L)²): here L = 1, h ~ σ/2 ~ 0.02."""
    pytest.importorskip("tensorflow")
    from innfer_lib.inference.likelihood import Likelihood
    from innfer_lib.inference.model import Category, Process

    like = Likelihood(
        ["m"], [Category("c", *_quantile_events(500), [Process("p", _Kinked(0.0), nominal=1.0)])]
    )
    theta = np.array([0.05])
    exact = like.hessian(theta)
    smoothed, _ = hessian_by_differences(like.value_and_gradient, theta, smoothed=True)
    np.testing.assert_allclose(smoothed, exact, rtol=1e-3)


class _Kinked:
    """log p = −½(x − m)² − ε|x − m| per event: a kink in m at every event's x.

    Not normalised (the likelihood does not need it for curvature checks). With events
    x ~ N(0, 1) the NLL's curvature near m = 0 is n(1 + 2ε·φ(m)) on scales above the
    spacing of the events, while the autodiff Hessian is n.
    """

    x_columns = ["x"]
    parameters = ["m"]

    def __init__(self, eps: float):
        self.eps = eps
        self.smooth_in_parameters = eps == 0.0

    def log_prob(self, x, params):
        import tensorflow as tf

        d = x[:, 0] - params["m"]
        return -0.5 * d**2 - self.eps * tf.abs(d)


def _quantile_events(n: int) -> tuple[np.ndarray, np.ndarray]:
    """n unit-weight events at the N(0, 1) quantiles: kinks evenly spread in probability."""
    x = norm.ppf((np.arange(n) + 0.5) / n)[:, None]
    return x, np.ones(n)


@pytest.fixture(scope="module")
def kinked_likelihood():
    pytest.importorskip("tensorflow")
    from innfer_lib.inference.likelihood import Likelihood
    from innfer_lib.inference.model import Category, Process

    eps = 0.5
    n = 20_000
    like = Likelihood(
        ["m"], [Category("c", *_quantile_events(n), [Process("p", _Kinked(eps), nominal=1.0)])]
    )
    return like, n, eps


def test_auto_hessian_measures_the_kinks_autodiff_misses(kinked_likelihood):
    like, n, eps = kinked_likelihood
    theta = np.array([0.02])
    assert not like.smooth
    truth = n * (1.0 + 2.0 * eps * norm.pdf(theta[0]))
    auto, how = hessian_at(like, theta, [0], "auto")
    assert how["method"] == "numerical" and how["smooth"] is False
    assert how["steps"]["m"] > 20.0 / n  # wide against the spacing of the kinks
    assert auto[0, 0] == pytest.approx(truth, rel=0.01)
    numerical, _ = hessian_at(like, theta, [0], "numerical")
    np.testing.assert_array_equal(numerical, auto)
    assert hessian_column(like, theta, "m")[0] == pytest.approx(auto[0, 0], rel=1e-12)
    autodiff, how = hessian_at(like, theta, [0], "autodiff")
    assert how == {"method": "autodiff", "smooth": False}
    # Autodiff sees only the curvature between kinks: n, 28 % below the NLL's curvature.
    assert autodiff[0, 0] == pytest.approx(n, rel=1e-9)
    with pytest.raises(ConfigError, match="not one of"):
        hessian_at(like, theta, [0], "exact")


def test_auto_hessian_is_autodiff_for_a_smooth_likelihood():
    pytest.importorskip("tensorflow")
    from innfer_lib.inference.likelihood import Likelihood
    from innfer_lib.inference.model import Category, Process

    like = Likelihood(
        ["m"], [Category("c", *_quantile_events(200), [Process("p", _Kinked(0.0), nominal=1.0)])]
    )
    assert like.smooth
    matrix, how = hessian_at(like, np.array([0.1]), [0], "auto")
    assert how == {"method": "autodiff", "smooth": True}
    assert matrix[0, 0] == pytest.approx(200.0, rel=1e-12)


def test_binned_templates_interpolated_in_a_poi_count_as_kinked():
    pytest.importorskip("tensorflow")
    from innfer_lib.inference.likelihood import Likelihood
    from innfer_lib.inference.model import BinnedCategory, BinnedProcess

    shaped = BinnedProcess("s", nominal=[[5.0, 10.0], [8.0, 7.0]], lnN={}, poi="m", grid=[0.0, 1.0])
    flat = BinnedProcess("s", nominal=[5.0, 10.0], lnN={})
    kinked = Likelihood(["m"], [BinnedCategory("c", [6.0, 9.0], [shaped])], kind="binned_extended")
    plain = Likelihood(["m"], [BinnedCategory("c", [6.0, 9.0], [flat])], kind="binned_extended")
    assert not kinked.smooth and plain.smooth


@pytest.mark.parametrize(
    ("design", "smooth"), [("affine", True), ("spline", False), ("interleaved", False)]
)
def test_flows_with_spline_couplings_are_not_smooth_in_theta(design, smooth):
    pytest.importorskip("tensorflow")
    from innfer_lib.density.flow import ConditionalFlow
    from innfer_lib.density.models import LearnedDensity

    flow = ConditionalFlow(1, 1, {"coupling_design": design, "num_coupling_layers": 2})
    assert flow.smooth_in_condition is smooth
    standardisation = {"x": {"mean": 0.0, "std": 1.0}, "m": {"mean": 0.0, "std": 1.0}}
    density = LearnedDensity(flow, standardisation, ["x"], ["m"])
    assert density.smooth_in_parameters is smooth


def test_smoothed_differences_keep_the_local_value_where_no_curvature_is_positive():
    def flat(theta):
        return 0.0, np.zeros(1)

    matrix, steps = hessian_by_differences(flat, np.array([2.0]), smoothed=True)
    assert matrix[0, 0] == 0.0 and steps[0] == pytest.approx(2e-4)
