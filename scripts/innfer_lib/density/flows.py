"""Conditional coupling normalizing flow: the density model q(x | θ) of innfer.

The flow lives entirely in standardised space; the caller standardises X and θ and adds the
Jacobian of that affine map itself. Keeping the flow ignorant of physical units means one
trained network can be reused by every fit without carrying preprocessing state around.

Design choices that differ from the original INNFER (BayesFlow based) tool:

* In 1-D the single dimension is transformed directly by a conditioner that sees only θ. The
  original appended a constant noise column and then corrected by a constant, which left the
  density mis-normalised; here every design is an exact bijection in any dimension.
* Any conditioner input may be empty (1-D data, or an unconditional flow with ``n_cond = 0``);
  an empty input is replaced by a single zero column, so the MLP reduces to trainable constants
  (its biases) and the code path stays identical.
* Weights are created from a NumPy generator seeded by the architecture, not from the global TF
  seed, so a float64 twin of a float32 flow is built with identical structure and can take its
  weights via :meth:`ConditionalFlow.set_weights`.
* The rational-quadratic spline is implemented here rather than taken from TFP. TFP locates
  each event's bin with ``searchsorted`` and batched ``gather``; the gradients of those gathers
  (and their second derivatives, which the likelihood's Hessian needs) made graphs of ~37k ops
  that took tens of seconds to build and optimise. Here a one-hot mask from comparisons with the
  knots picks the bin, so every derivative is a handful of element-wise ops. TFP's bijector stays
  selectable (``spline_implementation: tfp``) as an independent cross-check.
* ``cond`` may have a single row that applies to every event. In 1-D every conditioner sees
  only θ, so a likelihood scan at fixed θ then evaluates the networks once instead of per event.
* ``permutation: learnable`` (INNFER's orthogonal-initialised matrix) is an LU-parametrised
  mixing whose log-determinant is a sum and whose inverse is two triangular solves, so it stays
  invertible whatever the optimiser does. ``null``/``none`` mean no permutation.
* Conditioner dropout (``affine_dropout``/``spline_dropout`` with ``*_dropout_prob``) acts only
  when the training step passes ``training=True``; evaluation is deterministic. INNFER's MC
  dropout (dropout at inference) is refused, as it would make the likelihood random.
"""

from __future__ import annotations

import copy
import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

DEFAULT_ARCHITECTURE: dict[str, Any] = {
    "coupling_design": "interleaved",
    "num_coupling_layers": 10,
    "permutation": "fixed",
    "act_norm": True,
    "affine_units_per_dense_layer": 128,
    "affine_num_dense_layers": 2,
    "affine_activation": "swish",
    "spline_units_per_dense_layer": 128,
    "spline_num_dense_layers": 2,
    "spline_activation": "swish",
    "spline_bins": 16,
    "spline_bound": 5.0,
    "soft_clamp": 1.9,
    "seed": 42,
    "spline_implementation": "innfer",
    "affine_dropout": False,
    "affine_dropout_prob": 0.0,
    "spline_dropout": False,
    "spline_dropout_prob": 0.0,
}

COUPLING_DESIGNS = ("affine", "spline", "interleaved")
PERMUTATIONS = ("fixed", "none", "learnable")
# INNFER writes "no permutation" as YAML null; both spellings resolve to "none" so that the two
# configurations give the same saved signature.
_PERMUTATION_ALIASES: dict[Any, str] = {None: "none", "null": "none", "None": "none"}
SPLINE_IMPLEMENTATIONS = ("innfer", "tfp")
# Keys that choose how the map is computed, not which map it is: they stay out of the saved
# signature, so weights load under either choice and files from before the key existed load.
# Dropout only acts while training and adds no weights, so a network trained with dropout is
# evaluated (and loaded) exactly like one trained without.
_NOT_IN_SIGNATURE = frozenset(
    {
        "spline_implementation",
        "affine_dropout",
        "affine_dropout_prob",
        "spline_dropout",
        "spline_dropout_prob",
    }
)

# Lower bounds keep the spline strictly monotone with finite slopes, so the inverse and the
# log-Jacobian stay well conditioned even when the conditioner outputs become extreme.
_MIN_BIN_SIZE = 1e-3
_MIN_SLOPE = 1e-3
# softplus(_SLOPE_SHIFT) + _MIN_SLOPE == 1: a zero conditioner output gives unit knot slopes,
# which together with uniform bins makes the initial spline exactly the identity.
_SLOPE_SHIFT = math.log(math.expm1(1.0 - _MIN_SLOPE))


def _silu(x: tf.Tensor) -> tf.Tensor:
    """x * sigmoid(x), the same values as tf.nn.silu without its custom gradient.

    tf.nn.silu wraps a custom gradient (IdentityN, a recomputed sigmoid and an unused gradient
    for its beta) around every call. The plain product traces value+gradient graphs about twice
    as fast and Hessian graphs smaller; measured trade-off in peak memory (5-D, float64): the
    θ-Hessian of 2e4 events needs 6.7 GB instead of 8.7 GB, value+gradient of 1e5 events
    11.7 GB instead of 7.4 GB, because the sigmoid is kept for the backward pass.
    """
    return x * tf.math.sigmoid(x)


_ACTIVATIONS: dict[str, Callable[[tf.Tensor], tf.Tensor] | None] = {
    "relu": tf.nn.relu,
    "elu": tf.nn.elu,
    "selu": tf.nn.selu,
    "gelu": tf.nn.gelu,
    "swish": _silu,
    "silu": _silu,
    "tanh": tf.math.tanh,
    "sigmoid": tf.math.sigmoid,
    "softplus": tf.math.softplus,
    "leaky_relu": tf.nn.leaky_relu,
    "linear": None,
}


def _check_int(arch: Mapping[str, Any], key: str, minimum: int) -> None:
    """Require an integral value >= minimum; int() alone would silently truncate 2.5 to 2."""
    value = arch[key]
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not number.is_integer() or number < minimum:
        raise ValueError(f"{key} must be an integer >= {minimum}, got {value!r}")


def _check_float(
    arch: Mapping[str, Any], key: str, low: float, high: float, closed_low: bool
) -> None:
    """Require a finite number in [low, high) (closed_low) or (low, high)."""
    value = arch[key]
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    above = number >= low if closed_low else number > low
    if isinstance(value, bool) or not (above and number < high):
        interval = f"{'[' if closed_low else '('}{low}, {high})"
        raise ValueError(f"{key} must be a number in {interval}, got {value!r}")


def _check_bool(arch: Mapping[str, Any], key: str) -> None:
    """Require a real boolean: bool("false") is True, so strings must not slip through."""
    if not isinstance(arch[key], bool | np.bool_):
        raise ValueError(f"{key} must be true or false, got {arch[key]!r}")


def resolve_architecture(architecture: Mapping[str, Any] | None) -> dict[str, Any]:
    """Merge an architecture mapping onto the defaults and validate the flow keys.

    Architecture YAMLs also carry training options (epochs, batch size, ...); those keys are
    passed through untouched so the same mapping can feed both the flow and the trainer.
    Validation happens here, once, so a bad YAML fails with a message naming the key before
    any network is built or any training time is spent.

    Args:
        architecture: User options, or None for the defaults.

    Returns:
        A new dict holding every default key, overridden where the user gave a value. The
        permutation is normalised (INNFER's ``null`` becomes ``"none"``); other values are
        returned as given.

    Raises:
        ValueError: If a flow option has an unsupported value; the message names the key.
    """
    arch = dict(DEFAULT_ARCHITECTURE)
    if architecture:
        arch.update(dict(architecture))
    if arch["coupling_design"] not in COUPLING_DESIGNS:
        raise ValueError(
            f"coupling_design must be one of {COUPLING_DESIGNS}, got {arch['coupling_design']!r}"
        )
    permutation = arch["permutation"]
    if isinstance(permutation, str | None) and permutation in _PERMUTATION_ALIASES:
        arch["permutation"] = permutation = _PERMUTATION_ALIASES[permutation]
    if permutation not in PERMUTATIONS:
        raise ValueError(f"permutation must be one of {PERMUTATIONS}, got {permutation!r}")
    if arch["spline_implementation"] not in SPLINE_IMPLEMENTATIONS:
        raise ValueError(
            f"spline_implementation must be one of {SPLINE_IMPLEMENTATIONS}, "
            f"got {arch['spline_implementation']!r}"
        )
    _check_int(arch, "num_coupling_layers", 1)
    _check_int(arch, "spline_bins", 2)
    _check_int(arch, "seed", 0)
    _check_float(arch, "spline_bound", 0.0, math.inf, closed_low=False)
    _check_float(arch, "soft_clamp", 0.0, math.inf, closed_low=False)
    _check_bool(arch, "act_norm")
    for prefix in ("affine", "spline"):
        if arch[f"{prefix}_activation"] not in _ACTIVATIONS:
            raise ValueError(
                f"{prefix}_activation must be one of {sorted(_ACTIVATIONS)}, "
                f"got {arch[f'{prefix}_activation']!r}"
            )
        # Zero hidden layers is allowed: the conditioner is then a single linear layer.
        _check_int(arch, f"{prefix}_num_dense_layers", 0)
        _check_int(arch, f"{prefix}_units_per_dense_layer", 1)
        _check_bool(arch, f"{prefix}_dropout")
        _check_float(arch, f"{prefix}_dropout_prob", 0.0, 1.0, closed_low=True)
    # INNFER's MC dropout keeps dropout on at inference, which makes log q(x | θ) random; the
    # fits here differentiate a deterministic likelihood, so refuse it rather than ignore it.
    for key in sorted(k for k in arch if str(k).endswith("mc_dropout")):
        if arch[key]:
            raise ValueError(
                f"{key} (MC dropout, active at inference) is not supported: the likelihood "
                f"needs a deterministic density; use {str(key).replace('mc_', '')} instead"
            )
    return arch


def _canonical(value: Any) -> bool | float | str:
    """Spelling-independent form of an option (5, 5.0 and YAML's string "5e0" compare equal)."""
    if isinstance(value, bool):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def _layer_kinds(design: str, n_layers: int) -> list[str]:
    """Return the transform kind of every coupling layer (interleaved starts with affine)."""
    if design == "interleaved":
        return ["affine" if i % 2 == 0 else "spline" for i in range(n_layers)]
    return [design] * n_layers


def _join(parts: Sequence[tf.Tensor | None], dtype: tf.DType) -> tf.Tensor:
    """Concatenate conditioner inputs, substituting one zero row and column when all are empty.

    The zero input lets a conditioner with nothing to condition on (1-D unconditional flow)
    reuse the ordinary MLP: its output is then a learned constant set by the biases. A single
    row suffices because the transforms broadcast their parameters over events, so the MLP runs
    once instead of once per event.
    """
    present = [p for p in parts if p is not None and p.shape[-1] != 0]
    if not present:
        return tf.zeros([1, 1], dtype=dtype)
    if len(present) == 1:
        return present[0]
    return tf.concat(present, axis=-1)


def _sum_last(t: tf.Tensor) -> tf.Tensor:
    """Sum over the last axis; a reshape when it has size 1, whose derivative is cheaper."""
    return tf.reshape(t, [-1]) if t.shape[-1] == 1 else tf.reduce_sum(t, axis=-1)


def _concat_columns(columns: Sequence[tf.Tensor]) -> tf.Tensor:
    """Concatenate (n, 1) columns; a single column is returned as is, adding no op."""
    return columns[0] if len(columns) == 1 else tf.concat(list(columns), axis=1)


def _columns(x: tf.Tensor, width: int) -> list[tf.Tensor]:
    """Split x into its (n, 1) columns; one Split op, whose gradient is a single concat."""
    return [x] if width == 1 else tf.split(x, width, axis=1)


# The flow has no data-dependent Python control flow, so AutoGraph conversion (which would
# also recurse into TFP internals) only adds tracing time when callers wrap us in tf.function.
_no_autograph = tf.autograph.experimental.do_not_convert


# Column blocks of the flat per-bin spline table, each ``bins`` wide (see _spline_maps).
_X_LO, _WIDTH, _Y_LO, _HEIGHT, _D_LO, _D_HI, _D_SUM = range(7)
_N_BLOCKS = 7


def _spline_maps(bins: int, bound: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Constant affine maps from the normalised conditioner outputs to the per-bin table.

    Every table entry (left knots, bin sizes, knot slopes with the unit end slopes, and the
    slope sum at both ends of a bin) is affine in the softmax outputs of widths and heights and
    the softplus outputs of the interior slopes. Two small matmuls with these constants build
    the whole table, cumsums and padding included; the gradient of a matmul is another matmul,
    whereas cumsum, pad, stack and broadcasting products each add several ops to every
    derivative graph.

    Returns:
        ``from_sizes`` (K, 2K), mapping one softmax row (widths or heights) to its K left
        knots followed by its K sizes; ``from_slopes`` (K - 1, 3K), mapping the softplus
        outputs to the blocks D_LO, D_HI, D_SUM; and ``offset`` (7K,), added to the table.
    """
    k = bins
    free = 2.0 * bound - k * _MIN_BIN_SIZE
    index = np.arange(k)
    # size_j = free * softmax_j + min; the left knot of bin i sums the sizes of bins j < i.
    strictly_before = (index[:, None] < index[None, :]).astype(float)
    from_sizes = free * np.concatenate([strictly_before, np.eye(k)], axis=1)
    offset = np.zeros((_N_BLOCKS, k))
    offset[[_X_LO, _Y_LO]] = _MIN_BIN_SIZE * index - bound
    offset[[_WIDTH, _HEIGHT]] = _MIN_BIN_SIZE
    # Knot slope j (1 <= j <= K - 1) is softplus_{j-1} + min; knots 0 and K have slope 1.
    # Bin i runs from knot i (its D_LO) to knot i + 1 (its D_HI).
    from_slopes = np.zeros((k - 1, 3 * k))
    for i in range(k):
        for block, knot in ((_D_LO, i), (_D_HI, i + 1)):
            for target in (block, _D_SUM):
                if 1 <= knot <= k - 1:
                    from_slopes[knot - 1, (target - _D_LO) * k + i] = 1.0
                    offset[target, i] += _MIN_SLOPE
                else:
                    offset[target, i] += 1.0
    return from_sizes, from_slopes, offset.reshape(-1)


def _block_sums(bins: int) -> np.ndarray:
    """(7K, 7) matrix summing each K-wide block of the table: picks bin values after masking."""
    return np.kron(np.eye(_N_BLOCKS), np.ones((bins, 1)))


def _select_bin(v: tf.Tensor, table: tf.Tensor, lo_block: int, bins: int) -> list[tf.Tensor]:
    """The table entries of the bin holding each value of v, without a gather.

    TFP uses searchsorted and batched gathers; the gradient of a gather is a scatter that TF
    builds slowly, and the Hessian differentiates that scatter again. Here a one-hot mask from
    comparisons with the left knots zeroes the other bins and a constant matmul sums each block,
    so every derivative is a product and a matmul. For K = 16 the extra arithmetic is small next
    to the conditioner networks.

    Args:
        v: Positions inside the box, shape (N, 1).
        table: Flat table, shape (N, 7K) or (1, 7K) (one spline for all rows).
        lo_block: Block of the left knots to search: _X_LO (forward) or _Y_LO (inverse).
        bins: Number of bins K.

    Returns:
        Seven (N, 1) tensors, in the order of the table's blocks.
    """
    lo = table[:, lo_block * bins : (lo_block + 1) * bins]
    # The first left knot is exactly -bound and v >= -bound, so the count is at least 1.
    index = tf.reduce_sum(tf.cast(v >= lo, tf.int32), axis=1) - 1
    mask = tf.one_hot(index, bins, dtype=table.dtype)[:, tf.newaxis, :]
    masked = tf.reshape(tf.reshape(table, [-1, _N_BLOCKS, bins]) * mask, [-1, _N_BLOCKS * bins])
    picked = tf.matmul(masked, tf.constant(_block_sums(bins), table.dtype))
    return tf.split(picked, _N_BLOCKS, axis=1)


def _rqs_log_slope(
    xi: tf.Tensor,
    xi1: tf.Tensor,
    xi2: tf.Tensor,
    two_s: tf.Tensor,
    d_lo: tf.Tensor,
    d_hi: tf.Tensor,
    s_over_denom: tf.Tensor,
) -> tf.Tensor:
    """log dy/dx of the rational quadratic inside a bin (Durkan et al. 2019, eq. 5).

    dy/dx = numer * (s / denom)^2 with numer a sum of non-negative terms, so nothing cancels;
    one log of the product (the slope itself, far from float limits even for extreme bins)
    keeps the derivative graphs smaller than a sum of logs. Arguments are the relative
    position xi in [0, 1], xi (1 - xi), xi^2, twice the bin's mean slope s, the knot slopes at
    both ends, and s over the spline's denominator, all shared with the value.
    """
    numer = d_hi * xi2 + two_s * xi1 + d_lo * tf.square(xi - 1.0)
    return tf.math.log(numer * tf.square(s_over_denom))


def _rqs_forward(
    x: tf.Tensor, table: tf.Tensor, bins: int, bound: float
) -> tuple[tf.Tensor, tf.Tensor]:
    """Rational-quadratic spline y(x) and log dy/dx per element, identity outside the box.

    Points outside are moved to the left edge before any arithmetic ("safe where"), so the
    discarded branch stays finite and cannot send NaN into the gradients. Divisions are written
    as products with reciprocals: a reciprocal's derivative is one op, a division's five.

    Args:
        x: Inputs, shape (N, 1).
        table: Flat table from :meth:`_Transform._spline_table`, shape (N, 7K) or (1, 7K).
        bins: Number of bins K.
        bound: Half-width of the box.

    Returns:
        y and log dy/dx, both of shape (N, 1).
    """
    outside = tf.abs(x) >= bound
    xs = tf.where(outside, tf.constant(-bound, x.dtype), x)
    x_k, w_k, y_k, h_k, d_lo, d_hi, d_sum = _select_bin(xs, table, _X_LO, bins)
    inv_w = tf.math.reciprocal(w_k)
    s = h_k * inv_w
    xi = (xs - x_k) * inv_w
    xi2 = tf.square(xi)
    xi1 = xi - xi2
    two_s = s * 2.0
    inv_denom = tf.math.reciprocal(s + (d_sum - two_s) * xi1)
    y = y_k + h_k * (s * xi2 + d_lo * xi1) * inv_denom
    log_slope = _rqs_log_slope(xi, xi1, xi2, two_s, d_lo, d_hi, s * inv_denom)
    return tf.where(outside, x, y), tf.where(outside, tf.zeros_like(log_slope), log_slope)


def _rqs_inverse(
    y: tf.Tensor, table: tf.Tensor, bins: int, bound: float
) -> tuple[tf.Tensor, tf.Tensor]:
    """Inverse of :func:`_rqs_forward` and its log dx/dy per element.

    Inside a bin the inverse is the root in [0, 1] of a quadratic a xi^2 + b xi + c = 0
    (Durkan et al. 2019, appendix A.3). Each sign of b gets the root formula without
    cancellation; for b < 0 monotonicity guarantees a > 0, and the unused branch of each
    formula is fed a harmless denominator so it stays finite (no NaN in gradients).

    Args:
        y: Outputs, shape (N, 1).
        table: Flat table, shape (N, 7K) or (1, 7K).
        bins: Number of bins K.
        bound: Half-width of the box.

    Returns:
        x and log dx/dy, both of shape (N, 1).
    """
    outside = tf.abs(y) >= bound
    ys = tf.where(outside, tf.constant(-bound, y.dtype), y)
    x_k, w_k, y_k, h_k, d_lo, d_hi, d_sum = _select_bin(ys, table, _Y_LO, bins)
    s = h_k * tf.math.reciprocal(w_k)
    two_s = s * 2.0
    rel = ys - y_k
    rel_delta = rel * (d_sum - two_s)
    a = h_k * (s - d_lo) + rel_delta
    b = h_k * d_lo - rel_delta
    c = -s * rel
    # relu, not maximum: guards rounding below zero with a one-op derivative.
    root = tf.sqrt(tf.nn.relu(tf.square(b) - 4.0 * a * c))
    negative_b = b < 0.0
    one = tf.ones_like(b)
    xi = tf.where(
        negative_b,
        (root - b) * tf.math.reciprocal(2.0 * tf.where(negative_b, a, one)),
        (2.0 * c) * tf.math.reciprocal(tf.where(negative_b, -one, -b - root)),
    )
    xi2 = tf.square(xi)
    xi1 = xi - xi2
    s_over_denom = s * tf.math.reciprocal(s + (d_sum - two_s) * xi1)
    log_slope = _rqs_log_slope(xi, xi1, xi2, two_s, d_lo, d_hi, s_over_denom)
    return (
        tf.where(outside, y, x_k + xi * w_k),
        tf.where(outside, tf.zeros_like(log_slope), -log_slope),
    )


def _dropout_rate(arch: Mapping[str, Any], kind: str) -> float:
    """Dropout probability of a coupling kind's conditioners; 0 unless ``<kind>_dropout`` is set."""
    return float(arch[f"{kind}_dropout_prob"]) if arch[f"{kind}_dropout"] else 0.0


class _Dense:
    """Fully connected layer on raw variables, so ordering and dtype are fully under our control."""

    def __init__(
        self,
        n_in: int,
        n_out: int,
        activation: str,
        rng: np.random.Generator,
        dtype: tf.DType,
        zero_init: bool,
        name: str,
    ) -> None:
        if zero_init:
            kernel = np.zeros((n_in, n_out))
        else:
            limit = math.sqrt(6.0 / (n_in + n_out))
            kernel = rng.uniform(-limit, limit, size=(n_in, n_out))
        np_dtype = dtype.as_numpy_dtype
        self.kernel = tf.Variable(kernel.astype(np_dtype), name=f"{name}_kernel")
        self.bias = tf.Variable(np.zeros(n_out, dtype=np_dtype), name=f"{name}_bias")
        self.activation = _ACTIVATIONS[activation]
        self.n_in = n_in
        self.n_out = n_out

    def __call__(self, h: tf.Tensor) -> tf.Tensor:
        # bias_add's derivative is one BiasAddGrad op; a broadcasting add needs a shape
        # reduction (Shape, BroadcastGradientArgs, Sum, Reshape) in every derivative graph.
        y = tf.nn.bias_add(tf.matmul(h, self.kernel), self.bias)
        return y if self.activation is None else self.activation(y)

    @property
    def variables(self) -> list[tf.Variable]:
        return [self.kernel, self.bias]

    def flops(self) -> int:
        return 2 * self.n_in * self.n_out + 2 * self.n_out


class _MLP:
    """Conditioner network; its zero-initialised output makes every coupling start at identity.

    Optional dropout follows every hidden layer (as INNFER's Keras Dropout did) and acts only
    when called with ``training=True``. Its masks come from stateless ops whose seeds a shared
    ``tf.random.Generator`` hands out: inside a ``tf.function`` each call then draws fresh masks
    (the generator state is a variable that advances), while training stays reproducible from
    the architecture seed and evaluation never touches the generator.
    """

    def __init__(
        self,
        n_in: int,
        n_out: int,
        units: int,
        n_hidden: int,
        activation: str,
        rng: np.random.Generator,
        dtype: tf.DType,
        name: str,
        dropout_rate: float = 0.0,
        dropout_rng: tf.random.Generator | None = None,
    ) -> None:
        self.layers: list[_Dense] = []
        width = n_in
        for i in range(n_hidden):
            self.layers.append(_Dense(width, units, activation, rng, dtype, False, f"{name}_h{i}"))
            width = units
        self.layers.append(_Dense(width, n_out, "linear", rng, dtype, True, f"{name}_out"))
        self.dropout_rate = float(dropout_rate) if dropout_rng is not None else 0.0
        self.dropout_rng = dropout_rng

    def __call__(self, h: tf.Tensor, training: bool = False) -> tf.Tensor:
        drop = training and self.dropout_rate > 0.0
        for layer in self.layers[:-1]:
            h = layer(h)
            if drop:
                seed = self.dropout_rng.make_seeds(1)[:, 0]
                h = tf.nn.experimental.stateless_dropout(h, self.dropout_rate, seed=seed)
        return self.layers[-1](h)

    @property
    def variables(self) -> list[tf.Variable]:
        return [v for layer in self.layers for v in layer.variables]

    def flops(self) -> int:
        return sum(layer.flops() for layer in self.layers)


class _Transform:
    """Element-wise invertible map of one block of dimensions, parametrised by a conditioner.

    ``forward`` is the data -> latent direction, matching :meth:`ConditionalFlow.forward`.
    The conditioner input may have one row for all events; the parameters then broadcast.
    """

    def __init__(
        self,
        kind: str,
        n_out: int,
        n_in: int,
        arch: Mapping[str, Any],
        rng: np.random.Generator,
        dtype: tf.DType,
        name: str,
        dropout_rng: tf.random.Generator | None = None,
    ) -> None:
        self.kind = kind
        self.n_out = n_out
        self.dtype = dtype
        if kind == "affine":
            n_params = 2 * n_out
            self.clamp = float(arch["soft_clamp"])
        else:
            self.bins = int(arch["spline_bins"])
            self.bound = float(arch["spline_bound"])
            self.use_tfp = arch["spline_implementation"] == "tfp"
            self.maps = _spline_maps(self.bins, self.bound)
            n_params = n_out * (3 * self.bins - 1)
        self.mlp = _MLP(
            max(n_in, 1),
            n_params,
            int(arch[f"{kind}_units_per_dense_layer"]),
            int(arch[f"{kind}_num_dense_layers"]),
            str(arch[f"{kind}_activation"]),
            rng,
            dtype,
            name,
            _dropout_rate(arch, kind),
            dropout_rng,
        )

    def _affine_params(self, h: tf.Tensor, training: bool = False) -> tuple[tf.Tensor, tf.Tensor]:
        s_raw, t = tf.split(self.mlp(h, training), 2, axis=-1)
        # Soft clamp bounds each per-layer log-scale to (-clamp, clamp): without it a single
        # step can blow the scale up and produce inf/NaN losses early in training.
        # Products with Python scalars (not divisions) take TF's one-op gradient fast path.
        s = tf.math.atan(s_raw * (1.0 / self.clamp)) * (2.0 * self.clamp / math.pi)
        return s, t

    def _spline_params(
        self, h: tf.Tensor, training: bool = False
    ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """Bin widths, bin heights and interior knot slopes, shapes (m, d, K|K|K-1).

        The TFP cross-check and the tests use these; the default path builds the equivalent
        flat table in :meth:`_spline_table`.
        """
        k = self.bins
        raw = tf.reshape(self.mlp(h, training), [-1, self.n_out, 3 * k - 1])
        w_raw, h_raw, d_raw = tf.split(raw, [k, k, k - 1], axis=-1)
        free = 2.0 * self.bound - k * _MIN_BIN_SIZE
        widths = tf.nn.softmax(w_raw, axis=-1) * free + _MIN_BIN_SIZE
        heights = tf.nn.softmax(h_raw, axis=-1) * free + _MIN_BIN_SIZE
        slopes = tf.math.softplus(d_raw + _SLOPE_SHIFT) + _MIN_SLOPE
        return widths, heights, slopes

    def _spline_table(self, h: tf.Tensor, training: bool = False) -> tf.Tensor:
        """Flat per-bin table (see _spline_maps), one row per event and dimension.

        Same parametrisation as :meth:`_spline_params`, but laid out as 2-D matrices so that
        building the table and picking bins are matmuls, which keeps derivative graphs small.

        Returns:
            Shape (m * d, 7K): m rows of h, d = n_out dimensions, row r = event r // d and
            dimension r % d, matching a (n, d) -> (n * d, 1) reshape of the points.
        """
        k = self.bins
        raw = tf.reshape(self.mlp(h, training), [-1, 3 * k - 1])
        size_raw, slope_raw = tf.split(raw, [2 * k, k - 1], axis=1)
        from_sizes, from_slopes, offset = (tf.constant(m, self.dtype) for m in self.maps)
        # Widths and heights as consecutive rows of one softmax; each row maps to its knots and
        # sizes, and the reshape puts them side by side: blocks X_LO, WIDTH, Y_LO, HEIGHT.
        sizes = tf.nn.softmax(tf.reshape(size_raw, [-1, k]))
        knots_and_sizes = tf.reshape(tf.matmul(sizes, from_sizes), [-1, 4 * k])
        slopes = tf.matmul(tf.math.softplus(slope_raw + _SLOPE_SHIFT), from_slopes)
        return tf.concat([knots_and_sizes, slopes], axis=1) + offset

    def _tfp_spline(self, h: tf.Tensor, training: bool = False) -> Any:
        """TFP's bijector on the same parameters; kept only as an independent cross-check."""
        import tensorflow_probability as tfp  # Imported lazily: slow, and unused by default.

        widths, heights, slopes = self._spline_params(h, training)
        return tfp.bijectors.RationalQuadraticSpline(
            bin_widths=widths,
            bin_heights=heights,
            knot_slopes=slopes,
            range_min=tf.constant(-self.bound, dtype=self.dtype),
        )

    def _spline(
        self,
        method: Callable[..., tuple[tf.Tensor, tf.Tensor]],
        points: tf.Tensor,
        h: tf.Tensor,
        training: bool = False,
    ) -> tuple[tf.Tensor, tf.Tensor]:
        """Apply _rqs_forward or _rqs_inverse on the flat (n * d, 1) layout and sum log-dets.

        With d > 1 the conditioner input must have one row per event (the flow guarantees it:
        such conditioners always see other dimensions of x); a single row broadcasts only in
        the d = 1 case, where the table then has one row for all points.
        """
        out, log_slope = method(
            tf.reshape(points, [-1, 1]), self._spline_table(h, training), self.bins, self.bound
        )
        if self.n_out == 1:
            return out, tf.reshape(log_slope, [-1])
        log_slope = tf.reshape(log_slope, [-1, self.n_out])
        return tf.reshape(out, [-1, self.n_out]), _sum_last(log_slope)

    def forward(
        self, u: tf.Tensor, h: tf.Tensor, training: bool = False
    ) -> tuple[tf.Tensor, tf.Tensor]:
        """Data -> latent direction; ``training`` switches the conditioner's dropout on."""
        if self.kind == "affine":
            s, t = self._affine_params(h, training)
            return u * tf.exp(s) + t, _sum_last(s)
        if self.use_tfp:
            spline = self._tfp_spline(h, training)
            log_det = spline.forward_log_det_jacobian(u, event_ndims=0)
            return spline.forward(u), tf.reduce_sum(log_det, axis=-1)
        return self._spline(_rqs_forward, u, h, training)

    def inverse(self, v: tf.Tensor, h: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        if self.kind == "affine":
            s, t = self._affine_params(h)
            return (v - t) * tf.exp(-s), -_sum_last(s)
        if self.use_tfp:
            spline = self._tfp_spline(h)
            log_det = spline.inverse_log_det_jacobian(v, event_ndims=0)
            return spline.inverse(v), tf.reduce_sum(log_det, axis=-1)
        return self._spline(_rqs_inverse, v, h)

    @property
    def variables(self) -> list[tf.Variable]:
        return self.mlp.variables

    def flops(self) -> int:
        # Dense layers dominate. Per dimension the affine update costs ~12 (atan, exp, fma);
        # the spline costs its table matmuls (8K^2 + 6K(K - 1)), the masked bin pick
        # (2 * 7 * 7K) and ~60 for softmax, softplus and the rational function.
        k = getattr(self, "bins", 0)
        per_dim = 12 if self.kind == "affine" else 8 * k * k + 6 * k * (k - 1) + 98 * k + 60
        return self.mlp.flops() + per_dim * self.n_out


class _LogDets:
    """Collects per-coupling log-determinants and adds them with one AddN per kind.

    A chain of broadcasting adds puts a shape reduction into every derivative graph; AddN's
    derivative is the incoming gradient itself. AddN needs equal shapes, which holds within a
    kind: in 1-D with a single-row cond the affine terms have one row and the spline terms one
    per event, so the kinds are summed separately and then added once.
    """

    def __init__(self) -> None:
        self.terms: dict[str, list[tf.Tensor]] = {}

    def add(self, kind: str, term: tf.Tensor) -> None:
        self.terms.setdefault(kind, []).append(term)

    def total(self) -> tf.Tensor:
        sums = [t[0] if len(t) == 1 else tf.add_n(t) for t in self.terms.values()]
        return sums[0] if len(sums) == 1 else sums[0] + sums[1]


class _LUMixing:
    """Trainable invertible linear map x -> x Wᵀ of all dimensions: a learnable permutation.

    W = P L (U + diag(sign * exp(log_s))) with a fixed permutation matrix P, unit-lower L,
    strictly-upper U, fixed signs and trainable log-scales (Kingma & Dhariwal 2018). Any value
    of the trainable entries gives an invertible W with log|det W| = Σ log_s, so the
    log-Jacobian costs a sum instead of a determinant and the inverse is two triangular solves.

    The trainable entries live in one (d, d) variable: strictly lower part -> L, strictly upper
    part -> U, diagonal -> log_s. No entry is unused, so optimisers and weight decay act only on
    parameters that matter. P, the signs and the initial values come from the LU decomposition
    of a random orthogonal matrix drawn from the architecture seed, so the map starts as a
    rotation/reflection and a float64 twin rebuilds the same fixed parts. In 1-D the map reduces
    to a trainable scalar scale sign * exp(log_s).
    """

    def __init__(self, n_x: int, rng: np.random.Generator, dtype: tf.DType, name: str) -> None:
        import scipy.linalg  # Imported lazily: only learnable permutations need it.

        q, r = np.linalg.qr(rng.normal(size=(n_x, n_x)))
        # Fixing the signs of R's diagonal makes Q Haar-distributed, not biased by QR's choice.
        q = q * np.where(np.diag(r) < 0.0, -1.0, 1.0)
        perm, lower, upper = scipy.linalg.lu(q)
        diag = np.diag(upper)
        self.n_x = n_x
        self.dtype = dtype
        self.sign = np.where(diag < 0.0, -1.0, 1.0)
        self.perm_matrix = perm
        packed = np.tril(lower, -1) + np.triu(upper, 1) + np.diag(np.log(np.abs(diag)))
        self.lu = tf.Variable(packed.astype(dtype.as_numpy_dtype), name=f"{name}_mixing_lu")
        self.strict_lower = np.tril(np.ones((n_x, n_x)), -1)
        self.strict_upper = np.triu(np.ones((n_x, n_x)), 1)

    def _factors(self) -> tuple[tf.Tensor, tf.Tensor]:
        """The triangular factors L (unit lower) and U + diag(sign * exp(log_s))."""
        m = self.lu
        lower = m * self._const(self.strict_lower) + self._const(np.eye(self.n_x))
        diag = self._const(self.sign) * tf.exp(tf.linalg.diag_part(m))
        upper = m * self._const(self.strict_upper) + tf.linalg.diag(diag)
        return lower, upper

    def _const(self, a: np.ndarray) -> tf.Tensor:
        return tf.constant(a, self.dtype)

    def matrix(self) -> tf.Tensor:
        """The mixing matrix W, shape (d, d): forward maps each row x to W x."""
        lower, upper = self._factors()
        return self._const(self.perm_matrix) @ lower @ upper

    def log_det(self) -> tf.Tensor:
        """log|det W| = Σ log_s, a scalar shared by every event."""
        return tf.reduce_sum(tf.linalg.diag_part(self.lu))

    def forward(self, x: tf.Tensor) -> tf.Tensor:
        """Rows x -> W x, i.e. x Wᵀ for the (n, d) batch."""
        return tf.matmul(x, self.matrix(), transpose_b=True)

    def inverse(self, y: tf.Tensor) -> tf.Tensor:
        """Solve W x = y for every row by two triangular solves (no explicit inverse of W).

        With W = P L U: xᵀ = U⁻¹ L⁻¹ Pᵀ yᵀ, and Pᵀ yᵀ = (y P)ᵀ since P is a permutation.
        """
        lower, upper = self._factors()
        rhs = tf.transpose(tf.matmul(y, self._const(self.perm_matrix)))
        rhs = tf.linalg.triangular_solve(lower, rhs, lower=True)
        return tf.transpose(tf.linalg.triangular_solve(upper, rhs, lower=False))

    @property
    def variables(self) -> list[tf.Variable]:
        return [self.lu]

    def flops(self) -> int:
        # One (1, d) x (d, d) product per event; building W is shared by the whole batch.
        return 2 * self.n_x * self.n_x


class _CouplingLayer:
    """ActNorm, a permutation or learnable mixing, then two half couplings updating every dimension.

    The ActNorm and mixing log-determinants do not depend on the events; the flow adds all
    layers' terms once (see :meth:`ConditionalFlow._constant_log_det`) instead of per layer.
    """

    def __init__(
        self,
        kind: str,
        n_x: int,
        n_cond: int,
        arch: Mapping[str, Any],
        rng: np.random.Generator,
        permutation: np.ndarray | None,
        dtype: tf.DType,
        name: str,
        mixing: _LUMixing | None = None,
        dropout_rng: tf.random.Generator | None = None,
    ) -> None:
        self.n_x = n_x
        self.d1 = (n_x + 1) // 2
        self.d2 = n_x - self.d1
        self.dtype = dtype
        np_dtype = dtype.as_numpy_dtype
        self.act_norm = bool(arch["act_norm"])
        if self.act_norm:
            self.scale = tf.Variable(np.ones(n_x, dtype=np_dtype), name=f"{name}_actnorm_scale")
            self.shift = tf.Variable(np.zeros(n_x, dtype=np_dtype), name=f"{name}_actnorm_shift")
        self.mixing = mixing
        self.permutation = np.arange(n_x) if permutation is None else np.asarray(permutation)
        # Permutations are applied by splitting into columns and concatenating them in the new
        # order: unlike tf.gather, whose gradient is a scatter, split and concat differentiate
        # into each other, which keeps gradient and Hessian graphs small.
        self.identity_perm = bool(np.array_equal(self.permutation, np.arange(n_x)))
        self.inv_permutation = np.argsort(self.permutation)
        t_args = (arch, rng, dtype)
        self.t1 = _Transform(kind, self.d1, self.d2 + n_cond, *t_args, f"{name}_t1", dropout_rng)
        self.t2 = (
            _Transform(kind, self.d2, self.d1 + n_cond, *t_args, f"{name}_t2", dropout_rng)
            if self.d2 > 0
            else None
        )

    def _permute_split(self, x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor | None]:
        """Permute (or mix) the columns of x and split them into the two halves."""
        if self.mixing is not None:
            x = self.mixing.forward(x)
        if self.d2 == 0:
            return x, None
        if self.identity_perm:
            x1, x2 = tf.split(x, [self.d1, self.d2], axis=1)
            return x1, x2
        cols = _columns(x, self.n_x)
        order = self.permutation
        return (
            _concat_columns([cols[i] for i in order[: self.d1]]),
            _concat_columns([cols[i] for i in order[self.d1 :]]),
        )

    def _merge_unpermute(self, x1: tf.Tensor, x2: tf.Tensor | None) -> tf.Tensor:
        """Inverse of _permute_split."""
        if x2 is None:
            x = x1
        elif self.identity_perm:
            x = tf.concat([x1, x2], axis=1)
        else:
            cols = _columns(x1, self.d1) + _columns(x2, self.d2)
            x = _concat_columns([cols[j] for j in self.inv_permutation])
        return x if self.mixing is None else self.mixing.inverse(x)

    def forward(
        self,
        x: tf.Tensor,
        cond: tf.Tensor | None,
        log_dets: _LogDets,
        training: bool = False,
    ) -> tf.Tensor:
        """Data -> latent direction; appends each half coupling's log-det to log_dets."""
        if self.act_norm:
            x = x * self.scale + self.shift
        x1, x2 = self._permute_split(x)
        y1, log_det = self.t1.forward(x1, _join([x2, cond], self.dtype), training)
        log_dets.add(self.t1.kind, log_det)
        if self.t2 is None:
            return y1
        y2, log_det = self.t2.forward(x2, _join([y1, cond], self.dtype), training)
        log_dets.add(self.t2.kind, log_det)
        return tf.concat([y1, y2], axis=-1)

    def inverse(self, y: tf.Tensor, cond: tf.Tensor | None, log_dets: _LogDets) -> tf.Tensor:
        """Latent -> data direction; appends each half coupling's log-det to log_dets."""
        if self.t2 is not None:
            y1, y2 = tf.split(y, [self.d1, self.d2], axis=1)
            x2, log_det = self.t2.inverse(y2, _join([y1, cond], self.dtype))
            log_dets.add(self.t2.kind, log_det)
            x1, log_det = self.t1.inverse(y1, _join([x2, cond], self.dtype))
        else:
            x2 = None
            x1, log_det = self.t1.inverse(y, _join([cond], self.dtype))
        log_dets.add(self.t1.kind, log_det)
        x = self._merge_unpermute(x1, x2)
        if self.act_norm:
            x = (x - self.shift) / self.scale
        return x

    @property
    def variables(self) -> list[tf.Variable]:
        out = [self.scale, self.shift] if self.act_norm else []
        if self.mixing is not None:
            out += self.mixing.variables
        out += self.t1.variables
        if self.t2 is not None:
            out += self.t2.variables
        return out

    def flops(self) -> int:
        total = self.t1.flops() + (self.t2.flops() if self.t2 is not None else 0)
        total += self.mixing.flops() if self.mixing is not None else 0
        return total + (2 * self.n_x if self.act_norm else 0)


class ConditionalFlow(tf.Module):
    """Normalizing flow for q(x | θ) built from conditional coupling layers.

    All public methods accept NumPy arrays or tensors, cast them to the flow's dtype and are
    traceable, so callers can wrap them in ``tf.function`` with a ``[None, n]`` input signature.
    For an unconditional flow (``n_cond = 0``) ``cond`` may be None wherever the number of events
    is implied by another argument; :meth:`sample` needs a ``(n, 0)`` array to know ``n``.
    """

    def __init__(
        self,
        n_x: int,
        n_cond: int,
        architecture: Mapping[str, Any] | None = None,
        dtype: str = "float32",
    ) -> None:
        """Build the layers; weights depend only on the architecture (its seed), not TF state.

        Args:
            n_x: Number of observables (dimension of x), at least 1.
            n_cond: Number of conditioning parameters θ, may be 0.
            architecture: Flow options (see DEFAULT_ARCHITECTURE); unknown keys are ignored.
            dtype: "float32" for training, "float64" for precise likelihood fits.
        """
        super().__init__(name="conditional_flow")
        if n_x < 1 or n_cond < 0:
            raise ValueError(f"need n_x >= 1 and n_cond >= 0, got n_x={n_x}, n_cond={n_cond}")
        self.n_x = int(n_x)
        self.n_cond = int(n_cond)
        # Plain containers (not TF trackable wrappers) so callers can YAML-dump the architecture;
        # the variables are exposed explicitly through trainable_variables instead.
        self._architecture = self._no_dependency(resolve_architecture(architecture))
        self._dtype = tf.as_dtype(dtype)
        if self._dtype not in (tf.float32, tf.float64):
            raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")
        arch = self._architecture
        # Separate streams per purpose (spawned children do not depend on how many are
        # spawned), so adding an option never changes the weights of existing configurations.
        weight_seq, perm_seq, dropout_seq = np.random.SeedSequence(int(arch["seed"])).spawn(3)
        weight_rng = np.random.default_rng(weight_seq)
        perm_rng = np.random.default_rng(perm_seq)
        kinds = _layer_kinds(arch["coupling_design"], int(arch["num_coupling_layers"]))
        # One generator, created eagerly here (tf.function cannot create it), feeds every
        # dropout mask; flows without dropout carry no random state at all.
        self._dropout_rng: tf.random.Generator | None = None
        if any(_dropout_rate(arch, kind) > 0.0 for kind in set(kinds)):
            self._dropout_rng = tf.random.Generator.from_seed(int(dropout_seq.generate_state(1)[0]))
        self._layers: list[_CouplingLayer] = self._no_dependency([])
        for i, kind in enumerate(kinds):
            perm = perm_rng.permutation(self.n_x) if arch["permutation"] == "fixed" else None
            mixing = (
                _LUMixing(self.n_x, perm_rng, self._dtype, f"layer{i}")
                if arch["permutation"] == "learnable"
                else None
            )
            self._layers.append(
                _CouplingLayer(
                    kind,
                    self.n_x,
                    self.n_cond,
                    arch,
                    weight_rng,
                    perm,
                    self._dtype,
                    f"layer{i}",
                    mixing=mixing,
                    dropout_rng=self._dropout_rng,
                )
            )
        self._variables: list[tf.Variable] = self._no_dependency(
            [v for layer in self._layers for v in layer.variables]
        )
        self._log_norm = -0.5 * self.n_x * math.log(2.0 * math.pi)

    @property
    def architecture(self) -> dict[str, Any]:
        """The resolved architecture (defaults filled in), as a fresh plain dict."""
        return copy.deepcopy(self._architecture)

    @property
    def dtype(self) -> tf.DType:
        """The dtype of all weights and outputs."""
        return self._dtype

    @property
    def smooth_in_condition(self) -> bool:
        """Whether log q(x | θ) is twice continuously differentiable in θ for every x.

        Affine couplings (smooth activations, tanh soft clamp), ActNorm and the mixings are.
        A rational-quadratic spline is only C¹ in x, so log dy/dx jumps in slope wherever a
        knot, which moves with θ, passes an event (and at the box edge): each event's
        log-density has kinks in θ. Autodiff returns the second derivative between kinks and
        misses the kinks' share of the NLL curvature, which for ~1e5 events is of the same
        order as the smooth part (2.6x too large a curvature on the varying-yield benchmark).
        """
        arch = self._architecture
        kinds = _layer_kinds(arch["coupling_design"], int(arch["num_coupling_layers"]))
        return all(kind == "affine" for kind in kinds)

    @property
    def trainable_variables(self) -> tuple[tf.Variable, ...]:
        """Variables in creation order, the same order as get_weights."""
        return tuple(self._variables)

    @property
    def variables(self) -> tuple[tf.Variable, ...]:
        """All variables of the flow (all are trainable)."""
        return tuple(self._variables)

    @property
    def permutations(self) -> list[np.ndarray]:
        """Per-layer permutation of the dimensions, for inspection and reproducibility checks.

        Layer k's output column j holds its input column ``permutations[k][j]`` (before the
        coupling transforms). With ``permutation: learnable`` these are identities and the
        reordering is part of :meth:`mixing_matrices` instead.
        """
        return [layer.permutation.copy() for layer in self._layers]

    def mixing_matrices(self) -> list[np.ndarray]:
        """Per-layer (n_x, n_x) matrix W that maps each event x to W x before the couplings.

        For ``fixed`` and ``none`` this is the permutation matrix of :attr:`permutations`; for
        ``learnable`` the current trainable mixing matrix, so tests and diagnostics can compare
        against an explicit determinant.
        """
        out = []
        for layer in self._layers:
            if layer.mixing is not None:
                out.append(layer.mixing.matrix().numpy())
            else:
                out.append(np.eye(self.n_x)[layer.permutation])
        return out

    def _cast(self, a: Any) -> tf.Tensor:
        t = tf.convert_to_tensor(a)
        return t if t.dtype == self._dtype else tf.cast(t, self._dtype)

    def _cond(self, cond: Any, n: tf.Tensor) -> tf.Tensor | None:
        """Cast cond; for n_x > 1 also broadcast a single row to all n events.

        In 1-D the conditioners see only cond, so a single row is kept as is and every
        network then runs once for all events. For n_x > 1 cond is concatenated with
        per-event columns and must have n rows; broadcasting an (n, n_cond) input is free.
        """
        if self.n_cond == 0:
            return None
        if cond is None:
            raise ValueError(f"this flow needs cond of shape (n, {self.n_cond})")
        c = self._cast(cond)
        if self.n_x > 1:
            c = tf.broadcast_to(c, tf.stack([n, self.n_cond]))
        return c

    def _constant_log_det(self) -> tf.Tensor | None:
        """Sum of all layers' ActNorm log|scale| and mixing log|det W|, shared by every event.

        None when the flow has neither, so no op is added to the graphs.
        """
        terms = []
        if self._layers[0].act_norm:
            scales = tf.concat([layer.scale for layer in self._layers], axis=0)
            terms.append(tf.reduce_sum(tf.math.log(tf.abs(scales))))
        terms += [layer.mixing.log_det() for layer in self._layers if layer.mixing is not None]
        if not terms:
            return None
        return terms[0] if len(terms) == 1 else tf.add_n(terms)

    def _total_log_det(self, log_dets: _LogDets, sign: float, n: tf.Tensor) -> tf.Tensor:
        """Add the per-layer log-determinants and the event-independent terms into shape (n,)."""
        total = log_dets.total()
        constant = self._constant_log_det()
        if constant is not None:
            total = total + sign * constant
        if self.n_x == 1:
            # Conditioners that see only a single-row cond give (1,) terms; the
            # other dimensions' columns make every term (n,) already.
            total = tf.broadcast_to(total, tf.reshape(n, [1]))
        return total

    @_no_autograph
    def forward(self, x: Any, cond: Any, training: bool = False) -> tuple[tf.Tensor, tf.Tensor]:
        """Map data to latent space.

        Args:
            x: Standardised observables, shape (n, n_x).
            cond: Standardised parameters, shape (n, n_cond), or (1, n_cond) for one θ shared
                by all events (cheaper in 1-D); ignored when n_cond = 0.
            training: Apply the conditioners' dropout (if configured). Only the training step
                sets it; evaluation must stay deterministic, so it defaults to False.

        Returns:
            z of shape (n, n_x) and log|det ∂z/∂x| of shape (n,).
        """
        x = self._cast(x)
        n = tf.shape(x)[0]
        c = self._cond(cond, n)
        log_dets = _LogDets()
        for layer in self._layers:
            x = layer.forward(x, c, log_dets, training)
        return x, self._total_log_det(log_dets, 1.0, n)

    @_no_autograph
    def forward_stages(self, x: Any, cond: Any) -> list[tf.Tensor]:
        """The data after 0, 1, ..., L coupling layers, for INNFER's "Flow" plot.

        Stage k applies the first k layers and then undoes the permutations of those layers
        (last first), so every column keeps describing the same variable and a plot of stage k
        against stage 0 shows how each variable is gradually Gaussianised. Stage 0 is the input
        and stage L is the forward output z with its columns put back in input order.

        A ``learnable`` mixing is not a reordering and cannot be undone without undoing the
        layer itself, so with it the raw layer outputs are returned (columns then mix the
        variables). Dropout is never applied here.

        Args:
            x: Standardised observables, shape (n, n_x).
            cond: Standardised parameters, as for :meth:`forward`.

        Returns:
            A list of L + 1 tensors of shape (n, n_x).
        """
        x = self._cast(x)
        n = tf.shape(x)[0]
        c = self._cond(cond, n)
        stages = [x]
        # Column j of the current output holds input variable order[j].
        order = np.arange(self.n_x)
        for layer in self._layers:
            x = layer.forward(x, c, _LogDets())
            if layer.mixing is not None:
                stages.append(x)
                continue
            order = order[layer.permutation]
            restore = np.argsort(order)
            same = np.array_equal(restore, np.arange(self.n_x))
            stages.append(x if same else tf.gather(x, restore, axis=1))
        return stages

    @_no_autograph
    def inverse(
        self, z: Any, cond: Any, return_log_det: bool = False
    ) -> tf.Tensor | tuple[tf.Tensor, tf.Tensor]:
        """Map latent points back to data space.

        Args:
            z: Latent points, shape (n, n_x).
            cond: Parameters, shape (n, n_cond) or (1, n_cond); ignored when n_cond = 0.
            return_log_det: Also return log|det ∂x/∂z|, computed along the inverse path so it
                can serve as an independent check of the forward log-Jacobian.

        Returns:
            x of shape (n, n_x), or (x, log_det) when return_log_det is set.
        """
        z = self._cast(z)
        n = tf.shape(z)[0]
        c = self._cond(cond, n)
        log_dets = _LogDets()
        for layer in reversed(self._layers):
            z = layer.inverse(z, c, log_dets)
        if not return_log_det:
            return z
        return z, self._total_log_det(log_dets, -1.0, n)

    def base_log_prob(self, z: tf.Tensor) -> tf.Tensor:
        """Log density of the standard normal base distribution, shape (n,)."""
        return self._log_norm - 0.5 * _sum_last(tf.square(z))

    @_no_autograph
    def log_prob(self, x: Any, cond: Any, training: bool = False) -> tf.Tensor:
        """Log density log q(x | cond) in standardised space, shape (n,), in the flow's dtype.

        Args:
            x: Standardised observables, shape (n, n_x).
            cond: Standardised parameters, as for :meth:`forward`.
            training: Apply dropout (training step only); see :meth:`forward`.
        """
        z, log_det = self.forward(x, cond, training)
        return self.base_log_prob(z) + log_det

    def sample(self, cond: Any, seed: int) -> tf.Tensor:
        """Draw one x per row of cond, reproducibly for a given seed.

        Args:
            cond: Parameters, shape (n, n_cond); for n_cond = 0 an (n, 0) array sets n.
            seed: Integer seed of the stateless normal draw, so results do not depend on any
                global random state.

        Returns:
            Samples of shape (n, n_x).
        """
        c = self._cast(cond)
        n = tf.shape(c)[0]
        z = tf.random.stateless_normal(
            tf.stack([n, self.n_x]), seed=[int(seed), 0], dtype=self._dtype
        )
        return self.inverse(z, c)

    def get_weights(self) -> list[np.ndarray]:
        """Copies of all weights in a stable (creation) order."""
        return [v.numpy() for v in self._variables]

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        """Assign weights from get_weights of a flow with the same shape; casts to our dtype.

        Raises:
            ValueError: If the number or shapes of the arrays do not match.
        """
        weights = list(weights)
        if len(weights) != len(self._variables):
            raise ValueError(f"expected {len(self._variables)} arrays, got {len(weights)}")
        for i, (var, w) in enumerate(zip(self._variables, weights, strict=True)):
            w = np.asarray(w)
            if tuple(w.shape) != tuple(var.shape):
                raise ValueError(f"weight {i}: shape {w.shape} != expected {tuple(var.shape)}")
            var.assign(w.astype(self._dtype.as_numpy_dtype))

    def _signature(self) -> str:
        """Canonical text of everything that shapes the map besides the weights.

        Two flows with the same weight shapes can still differ (seed-dependent permutations,
        clamp, spline bound), so load compares this text instead of trusting shapes alone.
        """
        canonical = {
            k: _canonical(self._architecture[k])
            for k in DEFAULT_ARCHITECTURE
            if k not in _NOT_IN_SIGNATURE
        }
        return json.dumps({"n_x": self.n_x, "n_cond": self.n_cond, **canonical}, sort_keys=True)

    def save(self, path: str) -> None:
        """Write the weights and a signature of dimensions and architecture to one .npz file.

        The file handle is opened here so NumPy writes exactly to path (no added suffix).
        """
        arrays = {f"w{i:04d}": w for i, w in enumerate(self.get_weights())}
        arrays["meta_signature"] = np.array(self._signature())
        with open(path, "wb") as handle:
            np.savez(handle, **arrays)

    @classmethod
    def load(
        cls,
        path: str,
        n_x: int,
        n_cond: int,
        architecture: Mapping[str, Any],
        dtype: str = "float32",
    ) -> ConditionalFlow:
        """Rebuild a flow from its architecture and load weights written by save.

        Raises:
            ValueError: If the file was written for other dimensions or another architecture.
        """
        flow = cls(n_x, n_cond, architecture, dtype=dtype)
        with np.load(path) as data:
            stored = str(data["meta_signature"])
            if stored != flow._signature():
                raise ValueError(
                    f"{path} was saved for {stored}, which does not match the requested "
                    f"{flow._signature()}"
                )
            keys = sorted(k for k in data.files if k.startswith("w"))
            flow.set_weights([data[k] for k in keys])
        return flow

    def count_flops_per_event(self) -> int:
        """Approximate floating-point operations (2 per multiply-add) of one log_prob event.

        Includes each learnable mixing's per-event matrix product; building the mixing matrices
        and the ActNorm/mixing log-determinants is shared by a batch and left out.
        """
        return sum(layer.flops() for layer in self._layers) + 3 * self.n_x
