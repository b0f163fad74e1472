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
import tensorflow_probability as tfp  # noqa: E402

DEFAULT_ARCHITECTURE: dict[str, Any] = {
    "coupling_design": "interleaved",
    "num_coupling_layers": 10,
    "permutation": "fixed",
    "act_norm": True,
    "affine_units_per_dense_layer": 128,
    "affine_num_dense_layers": 2,
    "affine_activation": "relu",
    "spline_units_per_dense_layer": 128,
    "spline_num_dense_layers": 2,
    "spline_activation": "relu",
    "spline_bins": 16,
    "spline_bound": 5.0,
    "soft_clamp": 1.9,
    "seed": 42,
}

COUPLING_DESIGNS = ("affine", "spline", "interleaved")
PERMUTATIONS = ("fixed", "none")

# Lower bounds keep the spline strictly monotone with finite slopes, so the inverse and the
# log-Jacobian stay well conditioned even when the conditioner outputs become extreme.
_MIN_BIN_SIZE = 1e-3
_MIN_SLOPE = 1e-3
# softplus(_SLOPE_SHIFT) + _MIN_SLOPE == 1: a zero conditioner output gives unit knot slopes,
# which together with uniform bins makes the initial spline exactly the identity.
_SLOPE_SHIFT = math.log(math.expm1(1.0 - _MIN_SLOPE))

_ACTIVATIONS: dict[str, Callable[[tf.Tensor], tf.Tensor] | None] = {
    "relu": tf.nn.relu,
    "elu": tf.nn.elu,
    "selu": tf.nn.selu,
    "gelu": tf.nn.gelu,
    "swish": tf.nn.silu,
    "silu": tf.nn.silu,
    "tanh": tf.math.tanh,
    "sigmoid": tf.math.sigmoid,
    "softplus": tf.math.softplus,
    "leaky_relu": tf.nn.leaky_relu,
    "linear": None,
}


def resolve_architecture(architecture: Mapping[str, Any] | None) -> dict[str, Any]:
    """Merge an architecture mapping onto the defaults and validate the flow keys.

    Architecture YAMLs also carry training options (epochs, batch size, ...); those keys are
    passed through untouched so the same mapping can feed both the flow and the trainer.

    Args:
        architecture: User options, or None for the defaults.

    Returns:
        A new dict holding every default key, overridden where the user gave a value.

    Raises:
        ValueError: If a flow option has an unsupported value.
    """
    arch = dict(DEFAULT_ARCHITECTURE)
    if architecture:
        arch.update(dict(architecture))
    if arch["coupling_design"] not in COUPLING_DESIGNS:
        raise ValueError(
            f"coupling_design must be one of {COUPLING_DESIGNS}, got {arch['coupling_design']!r}"
        )
    if arch["permutation"] not in PERMUTATIONS:
        raise ValueError(f"permutation must be one of {PERMUTATIONS}, got {arch['permutation']!r}")
    if int(arch["num_coupling_layers"]) < 1:
        raise ValueError("num_coupling_layers must be at least 1")
    if int(arch["spline_bins"]) < 2:
        raise ValueError("spline_bins must be at least 2")
    if float(arch["spline_bound"]) <= 0 or float(arch["soft_clamp"]) <= 0:
        raise ValueError("spline_bound and soft_clamp must be positive")
    for prefix in ("affine", "spline"):
        if arch[f"{prefix}_activation"] not in _ACTIVATIONS:
            raise ValueError(
                f"{prefix}_activation must be one of {sorted(_ACTIVATIONS)}, "
                f"got {arch[f'{prefix}_activation']!r}"
            )
        if (
            int(arch[f"{prefix}_num_dense_layers"]) < 0
            or int(arch[f"{prefix}_units_per_dense_layer"]) < 1
        ):
            raise ValueError(f"{prefix} MLP needs >= 0 hidden layers of >= 1 unit")
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


def _join(parts: Sequence[tf.Tensor | None], n: tf.Tensor, dtype: tf.DType) -> tf.Tensor:
    """Concatenate conditioner inputs, substituting one zero column when all are empty.

    The zero column lets a conditioner with nothing to condition on (1-D unconditional flow)
    reuse the ordinary MLP: its output is then a learned constant set by the biases.
    """
    present = [p for p in parts if p is not None and p.shape[-1] != 0]
    if not present:
        return tf.zeros(tf.stack([n, 1]), dtype=dtype)
    if len(present) == 1:
        return present[0]
    return tf.concat(present, axis=-1)


# The flow has no data-dependent Python control flow, so AutoGraph conversion (which would
# also recurse into TFP internals) only adds tracing time when callers wrap us in tf.function.
_no_autograph = tf.autograph.experimental.do_not_convert


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
        y = tf.matmul(h, self.kernel) + self.bias
        return y if self.activation is None else self.activation(y)

    @property
    def variables(self) -> list[tf.Variable]:
        return [self.kernel, self.bias]

    def flops(self) -> int:
        return 2 * self.n_in * self.n_out + 2 * self.n_out


class _MLP:
    """Conditioner network; its zero-initialised output makes every coupling start at identity."""

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
    ) -> None:
        self.layers: list[_Dense] = []
        width = n_in
        for i in range(n_hidden):
            self.layers.append(_Dense(width, units, activation, rng, dtype, False, f"{name}_h{i}"))
            width = units
        self.layers.append(_Dense(width, n_out, "linear", rng, dtype, True, f"{name}_out"))

    def __call__(self, h: tf.Tensor) -> tf.Tensor:
        for layer in self.layers:
            h = layer(h)
        return h

    @property
    def variables(self) -> list[tf.Variable]:
        return [v for layer in self.layers for v in layer.variables]

    def flops(self) -> int:
        return sum(layer.flops() for layer in self.layers)


class _Transform:
    """Element-wise invertible map of one block of dimensions, parametrised by a conditioner.

    ``forward`` is the data -> latent direction, matching :meth:`ConditionalFlow.forward`.
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
        )

    def _affine_params(self, h: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        raw = self.mlp(h)
        s_raw, t = raw[:, : self.n_out], raw[:, self.n_out :]
        # Soft clamp bounds each per-layer log-scale to (-clamp, clamp): without it a single
        # step can blow the scale up and produce inf/NaN losses early in training.
        s = (2.0 * self.clamp / math.pi) * tf.math.atan(s_raw / self.clamp)
        return s, t

    def _spline(self, h: tf.Tensor) -> tfp.bijectors.RationalQuadraticSpline:
        k = self.bins
        raw = tf.reshape(self.mlp(h), tf.stack([-1, self.n_out, 3 * k - 1]))
        free = 2.0 * self.bound - k * _MIN_BIN_SIZE
        widths = tf.nn.softmax(raw[..., :k], axis=-1) * free + _MIN_BIN_SIZE
        heights = tf.nn.softmax(raw[..., k : 2 * k], axis=-1) * free + _MIN_BIN_SIZE
        slopes = tf.math.softplus(raw[..., 2 * k :] + _SLOPE_SHIFT) + _MIN_SLOPE
        return tfp.bijectors.RationalQuadraticSpline(
            bin_widths=widths,
            bin_heights=heights,
            knot_slopes=slopes,
            range_min=tf.constant(-self.bound, dtype=self.dtype),
        )

    def forward(self, u: tf.Tensor, h: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        if self.kind == "affine":
            s, t = self._affine_params(h)
            return u * tf.exp(s) + t, tf.reduce_sum(s, axis=-1)
        spline = self._spline(h)
        log_det = spline.forward_log_det_jacobian(u, event_ndims=0)
        return spline.forward(u), tf.reduce_sum(log_det, axis=-1)

    def inverse(self, v: tf.Tensor, h: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        if self.kind == "affine":
            s, t = self._affine_params(h)
            return (v - t) * tf.exp(-s), -tf.reduce_sum(s, axis=-1)
        spline = self._spline(h)
        log_det = spline.inverse_log_det_jacobian(v, event_ndims=0)
        return spline.inverse(v), tf.reduce_sum(log_det, axis=-1)

    @property
    def variables(self) -> list[tf.Variable]:
        return self.mlp.variables

    def flops(self) -> int:
        # Dense layers dominate; the element-wise part is a rough count of the affine update
        # (atan, exp, fma) or the spline (two softmaxes, cumsums, bin search, rational function).
        per_dim = 12 if self.kind == "affine" else 8 * self.bins + 60
        return self.mlp.flops() + per_dim * self.n_out


class _CouplingLayer:
    """ActNorm, a fixed permutation, then two half couplings so every dimension is updated."""

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
        if permutation is None or np.array_equal(permutation, np.arange(n_x)):
            self.perm = None
            self.inv_perm = None
        else:
            self.perm = tf.constant(permutation, dtype=tf.int32)
            self.inv_perm = tf.constant(np.argsort(permutation), dtype=tf.int32)
        self.permutation = np.arange(n_x) if permutation is None else np.asarray(permutation)
        self.t1 = _Transform(kind, self.d1, self.d2 + n_cond, arch, rng, dtype, f"{name}_t1")
        self.t2 = (
            _Transform(kind, self.d2, self.d1 + n_cond, arch, rng, dtype, f"{name}_t2")
            if self.d2 > 0
            else None
        )

    def forward(
        self, x: tf.Tensor, cond: tf.Tensor | None, n: tf.Tensor
    ) -> tuple[tf.Tensor, tf.Tensor]:
        log_det = tf.zeros(tf.reshape(n, [1]), dtype=self.dtype)
        if self.act_norm:
            x = x * self.scale + self.shift
            log_det += tf.reduce_sum(tf.math.log(tf.abs(self.scale)))
        if self.perm is not None:
            x = tf.gather(x, self.perm, axis=1)
        x1, x2 = x[:, : self.d1], x[:, self.d1 :]
        y1, ld1 = self.t1.forward(x1, _join([x2 if self.d2 else None, cond], n, self.dtype))
        log_det += ld1
        if self.t2 is None:
            return y1, log_det
        y2, ld2 = self.t2.forward(x2, _join([y1, cond], n, self.dtype))
        return tf.concat([y1, y2], axis=-1), log_det + ld2

    def inverse(
        self, y: tf.Tensor, cond: tf.Tensor | None, n: tf.Tensor
    ) -> tuple[tf.Tensor, tf.Tensor]:
        log_det = tf.zeros(tf.reshape(n, [1]), dtype=self.dtype)
        y1 = y[:, : self.d1]
        if self.t2 is not None:
            x2, ld2 = self.t2.inverse(y[:, self.d1 :], _join([y1, cond], n, self.dtype))
            log_det += ld2
        else:
            x2 = None
        x1, ld1 = self.t1.inverse(y1, _join([x2, cond], n, self.dtype))
        log_det += ld1
        x = x1 if x2 is None else tf.concat([x1, x2], axis=-1)
        if self.inv_perm is not None:
            x = tf.gather(x, self.inv_perm, axis=1)
        if self.act_norm:
            x = (x - self.shift) / self.scale
            log_det -= tf.reduce_sum(tf.math.log(tf.abs(self.scale)))
        return x, log_det

    @property
    def variables(self) -> list[tf.Variable]:
        out = [self.scale, self.shift] if self.act_norm else []
        out += self.t1.variables
        if self.t2 is not None:
            out += self.t2.variables
        return out

    def flops(self) -> int:
        total = self.t1.flops() + (self.t2.flops() if self.t2 is not None else 0)
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
        weight_seq, perm_seq = np.random.SeedSequence(int(arch["seed"])).spawn(2)
        weight_rng = np.random.default_rng(weight_seq)
        perm_rng = np.random.default_rng(perm_seq)
        kinds = _layer_kinds(arch["coupling_design"], int(arch["num_coupling_layers"]))
        self._layers: list[_CouplingLayer] = self._no_dependency([])
        for i, kind in enumerate(kinds):
            perm = perm_rng.permutation(self.n_x) if arch["permutation"] == "fixed" else None
            self._layers.append(
                _CouplingLayer(
                    kind, self.n_x, self.n_cond, arch, weight_rng, perm, self._dtype, f"layer{i}"
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
    def trainable_variables(self) -> tuple[tf.Variable, ...]:
        """Variables in creation order, the same order as get_weights."""
        return tuple(self._variables)

    @property
    def variables(self) -> tuple[tf.Variable, ...]:
        """All variables of the flow (all are trainable)."""
        return tuple(self._variables)

    @property
    def permutations(self) -> list[np.ndarray]:
        """Per-layer permutation of the dimensions, for inspection and reproducibility checks."""
        return [layer.permutation.copy() for layer in self._layers]

    def _cast(self, a: Any) -> tf.Tensor:
        t = tf.convert_to_tensor(a)
        return t if t.dtype == self._dtype else tf.cast(t, self._dtype)

    def _cond(self, cond: Any) -> tf.Tensor | None:
        if self.n_cond == 0:
            return None
        if cond is None:
            raise ValueError(f"this flow needs cond of shape (n, {self.n_cond})")
        return self._cast(cond)

    @_no_autograph
    def forward(self, x: Any, cond: Any) -> tuple[tf.Tensor, tf.Tensor]:
        """Map data to latent space.

        Args:
            x: Standardised observables, shape (n, n_x).
            cond: Standardised parameters, shape (n, n_cond); ignored when n_cond = 0.

        Returns:
            z of shape (n, n_x) and log|det ∂z/∂x| of shape (n,).
        """
        x = self._cast(x)
        c = self._cond(cond)
        n = tf.shape(x)[0]
        log_det = tf.zeros(tf.reshape(n, [1]), dtype=self._dtype)
        for layer in self._layers:
            x, ld = layer.forward(x, c, n)
            log_det += ld
        return x, log_det

    @_no_autograph
    def inverse(
        self, z: Any, cond: Any, return_log_det: bool = False
    ) -> tf.Tensor | tuple[tf.Tensor, tf.Tensor]:
        """Map latent points back to data space.

        Args:
            z: Latent points, shape (n, n_x).
            cond: Parameters, shape (n, n_cond); ignored when n_cond = 0.
            return_log_det: Also return log|det ∂x/∂z|, computed along the inverse path so it
                can serve as an independent check of the forward log-Jacobian.

        Returns:
            x of shape (n, n_x), or (x, log_det) when return_log_det is set.
        """
        z = self._cast(z)
        c = self._cond(cond)
        n = tf.shape(z)[0]
        log_det = tf.zeros(tf.reshape(n, [1]), dtype=self._dtype)
        for layer in reversed(self._layers):
            z, ld = layer.inverse(z, c, n)
            log_det += ld
        return (z, log_det) if return_log_det else z

    def base_log_prob(self, z: tf.Tensor) -> tf.Tensor:
        """Log density of the standard normal base distribution, shape (n,)."""
        return self._log_norm - 0.5 * tf.reduce_sum(tf.square(z), axis=-1)

    @_no_autograph
    def log_prob(self, x: Any, cond: Any) -> tf.Tensor:
        """Log density log q(x | cond) in standardised space, shape (n,), in the flow's dtype."""
        z, log_det = self.forward(x, cond)
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
        canonical = {k: _canonical(self._architecture[k]) for k in DEFAULT_ARCHITECTURE}
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
        """Approximate floating-point operations (2 per multiply-add) of one log_prob event."""
        return sum(layer.flops() for layer in self._layers) + 3 * self.n_x
