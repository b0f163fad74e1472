"""The D matrix and the sandwich covariance of weighted unbinned fits (arXiv:1911.01303).

(a) D against per-event finite differences of an independent numpy ln ρ; (b) with unit weights
⟨D⟩ = ⟨H⟩ over toys; (c) a coverage study: weighted toys fitted with the class's gradient,
whose pulls are unit-width with the sandwich and too wide with H⁻¹.
"""

import numpy as np
import pytest
from scipy.optimize import minimize

tf = pytest.importorskip("tensorflow")

from innfer_lib.data.yields import lnn_factor  # noqa: E402
from innfer_lib.inference.covariance import sandwich_covariance  # noqa: E402
from innfer_lib.inference.likelihood import Likelihood  # noqa: E402
from innfer_lib.inference.model import Category, Process  # noqa: E402


class Normal:
    """N(x; location, σ) with the location a named parameter and σ fixed."""

    x_columns = ["x"]
    smooth_in_parameters = True

    def __init__(self, location: str, sigma: float = 1.0):
        self.location = location
        self.sigma = sigma
        self.parameters = [location]

    def log_prob(self, x, params):
        z = (x[:, 0] - params[self.location]) / self.sigma
        return -0.5 * z * z - np.log(self.sigma * np.sqrt(2.0 * np.pi))

    def log_prob_np(self, x: np.ndarray, location: float) -> np.ndarray:
        z = (x[:, 0] - location) / self.sigma
        return -0.5 * z * z - np.log(self.sigma * np.sqrt(2.0 * np.pi))


class Uniform:
    """Flat on [lo, hi]; a background shape without parameters."""

    x_columns = ["x"]
    parameters: list[str] = []
    smooth_in_parameters = True

    def __init__(self, lo: float, hi: float):
        self.log_density = -np.log(hi - lo)

    def log_prob(self, x, params):
        return tf.fill(tf.shape(x)[:1], tf.constant(self.log_density, tf.float64))


# --- (a) D against per-event finite differences --------------------------------------------
COLUMNS = ["m", "m2", "mu", "mu2", "nu", "unused"]
THETA = np.array([0.2, -0.3, 1.1, 0.9, 0.35, 0.0])


def _two_category_model(kind: str, batch_size: int = 10_000, seed: int = 11) -> Likelihood:
    rng = np.random.default_rng(seed)
    x1 = np.concatenate([rng.normal(0.2, 1.0, 150), rng.uniform(-10, 10, 250)])[:, None]
    x2 = np.concatenate([rng.normal(-0.3, 0.5, 60), rng.uniform(-10, 10, 40)])[:, None]
    c1 = Category(
        "c1",
        x1,
        rng.uniform(0.2, 2.5, len(x1)),
        [
            Process("sig", Normal("m"), 350.0, rate_parameter="mu"),
            Process("bkg", Uniform(-10, 10), 650.0, lnN={"nu": (0.9, 1.2)}),
        ],
    )
    c2 = Category(
        "c2",
        x2,
        rng.gamma(1.0, 1.0, len(x2)),
        [
            Process("sig2", Normal("m2", 0.5), 80.0, rate_parameter="mu2"),
            Process("bkg", Uniform(-10, 10), 40.0, lnN={"nu": (0.95, 1.1)}),
        ],
    )
    return Likelihood(
        COLUMNS,
        [c1, c2],
        kind=kind,
        constrained=["nu"],
        constraint_centres={"nu": 0.1},
        batch_size=batch_size,
    )


def _numpy_log_rho(theta: np.ndarray, cat: Category, kind: str) -> np.ndarray:
    """ln ρ per event written independently of the TensorFlow code (numpy yields)."""
    p = dict(zip(COLUMNS, theta, strict=True))
    sig, bkg = cat.processes
    lam_s = sig.nominal * p[sig.rate_parameter]
    lam_b = bkg.nominal * lnn_factor(p["nu"], *bkg.lnN["nu"])
    rho = lam_s * np.exp(sig.density.log_prob_np(cat.x, p[sig.density.location]))
    rho = rho + lam_b * np.exp(bkg.density.log_density)
    log_rho = np.log(rho)
    return log_rho - np.log(lam_s + lam_b) if kind == "unbinned" else log_rho


def _finite_difference_dmatrix(like: Likelihood, theta: np.ndarray, h: float = 1e-6):
    d = np.zeros((len(theta), len(theta)))
    for cat in like.event_categories:
        scores = []
        for i in range(len(theta)):
            e = np.zeros_like(theta)
            e[i] = h
            up = _numpy_log_rho(theta + e, cat, like.kind)
            down = _numpy_log_rho(theta - e, cat, like.kind)
            scores.append((up - down) / (2 * h))
        s = np.array(scores).T
        d += (cat.weights[:, None] ** 2 * s).T @ s
    d[COLUMNS.index("nu"), COLUMNS.index("nu")] += 1.0  # the constraint's Fisher information
    return d


@pytest.mark.parametrize("kind", ["unbinned_extended", "unbinned"])
def test_dmatrix_matches_per_event_finite_differences(kind):
    like = _two_category_model(kind)
    d = like.dmatrix(THETA)
    np.testing.assert_allclose(d, _finite_difference_dmatrix(like, THETA), rtol=1e-7, atol=1e-7)
    assert np.all(np.isfinite(d))
    np.testing.assert_array_equal(d, d.T)
    # A parameter nothing depends on keeps zeros (INNFER made it NaN and dropped it), and
    # parameters of different categories never meet in one event's score.
    unused, m, m2 = (COLUMNS.index(c) for c in ["unused", "m", "m2"])
    assert np.all(d[unused] == 0.0) and np.all(d[:, unused] == 0.0)
    assert d[m, m2] == 0.0
    # Batching does not change the sum.
    small = _two_category_model(kind, batch_size=37)
    np.testing.assert_allclose(small.dmatrix(THETA), d, rtol=1e-12)


def test_poisson_dmatrix_is_sum_w2_times_score_outer_product():
    w = np.array([0.5, 1.5, 2.0, 3.0])
    procs = [
        Process("s", None, 20.0, rate_parameter="mu"),
        Process("b", None, 30.0, lnN={"nu": (0.8, 1.25)}),
    ]
    like = Likelihood(["mu", "nu"], [Category("c", np.zeros((4, 1)), w, procs)], "poisson", ["nu"])
    theta = np.array([1.3, 0.2])

    def log_lam(t):
        return np.log(20.0 * t[0] + 30.0 * lnn_factor(t[1], 0.8, 1.25))

    h = 1e-6
    g = np.array([(log_lam(theta + e) - log_lam(theta - e)) / (2 * h) for e in np.eye(2) * h])
    expected = np.sum(w**2) * np.outer(g, g) + np.diag([0.0, 1.0])
    np.testing.assert_allclose(like.dmatrix(theta), expected, rtol=1e-8)


# --- toys shared by (b) and (c) --------------------------------------------------------------
S, B, M_TRUE, MU_TRUE, NU_TRUE = 200.0, 300.0, 0.3, 1.0, 0.0
TOY_COLUMNS = ["m", "mu", "nu"]


def _toy_likelihood(
    rng: np.random.Generator, kappas: tuple[float, float] | None = None
) -> Likelihood:
    """Gaussian signal (location m, yield S·μ) over a flat background (yield B, or B·lnN(ν)
    with a constrained ν when `kappas` are given)."""
    with_nuisance = kappas is not None
    bkg_lnn = {"nu": kappas} if with_nuisance else {}
    processes = [
        Process("sig", Normal("m"), S, rate_parameter="mu"),
        Process("bkg", Uniform(-6.0, 6.0), B, lnN=bkg_lnn),
    ]
    x, w = _toy_events(rng, weights=None)
    columns = TOY_COLUMNS if with_nuisance else TOY_COLUMNS[:2]
    constrained = ["nu"] if with_nuisance else []
    return Likelihood(
        columns, [Category("c", x, w, processes)], constrained=constrained, batch_size=4096
    )


def _toy_events(rng: np.random.Generator, weights: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Poisson numbers of signal and background events; weights with E[w] = 1 (so Σw is an
    unbiased yield) but E[w²] = 2 for Gamma(1, 1): the weighted sample has N_eff ≈ N/2."""
    n_s, n_b = rng.poisson(S * MU_TRUE), rng.poisson(B)
    x = np.concatenate([rng.normal(M_TRUE, 1.0, n_s), rng.uniform(-6.0, 6.0, n_b)])[:, None]
    w = np.ones(len(x)) if weights is None else rng.gamma(1.0, 1.0, len(x))
    return x, w


def test_unit_weight_dmatrix_equals_hessian_on_average():
    """E[Σ_e s_e s_eᵀ] = E[H] at the truth for an extended fit (and both get +1 from the
    constraint), so with unit weights the sandwich is H⁻¹ up to fluctuations.

    The lnN is symmetric (κ_down·κ_up = 1) so ln λ_b is linear in ν: with (0.9, 1.2) its
    curvature at ν = 0 multiplies the fluctuation Λ_b − n_b and H_νν scatters by ±5 around
    ≈ 6 per toy (not even positive definite at the truth for some), which would need
    thousands of toys to compare at the per-cent level. The asymmetric form is covered by
    the finite-difference test above.
    """
    rng = np.random.default_rng(2024)
    like = _toy_likelihood(rng, kappas=(0.8, 1.25))
    theta = np.array([M_TRUE, MU_TRUE, NU_TRUE])
    ds, hs = [], []
    for _ in range(80):
        like.set_events("c", *_toy_events(rng, weights=None))
        ds.append(like.dmatrix(theta))
        hs.append(like.hessian(theta))
    diff = np.array(ds) - np.array(hs)
    standard_error = diff.std(axis=0, ddof=1) / np.sqrt(len(diff))
    assert np.all(np.abs(diff.mean(axis=0)) <= 4.0 * standard_error + 1e-9)
    mean_d, mean_h = np.mean(ds, axis=0), np.mean(hs, axis=0)
    np.testing.assert_allclose(np.diag(mean_d), np.diag(mean_h), rtol=0.05)
    cov, positive_definite = sandwich_covariance(mean_h, mean_d)
    assert positive_definite
    np.testing.assert_allclose(np.diag(cov) / np.diag(np.linalg.inv(mean_h)), 1.0, atol=0.05)


def test_set_events_matches_a_fresh_likelihood():
    rng = np.random.default_rng(8)
    like = _toy_likelihood(rng, kappas=(0.9, 1.2))
    x, w = _toy_events(rng, weights="gamma")
    like.set_events("c", x, w)
    np.testing.assert_array_equal(like.event_categories[0].weights, w)  # derived from the terms
    fresh = Likelihood(
        TOY_COLUMNS,
        [Category("c", x, w, like.event_categories[0].processes)],
        constrained=["nu"],
    )
    theta = np.array([0.1, 1.2, 0.3])
    assert like(theta) == pytest.approx(fresh(theta), rel=1e-13)
    np.testing.assert_allclose(like.dmatrix(theta), fresh.dmatrix(theta), rtol=1e-12)
    with pytest.raises(ValueError, match="unknown category"):
        like.set_events("nope", x, w)


# --- (c) coverage of weighted fits ---------------------------------------------------------
N_TOYS = 300


def _fit(like: Likelihood, start: np.ndarray) -> np.ndarray:
    result = minimize(
        like.value_and_gradient,
        start,
        jac=True,
        method="L-BFGS-B",
        bounds=[(-3.0, 3.0), (0.05, 5.0)],
        options={"ftol": 1e-13, "gtol": 1e-7, "maxiter": 500},
    )
    # Near float64 resolution of −ln L (~10³) the line search may stop as "ABNORMAL"; the
    # gradient is what says whether the point is the minimum (σ(m) ≈ 0.1, H_mm ≈ 10²).
    assert result.success or np.max(np.abs(result.jac)) < 1e-4, result.message
    return result.x


@pytest.mark.slow
def test_sandwich_covers_weighted_fits_and_inverse_hessian_does_not():
    """Weighted toys (w ~ Gamma(1, 1), so Σw² ≈ 2Σw): σ from H⁻¹ is too small by ≈√2.

    Measured here (300 toys, ≈500 events each): pull widths m 1.48 / μ 1.43 with H⁻¹ and
    1.07 / 1.03 with the sandwich (±0.04–0.06). The few per cent left over for m is a
    small-sample effect of the signal-plus-background fit, not of the weights: unweighted
    toys give 1.07 with H⁻¹ too, and with 4× the events the sandwich gives 0.99 ± 0.03.
    """
    rng = np.random.default_rng(7)
    like = _toy_likelihood(rng)
    truth = np.array([M_TRUE, MU_TRUE])
    pulls_h, pulls_s = [], []
    for _ in range(N_TOYS):
        like.set_events("c", *_toy_events(rng, weights="gamma"))
        best = _fit(like, start=np.array([0.0, 0.8]))
        h, d = like.hessian(best), like.dmatrix(best)
        cov_h = np.linalg.inv(h)
        cov_s, pd = sandwich_covariance(h, d)
        assert pd
        pulls_h.append((best - truth) / np.sqrt(np.diag(cov_h)))
        pulls_s.append((best - truth) / np.sqrt(np.diag(cov_s)))
    pulls_h, pulls_s = np.array(pulls_h), np.array(pulls_s)
    width_h, width_s = pulls_h.std(axis=0, ddof=1), pulls_s.std(axis=0, ddof=1)
    # Standard error of a sample standard deviation of N Gaussian values: σ/√(2(N − 1)).
    error = 1.0 / np.sqrt(2.0 * (N_TOYS - 1))
    for name, wh, ws in zip(["m", "mu"], width_h, width_s, strict=True):
        print(
            f"{name}: pull width H^-1 {wh:.3f} ± {wh * error:.3f}, "
            f"sandwich {ws:.3f} ± {ws * error:.3f} ({N_TOYS} toys)"
        )
    assert np.all(np.abs(width_s - 1.0) < 3.0 * error)
    assert np.all(width_h > 1.0 + 6.0 * error)
    assert np.all(np.abs(pulls_s.mean(axis=0)) < 4.0 * width_s / np.sqrt(N_TOYS))
