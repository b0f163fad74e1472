"""Unit tests of the conditional coupling flow: exact normalisation, invertibility, dtypes, I/O."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf
import yaml

from innfer_lib.density.architecture import (
    DEFAULT_ARCHITECTURE,
    NOT_IN_SIGNATURE,
    canonical,
    layer_kinds,
    resolve_architecture,
)
from innfer_lib.density.flow import ConditionalFlow
from innfer_lib.density.tensor_ops import SharedRows, shared_rows
from innfer_lib.density.transform import SplineTransform

DESIGNS = ("affine", "spline", "interleaved")


def small_arch(design: str, **extra: object) -> dict:
    arch = {
        "coupling_design": design,
        "num_coupling_layers": 4,
        "affine_units_per_dense_layer": 16,
        "spline_units_per_dense_layer": 16,
        "spline_bins": 8,
    }
    arch.update(extra)
    return arch


def randomise(flow: ConditionalFlow, scale: float = 0.1, seed: int = 0) -> None:
    """Perturb every weight (zero-initialised outputs included) so the map is far from identity.

    Perturbing around the initial values keeps the ActNorm scales near 1, so the density stays
    inside the integration window while still being clearly non-Gaussian.
    """
    rng = np.random.default_rng(seed)
    flow.set_weights([w + rng.normal(0.0, scale, w.shape) for w in flow.get_weights()])


def log_normal(z: np.ndarray) -> np.ndarray:
    return -0.5 * np.sum(z**2, axis=-1) - 0.5 * z.shape[-1] * np.log(2 * np.pi)


@pytest.mark.parametrize("design", DESIGNS)
@pytest.mark.parametrize("n_cond", [1, 0])
def test_1d_density_integrates_to_one(design: str, n_cond: int) -> None:
    flow = ConditionalFlow(1, n_cond, small_arch(design))
    randomise(flow)
    log_prob = tf.function(flow.log_prob)
    x = np.linspace(-12.0, 12.0, 24001)[:, None]
    thetas = [-1.0, 1.5] if n_cond else [0.0]
    densities = []
    for theta in thetas:
        cond = np.full((len(x), n_cond), theta)
        lp = log_prob(x, cond).numpy().astype(np.float64)
        p = np.exp(lp)
        assert np.trapezoid(p, x[:, 0]) == pytest.approx(1.0, abs=1e-3)
        # The transform must be far from the identity for this to test anything.
        assert np.max(np.abs(lp - log_normal(x))[np.abs(x[:, 0]) < 2]) > 0.1
        densities.append(p)
    if n_cond:
        assert np.max(np.abs(densities[0] - densities[1])) > 1e-2, "θ has no effect"


@pytest.mark.parametrize("design", DESIGNS)
def test_2d_density_integrates_to_one(design: str) -> None:
    flow = ConditionalFlow(2, 1, small_arch(design))
    randomise(flow)
    log_prob = tf.function(flow.log_prob)
    grid = np.linspace(-8.0, 8.0, 300)
    gx, gy = np.meshgrid(grid, grid, indexing="ij")
    pts = np.stack([gx.ravel(), gy.ravel()], axis=1)
    for theta in (-1.0, 1.5):
        lp = log_prob(pts, np.full((len(pts), 1), theta)).numpy().astype(np.float64)
        p = np.exp(lp).reshape(gx.shape)
        integral = np.trapezoid(np.trapezoid(p, grid, axis=1), grid)
        assert integral == pytest.approx(1.0, abs=5e-3)
        assert np.max(np.abs(lp - log_normal(pts))[np.all(np.abs(pts) < 2, axis=1)]) > 0.1


# Per dtype: the map x -> z and log p of the initial flow. The float64 checks are the sharp
# ones: a real deviation from the identity shows there at any size above rounding.
IDENTITY_ATOL = {
    "float32": {"z": 1e-6, "log_prob": 1e-5},
    "float64": {"z": 1e-12, "log_prob": 1e-12},
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_identity_at_initialisation(dtype: str) -> None:
    arch = small_arch("interleaved")
    flow = ConditionalFlow(3, 2, arch, dtype=dtype)
    rng = np.random.default_rng(1)
    x, cond = rng.normal(size=(50, 3)), rng.normal(size=(50, 2))
    z, log_det = flow.forward(x, cond)
    # Identity up to the fixed permutations, which compose to one overall reordering.
    order = np.arange(3)
    for perm in flow.permutations:
        order = order[perm]
    atol = IDENTITY_ATOL[dtype]
    np.testing.assert_allclose(z.numpy(), x[:, order], atol=atol["z"])
    # In exact arithmetic every initial spline has slope 1, so log_det is 0; in floating point
    # each transformed element's log-slope log(numerator · (s/denominator)²) rounds by a few
    # ulp. The budget is 8 ulp per spline element: 3 dimensions x 2 spline couplings here.
    # (float32 on an AMD EPYC with oneDNN reached 9 ulp over 6 elements, 1.07e-6; float64 2 ulp.)
    n_spline_elements = 3 * layer_kinds(resolve_architecture(arch)).count("spline")
    budget = 8 * n_spline_elements * np.finfo(dtype).eps
    np.testing.assert_allclose(log_det.numpy(), 0.0, atol=budget)
    np.testing.assert_allclose(flow.log_prob(x, cond).numpy(), log_normal(x), atol=atol["log_prob"])


@pytest.mark.parametrize("design", DESIGNS)
@pytest.mark.parametrize(("n_x", "n_cond"), [(1, 1), (2, 0), (3, 2)])
def test_forward_inverse_and_sample_consistency(design: str, n_x: int, n_cond: int) -> None:
    flow = ConditionalFlow(n_x, n_cond, small_arch(design))
    randomise(flow)
    rng = np.random.default_rng(2)
    n = 256
    cond = rng.normal(size=(n, n_cond)).astype(np.float32)
    x = rng.normal(size=(n, n_x)).astype(np.float32)

    z, log_det = flow.forward(x, cond)
    x_back, log_det_inv = flow.inverse(z, cond, return_log_det=True)
    np.testing.assert_allclose(x_back.numpy(), x, atol=1e-4)
    np.testing.assert_allclose(log_det_inv.numpy(), -log_det.numpy(), atol=1e-4)

    # Samples: x = g(z) with log q(x) = log N(z) - log|det ∂x/∂z|.
    z = rng.normal(size=(n, n_x)).astype(np.float32)
    x, log_det_inv = flow.inverse(z, cond, return_log_det=True)
    expected = log_normal(z) - log_det_inv.numpy()
    np.testing.assert_allclose(flow.log_prob(x, cond).numpy(), expected, atol=1e-4)
    np.testing.assert_allclose(flow.forward(x, cond)[0].numpy(), z, atol=1e-4)


@pytest.mark.parametrize("design", DESIGNS)
def test_log_det_matches_numerical_jacobian(design: str) -> None:
    # Independent of the analytic log-dets: the Jacobian of the inverse map by central
    # differences in float64 (cheaper to build than an autodiff batch Jacobian).
    flow = ConditionalFlow(3, 1, small_arch(design), dtype="float64")
    randomise(flow)
    rng = np.random.default_rng(3)
    n, d, eps = 64, 3, 1e-6
    z = rng.normal(size=(n, d))
    cond = rng.normal(size=(n, 1))
    steps = np.concatenate([s * eps * np.eye(d) for s in (1, -1)])  # (2d, d)
    z_shifted = (z[:, None, :] + steps[None]).reshape(-1, d)
    x_shifted = flow.inverse(z_shifted, np.repeat(cond, 2 * d, axis=0)).numpy()
    x_shifted = x_shifted.reshape(n, 2, d, d)  # (event, sign, direction, output)
    jac = np.swapaxes((x_shifted[:, 0] - x_shifted[:, 1]) / (2 * eps), 1, 2)
    _, logabsdet = np.linalg.slogdet(jac)
    x = flow.inverse(z, cond)
    np.testing.assert_allclose(flow.log_prob(x, cond).numpy(), log_normal(z) - logabsdet, atol=1e-6)


def test_sample_is_seeded_and_follows_inverse() -> None:
    flow = ConditionalFlow(2, 1, small_arch("interleaved"))
    randomise(flow)
    cond = np.linspace(-1, 1, 1000)[:, None]
    a = flow.sample(cond, seed=7).numpy()
    b = flow.sample(cond, seed=7).numpy()
    c = flow.sample(cond, seed=8).numpy()
    assert a.shape == (1000, 2)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    z = tf.random.stateless_normal([1000, 2], seed=[7, 0])
    np.testing.assert_allclose(a, flow.inverse(z, cond).numpy(), atol=1e-6)


def test_unconditional_flow() -> None:
    flow = ConditionalFlow(2, 0, small_arch("interleaved"))
    randomise(flow)
    rng = np.random.default_rng(4)
    x = rng.normal(size=(100, 2))
    lp_none = flow.log_prob(x, None).numpy()
    lp_empty = flow.log_prob(x, np.zeros((100, 0))).numpy()
    np.testing.assert_allclose(lp_none, lp_empty)
    assert np.all(np.isfinite(lp_none))
    samples = flow.sample(np.zeros((500, 0)), seed=1).numpy()
    assert samples.shape == (500, 2) and np.all(np.isfinite(samples))
    z, _ = flow.forward(samples, None)
    np.testing.assert_allclose(flow.inverse(z, None).numpy(), samples, atol=1e-4)


def test_float64_copy_matches_float32() -> None:
    arch = dict(DEFAULT_ARCHITECTURE)
    flow32 = ConditionalFlow(2, 2, arch)
    randomise(flow32, scale=0.02)
    flow64 = ConditionalFlow(2, 2, arch, dtype="float64")
    flow64.set_weights(flow32.get_weights())
    rng = np.random.default_rng(5)
    x, cond = rng.normal(size=(2000, 2)), rng.normal(size=(2000, 2))
    lp32 = flow32.log_prob(x, cond)
    lp64 = flow64.log_prob(x, cond)
    assert lp32.dtype == tf.float32 and lp64.dtype == tf.float64
    assert np.max(np.abs(lp32.numpy() - lp64.numpy())) < 1e-4
    assert np.median(np.abs(lp32.numpy() - lp64.numpy())) < 1e-5


def test_tf_function_with_signature_and_gradient() -> None:
    # Two layers: one affine and one spline coupling; building the spline gradient graph is slow.
    flow = ConditionalFlow(2, 2, small_arch("interleaved", num_coupling_layers=2), dtype="float64")
    randomise(flow)
    spec = [tf.TensorSpec([None, 2], tf.float64), tf.TensorSpec([None, 2], tf.float64)]

    @tf.function(input_signature=spec)
    def value_and_grad(x: tf.Tensor, cond: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        with tf.GradientTape() as tape:
            tape.watch(cond)
            total = tf.reduce_sum(flow.log_prob(x, cond))
        return total, tape.gradient(total, cond)

    rng = np.random.default_rng(6)
    x, cond = rng.normal(size=(300, 2)), rng.normal(size=(300, 2))
    total, grad = value_and_grad(x, cond)
    assert float(total) == pytest.approx(float(tf.reduce_sum(flow.log_prob(x, cond))), rel=1e-12)
    eps = 1e-6
    for j in range(2):
        step = np.zeros_like(cond)
        step[:, j] = eps
        up = tf.reduce_sum(flow.log_prob(x, cond + step)).numpy()
        down = tf.reduce_sum(flow.log_prob(x, cond - step)).numpy()
        assert np.sum(grad.numpy()[:, j]) == pytest.approx((up - down) / (2 * eps), rel=1e-5)
    # Different batch sizes must reuse the single trace.
    value_and_grad(x[:7], cond[:7])
    assert value_and_grad.experimental_get_tracing_count() == 1


def test_weights_save_load_roundtrip(tmp_path) -> None:
    arch = small_arch("interleaved")
    flow = ConditionalFlow(2, 1, arch)
    randomise(flow)
    path = str(tmp_path / "weights.npz")
    flow.save(path)
    loaded = ConditionalFlow.load(path, 2, 1, arch)
    loaded64 = ConditionalFlow.load(path, 2, 1, arch, dtype="float64")
    for a, b in zip(flow.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    rng = np.random.default_rng(7)
    x, cond = rng.normal(size=(100, 2)), rng.normal(size=(100, 1))
    np.testing.assert_array_equal(flow.log_prob(x, cond).numpy(), loaded.log_prob(x, cond).numpy())
    np.testing.assert_allclose(
        flow.log_prob(x, cond).numpy(), loaded64.log_prob(x, cond).numpy(), atol=1e-5
    )
    with pytest.raises(ValueError):
        ConditionalFlow.load(path, 3, 1, arch)
    with pytest.raises(ValueError):
        ConditionalFlow.load(path, 2, 1, small_arch("affine"))
    # Same weight shapes but other permutations: must be refused, not silently loaded.
    with pytest.raises(ValueError):
        ConditionalFlow.load(path, 2, 1, {**arch, "seed": 7})
    # Training keys and int-vs-float spellings do not matter.
    loaded_again = ConditionalFlow.load(path, 2, 1, {**arch, "epochs": 3, "spline_bound": "5e0"})
    np.testing.assert_array_equal(loaded_again.get_weights()[-1], flow.get_weights()[-1])


def test_weights_are_seeded_and_ordered() -> None:
    arch = small_arch("interleaved")
    a, b = ConditionalFlow(3, 2, arch), ConditionalFlow(3, 2, arch)
    c = ConditionalFlow(3, 2, {**arch, "seed": 1})
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
    pairs = zip(a.get_weights(), c.get_weights(), strict=True)
    assert any(not np.array_equal(wa, wc) for wa, wc in pairs)
    assert [p.tolist() for p in a.permutations] == [p.tolist() for p in b.permutations]
    assert len(a.trainable_variables) == len(a.get_weights())
    for var, w in zip(a.trainable_variables, a.get_weights(), strict=True):
        np.testing.assert_array_equal(var.numpy(), w)
    with pytest.raises(ValueError):
        a.set_weights(a.get_weights()[:-1])


def test_no_permutation_and_no_act_norm() -> None:
    flow = ConditionalFlow(3, 1, small_arch("affine", permutation="none", act_norm=False))
    assert all(np.array_equal(p, np.arange(3)) for p in flow.permutations)
    randomise(flow)
    rng = np.random.default_rng(8)
    x, cond = rng.normal(size=(50, 3)), rng.normal(size=(50, 1))
    z, _ = flow.forward(x, cond)
    np.testing.assert_allclose(flow.inverse(z, cond).numpy(), x, atol=1e-5)


def test_flops_and_validation() -> None:
    small = ConditionalFlow(2, 1, small_arch("affine"))
    large = ConditionalFlow(2, 1, small_arch("affine", affine_units_per_dense_layer=64))
    assert 0 < small.count_flops_per_event() < large.count_flops_per_event()
    default = ConditionalFlow(2, 1)
    # 10 layers x 2 halves x (in*128 + 128*128 + 128*out) multiply-adds: roughly 0.8 MFLOP.
    assert 5e5 < default.count_flops_per_event() < 2e6
    with pytest.raises(ValueError):
        resolve_architecture({"coupling_design": "nope"})
    with pytest.raises(ValueError):
        ConditionalFlow(0, 1)
    with pytest.raises(ValueError):
        ConditionalFlow(1, 1, dtype="float16")
    # Training keys in the same YAML are tolerated, and the resolved architecture is plain data.
    assert resolve_architecture({"epochs": 3})["epochs"] == 3
    assert yaml.safe_load(yaml.safe_dump(default.architecture)) == DEFAULT_ARCHITECTURE


def _spline_transform(n_out: int, n_in: int, spread: float, seed: int = 0) -> SplineTransform:
    """A float64 spline coupling transform whose conditioner outputs are large and random.

    The output layer starts at zero (identity); spread 0.3 already gives log-slopes of up to
    ~7 per dimension, spread 1.5 bins of the minimum size and slopes down to ~1e-9.
    """
    arch = resolve_architecture(small_arch("spline", spline_bins=8))
    rng = np.random.default_rng(seed)
    transform = SplineTransform(n_out, n_in, arch, rng, tf.float64, "t")
    for var in transform.variables:
        var.assign(rng.normal(0.0, spread if "_out" in var.name else 0.5, var.shape))
    return transform


def _with_knots(transform: SplineTransform, h: np.ndarray, x: np.ndarray) -> tuple:
    """x with some entries replaced by knot positions (x and y), the box edges and far points."""
    widths, heights, _ = transform.spline_params(tf.constant(h))
    bound = transform.bound
    x, y = x.copy(), x.copy()
    knots_x = np.cumsum(widths.numpy(), axis=-1) - bound  # right knots; the last is ~bound
    knots_y = np.cumsum(heights.numpy(), axis=-1) - bound
    k = knots_x.shape[-1]
    for row in range(0, len(x), 5):
        x[row] = knots_x[row, :, row % k]
        y[row] = knots_y[row, :, row % k]
    edges = np.array([-bound, bound, -bound - 1e-9, bound + 1e-9, -7.0, 40.0])
    x[1 : 1 + len(edges)] = edges[:, None]
    y[1 : 1 + len(edges)] = edges[:, None]
    return x, y


@pytest.mark.parametrize("n_out", [1, 3])
def test_spline_matches_tfp(n_out: int) -> None:
    # Same conditioner parameters through both implementations, on random points (about a
    # quarter outside [-B, B]), on knots, on the box edges and far outside.
    n_in = 2
    transform = _spline_transform(n_out, n_in, spread=0.3)
    rng = np.random.default_rng(11)
    n = 400
    h = rng.normal(size=(n, n_in))
    x, y = _with_knots(transform, h, rng.normal(0.0, 4.0, size=(n, n_out)))
    results = {}
    for use_tfp in (False, True):
        transform.use_tfp = use_tfp
        fwd, fwd_ld = transform.forward(tf.constant(x), tf.constant(h))
        inv, inv_ld = transform.inverse(tf.constant(y), tf.constant(h))
        results[use_tfp] = [t.numpy() for t in (fwd, fwd_ld, inv, inv_ld)]
    # Values agree to ~1e-12. Knot positions are summed in another order than TFP's cumsum, and
    # where the spline is very flat the log-slope is so sensitive to that last-bit difference
    # (for points placed exactly on knots) that log-dets agree only to ~1e-8.
    for ours, theirs in zip(results[False], results[True], strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-6)
    fwd, fwd_ld, inv, inv_ld = results[False]
    outside = np.abs(x) >= transform.bound
    assert 0.1 < outside.mean() < 0.5
    np.testing.assert_array_equal(fwd[outside], x[outside])
    # Round trips both ways, with log-dets of opposite sign. Where the spline is nearly flat
    # x -> y -> x loses about eps / slope, in TFP as well.
    transform.use_tfp = False
    x_t = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x_t)
        fwd_t, _ = transform.forward(x_t, tf.constant(h))
    slope = tape.gradient(fwd_t, x_t).numpy()
    back, back_ld = transform.inverse(fwd_t, tf.constant(h))
    assert np.all(np.abs(back.numpy() - x) <= 1e-10 + 1e-14 / slope)
    np.testing.assert_allclose(back_ld.numpy(), -fwd_ld, atol=1e-6)
    again, _ = transform.forward(tf.constant(inv), tf.constant(h))
    np.testing.assert_allclose(again.numpy(), y, atol=1e-9)


def test_spline_broadcasts_single_row_parameters() -> None:
    transform = _spline_transform(1, 1, spread=0.3)
    rng = np.random.default_rng(12)
    x = rng.normal(0.0, 3.0, size=(50, 1))
    h = np.full((1, 1), 0.3)
    for method in (transform.forward, transform.inverse):
        single = [t.numpy() for t in method(tf.constant(x), tf.constant(h))]
        tiled = [t.numpy() for t in method(tf.constant(x), tf.constant(np.repeat(h, 50, 0)))]
        assert single[0].shape == (50, 1) and single[1].shape in ((50,), (1,))
        np.testing.assert_allclose(single[0], tiled[0], rtol=1e-12)
        np.testing.assert_allclose(np.broadcast_to(single[1], (50,)), tiled[1], rtol=1e-12)


@pytest.mark.parametrize("direction", ["forward", "inverse"])
def test_spline_derivatives_are_finite_on_knots_and_outside(direction: str) -> None:
    transform = _spline_transform(2, 2, spread=1.5, seed=3)
    rng = np.random.default_rng(13)
    h = tf.constant(rng.normal(size=(60, 2)))
    x, y = _with_knots(transform, h.numpy(), rng.normal(0.0, 4.0, size=(60, 2)))
    points = tf.constant(x if direction == "forward" else y)
    method = getattr(transform, direction)
    with tf.GradientTape(persistent=True) as outer:
        outer.watch([h, points])
        with tf.GradientTape() as inner:
            inner.watch([h, points])
            out, log_det = method(points, h)
            total = tf.reduce_sum(out) + tf.reduce_sum(log_det)
        grads = inner.gradient(total, [h, points] + transform.variables)
        second = tf.reduce_sum(grads[0] ** 2) + tf.reduce_sum(grads[1] ** 2)
    hess = outer.gradient(second, [h, points] + transform.variables)
    for g in grads + hess:
        assert g is not None and np.all(np.isfinite(g.numpy()))


@pytest.mark.parametrize(("n_x", "n_cond"), [(1, 1), (1, 0), (3, 2)])
def test_flow_spline_implementations_agree(n_x: int, n_cond: int) -> None:
    # Whole flows (interleaved: affine and spline layers) with shared weights, float64.
    arch = small_arch("interleaved")
    ours = ConditionalFlow(n_x, n_cond, arch, dtype="float64")
    randomise(ours, scale=0.3)
    theirs = ConditionalFlow(n_x, n_cond, {**arch, "spline_implementation": "tfp"}, "float64")
    theirs.set_weights(ours.get_weights())
    rng = np.random.default_rng(14)
    n = 300
    x = rng.normal(0.0, 3.0, size=(n, n_x))
    x[:4] = [[-40.0], [-5.0], [5.0], [40.0]]
    cond = rng.normal(size=(n, n_cond))
    for name in ("forward", "inverse"):
        args = (x, cond, True) if name == "inverse" else (x, cond)
        for a, b in zip(getattr(ours, name)(*args), getattr(theirs, name)(*args), strict=True):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-7, atol=1e-7)
    if n_cond == 0:
        return
    # First and second θ-derivatives of Σ log q(x | θ) with cond = tile(θ), as in the fits.
    theta = tf.constant(np.full(n_cond, 0.2))
    derivatives = []
    for flow in (ours, theirs):
        with tf.GradientTape(persistent=True) as outer:
            outer.watch(theta)
            with tf.GradientTape() as inner:
                inner.watch(theta)
                total = tf.reduce_sum(flow.log_prob(x, tf.tile(theta[None, :], [n, 1])))
            grad = inner.gradient(total, theta)
        hess = outer.jacobian(grad, theta, experimental_use_pfor=False)
        derivatives.append((grad.numpy(), hess.numpy()))
    for a, b in zip(derivatives[0], derivatives[1], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-7)


@pytest.mark.parametrize("n_x", [1, 2])
def test_single_row_cond_broadcasts(n_x: int) -> None:
    flow = ConditionalFlow(n_x, 2, small_arch("interleaved"), dtype="float64")
    randomise(flow)
    rng = np.random.default_rng(15)
    x = rng.normal(size=(40, n_x))
    row = rng.normal(size=(1, 2))
    tiled = np.repeat(row, 40, axis=0)
    np.testing.assert_allclose(flow.log_prob(x, row).numpy(), flow.log_prob(x, tiled).numpy())
    z, log_det = flow.inverse(x, row, return_log_det=True)
    assert z.shape == (40, n_x) and log_det.shape == (40,)
    np.testing.assert_allclose(z.numpy(), flow.inverse(x, tiled).numpy())
    theta = tf.constant(row[0])
    grads = []
    for make_cond in (lambda t: t[None, :], lambda t: tf.tile(t[None, :], [40, 1])):
        with tf.GradientTape() as tape:
            tape.watch(theta)
            total = tf.reduce_sum(flow.log_prob(x, make_cond(theta)))
        grads.append(tape.gradient(total, theta).numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-10)


@pytest.mark.parametrize("design", DESIGNS)
def test_1d_conditioners_run_once_per_distinct_theta_with_the_same_results(design: str) -> None:
    """SharedRows give the per-event log-density and weight gradients (training's use)."""
    flow = ConditionalFlow(1, 2, small_arch(design), dtype="float64")
    randomise(flow)
    rng = np.random.default_rng(16)
    points = rng.normal(size=(3, 2))
    cond = tf.constant(points[rng.integers(0, 3, size=50)])
    x = rng.normal(size=(50, 1))
    shared = shared_rows(cond)
    assert shared.rows.shape == (3, 2)
    results = []
    for c in (cond, shared):
        with tf.GradientTape() as tape:
            log_prob = flow.log_prob(x, c, training=True)
            total = tf.reduce_sum(log_prob)
        grads = tape.gradient(total, flow.trainable_variables)
        results.append([log_prob.numpy(), *(g.numpy() for g in grads)])
    for a, b in zip(*results, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_training_shares_conditioner_rows_only_where_it_pays() -> None:
    """1-D, conditioned, no dropout, and at most one distinct θ per 8 events of a batch."""
    few = np.repeat(np.arange(16.0)[:, None], 100, axis=0)
    many = np.arange(1600.0)[:, None]
    flow = ConditionalFlow(1, 1, small_arch("interleaved"))
    assert flow.distinct_training_rows(few, batch_size=128) == 16
    assert flow.distinct_training_rows(few, batch_size=127) is None
    assert flow.distinct_training_rows(many, batch_size=2048) is None
    assert ConditionalFlow(2, 1, small_arch("interleaved")).distinct_training_rows(few, 128) is None
    assert (
        ConditionalFlow(1, 0, small_arch("interleaved")).distinct_training_rows(few[:, :0], 128)
        is None
    )
    dropout = small_arch("interleaved", affine_dropout=True, affine_dropout_prob=0.1)
    assert ConditionalFlow(1, 1, dropout).distinct_training_rows(few, 128) is None
    with pytest.raises(ValueError, match="SharedRows cond is for 1-D flows"):
        ConditionalFlow(2, 1, small_arch("interleaved")).log_prob(
            np.zeros((4, 2)), shared_rows(tf.zeros((4, 1)))
        )


@pytest.mark.parametrize("design", DESIGNS)
def test_1d_sampling_runs_conditioners_per_distinct_theta_and_draws_the_same(design: str) -> None:
    """EvaluateDensity and Asimov draws: few distinct θ rows share the conditioners' work."""
    flow = ConditionalFlow(1, 1, small_arch(design), dtype="float64")
    randomise(flow)
    few = tf.constant(np.repeat(np.array([[-1.0], [0.5], [2.0]]), 40, axis=0))
    assert isinstance(flow.shared_condition(few), SharedRows)
    many = tf.constant(np.linspace(-2.0, 2.0, 120)[:, None])
    assert not isinstance(flow.shared_condition(many), SharedRows)
    per_event = flow.inverse(tf.random.stateless_normal([120, 1], [4, 0], dtype=tf.float64), few)
    np.testing.assert_allclose(flow.sample(few, 4).numpy(), per_event.numpy(), rtol=1e-12)
    assert not isinstance(
        ConditionalFlow(2, 1, small_arch(design)).shared_condition(few), SharedRows
    )


def test_spline_implementation_is_not_part_of_the_saved_signature(tmp_path) -> None:
    arch = small_arch("interleaved")
    flow = ConditionalFlow(2, 1, {**arch, "spline_implementation": "tfp"})
    randomise(flow)
    path = str(tmp_path / "weights.npz")
    flow.save(path)
    loaded = ConditionalFlow.load(path, 2, 1, arch)
    assert loaded.architecture["spline_implementation"] == "innfer"
    rng = np.random.default_rng(16)
    x, cond = rng.normal(size=(100, 2)), rng.normal(size=(100, 1))
    np.testing.assert_allclose(
        flow.log_prob(x, cond).numpy(), loaded.log_prob(x, cond).numpy(), atol=1e-5
    )
    # A file written before the key existed: its signature lists only the other keys (and no
    # dropout keys, which came later and are not part of the signature either).
    old_keys = [k for k in DEFAULT_ARCHITECTURE if k not in NOT_IN_SIGNATURE]
    resolved = resolve_architecture(arch)
    old = {"n_x": 2, "n_cond": 1, **{k: canonical(resolved[k]) for k in old_keys}}
    arrays = {f"w{i:04d}": w for i, w in enumerate(flow.get_weights())}
    arrays["meta_signature"] = np.array(json.dumps(old, sort_keys=True))
    old_path = str(tmp_path / "old.npz")
    with open(old_path, "wb") as handle:
        np.savez(handle, **arrays)
    ConditionalFlow.load(old_path, 2, 1, arch)
    with pytest.raises(ValueError):
        resolve_architecture({"spline_implementation": "scipy"})
