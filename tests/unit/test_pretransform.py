"""Pre-transforms (Gaussianising splines, PCA whitening): fitted in PreProcess, exact in the flow.

The densities must stay normalised in physical units with the pre-transform's Jacobian in
(INNFER left the spline's out), the inverse must undo the forward map, and the fitted maps
must do what they are for: marginals near N(0, 1), whitened covariance.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from innfer_lib.core.errors import DataError
from innfer_lib.data.pretransforms import (
    fit_gaussianising_spline,
    fit_pretransform,
    gaussianise_approximately,
)
from innfer_lib.density.flow import ConditionalFlow
from innfer_lib.density.models import LearnedDensity
from innfer_lib.density.pretransform import PreTransform

ARCH = {
    "coupling_design": "interleaved",
    "num_coupling_layers": 2,
    "affine_units_per_dense_layer": 8,
    "spline_units_per_dense_layer": 8,
    "spline_bins": 8,
}
KINDS = {"gaussianise": (True, False), "pca": (False, True), "both": (True, True)}


def skewed_sample(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two correlated, skewed standardised columns with positive and a few negative weights."""
    rng = np.random.default_rng(seed)
    a = rng.gamma(2.0, 1.0, n)
    b = 0.6 * a + rng.exponential(1.0, n)
    x = np.column_stack([a, b])
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    w = rng.uniform(0.5, 1.5, n)
    w[rng.random(n) < 0.02] *= -1.0
    return x, w


def record_of(kind: str, n: int = 20_000) -> dict:
    x, w = skewed_sample(n)
    gaussianise, pca = KINDS[kind]
    record = fit_pretransform(x, w, ["a", "b"], gaussianise=gaussianise, pca_whitening=pca)
    assert record is not None
    return record


def test_off_means_no_record() -> None:
    x, w = skewed_sample(100)
    assert fit_pretransform(x, w, ["a", "b"], gaussianise=False, pca_whitening=False) is None


def test_gaussianised_marginals_are_near_standard_normal() -> None:
    x, w = skewed_sample(50_000)
    keep = w > 0
    for j in range(2):
        spline = fit_gaussianising_spline(x[:, j], w, "a")
        z = gaussianise_approximately(x[keep, j], spline)
        mean = np.average(z, weights=w[keep])
        std = np.sqrt(np.average((z - mean) ** 2, weights=w[keep]))
        assert abs(mean) < 0.02 and abs(std - 1.0) < 0.03
        # The raw column is clearly skewed, so this tested something.
        assert abs(np.average(x[keep, j] ** 3, weights=w[keep])) > 0.5


@pytest.mark.parametrize("kind", list(KINDS))
def test_forward_inverse_and_log_jacobian_are_exact(kind: str) -> None:
    pre = PreTransform(record_of(kind), 2, tf.float64)
    rng = np.random.default_rng(5)
    # Inside the knots and in both linear tails.
    x = tf.constant(np.concatenate([rng.normal(0, 1.5, (500, 2)), [[-9.0, 7.0], [8.0, -6.0]]]))
    y, log_det = pre.forward(x)
    back, inverse_log_det = pre.inverse(y)
    np.testing.assert_allclose(back.numpy(), x.numpy(), atol=1e-9)
    np.testing.assert_allclose(inverse_log_det.numpy(), -log_det.numpy(), atol=1e-9)
    # log|det J| against the determinant of the finite-difference Jacobian.
    eps = 1e-6
    columns = []
    for j in range(2):
        step = np.zeros(2)
        step[j] = eps
        columns.append((pre.forward(x + step)[0] - pre.forward(x - step)[0]).numpy() / (2 * eps))
    jacobian = np.stack(columns, axis=2)  # (n, out, in)
    np.testing.assert_allclose(np.log(np.abs(np.linalg.det(jacobian))), log_det.numpy(), atol=1e-5)


def test_spline_map_is_continuous_at_its_end_knots() -> None:
    record = record_of("gaussianise")
    pre = PreTransform(record, 2, tf.float64)
    knots = [s["x_knots"] for s in record["gaussianise"]]
    for side in (0, -1):
        at = np.array([[knots[0][side], knots[1][side]]])
        below = pre.forward(tf.constant(at - 1e-9))[0]
        above = pre.forward(tf.constant(at + 1e-9))[0]
        np.testing.assert_allclose(below.numpy(), above.numpy(), atol=1e-7)


def test_whitening_gives_unit_covariance() -> None:
    x, w = skewed_sample(20_000)
    pre = PreTransform(record_of("both"), 2, tf.float64)
    y = pre.forward(tf.constant(x))[0].numpy()[w > 0]
    cov = np.cov(y.T, aweights=w[w > 0])
    np.testing.assert_allclose(cov, np.eye(2), atol=0.05)


def knot_grid(spline: dict, mean: float, std: float, lo: float, hi: float) -> np.ndarray:
    """Integration grid of one physical column, dense where its Gaussianising map is steep.

    Uniform latent values mapped back through the knots (piecewise linearly, linear tails)
    put points where the density changes fast; a uniform grid over [lo, hi] (standardised
    units) covers the rest. Only the placement uses the map; the density is evaluated by the
    flow's forward path, and trapezoid handles the uneven spacing.
    """
    knots, z, slopes = (np.asarray(spline[k]) for k in ("x_knots", "z_knots", "slopes"))
    latent = np.linspace(-8.0, 8.0, 300)
    x = np.interp(latent, z, knots)
    x = np.where(latent < z[0], knots[0] + (latent - z[0]) / slopes[0], x)
    x = np.where(latent > z[-1], knots[-1] + (latent - z[-1]) / slopes[-1], x)
    x = np.unique(np.concatenate([x, np.linspace(lo, hi, 150)]))
    return mean + std * x[(x >= lo) & (x <= hi)]


def test_learned_density_with_pretransform_integrates_to_one() -> None:
    """Both maps chained; each alone is covered by the exact Jacobian test above together with
    the flow's own normalisation tests."""
    record = record_of("both")
    flow = ConditionalFlow(2, 1, ARCH, dtype="float64", pretransform=record)
    rng = np.random.default_rng(3)
    flow.set_weights([v + rng.normal(0, 0.1, v.shape) for v in flow.get_weights()])
    stand = {
        "a": {"mean": 10.0, "std": 2.0},
        "b": {"mean": -3.0, "std": 0.5},
        "m": {"mean": 1.0, "std": 2.0},
    }
    density = LearnedDensity(flow, stand, ["a", "b"], ["m"])
    ga, gb = (
        knot_grid(spline, stand[c]["mean"], stand[c]["std"], -9.0, 14.0)
        for spline, c in zip(record["gaussianise"], ("a", "b"), strict=True)
    )
    xa, xb = np.meshgrid(ga, gb, indexing="ij")
    points = np.column_stack([xa.ravel(), xb.ravel()])
    for m in (-1.0, 2.5):
        p = np.exp(density.log_prob(tf.constant(points), {"m": m}).numpy()).reshape(xa.shape)
        assert np.trapezoid(np.trapezoid(p, gb, axis=1), ga) == pytest.approx(1.0, abs=1e-3)


def test_one_dimensional_density_with_gaussianising_spline_integrates_to_one() -> None:
    rng = np.random.default_rng(2)
    x = rng.gamma(1.5, 1.0, 30_000)
    x = (x - x.mean()) / x.std()
    record = fit_pretransform(x[:, None], np.ones_like(x), ["x"], True, False)
    flow = ConditionalFlow(1, 1, ARCH, dtype="float64", pretransform=record)
    flow.set_weights([v + rng.normal(0, 0.1, v.shape) for v in flow.get_weights()])
    density = LearnedDensity(
        flow, {"x": {"mean": 5.0, "std": 3.0}, "m": {"mean": 0.0, "std": 1.0}}, ["x"], ["m"]
    )
    grid = np.linspace(5.0 - 3.0 * 15, 5.0 + 3.0 * 25, 80_001)
    for m in (-1.0, 1.0):
        p = np.exp(density.log_prob(tf.constant(grid[:, None]), {"m": m}).numpy())
        assert np.trapezoid(p, grid) == pytest.approx(1.0, abs=1e-4)


def test_samples_come_back_through_the_inverse() -> None:
    """Sampling runs the inverse: samples of an untrained flow (identity couplings) are the
    pre-transform's inverse of normal draws, so their quantiles follow the fitted data."""
    x, w = skewed_sample(50_000)
    record = fit_pretransform(x, w, ["a", "b"], True, True)
    flow = ConditionalFlow(2, 0, ARCH, dtype="float64", pretransform=record)
    draws = flow.sample(np.zeros((50_000, 0)), seed=1).numpy()
    keep = w > 0
    for j in range(2):
        expected = np.quantile(x[keep, j], [0.1, 0.5, 0.9])
        np.testing.assert_allclose(np.quantile(draws[:, j], [0.1, 0.5, 0.9]), expected, atol=0.05)


def test_weights_of_another_pretransform_do_not_load(tmp_path) -> None:
    flow = ConditionalFlow(2, 1, ARCH, pretransform=record_of("gaussianise"))
    path = str(tmp_path / "weights.npz")
    flow.save(path)
    with pytest.raises(ValueError, match="weights.npz"):
        ConditionalFlow.load(path, 2, 1, ARCH)
    ConditionalFlow.load(path, 2, 1, ARCH, pretransform=record_of("gaussianise"))


def test_discrete_column_is_refused_by_name() -> None:
    values = np.repeat([0.0, 1.0], 500)
    with pytest.raises(DataError, match="'njets'.*distinct"):
        fit_gaussianising_spline(values, np.ones_like(values), "njets")


def test_collinear_columns_are_refused_for_whitening() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=1000)
    with pytest.raises(DataError, match=r"\['a', 'b'\].*singular"):
        fit_pretransform(np.column_stack([a, 2 * a]), np.ones(1000), ["a", "b"], False, True)


def test_a_saved_flow_reloads_with_its_pretransform(tmp_path) -> None:
    """Train job -> architecture record -> load_density: the record carries the pre-transform,
    so the loaded density is the trained one (float32 weights, float64 evaluation)."""
    from innfer_lib.core.io import write_yaml
    from innfer_lib.density.models import learned_architecture, load_density

    record = record_of("both")
    parameters = {
        "density": {
            "X_columns": ["a", "b"],
            "Y_columns": ["m"],
            "pretransform": record,
            "standardisation": {
                "a": {"mean": 1.0, "std": 2.0},
                "b": {"mean": 0.0, "std": 1.0},
                "m": {"mean": 0.0, "std": 1.0},
            },
        }
    }
    flow = ConditionalFlow(2, 1, ARCH, pretransform=record)
    rng = np.random.default_rng(4)
    flow.set_weights([v + rng.normal(0, 0.1, v.shape) for v in flow.get_weights()])
    flow.save(str(tmp_path / "weights.npz"))
    write_yaml(tmp_path / "architecture.yaml", learned_architecture(ARCH, parameters))
    density = load_density(tmp_path / "architecture.yaml", parameters)
    x = rng.normal(size=(50, 2))
    expected = flow.log_prob((x - [1.0, 0.0]) / [2.0, 1.0], np.full((50, 1), 0.5)).numpy()
    got = density.log_prob(tf.constant(x), {"m": 0.5}).numpy() + np.log(2.0)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_whitening_of_uncorrelated_columns_does_not_rotate_them() -> None:
    """Symmetric (ZCA) whitening: independent inputs keep one variable per column. PCA's
    rotation onto nearly degenerate principal axes would mix them arbitrarily."""
    rng = np.random.default_rng(6)
    x = np.column_stack([rng.exponential(1.0, 20_000), rng.uniform(0, 3, 20_000)])
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    record = fit_pretransform(x, np.ones(len(x)), ["a", "b"], False, True)
    matrix = np.asarray(record["pca_whitening"]["matrix"])
    np.testing.assert_allclose(matrix, np.eye(2), atol=0.03)
