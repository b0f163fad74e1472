"""Tests of the analytic benchmarks: exact normalisation, simulation, TF parity, config."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import integrate, special, stats

from innfer_lib.core.errors import ConfigError
from innfer_lib.data import benchmarks as bm

Y_CHECK = (166.0, 172.5, 180.0)
BKG_MEAN = 170.0 - 25.0 * math.exp(-2.5) / -math.expm1(-2.5)


def sigma(y: float) -> float:
    return 0.01 * y


def density_1d(bench: bm.Benchmark, process: str, y: float):
    return lambda t: float(np.exp(bench.log_prob(process, np.array([[t]]), {"Y1": y})[0]))


# ---------------------------------------------------------------------------------------------
# constants and registry
# ---------------------------------------------------------------------------------------------
def test_grid_constants():
    assert len(bm.TRUE_VALUES) == 20 and len(bm.VALIDATION_VALUES) == 9
    assert bm.TRUE_VALUES[:6] == (166.0, 167.0, 168.0, 169.0, 170.0, 170.5)
    assert bm.TRUE_VALUES[-6:] == (175.0, 176.0, 177.0, 178.0, 179.0, 180.0)
    assert bm.VALIDATION_VALUES == tuple(171.0 + 0.5 * i for i in range(9))
    assert bm.DROP_FROM_TRAINING == (170.5, 171.5, 172.5, 173.5, 174.5)
    assert set(bm.VALIDATION_VALUES) <= set(bm.TRUE_VALUES)
    assert all(type(v) is float for v in bm.TRUE_VALUES + bm.VALIDATION_VALUES)
    assert (bm.DEFAULT_Y, bm.DATA_Y, bm.PARAMETER_RANGE) == (172.5, 172.345, (166.0, 180.0))


def test_get_benchmark():
    assert len(bm.SCENARIOS) == 6
    for name in bm.SCENARIOS:
        bench = bm.get_benchmark(name)
        assert isinstance(bench, bm.Benchmark) and bench.name == name
    with pytest.raises(ValueError, match="Dim5"):
        bm.get_benchmark("Dim3")
    with pytest.raises(ValueError, match="process"):
        bm.get_benchmark("Dim2").log_prob("Nope", np.zeros((1, 2)), {"Y1": 172.5})
    with pytest.raises(ValueError, match="shape"):
        bm.get_benchmark("Dim2").log_prob("Signal", np.zeros((3, 1)), {"Y1": 172.5})
    with pytest.raises(ValueError, match="Y1"):
        bm.get_benchmark("Dim2").log_prob("Signal", np.zeros((3, 2)), {})


def test_layout():
    expected = {
        "Dim1Gaussian": ({"base": "Gaussian"}, ["Gaussian"]),
        "Dim1GaussianWithExpBkg": ({"base": "GaussianWithExpBkg"}, ["GaussianWithExpBkg"]),
        "Dim1GaussianWithExpBkgVaryingYield": (
            {"base_gaussian": "Gaussian", "base_expbkg": "ExpBkg"},
            ["Gaussian", "ExpBkg"],
        ),
        "Dim2": ({"base": "Signal"}, ["Signal"]),
        "Dim5": ({"base": "Signal"}, ["Signal"]),
    }
    for name, (stems, procs) in expected.items():
        bench = bm.get_benchmark(name)
        assert bench.file_stems() == stems and bench.processes == procs
    vy = bm.get_benchmark("Dim1GaussianWithExpBkgVaryingYield")
    assert vy.process_parameters("ExpBkg") == [] and vy.process_parameters("Gaussian") == ["Y1"]
    assert vy.true_parameters() == {"Y1": 172.345, "mu_Gaussian": 0.3}
    assert bm.get_benchmark("Dim5").true_parameters() == {"Y1": 172.345}
    assert bm.get_benchmark("Dim5").variables == ["X1", "X2", "X3", "X4", "X5"]


def test_module_import_is_light():
    code = (
        "import sys, innfer_lib.data.benchmarks; "
        "print(any(m in sys.modules for m in ('tensorflow', 'pandas', 'scipy')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ---------------------------------------------------------------------------------------------
# normalisation
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("y", Y_CHECK)
def test_gaussian_normalised(y):
    f = density_1d(bm.get_benchmark("Dim1Gaussian"), "Gaussian", y)
    s = sigma(y)
    value, err = integrate.quad(f, y - 15 * s, y + 15 * s, points=[y], epsabs=1e-12)
    assert value == pytest.approx(1.0, abs=1e-9)


def test_background_normalisation_is_exact():
    bench = bm.get_benchmark("Dim1GaussianWithExpBkgVaryingYield")
    f = density_1d(bench, "ExpBkg", 172.5)
    value, _ = integrate.quad(f, 160.0, 185.0, epsabs=1e-13, epsrel=1e-13)
    assert value == pytest.approx(1.0, abs=1e-6)
    assert value == pytest.approx(1.0, abs=1e-12)
    # zero outside [160, 185], and the parameter is irrelevant (also absent)
    lp = bench.log_prob("ExpBkg", np.array([[159.999], [160.0], [185.0], [185.001]]), {})
    assert lp[0] == -np.inf and lp[3] == -np.inf and np.isfinite(lp[1:3]).all()
    expected = math.log(0.1) - math.log(1 - math.exp(-2.5))
    assert lp[1] == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize("y", Y_CHECK)
def test_mixture_normalised(y):
    bench = bm.get_benchmark("Dim1GaussianWithExpBkg")
    f = density_1d(bench, "GaussianWithExpBkg", y)
    lo, hi = min(150.0, y - 15 * sigma(y)), max(195.0, y + 15 * sigma(y))
    value, _ = integrate.quad(f, lo, hi, points=[160.0, y, 185.0], limit=200, epsabs=1e-12)
    assert value == pytest.approx(1.0, abs=1e-9)
    # below the background support only the signal term is left
    x = np.array([[155.0]])
    lp = bench.log_prob("GaussianWithExpBkg", x, {"Y1": y})[0]
    assert lp == pytest.approx(math.log(0.3) + stats.norm.logpdf(155.0, y, sigma(y)), rel=1e-12)


def gauss_legendre(lo: float, hi: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    t, w = np.polynomial.legendre.leggauss(n)
    return 0.5 * (hi - lo) * t + 0.5 * (hi + lo), 0.5 * (hi - lo) * w


@pytest.mark.parametrize("y", Y_CHECK)
def test_dim2_normalised_on_2d_grid(y):
    bench = bm.get_benchmark("Dim2")
    x1, w1 = gauss_legendre(y - 12 * sigma(y), y + 12 * sigma(y), 100)
    # X2 = t^2 tames the x^(k/2 - 1) behaviour of the chi-squared at 0.
    t, wt = gauss_legendre(0.0, math.sqrt(120.0), 200)
    x2, w2 = t**2, wt * 2 * t
    g1, g2 = np.meshgrid(x1, x2, indexing="ij")
    lp = bench.log_prob("Signal", np.column_stack([g1.ravel(), g2.ravel()]), {"Y1": y})
    total = np.sum(np.exp(lp).reshape(g1.shape) * np.outer(w1, w2))
    assert total == pytest.approx(1.0, abs=1e-9)


def _reference(y: float) -> np.ndarray:
    return np.array([y + 0.3, 3.0, 25.0, 0.6, 0.05 * y * 0.995])


def _dim5_factor_integral(i: int, y: float) -> float:
    """Integral of the Dim5 density over coordinate i, the others held at a reference point."""
    bench = bm.get_benchmark("Dim5")
    ref = _reference(y)

    def log_f(t: float) -> float:
        x = ref.copy()
        x[i] = t
        return float(bench.log_prob("Signal", x[None, :], {"Y1": y})[0])

    def f(t: float) -> float:
        return math.exp(log_f(t))

    opts = {"epsabs": 0.0, "epsrel": 1e-11, "limit": 200}
    if i == 0:
        return integrate.quad(f, y - 15 * sigma(y), y + 15 * sigma(y), points=[y], **opts)[0]
    if i in (1, 2):
        return integrate.quad(f, 0.0, np.inf, **opts)[0]
    if i == 3:
        # integrable end-point singularities (b down to 0.05): let QUADPACK weight them exactly
        a, b = 0.5 + 0.01 * y, 0.05 * (y - 165.0)

        def smooth(t: float) -> float:
            # f / weight is smooth (constant, here); QUADPACK may probe the end points themselves
            t = min(max(t, 1e-300), 1.0 - 2.0**-53)
            return math.exp(log_f(t) - (a - 1) * math.log(t) - (b - 1) * math.log1p(-t))

        return integrate.quad(smooth, 0.0, 1.0, weight="alg", wvar=(a - 1, b - 1), **opts)[0]
    lam = 0.05 * y
    return integrate.quad(f, 0.0, 3 * lam, points=[0.9 * lam, lam, 1.1 * lam], **opts)[0]


@pytest.mark.parametrize("y", Y_CHECK)
def test_dim5_normalised_via_product_structure(y):
    bench = bm.get_benchmark("Dim5")
    a = bench.simulate_data(50, 1).to_numpy()
    b = bench.simulate_data(50, 2).to_numpy()
    la = bench.log_prob("Signal", a, {"Y1": y})
    lb = bench.log_prob("Signal", b, {"Y1": y})
    assert np.isfinite(la).all() and np.isfinite(lb).all()
    # additive separability: swapping one coordinate between two events keeps the sum
    for i in range(5):
        a2, b2 = a.copy(), b.copy()
        a2[:, i], b2[:, i] = b[:, i], a[:, i]
        swapped = bench.log_prob("Signal", a2, {"Y1": y}) + bench.log_prob("Signal", b2, {"Y1": y})
        np.testing.assert_allclose(swapped, la + lb, rtol=1e-11, atol=1e-9)
    # for a product density, prod_i I_i = p(r)^4 * (overall normalisation)
    log_p_ref = bench.log_prob("Signal", _reference(y)[None, :], {"Y1": y})[0]
    log_integrals = sum(math.log(_dim5_factor_integral(i, y)) for i in range(5))
    assert log_integrals - 4 * log_p_ref == pytest.approx(0.0, abs=1e-8)


@pytest.mark.parametrize("y", Y_CHECK)
def test_dim5_matches_scipy(y):
    bench = bm.get_benchmark("Dim5")
    x = bench.simulate_data(200, 5).to_numpy()
    a, b = 0.5 + 0.01 * y, 0.05 * (y - 165.0)
    expected = (
        stats.norm.logpdf(x[:, 0], y, sigma(y))
        + stats.chi2.logpdf(x[:, 1], 3.5 + 0.1 * (y - 173.0))
        + stats.expon.logpdf(x[:, 2], scale=20 + 20 * y / (y - 160) ** 2)
        + stats.beta.logpdf(x[:, 3], a, b)
        + stats.weibull_min.logpdf(x[:, 4], (y - 160) ** 2, scale=0.05 * y)
    )
    np.testing.assert_allclose(bench.log_prob("Signal", x, {"Y1": y}), expected, rtol=1e-10)


def test_off_support_is_minus_inf_not_nan():
    bench = bm.get_benchmark("Dim5")
    good = _reference(172.5)
    bad = np.tile(good, (7, 1))
    bad[0, 1] = -1.0  # chi2 X2 < 0
    bad[1, 1] = 0.0
    bad[2, 2] = -0.1  # exponential
    bad[3, 3] = 0.0  # beta boundaries
    bad[4, 3] = 1.0
    bad[5, 3] = 1.5
    bad[6, 4] = -2.0  # weibull
    lp = bench.log_prob("Signal", bad, {"Y1": 172.5})
    assert (lp == -np.inf).all()
    assert bench.log_prob("Signal", good[None, :], {"Y1": 172.5})[0] > -np.inf


# ---------------------------------------------------------------------------------------------
# simulation
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", bm.SCENARIOS)
def test_simulate_structure_and_reproducibility(name):
    bench = bm.get_benchmark(name)
    frames = bench.simulate(3000, seed=11)
    assert set(frames) == set(bench.file_stems().values())
    # processes are listed in the same order as their files
    for proc, stem in zip(bench.processes, bench.file_stems().values(), strict=True):
        df = frames[stem]
        params = bench.process_parameters(proc)
        assert list(df.columns) == [*params, *bench.variables, "wt"]
        assert all(dt == np.float64 for dt in df.dtypes) and len(df) == 3000
        if params:
            sums = df.groupby("Y1")["wt"].sum()
            assert set(sums.index) <= set(bm.TRUE_VALUES)
            np.testing.assert_allclose(sums.to_numpy(), 1000.0, rtol=1e-12)
        else:
            assert df["wt"].sum() == pytest.approx(1000.0, rel=1e-12)
    again = bench.simulate(3000, seed=11)
    other = bench.simulate(3000, seed=12)
    for stem in frames:
        pd.testing.assert_frame_equal(frames[stem], again[stem])
        assert not frames[stem].equals(other[stem])
    data = bench.simulate_data(1000, seed=4)
    assert list(data.columns) == bench.variables
    assert all(dt == np.float64 for dt in data.dtypes)
    n_expected = 1300 if name.endswith("VaryingYield") else 1000
    assert len(data) == n_expected
    pd.testing.assert_frame_equal(data, bench.simulate_data(1000, seed=4))
    assert not data.equals(bench.simulate_data(1000, seed=5))
    with pytest.raises(ValueError):
        bench.simulate(0, seed=1)


@pytest.mark.parametrize("name", bm.SCENARIOS)
def test_validation_only_values_sized_like_a_validation_split(name):
    """The shape benchmark draws a held-out Y1 value 0.1 as often as a training one (its val
    fraction), so each validation point is ~1/120 of the training set; the INNFER benchmarks
    keep their uniform draws (and so their files)."""
    bench = bm.get_benchmark(name)
    (stem, *_) = bench.file_stems().values()  # the Y1-dependent process comes first
    frame = bench.simulate(200_000, seed=3)[stem]
    counts = frame.groupby("Y1").size()
    held_out = counts[counts.index.isin(bm.DROP_FROM_TRAINING)].to_numpy()
    trained = counts[~counts.index.isin(bm.DROP_FROM_TRAINING)].to_numpy()
    ratio = held_out.mean() / trained.mean()
    if name == "Dim2GaussianWithShapeNuisance":
        assert bench.analysis_config("in")["preprocess"]["train_test_val_split"] == "0.8:0.1:0.1"
        assert ratio == pytest.approx(0.1, abs=0.01)
        # weights still normalise every value to the same total, held-out or not
        np.testing.assert_allclose(frame.groupby("Y1")["wt"].sum().to_numpy(), 1000.0)
    else:
        assert ratio == pytest.approx(1.0, abs=0.05)


def _check_moments(sample: np.ndarray, mean: float, var: float, n_se: float = 5.0) -> None:
    n = sample.size
    m = sample.mean()
    assert abs(m - mean) < n_se * math.sqrt(var / n), (m, mean)
    centred = sample - m
    m4 = np.mean(centred**4)
    se_var = math.sqrt((m4 - var**2) / n)
    assert abs(np.var(sample) - var) < n_se * se_var, (np.var(sample), var)


def test_dim5_sample_moments():
    bench = bm.get_benchmark("Dim5")
    df = bench.simulate(200_000, seed=21)["Signal"]
    for y in (168.0, 172.5, 177.0):
        s = df[df["Y1"] == y]
        assert len(s) > 8000
        _check_moments(s["X1"].to_numpy(), y, sigma(y) ** 2)
        k = 3.5 + 0.1 * (y - 173.0)
        _check_moments(s["X2"].to_numpy(), k, 2 * k)
        beta = 20 + 20 * y / (y - 160) ** 2
        _check_moments(s["X3"].to_numpy(), beta, beta**2)
        a, b = 0.5 + 0.01 * y, 0.05 * (y - 165.0)
        _check_moments(s["X4"].to_numpy(), a / (a + b), a * b / ((a + b) ** 2 * (a + b + 1)))
        kw, lam = (y - 160) ** 2, 0.05 * y
        g1, g2 = special.gamma(1 + 1 / kw), special.gamma(1 + 2 / kw)
        _check_moments(s["X5"].to_numpy(), lam * g1, lam**2 * (g2 - g1**2))
    # the beta sampler never returns the boundary, even where b = 0.05 piles mass at 1
    x4 = df["X4"].to_numpy()
    assert ((x4 > 0) & (x4 < 1)).all()


def test_data_moments_and_composition():
    y = bm.DATA_Y
    d5 = bm.get_benchmark("Dim5").simulate_data(20_000, seed=8)
    _check_moments(d5["X1"].to_numpy(), y, sigma(y) ** 2)
    mix = bm.get_benchmark("Dim1GaussianWithExpBkg")
    x = mix.simulate_data(1000, seed=3)["X1"].to_numpy()
    df = mix.simulate(100_000, seed=9)["GaussianWithExpBkg"]
    s = df[df["Y1"] == 172.5]["X1"].to_numpy()
    bkg_var = 100.0 - 625.0 * math.exp(-2.5) / math.expm1(-2.5) ** 2
    mean = 0.3 * 172.5 + 0.7 * BKG_MEAN
    var = 0.3 * sigma(172.5) ** 2 + 0.7 * bkg_var + 0.21 * (172.5 - BKG_MEAN) ** 2
    _check_moments(s, mean, var)
    assert len(x) == 1000 and ((x >= 160) | (np.abs(x - y) < 10 * sigma(y))).all()
    vy = bm.get_benchmark("Dim1GaussianWithExpBkgVaryingYield")
    bkg = vy.simulate(50_000, seed=2)["ExpBkg"]["X1"].to_numpy()
    assert ((bkg >= 160) & (bkg <= 185)).all()
    _check_moments(bkg, BKG_MEAN, bkg_var)
    data = vy.simulate_data(1000, seed=7)["X1"].to_numpy()
    assert len(data) == 1300 and np.isfinite(data).all()


def test_signal_counts_are_exact(monkeypatch):
    # Mark background draws as NaN so the signal events can be counted.
    monkeypatch.setattr(bm, "sample_background", lambda rng, n: np.full(n, np.nan))
    mix = bm.get_benchmark("Dim1GaussianWithExpBkg")
    for n, n_signal in ((1000, 300), (1001, 300), (5, 2), (7, 2)):
        x = mix.simulate_data(n, seed=0)["X1"].to_numpy()
        assert len(x) == n and np.isfinite(x).sum() == n_signal
    df = mix.simulate(2000, seed=1)["GaussianWithExpBkg"]
    assert np.isfinite(df["X1"]).sum() == 600
    data = bm.get_benchmark("Dim1GaussianWithExpBkgVaryingYield").simulate_data(1000, seed=2)
    x = data["X1"].to_numpy()
    assert np.isfinite(x).sum() == 300 and np.isnan(x).sum() == 1000
    # shuffled: the signal events are not all at the front
    assert not np.isfinite(x[:300]).all()


def _ks_against_log_prob(sample, bench, process, y, lo, hi):
    grid = np.linspace(lo, hi, 400_001)
    pdf = np.exp(bench.log_prob(process, grid[:, None], {"Y1": y}))
    cdf = integrate.cumulative_trapezoid(pdf, grid, initial=0.0)
    assert cdf[-1] == pytest.approx(1.0, abs=1e-4)  # trapezoid across the support edges
    return stats.kstest(sample, lambda v: np.interp(v, grid, cdf / cdf[-1]))


@pytest.mark.parametrize(
    ("name", "process", "stem"),
    [
        ("Dim1Gaussian", "Gaussian", "Gaussian"),
        ("Dim1GaussianWithExpBkg", "GaussianWithExpBkg", "GaussianWithExpBkg"),
        ("Dim1GaussianWithExpBkgVaryingYield", "ExpBkg", "ExpBkg"),
    ],
)
def test_samples_follow_log_prob_ks(name, process, stem):
    bench = bm.get_benchmark(name)
    df = bench.simulate(60_000, seed=31)[stem]
    y = 174.0
    sample = df[df["Y1"] == y]["X1"].to_numpy() if "Y1" in df else df["X1"].to_numpy()
    result = _ks_against_log_prob(sample, bench, process, y, 140.0, 200.0)
    assert result.pvalue > 1e-3


def test_dim5_mean_log_prob_matches_entropy():
    bench = bm.get_benchmark("Dim5")
    y = 175.0
    df = bench.simulate(200_000, seed=41)["Signal"]
    x = df[df["Y1"] == y][bench.variables].to_numpy()
    lp = bench.log_prob("Signal", x, {"Y1": y})
    a, b = 0.5 + 0.01 * y, 0.05 * (y - 165.0)
    entropy = (
        stats.norm(y, sigma(y)).entropy()
        + stats.chi2(3.5 + 0.1 * (y - 173.0)).entropy()
        + stats.expon(scale=20 + 20 * y / (y - 160) ** 2).entropy()
        + stats.beta(a, b).entropy()
        + stats.weibull_min((y - 160) ** 2, scale=0.05 * y).entropy()
    )
    assert abs(lp.mean() + entropy) < 5 * lp.std() / math.sqrt(lp.size)


# ---------------------------------------------------------------------------------------------
# TensorFlow version
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tf():
    return pytest.importorskip("tensorflow")


def _cases():
    for name in bm.SCENARIOS:
        bench = bm.get_benchmark(name)
        for process in bench.processes:
            yield name, process


@pytest.mark.parametrize(("name", "process"), list(_cases()))
def test_tf_matches_numpy_and_gradients(tf, name, process):
    bench = bm.get_benchmark(name)
    x = bench.simulate_data(60, seed=6).to_numpy()
    if name == "Dim1GaussianWithExpBkgVaryingYield" and process == "Gaussian":
        x = x[np.abs(x[:, 0] - 172.5) < 5.0]
    # append off-support events: they must be -inf in both, without poisoning gradients
    off = x[:2].copy()
    off[:, -1] = -1.0 if x.shape[1] > 1 else 150.0
    x_all = np.vstack([x, off])
    y0 = 172.5
    # Weight-only nuisances of the truth density, held at a non-trivial value.
    other = {p: 0.3 for p in bench.density_parameters(process) if p != "Y1"}
    expected = bench.log_prob(process, x_all, {"Y1": y0, **other})
    y_var = tf.Variable(y0, dtype=tf.float64)
    with tf.GradientTape() as tape:
        lp = bench.log_prob_tf(process, tf.constant(x_all), {"Y1": y_var, **other})
        finite = tf.math.is_finite(lp)
        total = tf.reduce_sum(tf.where(finite, lp, tf.zeros_like(lp)))
    assert lp.dtype == tf.float64
    np.testing.assert_allclose(lp.numpy(), expected, rtol=1e-12)
    grad = tape.gradient(total, y_var)
    if not bench.process_parameters(process):
        assert grad is None or float(grad) == 0.0
        return
    assert np.isfinite(grad.numpy())
    h = 1e-4
    mask = np.isfinite(expected)
    plus = bench.log_prob(process, x_all, {"Y1": y0 + h, **other})[mask].sum()
    minus = bench.log_prob(process, x_all, {"Y1": y0 - h, **other})[mask].sum()
    fd = (plus - minus) / (2 * h)
    assert float(grad) == pytest.approx(fd, rel=1e-5)


def test_tf_per_event_gradient_dim5(tf):
    bench = bm.get_benchmark("Dim5")
    x = bench.simulate_data(40, seed=9).to_numpy()
    y0 = 171.3
    y_var = tf.Variable(y0, dtype=tf.float64)
    with tf.GradientTape() as tape:
        lp = bench.log_prob_tf("Signal", x, {"Y1": y_var})
    jac = tape.jacobian(lp, y_var).numpy()
    h = 1e-4
    fd = (
        bench.log_prob("Signal", x, {"Y1": y0 + h}) - bench.log_prob("Signal", x, {"Y1": y0 - h})
    ) / (2 * h)
    np.testing.assert_allclose(jac, fd, rtol=1e-5, atol=1e-7)


def test_tf_gradient_finite_next_to_every_support_edge(tf):
    # One off-support coordinate per factor: the masked sum must keep the gradient of the good
    # events only, with no NaN leaking from the off-support branches.
    bench = bm.get_benchmark("Dim5")
    good = bench.simulate_data(5, seed=1).to_numpy()
    bad = np.tile(good[0], (7, 1))
    bad[[0, 1, 2, 3, 4, 5, 6], [1, 1, 2, 3, 3, 3, 4]] = [-1.0, 0.0, -0.1, 0.0, 1.0, 1.5, -2.0]
    y_var = tf.Variable(172.5, dtype=tf.float64)
    with tf.GradientTape(persistent=True) as tape:
        lp = bench.log_prob_tf("Signal", np.vstack([good, bad]), {"Y1": y_var})
        masked = tf.reduce_sum(tf.where(tf.math.is_finite(lp), lp, tf.zeros_like(lp)))
        reference = tf.reduce_sum(bench.log_prob_tf("Signal", good, {"Y1": y_var}))
    assert (lp.numpy()[5:] == -np.inf).all()
    g = tape.gradient(masked, y_var).numpy()
    assert np.isfinite(g) and g == pytest.approx(tape.gradient(reference, y_var).numpy())


# ---------------------------------------------------------------------------------------------
# analysis config
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", bm.SCENARIOS)
def test_analysis_config(name):
    bench = bm.get_benchmark(name)
    cfg = bench.analysis_config("data/inputs")
    assert cfg["name"] == f"Benchmark_{name}"
    assert cfg["variables"] == bench.variables and cfg["pois"] == ["Y1"]
    nuisances = {"Dim2GaussianWithShapeNuisance": {"nu": 0.0}}.get(name, {})
    assert cfg["default_values"] == {"Y1": 172.5, **nuisances}
    assert cfg["nuisances"] == list(nuisances)
    default = {"Y1": 172.5, **nuisances}
    if nuisances:
        # Weight-only nuisances: varied at ±1 at the default Y1, modelled by regressions.
        assert cfg["validation"]["loop"] == [
            *({"Y1": v, **nuisances} for v in bm.VALIDATION_VALUES),
            *({"Y1": 172.5, n: s} for n in nuisances for s in (-1.0, 1.0)),
        ]
        for model in cfg["models"].values():
            assert [e["parameter"] for e in model["regression_models"]] == list(nuisances)
            # r does not depend on Y1: the regressions learn from every training Y1.
            assert all(e["pool_over"] == ["Y1"] for e in model["regression_models"])
    elif name.endswith("VaryingYield"):
        default["mu_Gaussian"] = 1.0
        assert cfg["inference"]["rate_parameters"] == ["Gaussian"]
        assert len(cfg["validation"]["loop"]) == 9 * 2 + 1
        assert {"Y1": 171.0, "mu_Gaussian": 0.2} in cfg["validation"]["loop"]
        assert cfg["preprocess"]["drop_from_training"]["ExpBkg"] == {}
        assert cfg["files"]["base_expbkg"] == {
            "inputs": ["data/inputs/ExpBkg.parquet"],
            "weight": "wt",
            "parameters": [],
        }
    else:
        assert cfg["inference"]["rate_parameters"] == []
        assert cfg["validation"]["loop"] == [{"Y1": v} for v in bm.VALIDATION_VALUES]
    assert default in cfg["validation"]["loop"]
    wide = ("Dim5", "Dim1GaussianWithExpBkgVaryingYield", "Dim2GaussianWithShapeNuisance")
    split = "0.8:0.1:0.1" if name in wide else None
    assert cfg["preprocess"]["train_test_val_split"] == (split or "0.4:0.3:0.3")
    for proc in bench.processes:
        model = cfg["models"][proc]
        (dm,) = model["density_models"]
        assert dm["parameters"] == bench.process_parameters(proc)
        assert dm["shifts"] == {} and dm["n_copies"] == 1
        assert model["yields"] == [{"file": dm["file"]}]
        assert cfg["validation"]["files"][proc] == [{"file": dm["file"]}]
        stem = bench.file_stems()[dm["file"]]
        assert cfg["files"][dm["file"]]["inputs"] == [f"data/inputs/{stem}.parquet"]
        if dm["parameters"]:
            drop = cfg["preprocess"]["drop_from_training"][proc]
            assert drop == {"Y1": list(bm.DROP_FROM_TRAINING)}
    assert cfg["data_file"] == "data/inputs/data.parquet"
    text = yaml.safe_dump(cfg, sort_keys=False)
    assert yaml.safe_load(text) == cfg
    assert "!!" not in text  # plain types only, no numpy tags


def test_shape_nuisance_ratio_model_can_be_a_classifier():
    bench = bm.get_benchmark("Dim2GaussianWithShapeNuisance")
    model = bench.analysis_config("in", "classifier")["models"]["Signal"]
    assert "regression_models" not in model
    (entry,) = model["classifier_models"]
    assert entry["parameter"] == "nu" and entry["pool_over"] == ["Y1"]
    assert bench.analysis_config("in") == bench.analysis_config("in", "regression")
    with pytest.raises(ConfigError, match=r"benchmark.ratio_model: 'flow' is not one of"):
        bench.analysis_config("in", "flow")
    with pytest.raises(ConfigError, match="benchmark.ratio_model: 'classifier' .* Dim2 has none"):
        bm.get_benchmark("Dim2").analysis_config("in", "classifier")
