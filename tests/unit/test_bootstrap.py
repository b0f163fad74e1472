"""Bootstrap replicas of a FitJob (`inference.bootstrap`): reproducible events, the job left as
found, the collected crossings, and on weighted events σ_bootstrap ≈ the sandwich σ."""

import math

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from innfer_lib.inference import bootstrap  # noqa: E402
from innfer_lib.inference.covariance import sandwich_covariance  # noqa: E402
from innfer_lib.inference.fit_job import FitJob  # noqa: E402
from innfer_lib.inference.likelihood import Likelihood  # noqa: E402
from innfer_lib.inference.model import Category, Process  # noqa: E402
from innfer_lib.inference.problem import FitProblem  # noqa: E402

MINIMISER = {"method": "minuit", "strategy": 1, "tolerance": 0.1, "retries": 1, "fallback": True}
COLUMNS = ["m", "mu"]
S, B = 400.0, 600.0


class Normal:
    """N(x; m, 1)."""

    x_columns = ["x"]
    parameters = ["m"]
    smooth_in_parameters = True

    def log_prob(self, x, params):
        z = x[:, 0] - params["m"]
        return -0.5 * z * z - 0.5 * np.log(2.0 * np.pi)


class Flat:
    """Uniform on [−5, 5]."""

    x_columns = ["x"]
    parameters: list[str] = []
    smooth_in_parameters = True

    def log_prob(self, x, params):
        return tf.fill(tf.shape(x)[:1], tf.constant(-np.log(10.0), tf.float64))


def _weighted_job(seed: int = 3) -> FitJob:
    """Extended fit of a Gaussian signal (m, yield S·mu) over a flat background, on events
    with Gamma(1, 1) weights (E[w] = 1, E[w²] = 2: H⁻¹ is too small by about √2)."""
    rng = np.random.default_rng(seed)
    n_s, n_b = rng.poisson(S), rng.poisson(B)
    x = np.concatenate([rng.normal(0.2, 1.0, n_s), rng.uniform(-5.0, 5.0, n_b)])[:, None]
    x = x[np.abs(x[:, 0]) < 5.0]
    w = rng.gamma(1.0, 1.0, len(x))
    processes = [Process("sig", Normal(), S, rate_parameter="mu"), Process("bkg", Flat(), B)]
    like = Likelihood(COLUMNS, [Category("c", x, w, processes)], batch_size=4096)
    limits = {"m": (-3.0, 3.0), "mu": (0.0, None)}
    problem = FitProblem(like, COLUMNS, {"m": 0.2, "mu": 1.0}, limits, {}, {})
    job = FitJob(None, problem, {"minimiser": MINIMISER}, 0)
    job.best_fit = job.minimise({"m": 0.0, "mu": 1.0})
    assert job.best_fit["valid"]
    return job


@pytest.fixture(scope="module")
def job() -> FitJob:
    return _weighted_job()


def test_replica_events_are_reproducible_and_differ_between_replicas():
    def counts(replica: int, method: str) -> np.ndarray:
        return bootstrap.resample_counts(bootstrap.replica_rng([7, 2], replica), 500, method)

    for method in bootstrap.METHODS:
        np.testing.assert_array_equal(counts(3, method), counts(3, method))
        assert not np.array_equal(counts(3, method), counts(4, method))
    assert counts(0, bootstrap.MULTINOMIAL).sum() == 500  # fixed count
    poisson = bootstrap.resample_counts(bootstrap.replica_rng(1, 0), 200_000, "poisson")
    assert poisson.mean() == pytest.approx(1.0, abs=0.01)
    assert poisson.var() == pytest.approx(1.0, abs=0.01)
    with pytest.raises(ValueError, match="not one of"):
        bootstrap.resample_counts(bootstrap.replica_rng(1, 0), 10, "undersample")


def test_resample_keeps_drawn_events_with_weight_times_count():
    x = np.arange(5.0)[:, None]
    w = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    new_x, new_w = bootstrap.resample_events(x, w, np.array([0, 2, 1, 0, 3]))
    np.testing.assert_array_equal(new_x[:, 0], [1.0, 2.0, 4.0])
    np.testing.assert_array_equal(new_w, [4.0, 3.0, 15.0])
    empty_x, empty_w = bootstrap.resample_events(x, w, np.zeros(5, int))
    assert len(empty_x) == 5 and not empty_w.any()


def test_replica_fit_is_reproducible_and_restores_the_events(job):
    before = job.problem.likelihood.event_categories[0]
    best = dict(zip(job.best_fit["columns"], job.best_fit["best_fit"], strict=True))
    first = bootstrap.bootstrap_fit(job, best, replica=4, seed=[11, 0])
    after = job.problem.likelihood.event_categories[0]
    np.testing.assert_array_equal(after.weights, before.weights)
    again = bootstrap.bootstrap_fit(job, job.theta, replica=4, seed=[11, 0])
    assert again["best_fit"] == first["best_fit"]
    other = bootstrap.bootstrap_fit(job, best, replica=5, seed=[11, 0])
    assert other["best_fit"] != first["best_fit"]
    assert first["fit_valid"] and first["invalid_reasons"] == []
    assert first["columns"] == COLUMNS and first["replica"] == 4
    assert first["sum_weights"]["c"] != pytest.approx(float(before.weights.sum()), rel=1e-6)


def _replica(b: int, values, valid=True) -> dict:
    return {
        "replica": b,
        "method": "poisson",
        "columns": COLUMNS,
        "best_fit": list(values),
        "fit_valid": valid,
    }


def test_collect_gives_centre_plus_k_std_and_flags_failures():
    rng = np.random.default_rng(0)
    values = rng.normal([0.1, 1.0], [0.05, 0.2], (50, 2))
    replicas = [_replica(b, v) for b, v in enumerate(values)]
    replicas.append(_replica(50, [9.0, 9.0], valid=False))
    out = bootstrap.collect_bootstrap(replicas[::-1], COLUMNS, best_fit={"m": 0.12, "mu": 0.9})
    m = out["m"]
    std = float(np.std(values[:, 0], ddof=1))
    assert m["std"] == pytest.approx(std) and m["mean"] == pytest.approx(values[:, 0].mean())
    assert m["crossings"] == pytest.approx(
        {0: 0.12, -2: 0.12 - 2 * std, -1: 0.12 - std, 1: 0.12 + std, 2: 0.12 + 2 * std}
    )
    assert m["results"] == pytest.approx(list(values[:, 0]))  # replica order, failed left out
    assert m["failed"] == [50] and m["n_valid"] == 50 and m["n_replicas"] == 51
    assert m["valid"] and m["varied_column"] == "m"
    assert m["percentiles"][-1] < m["percentiles"][1]
    many_failed = replicas[:5] + [_replica(60 + b, [0, 0], valid=False) for b in range(2)]
    bad = bootstrap.collect_bootstrap(many_failed, ["mu"])["mu"]
    assert not bad["valid"] and bad["reasons"] == ["too_many_failed_replicas"]
    assert bad["crossings"][0] == pytest.approx(values[:5, 1].mean())  # no best fit: the mean
    lonely = bootstrap.collect_bootstrap(replicas[:1], ["m"])["m"]
    assert "too_few_valid_replicas" in lonely["reasons"] and set(lonely["crossings"]) == {0}


N_REPLICAS = 300


@pytest.mark.slow
def test_bootstrap_sigma_matches_the_sandwich_on_weighted_events(job):
    """Poisson bootstrap of weighted events reproduces Var[Σ w g] = D, so σ_boot ≈ √(H⁻¹DH⁻¹)
    (and not √H⁻¹, which is ≈ √2 too small for Gamma(1, 1) weights). The std of N replicas has
    a relative error of 1/√(2(N − 1)) ≈ 4 % at N = 300.

    Measured (seed 2026, 300 replicas, 90 s on 2 shared cores): m 0.1016 vs sandwich 0.0998
    (H⁻¹ 0.0731), ratio 1.018; mu 0.0897 vs 0.0939 (H⁻¹ 0.0632), ratio 0.955.
    """
    theta = job.theta
    like = job.problem.likelihood
    hessian, dmatrix = like.hessian(theta), like.dmatrix(theta)
    sandwich, positive_definite = sandwich_covariance(hessian, dmatrix)
    assert positive_definite
    replicas = [bootstrap.bootstrap_fit(job, theta, b, seed=[2026]) for b in range(N_REPLICAS)]
    best = dict(zip(COLUMNS, theta, strict=True))
    out = bootstrap.collect_bootstrap(replicas, COLUMNS, best_fit=best)
    for i, name in enumerate(COLUMNS):
        sigma_sandwich = math.sqrt(sandwich[i, i])
        sigma_hessian = math.sqrt(np.linalg.inv(hessian)[i, i])
        ratio = out[name]["std"] / sigma_sandwich
        print(
            f"{name}: bootstrap {out[name]['std']:.4f}, sandwich {sigma_sandwich:.4f}, "
            f"H^-1 {sigma_hessian:.4f}, ratio {ratio:.3f} ({N_REPLICAS} replicas)"
        )
        assert out[name]["valid"]
        assert abs(ratio - 1.0) < 0.10
        assert out[name]["std"] > 1.15 * sigma_hessian
