"""Unit tests of the flow's architecture options: permutations, dropout, validation, stages."""

from __future__ import annotations

import re

import numpy as np
import pytest
import tensorflow as tf

from innfer_lib.density.architecture import ACTIVATIONS, resolve_architecture
from innfer_lib.density.dense import ACTIVATION_FUNCTIONS
from innfer_lib.density.flow import ConditionalFlow
from innfer_lib.density.mixing import LUMixing

DESIGNS = ("affine", "spline", "interleaved")
PERMUTATIONS = ("fixed", "none", "learnable")


def small_arch(design: str = "interleaved", permutation: str = "fixed", **extra: object) -> dict:
    arch = {
        "coupling_design": design,
        "permutation": permutation,
        "num_coupling_layers": 3,
        "affine_units_per_dense_layer": 8,
        "spline_units_per_dense_layer": 8,
        "spline_bins": 8,
    }
    arch.update(extra)
    return arch


def randomise(flow: ConditionalFlow, scale: float = 0.1, seed: int = 0) -> None:
    """Perturb every weight around its initial value so the map is clearly not the identity."""
    rng = np.random.default_rng(seed)
    flow.set_weights([w + rng.normal(0.0, scale, w.shape) for w in flow.get_weights()])


def twin64(flow: ConditionalFlow) -> ConditionalFlow:
    """A float64 flow of the same architecture carrying flow's weights."""
    twin = ConditionalFlow(flow.n_x, flow.n_cond, flow.architecture, dtype="float64")
    twin.set_weights(flow.get_weights())
    return twin


def log_normal(z: np.ndarray) -> np.ndarray:
    return -0.5 * np.sum(z**2, axis=-1) - 0.5 * z.shape[-1] * np.log(2 * np.pi)


def integral(flow: ConditionalFlow, n_cond: int, theta: float) -> tuple[float, np.ndarray, tuple]:
    """Trapezoid integral of q(x | θ) on a grid covering essentially all of its mass.

    Returns the integral, log q on the grid points and the grid points themselves.
    """
    if flow.n_x == 1:
        x = np.linspace(-12.0, 12.0, 24001)[:, None]
        lp = flow.log_prob(x, np.full((1, n_cond), theta)).numpy()
        return float(np.trapezoid(np.exp(lp), x[:, 0])), lp, x
    grid = np.linspace(-8.0, 8.0, 301)
    gx, gy = np.meshgrid(grid, grid, indexing="ij")
    x = np.stack([gx.ravel(), gy.ravel()], axis=1)
    lp = flow.log_prob(x, np.full((len(x), n_cond), theta)).numpy()
    p = np.exp(lp).reshape(gx.shape)
    return float(np.trapezoid(np.trapezoid(p, grid, axis=1), grid)), lp, x


@pytest.mark.parametrize("permutation", PERMUTATIONS)
@pytest.mark.parametrize("design", DESIGNS)
@pytest.mark.parametrize(("n_x", "n_cond"), [(1, 0), (1, 1), (2, 0), (2, 1)])
def test_every_design_and_permutation_is_a_normalised_bijection(
    design: str, permutation: str, n_x: int, n_cond: int
) -> None:
    flow = ConditionalFlow(n_x, n_cond, small_arch(design, permutation))
    randomise(flow)
    flow64 = twin64(flow)

    # Normalisation (float64, so only the quadrature error is left). The 2-D grid is costly, so
    # it is integrated at one θ; 1-D at two.
    for theta in ([-1.0, 1.5] if n_x == 1 else [1.5]) if n_cond else [0.0]:
        total, lp, x = integral(flow64, n_cond, theta)
        assert total == pytest.approx(1.0, abs=1e-3)
        core = np.all(np.abs(x) < 2.0, axis=1)
        assert np.max(np.abs(lp - log_normal(x))[core]) > 0.05, "map is still the identity"

    rng = np.random.default_rng(1)
    n = 200
    x = rng.normal(0.0, 1.5, size=(n, n_x))
    cond = rng.normal(size=(n, n_cond))
    if n_cond:
        other = flow64.log_prob(x, np.full((n, n_cond), -1.0)).numpy()
        assert np.max(np.abs(flow64.log_prob(x, np.full((n, n_cond), 1.5)).numpy() - other)) > 1e-2
    for f, atol in ((flow, 1e-4), (flow64, 1e-9)):
        # forward ∘ inverse and inverse ∘ forward are the identity; log-dets are opposite.
        z, log_det = f.forward(x, cond)
        x_back, log_det_inv = f.inverse(z, cond, return_log_det=True)
        np.testing.assert_allclose(x_back.numpy(), x, atol=atol)
        np.testing.assert_allclose(log_det_inv.numpy(), -log_det.numpy(), atol=atol)
        np.testing.assert_allclose(f.forward(f.inverse(x, cond), cond)[0].numpy(), x, atol=atol)
        # log q(x) = log N(z) + log|det ∂z/∂x|, with the log-det taken along the inverse path.
        lp = f.log_prob(x, cond).numpy()
        np.testing.assert_allclose(lp, f.base_log_prob(z).numpy() + log_det.numpy(), atol=atol)
        np.testing.assert_allclose(lp, log_normal(z.numpy()) - log_det_inv.numpy(), atol=atol)
    lp32, lp64 = flow.log_prob(x, cond), flow64.log_prob(x, cond)
    assert lp32.dtype == tf.float32 and lp64.dtype == tf.float64
    np.testing.assert_allclose(lp32.numpy(), lp64.numpy(), atol=2e-4)


# --- learnable permutation ------------------------------------------------------------------


def random_mixing(n_x: int, dtype: tf.DType, seed: int = 0) -> LUMixing:
    rng = np.random.default_rng(seed)
    mixing = LUMixing(n_x, rng, dtype, "test")
    mixing.lu.assign(mixing.lu.numpy() + rng.normal(0.0, 0.3, (n_x, n_x)))
    return mixing


@pytest.mark.parametrize(("dtype", "atol"), [(tf.float32, 1e-5), (tf.float64, 1e-10)])
@pytest.mark.parametrize("n_x", [1, 2, 3, 6])
def test_learnable_mixing_is_exactly_invertible(dtype: tf.DType, atol: float, n_x: int) -> None:
    mixing = random_mixing(n_x, dtype)
    rng = np.random.default_rng(1)
    x = tf.constant(rng.normal(size=(500, n_x)), dtype)
    np.testing.assert_allclose(mixing.inverse(mixing.forward(x)).numpy(), x.numpy(), atol=atol)
    np.testing.assert_allclose(mixing.forward(mixing.inverse(x)).numpy(), x.numpy(), atol=atol)
    # Forward is x -> W x per event, with log|det W| = Σ log_s.
    w = mixing.matrix().numpy().astype(np.float64)
    np.testing.assert_allclose(mixing.forward(x).numpy(), x.numpy() @ w.T, atol=atol)
    sign, logabsdet = np.linalg.slogdet(w)
    assert sign != 0
    assert float(mixing.log_det()) == pytest.approx(logabsdet, abs=10 * atol)


@pytest.mark.parametrize("n_x", [1, 3])
def test_learnable_mixing_starts_orthogonal(n_x: int) -> None:
    flow = ConditionalFlow(n_x, 1, small_arch(permutation="learnable"))
    for w in flow.mixing_matrices():
        np.testing.assert_allclose(w @ w.T, np.eye(n_x), atol=1e-6)
    # Orthogonal mixings and identity couplings: the untrained flow is exactly N(0, I).
    rng = np.random.default_rng(2)
    x, cond = rng.normal(size=(50, n_x)), rng.normal(size=(50, 1))
    np.testing.assert_allclose(flow.log_prob(x, cond).numpy(), log_normal(x), atol=1e-5)
    if n_x > 1:
        # A genuine rotation, not a signed reordering: some matrix has non-0/1 entries.
        entries = np.concatenate([np.abs(w).ravel() for w in flow.mixing_matrices()])
        assert np.any((entries > 1e-3) & (entries < 1.0 - 1e-3))


def test_learnable_flow_log_det_is_slogdet_of_the_mixings() -> None:
    # Perturb only the mixings: the couplings stay the identity, so the whole flow is the
    # product of the explicit matrices (and ActNorm at its initial identity).
    n_x = 3
    flow = ConditionalFlow(n_x, 1, small_arch(permutation="learnable"), dtype="float64")
    rng = np.random.default_rng(3)
    for var in flow.trainable_variables:
        if "mixing_lu" in var.name:
            var.assign(var.numpy() + rng.normal(0.0, 0.3, var.shape))
    mats = flow.mixing_matrices()
    assert len(mats) == 3 and all(m.shape == (n_x, n_x) for m in mats)
    x, cond = rng.normal(size=(40, n_x)), rng.normal(size=(40, 1))
    expected_z = x
    for w in mats:
        expected_z = expected_z @ w.T
    z, log_det = flow.forward(x, cond)
    np.testing.assert_allclose(z.numpy(), expected_z, atol=1e-10)
    expected_log_det = sum(np.linalg.slogdet(w)[1] for w in mats)
    assert abs(expected_log_det) > 0.1
    np.testing.assert_allclose(log_det.numpy(), expected_log_det, atol=1e-10)


def test_learnable_log_det_matches_numerical_jacobian() -> None:
    flow = ConditionalFlow(3, 1, small_arch(permutation="learnable"), dtype="float64")
    randomise(flow, scale=0.3)
    rng = np.random.default_rng(4)
    n, d, eps = 32, 3, 1e-6
    x, cond = rng.normal(size=(n, d)), rng.normal(size=(n, 1))
    steps = np.concatenate([s * eps * np.eye(d) for s in (1, -1)])
    shifted = flow.forward((x[:, None, :] + steps[None]).reshape(-1, d), np.repeat(cond, 2 * d, 0))
    z_shifted = shifted[0].numpy().reshape(n, 2, d, d)
    jac = np.swapaxes((z_shifted[:, 0] - z_shifted[:, 1]) / (2 * eps), 1, 2)
    np.testing.assert_allclose(
        flow.forward(x, cond)[1].numpy(), np.linalg.slogdet(jac)[1], atol=1e-6
    )


def test_learnable_save_load_and_gradients(tmp_path) -> None:
    arch = small_arch(permutation="learnable")
    flow = ConditionalFlow(2, 1, arch)
    randomise(flow)
    path = str(tmp_path / "learnable.npz")
    flow.save(path)
    loaded = ConditionalFlow.load(path, 2, 1, arch)
    loaded64 = ConditionalFlow.load(path, 2, 1, arch, dtype="float64")
    rng = np.random.default_rng(5)
    x, cond = rng.normal(size=(100, 2)), rng.normal(size=(100, 1))
    np.testing.assert_array_equal(flow.log_prob(x, cond).numpy(), loaded.log_prob(x, cond).numpy())
    np.testing.assert_allclose(
        flow.log_prob(x, cond).numpy(), loaded64.log_prob(x, cond).numpy(), atol=2e-5
    )
    for a, b in zip(flow.mixing_matrices(), loaded64.mixing_matrices(), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)
    with pytest.raises(ValueError):
        ConditionalFlow.load(path, 2, 1, small_arch(permutation="fixed"))

    # The mixing is trained: its gradient inside a compiled step is finite and non-zero.
    spec = [tf.TensorSpec([None, 2], tf.float32), tf.TensorSpec([None, 1], tf.float32)]

    @tf.function(input_signature=spec)
    def grads(x: tf.Tensor, c: tf.Tensor) -> list[tf.Tensor]:
        with tf.GradientTape() as tape:
            loss = -tf.reduce_mean(flow.log_prob(x, c, training=True))
        return tape.gradient(loss, flow.trainable_variables)

    out = grads(x.astype(np.float32), cond.astype(np.float32))
    for var, g in zip(flow.trainable_variables, out, strict=True):
        assert g is not None and np.all(np.isfinite(g.numpy()))
        if "mixing_lu" in var.name:
            assert np.any(g.numpy() != 0.0)


def test_learnable_adds_its_matmul_to_the_flop_count() -> None:
    fixed = ConditionalFlow(3, 1, small_arch(permutation="fixed"))
    learnable = ConditionalFlow(3, 1, small_arch(permutation="learnable"))
    extra = learnable.count_flops_per_event() - fixed.count_flops_per_event()
    assert extra == 3 * 2 * 3 * 3
    # Same seed: adding the learnable mixings leaves the coupling weights unchanged.
    without = [
        w
        for v, w in zip(learnable.trainable_variables, learnable.get_weights(), strict=True)
        if "mixing_lu" not in v.name
    ]
    for a, b in zip(fixed.get_weights(), without, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("spelling", [None, "null", "None", "none"])
def test_no_permutation_spellings(spelling: str | None) -> None:
    assert resolve_architecture({"permutation": spelling})["permutation"] == "none"
    flow = ConditionalFlow(3, 1, small_arch(permutation=spelling))
    reference = ConditionalFlow(3, 1, small_arch(permutation="none"))
    assert flow.signature() == reference.signature()
    assert all(np.array_equal(p, np.arange(3)) for p in flow.permutations)


# --- dropout --------------------------------------------------------------------------------


def dropout_arch(design: str, p: float = 0.3) -> dict:
    return small_arch(
        design,
        affine_dropout=True,
        affine_dropout_prob=p,
        spline_dropout=True,
        spline_dropout_prob=p,
    )


@pytest.mark.parametrize("design", ["affine", "spline"])
def test_dropout_only_while_training(design: str) -> None:
    flow = ConditionalFlow(2, 1, dropout_arch(design))
    randomise(flow)
    plain = ConditionalFlow(2, 1, small_arch(design))
    # Dropout adds no weights and does not change their seeded initial values.
    for a, b in zip(
        ConditionalFlow(2, 1, dropout_arch(design)).get_weights(),
        ConditionalFlow(2, 1, small_arch(design)).get_weights(),
        strict=True,
    ):
        np.testing.assert_array_equal(a, b)
    plain.set_weights(flow.get_weights())
    rng = np.random.default_rng(6)
    x = rng.normal(size=(300, 2)).astype(np.float32)
    cond = rng.normal(size=(300, 1)).astype(np.float32)

    evaluation = flow.log_prob(x, cond).numpy()
    np.testing.assert_array_equal(evaluation, flow.log_prob(x, cond, training=False).numpy())
    np.testing.assert_array_equal(evaluation, plain.log_prob(x, cond).numpy())
    np.testing.assert_array_equal(evaluation, plain.log_prob(x, cond, training=True).numpy())

    first = flow.log_prob(x, cond, training=True).numpy()
    second = flow.log_prob(x, cond, training=True).numpy()
    assert np.all(np.isfinite(first))
    assert np.max(np.abs(first - second)) > 1e-3
    assert np.max(np.abs(first - evaluation)) > 1e-3
    z, _ = flow.forward(x, cond, training=True)
    assert z.shape == (300, 2)

    # The training loop's call: compiled, with an input signature, fresh masks every step.
    spec = [tf.TensorSpec([None, 2], tf.float32), tf.TensorSpec([None, 1], tf.float32)]
    step = tf.function(lambda a, b: flow.log_prob(a, b, training=True), input_signature=spec)
    compiled = [step(x, cond).numpy() for _ in range(2)]
    assert np.max(np.abs(compiled[0] - compiled[1])) > 1e-3
    assert step.experimental_get_tracing_count() == 1
    # Evaluation after training calls is unchanged: dropout leaves no state in the weights.
    np.testing.assert_array_equal(evaluation, flow.log_prob(x, cond).numpy())


def test_dropout_is_per_coupling_type_and_seeded() -> None:
    rng = np.random.default_rng(7)
    x = rng.normal(size=(100, 2)).astype(np.float32)
    cond = rng.normal(size=(100, 1)).astype(np.float32)
    # affine_dropout does nothing to a spline-only flow (and vice versa).
    for design, key in (("spline", "affine"), ("affine", "spline")):
        flow = ConditionalFlow(
            2, 1, small_arch(design, **{f"{key}_dropout": True, f"{key}_dropout_prob": 0.5})
        )
        randomise(flow)
        np.testing.assert_array_equal(
            flow.log_prob(x, cond, training=True).numpy(), flow.log_prob(x, cond).numpy()
        )
    # The masks follow the architecture seed: two identical flows draw the same sequence.
    a, b = (ConditionalFlow(2, 1, dropout_arch("interleaved")) for _ in range(2))
    randomise(a)
    randomise(b)
    np.testing.assert_array_equal(
        a.log_prob(x, cond, training=True).numpy(), b.log_prob(x, cond, training=True).numpy()
    )
    # Flag on with probability 0 (INNFER's default pairing) is a no-op.
    zero = ConditionalFlow(2, 1, dropout_arch("interleaved", p=0.0))
    randomise(zero)
    np.testing.assert_array_equal(
        zero.log_prob(x, cond, training=True).numpy(), zero.log_prob(x, cond).numpy()
    )


def test_dropout_keys_do_not_block_loading(tmp_path) -> None:
    flow = ConditionalFlow(2, 1, dropout_arch("interleaved"))
    randomise(flow)
    path = str(tmp_path / "dropout.npz")
    flow.save(path)
    loaded = ConditionalFlow.load(path, 2, 1, small_arch("interleaved"))
    rng = np.random.default_rng(8)
    x, cond = rng.normal(size=(50, 2)), rng.normal(size=(50, 1))
    np.testing.assert_array_equal(flow.log_prob(x, cond).numpy(), loaded.log_prob(x, cond).numpy())


# --- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("permutation", "random"),
        ("permutation", 3),
        ("coupling_design", "glow"),
        ("affine_dropout_prob", 1.0),
        ("affine_dropout_prob", -0.1),
        ("spline_dropout_prob", "lots"),
        ("spline_dropout_prob", float("nan")),
        ("affine_dropout", "yes"),
        ("spline_dropout", 1),
        ("affine_mc_dropout", True),
        ("spline_mc_dropout", True),
        ("num_coupling_layers", 0),
        ("num_coupling_layers", 2.5),
        ("spline_bins", 1),
        ("affine_units_per_dense_layer", 0),
        ("spline_units_per_dense_layer", -4),
        ("affine_num_dense_layers", -1),
        ("spline_num_dense_layers", "two"),
        ("spline_bound", 0.0),
        ("soft_clamp", -1.0),
        ("act_norm", "false"),
        ("seed", -1),
        ("affine_activation", "nope"),
        ("spline_implementation", "scipy"),
    ],
)
def test_invalid_options_name_the_key(key: str, value: object) -> None:
    with pytest.raises(ValueError, match=re.escape(key)):
        resolve_architecture({key: value})


def test_every_activation_name_has_its_function() -> None:
    # The names are validated without TensorFlow; the functions live with the dense layers.
    assert sorted(ACTIVATION_FUNCTIONS) == sorted(ACTIVATIONS)


def test_valid_option_spellings() -> None:
    arch = resolve_architecture(
        {
            "affine_dropout": True,
            "affine_dropout_prob": 0.0,
            "spline_dropout_prob": 0.99,
            "affine_mc_dropout": False,
            "num_coupling_layers": 4.0,
            "affine_num_dense_layers": 0,
            "permutation": "learnable",
        }
    )
    assert arch["permutation"] == "learnable"
    assert arch["spline_dropout"] is False and arch["affine_dropout"] is True


# --- forward stages -------------------------------------------------------------------------


@pytest.mark.parametrize("n_x", [1, 3])
def test_forward_stages_undo_the_fixed_permutations(n_x: int) -> None:
    arch = small_arch("interleaved", num_coupling_layers=4)
    flow = ConditionalFlow(n_x, 1, arch, dtype="float64")
    randomise(flow)
    rng = np.random.default_rng(9)
    x, cond = rng.normal(size=(60, n_x)), rng.normal(size=(60, 1))
    stages = [s.numpy() for s in flow.forward_stages(x, cond)]
    assert len(stages) == 5 and all(s.shape == (60, n_x) for s in stages)
    np.testing.assert_array_equal(stages[0], x)
    order = np.arange(n_x)
    for perm in flow.permutations:
        order = order[perm]
    z = flow.forward(x, cond)[0].numpy()
    np.testing.assert_allclose(stages[-1], z[:, np.argsort(order)], atol=1e-12)
    # Stage k is an independent k-layer flow (same seed, so the same first layers) with its
    # permutations undone.
    for k in (1, 2, 3):
        head = ConditionalFlow(n_x, 1, {**arch, "num_coupling_layers": k}, dtype="float64")
        head.set_weights(flow.get_weights()[: len(head.get_weights())])
        head_order = np.arange(n_x)
        for perm in head.permutations:
            head_order = head_order[perm]
        z_k = head.forward(x, cond)[0].numpy()
        np.testing.assert_allclose(stages[k], z_k[:, np.argsort(head_order)], atol=1e-12)
    assert np.max(np.abs(stages[-1] - x)) > 0.05


@pytest.mark.parametrize("permutation", ["none", "learnable"])
def test_forward_stages_without_reordering(permutation: str) -> None:
    flow = ConditionalFlow(2, 0, small_arch("affine", permutation))
    randomise(flow)
    x = np.random.default_rng(10).normal(size=(30, 2)).astype(np.float32)
    stages = flow.forward_stages(x, None)
    assert len(stages) == 4
    np.testing.assert_array_equal(stages[0].numpy(), x)
    # No reordering to undo (none), or none possible (learnable): the raw layer outputs.
    np.testing.assert_allclose(stages[-1].numpy(), flow.forward(x, None)[0].numpy(), atol=1e-6)
