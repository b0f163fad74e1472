"""MINOS intervals of a FitJob (`inference.minos`): exact on a Gaussian, the analytic profile
of a Poisson count, and failed records (never exceptions) where MINOS cannot give a side."""

import math

import numpy as np
import pytest
from scipy.optimize import brentq

tf = pytest.importorskip("tensorflow")

from innfer_lib.inference import minos  # noqa: E402
from innfer_lib.inference.fit_job import FitJob  # noqa: E402
from innfer_lib.inference.likelihood import Likelihood  # noqa: E402
from innfer_lib.inference.model import Category, Process  # noqa: E402
from innfer_lib.inference.problem import FitProblem  # noqa: E402

MINIMISER = {"method": "minuit", "strategy": 1, "tolerance": 0.1, "retries": 1, "fallback": True}


class Shifted:
    """N(x; m + s·nu, 1): the nuisance moves the peak, so profiling over nu widens m."""

    x_columns = ["x"]
    parameters = ["m", "nu"]
    smooth_in_parameters = True
    slope = 0.5

    def log_prob(self, x, params):
        z = x[:, 0] - params["m"] - self.slope * params["nu"]
        return -0.5 * z * z - 0.5 * np.log(2.0 * np.pi)


def _job(like, columns, limits=None, fixed=None) -> FitJob:
    truth = dict.fromkeys(columns, 0.0)
    problem = FitProblem(like, columns, truth, limits or {}, {}, fixed or {})
    return FitJob(None, problem, {"minimiser": MINIMISER}, 0)


def _gaussian_job(limits=None, fixed=None):
    """−ln L = Σ_e w_e (x_e − m − s·nu)²/2 + nu²/2: exactly quadratic in (m, nu)."""
    rng = np.random.default_rng(5)
    x = rng.normal(0.3, 1.0, 300)[:, None]
    w = rng.uniform(0.2, 0.6, len(x))
    columns = ["m", "nu"]
    like = Likelihood(
        columns,
        [Category("c", x, w, [Process("sig", Shifted(), nominal=100.0)])],
        kind="unbinned",
        constrained=["nu"],
    )
    job = _job(like, columns, limits, fixed)
    big_w, s = float(w.sum()), Shifted.slope
    hessian = np.array([[big_w, big_w * s], [big_w * s, big_w * s * s + 1.0]])
    covariance = np.linalg.inv(hessian)
    # The minimum: ∂/∂m gives Σw(x − m − s nu) = 0 and ∂/∂nu adds nu, so nu = 0 and m = x̄_w.
    best = {"m": float(np.sum(w * x[:, 0]) / big_w), "nu": 0.0}
    return job, best, covariance


def test_gaussian_crossings_are_exact_and_profiled():
    job, best, covariance = _gaussian_job()
    result = minos.minos_intervals(job, best, ["m", "nu"])
    for i, name in enumerate(["m", "nu"]):
        record = result[name]
        sigma = math.sqrt(covariance[i, i])  # profiled σ: the covariance, not 1/√H_ii
        assert record["valid"] and record["reasons"] == []
        assert record["varied_column"] == name and record["columns"] == ["m", "nu"]
        assert sorted(record["crossings"]) == [-2, -1, 0, 1, 2]
        assert record["crossings"][0] == pytest.approx(best[name], abs=1e-3 * sigma)
        for k in (-2, -1, 1, 2):
            expected = best[name] + k * sigma
            assert abs(record["crossings"][k] - expected) < 1e-3 * sigma, (name, k)
            assert record["sides"][k] == {"valid": True, "reason": None}
    # Profiling matters here: the conditional σ of m is 1/√H_mm, about 20 % smaller.
    assert math.sqrt(covariance[0, 0]) > 1.1 / math.sqrt(np.linalg.inv(covariance)[0, 0])


def test_best_fit_as_a_vector_gives_the_same_record():
    job, best, _ = _gaussian_job()
    by_name = minos.minos_intervals(job, best, ["m"])
    by_vector = minos.minos_intervals(job, [best["m"], best["nu"]], ["m"])
    assert by_vector["m"]["crossings"] == pytest.approx(by_name["m"]["crossings"])


def _poisson_job(n: int, nominal: float, limits=None):
    """A counting experiment: −ln L = λ − n ln λ with λ = nominal·mu (n unit-weight events)."""
    x = np.zeros((n, 1))
    columns = ["mu"]
    like = Likelihood(
        columns,
        [Category("c", x, np.ones(n), [Process("sig", None, nominal, rate_parameter="mu")])],
        kind="poisson",
    )
    return _job(like, columns, limits)


def _poisson_crossing(n: int, nominal: float, k: int) -> float:
    """Solve λ − n − n ln(λ/n) = k²/2 for μ = λ/nominal on the side of sign(k)."""
    mu_hat = n / nominal

    def delta(mu: float) -> float:
        lam = nominal * mu
        return lam - n - n * math.log(lam / n) - 0.5 * k * k

    if k > 0:
        return brentq(delta, mu_hat, 10.0 * mu_hat, xtol=1e-12)
    return brentq(delta, 1e-9, mu_hat, xtol=1e-12)


def test_poisson_count_crossings_are_asymmetric_and_analytic():
    n, nominal = 9, 6.0
    job = _poisson_job(n, nominal, limits={"mu": (0.0, None)})
    record = minos.minos_intervals(job, {"mu": n / nominal}, ["mu"])["mu"]
    assert record["valid"]
    sigma = math.sqrt(n) / nominal
    for k in (-2, -1, 1, 2):
        assert record["crossings"][k] == pytest.approx(
            _poisson_crossing(n, nominal, k), abs=1e-3 * sigma
        ), k
    # Not symmetrised: the upper error of a small count is clearly the larger.
    up = record["crossings"][1] - record["crossings"][0]
    down = record["crossings"][0] - record["crossings"][-1]
    assert up > 1.1 * down


def test_crossing_beyond_a_limit_is_a_failed_side_not_an_error():
    job, best, covariance = _gaussian_job(limits={"m": (-5.0, best_m_plus(1.5))})
    record = minos.minos_intervals(job, best, ["m"])["m"]
    assert not record["valid"]
    assert record["sides"][2] == {"valid": False, "reason": minos.AT_LIMIT}
    assert record["sides"][1]["valid"] and record["sides"][-2]["valid"]
    assert 2 not in record["crossings"] and 1 in record["crossings"]
    assert minos.AT_LIMIT in record["reasons"]


def best_m_plus(k: float) -> float:
    """The best fit of m in `_gaussian_job` plus k σ (an upper limit between 1σ and 2σ)."""
    _, best, covariance = _gaussian_job()
    return best["m"] + k * math.sqrt(covariance[0, 0])


def test_minos_exception_gives_failed_records(monkeypatch):
    from iminuit import Minuit

    def broken(self, *args, **kwargs):
        raise RuntimeError("forced failure")

    monkeypatch.setattr(Minuit, "minos", broken)
    job, best, _ = _gaussian_job()
    record = minos.minos_intervals(job, best, ["m"])["m"]
    assert not record["valid"]
    assert set(record["crossings"]) == {0}
    assert all(s["reason"].startswith(minos.MINOS_ERROR) for s in record["sides"].values())
    assert "forced failure" in record["reasons"][0]


def test_frozen_parameter_and_invalid_minimum():
    job, best, _ = _gaussian_job(fixed={"nu": 0.0})
    frozen = minos.minos_intervals(job, best, ["nu"])["nu"]
    assert not frozen["valid"] and frozen["reasons"] == [minos.FROZEN]
    # −ln L that is NaN everywhere: MIGRAD finds no valid minimum, every side fails.
    job.problem.likelihood.value_and_gradient = lambda theta: (math.nan, np.zeros(2))
    failed = minos.minos_intervals(job, best, ["m"])["m"]
    assert not failed["valid"]
    assert failed["reasons"][0].startswith(minos.MINIMUM_INVALID)
    with pytest.raises(ValueError, match="not a fit parameter"):
        minos.minos_intervals(job, best, ["nope"])
