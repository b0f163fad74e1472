"""S(ν, θ) of a ratio model (ratios.normalisation_surface) and the pooled Asimov it averages
over (ratios.normalisation_asimov): closed forms, derivatives, file round trips, θ in the
reweighted density."""

import math

import numpy as np
import pandas as pd
import pytest

from innfer_lib.core.errors import ConfigError, DataError, ModelFileError
from innfer_lib.core.io import write_yaml
from innfer_lib.ratios.normalisation import spline_through
from innfer_lib.ratios.normalisation_surface import (
    NormalisationSurface,
    cardinal_coefficients,
    fit_normalisation,
    grid_points,
    knots_per_dimension,
    mixture_weights,
    read_normalisation,
    theta_grid,
)

X = np.linspace(-12.0, 12.0, 6001)  # quadrature nodes of x ~ N(μ, 1)
MU_KNOTS = list(np.linspace(-1.0, 1.5, 11))


NU_KNOTS = np.linspace(-1.0, 1.0, 21)


def gaussian_surface(nu_knots=NU_KNOTS):
    """r = exp(ν x), x ~ N(μ, 1): S(ν, μ) = 1/E[e^{νx}] = exp(−νμ − ν²/2), by quadrature."""
    weights = np.stack([np.exp(-0.5 * (X - mu) ** 2) for mu in MU_KNOTS], axis=1)
    return fit_normalisation("nu", nu_knots, weights, lambda nu: np.exp(nu * X), {"mu": MU_KNOTS})


def exact(nu, mu):
    nu = np.asarray(nu)
    return np.exp(-nu * mu - 0.5 * nu**2)


def test_grid_sizes_and_order():
    assert [knots_per_dimension(d) for d in range(6)] == [1, 9, 7, 3, 3, 3]
    grid = theta_grid({"a": (0.0, 1.0), "b": (-2.0, 2.0)})
    assert grid["a"][0] == 0.0 and grid["a"][-1] == 1.0 and len(grid["b"]) == 7
    points = grid_points({"a": [0.0, 1.0], "b": [5.0, 6.0, 7.0]})
    assert points[:2] == [{"a": 0.0, "b": 5.0}, {"a": 0.0, "b": 6.0}] and len(points) == 6
    assert grid_points({}) == [{}]
    with pytest.raises(ValueError, match=r"parameter 'a' has the empty range \[1.0, 1.0\]"):
        theta_grid({"a": (1.0, 1.0)})


def test_cardinal_basis_interpolates_like_the_spline_through_the_values():
    knots = [0.0, 0.3, 1.0, 1.2, 2.0]
    values = np.array([1.0, -0.5, 2.0, 0.7, 0.1])
    basis = cardinal_coefficients(knots)
    combined = np.tensordot(values, basis, axes=1)
    np.testing.assert_allclose(combined, spline_through("v", knots, values).coefficients, 1e-12)
    np.testing.assert_array_equal(cardinal_coefficients([3.0]), [[[0.0, 0.0, 0.0, 1.0]]])


def test_surface_is_the_closed_form_between_knots_in_nu_and_theta():
    surface, errors = gaussian_surface()
    assert surface.theta_parameters == ("mu",) and errors.shape == (len(MU_KNOTS), 21)
    for g, mu in enumerate(MU_KNOTS):  # at the knots: the quadrature's ratio itself
        np.testing.assert_allclose(surface.values[g], exact(surface.knots, mu), rtol=1e-9)
    for mu in (-0.83, 0.1, 0.77, 1.31):
        nu = np.linspace(-1.0, 1.0, 37)
        np.testing.assert_allclose(surface.value(nu, {"mu": mu}), exact(nu, mu), rtol=3e-4)
    # θ beyond the grid is held at its edge.
    np.testing.assert_array_equal(surface.value(0.4, {"mu": 9.0}), surface.value(0.4, {"mu": 1.5}))
    with pytest.raises(ValueError, match="needs a value of mu"):
        surface.value(0.4)
    with pytest.raises(ValueError, match=r"nu = 1.5 is outside its range \[-1.0, 1.0\]"):
        surface.value(1.5, {"mu": 0.0})


def test_log_value_tf_matches_numpy_and_its_derivatives_finite_differences():
    tf = pytest.importorskip("tensorflow")
    surface, _ = gaussian_surface()
    for nu0, mu0 in ((-0.93, -0.7), (0.21, 0.26), (0.8, 1.4)):
        nu, mu = tf.Variable(nu0, dtype=tf.float64), tf.Variable(mu0, dtype=tf.float64)
        with tf.GradientTape() as tape:
            value = surface.log_value_tf(nu, {"mu": mu})
        d_nu, d_mu = (float(g) for g in tape.gradient(value, [nu, mu]))
        assert float(value) == pytest.approx(math.log(surface.value(nu0, {"mu": mu0})), 1e-12)
        h = 1e-6

        def f(a, b):
            return math.log(float(surface.value(a, {"mu": b})))

        assert d_nu == pytest.approx((f(nu0 + h, mu0) - f(nu0 - h, mu0)) / (2 * h), rel=1e-6)
        assert d_mu == pytest.approx((f(nu0, mu0 + h) - f(nu0, mu0 - h)) / (2 * h), rel=1e-6)
        # and close to the closed form's −μ − ν and −ν
        assert d_nu == pytest.approx(-mu0 - nu0, abs=0.01)
        assert d_mu == pytest.approx(-nu0, abs=0.01)
    traced = tf.function(lambda a, b: surface.log_value_tf(a, {"mu": b}))
    value = traced(tf.constant(0.3, tf.float64), tf.constant(0.6, tf.float64))
    assert float(value) == pytest.approx(math.log(surface.value(0.3, {"mu": 0.6})), 1e-12)


def test_file_round_trip_and_the_one_point_form(tmp_path):
    surface, _ = gaussian_surface()
    path = tmp_path / "normalisation.yaml"
    write_yaml(path, surface.to_dict())
    again = read_normalisation(path, "nu", "parameters.yaml", "regression")
    assert again.theta == surface.theta
    np.testing.assert_array_equal(again.values, surface.values)
    with pytest.raises(ModelFileError, match="normalisation of 'nu', but parameters.yaml is"):
        read_normalisation(path, "jes", "parameters.yaml", "regression")
    plain = spline_through("nu", [-1.0, 0.0, 1.0], [1.2, 1.0, 0.9])
    one = NormalisationSurface.from_dict(plain.to_dict())
    assert one.theta_parameters == () and one.at() == plain
    with pytest.raises(ValueError, match=r"values of shape \(2, 3\), expected \(11, 3\)"):
        NormalisationSurface("nu", [0.0, 1.0, 2.0], {"mu": MU_KNOTS}, np.ones((2, 3)))


def test_mixture_weights_give_each_points_expectation_from_the_pooled_events():
    """Pooled x drawn equally from N(μ_g, 1): Σ w_ig x_i / Σ w_ig estimates μ_g."""
    rng = np.random.default_rng(1)
    mus = np.array(MU_KNOTS)
    x = np.concatenate([rng.normal(mu, 1.0, 20_000) for mu in mus])
    log_prob = -0.5 * (x[:, None] - mus[None, :]) ** 2
    w = mixture_weights(log_prob)
    np.testing.assert_allclose(w.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose((w * x[:, None]).sum(axis=0) / w.sum(axis=0), mus, atol=0.02)
    with pytest.raises(ValueError, match="1 event"):
        mixture_weights(np.array([[0.0, -np.inf], [0.0, 0.0]]))


def test_fit_normalisation_refuses_a_non_positive_sum():
    with pytest.raises(ValueError, match=r"at nu = 1 \(θ grid point 0\)"):
        fit_normalisation("nu", [0.0, 1.0], np.ones(3), lambda nu: np.full(3, 1.0 - nu))


# ---------------------------------------------------------------- pooled Asimov, reweighting
tf = pytest.importorskip("tensorflow")

from innfer_lib.data.benchmark_densities import log_shape_weight  # noqa: E402
from innfer_lib.ratios.normalisation_asimov import normalisation_asimov  # noqa: E402
from innfer_lib.ratios.reweighted import ReweightedDensity  # noqa: E402
from tests.unit.test_ratios import NominalTruth  # noqa: E402

PARAMETERS = {
    "density": {
        "X_columns": ["X1", "X2"],
        "Y_columns": ["Y1"],
        "training_range": {"Y1": [171.0, 174.5]},
        "initial_minmax": {"X1": {"min": 160.0, "max": 185.0}, "X2": {"min": -6.0, "max": 6.0}},
    },
    "yields": {"nominal": 100.0, "lnN": {}},
}


def test_pooled_asimov_normalises_a_ratio_at_every_theta():
    """The benchmark's ratio without its yield factor is normalised for every Y1, so S(ν, Y1)
    from the pooled Asimov is 1 everywhere; a ratio that only lives at large X1 needs an S
    that falls with Y1, as the closed form says."""
    events, grid = normalisation_asimov(
        NominalTruth(), PARAMETERS, {"Y1": 172.5}, seed=4, batch_size=5000, n_events=45_000
    )
    assert list(grid) == ["Y1"] and grid["Y1"][0] == 171.0 and len(grid["Y1"]) == 9
    assert len(events) == 45_000 and events["wt"].eq(1.0).all()
    weights = events[[f"wt_theta_{g}" for g in range(9)]].to_numpy()
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-12)
    x1, x2 = events["X1"].to_numpy(), events["X2"].to_numpy()
    nu_knots = np.linspace(-2.0, 2.0, 9)
    normalised, _ = fit_normalisation(
        "nu", nu_knots, weights, lambda nu: np.exp(log_shape_weight(x1, x2, nu)), grid
    )
    for y in (171.3, 172.5, 174.2):
        np.testing.assert_allclose(normalised.value(nu_knots, {"Y1": y}), 1.0, atol=0.02)
    # r = exp(ν z − ν²/2), z = (X1 − 172.5)/σ0, X1 ~ N(Y1, (0.01 Y1)²), σ0 = 1.725:
    # S = 1/E[r] = exp(−ν (Y1 − 172.5)/σ0 − ν² (s² − 1)/2), s = 0.01 Y1/σ0.
    sigma0 = 1.725

    def shifted(nu):
        return np.exp(nu * (x1 - 172.5) / sigma0 - 0.5 * nu**2)

    nu_knots = np.linspace(-1.0, 1.0, 9)
    surface, _ = fit_normalisation("nu", nu_knots, weights, shifted, grid)
    for y in (171.3, 173.9):
        s2 = (0.01 * y / sigma0) ** 2
        expected = np.exp(-nu_knots * (y - 172.5) / sigma0 - 0.5 * nu_knots**2 * (s2 - 1))
        np.testing.assert_allclose(surface.value(nu_knots, {"Y1": y}), expected, rtol=0.03)


class ThetaRatio:
    """A ratio r = 1 whose normalisation is a given surface in ν and μ."""

    parameter = "nu"
    x_columns = ["x"]
    smooth_in_parameter = True

    def __init__(self, surface):
        self.normalisation = surface
        self.nu_range = surface.nu_range
        self.theta_parameters = surface.theta_parameters

    def log_weight(self, x, nu, theta=None):
        return tf.zeros(tf.shape(x)[:1], tf.float64) + self.normalisation.log_value_tf(nu, theta)


class MuDensity:
    x_columns = ["x"]
    parameters = ["mu"]
    smooth_in_parameters = True
    flow = None

    def log_prob(self, x, params):
        x = tf.convert_to_tensor(x, tf.float64)[:, 0]
        return -0.5 * (x - params["mu"]) ** 2 - 0.5 * math.log(2 * math.pi)


def test_reweighted_density_passes_theta_to_the_normalisation():
    surface, _ = gaussian_surface()
    density = ReweightedDensity(MuDensity(), [ThetaRatio(surface)], "model 'x'")
    x = np.array([[0.3], [1.0]])
    mu, nu = tf.Variable(0.4, dtype=tf.float64), tf.Variable(-0.6, dtype=tf.float64)
    with tf.GradientTape() as tape:
        value = tf.reduce_sum(density.log_weight(x, {"mu": mu, "nu": nu}))
    assert float(value) == pytest.approx(2 * math.log(surface.value(-0.6, {"mu": 0.4})), 1e-12)
    d_mu = float(tape.gradient(value, mu))
    assert d_mu == pytest.approx(2 * 0.6, abs=0.02)  # d ln S/dμ = −ν per event
    weights = density.event_weights(x, {"mu": 0.4, "nu": -0.6})
    np.testing.assert_allclose(weights, surface.value(-0.6, {"mu": 0.4}), rtol=1e-12)

    class Other(MuDensity):
        parameters = ["Y1"]

    with pytest.raises(ConfigError, match=r"depends on \['mu'\], which are not parameters"):
        ReweightedDensity(Other(), [ThetaRatio(surface)], "model 'x'")


def test_normalisation_asimov_names_a_missing_weight_column():
    from innfer_lib.ratios.normalisation_asimov import grid_weights

    events = pd.DataFrame({"x": [0.0], "wt": [1.0], "wt_theta_0": [1.0]})
    with pytest.raises(DataError, match=r"f.parquet: no column\(s\) \['wt_theta_1'\]"):
        grid_weights(events, {"mu": [0.0, 1.0]}, "f.parquet")
