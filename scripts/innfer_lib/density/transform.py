"""Conditioned element-wise transforms: the affine and spline halves of a coupling.

A transform maps one block of dimensions element-wise, with parameters that a conditioner
MLP computes from the other block and θ. ``forward`` is the data -> latent direction,
matching :meth:`innfer_lib.density.flow.ConditionalFlow.forward`. The conditioner input may
have one row for all events; the parameters then broadcast.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import numpy as np
import tensorflow as tf

from innfer_lib.density.architecture import dropout_rate
from innfer_lib.density.dense import MLP
from innfer_lib.density.spline import (
    rqs_forward,
    rqs_inverse,
    spline_maps,
    spline_params,
    spline_table,
)
from innfer_lib.density.tensor_ops import sum_last


class Transform(ABC):
    """Element-wise invertible map of one block of dimensions, parametrised by a conditioner.

    Subclasses set ``kind`` (the architecture's name of the transform, also the key under
    which the coupling layer collects its log-determinant), read their own options in
    ``_configure``, say how many conditioner outputs they need per dimension, and implement
    the maps.
    """

    kind: ClassVar[str]

    def __init__(
        self,
        n_out: int,
        n_in: int,
        arch: Mapping[str, Any],
        rng: np.random.Generator,
        dtype: tf.DType,
        name: str,
        dropout_rng: tf.random.Generator | None = None,
    ) -> None:
        """Read the kind's options and build the conditioner from its ``<kind>_*`` options.

        Args:
            n_out: Number of transformed dimensions.
            n_in: Width of the conditioner input; 0 becomes one zero column (see
                :func:`innfer_lib.density.tensor_ops.join`).
            arch: Resolved architecture.
            rng: Generator of the conditioner's initial weights.
            dtype: Dtype of weights and outputs.
            name: Prefix of the variable names.
            dropout_rng: Source of dropout seeds, or None for a flow without dropout.
        """
        self.n_out = n_out
        self.dtype = dtype
        self._configure(arch)
        self.mlp = MLP(
            max(n_in, 1),
            n_out * self.params_per_dimension(),
            int(arch[f"{self.kind}_units_per_dense_layer"]),
            int(arch[f"{self.kind}_num_dense_layers"]),
            str(arch[f"{self.kind}_activation"]),
            rng,
            dtype,
            name,
            dropout_rate(arch, self.kind),
            dropout_rng,
        )

    @abstractmethod
    def _configure(self, arch: Mapping[str, Any]) -> None:
        """Read the kind's own options; called before the conditioner is built."""

    @abstractmethod
    def params_per_dimension(self) -> int:
        """Conditioner outputs the transform needs per transformed dimension."""

    @abstractmethod
    def forward(
        self, u: tf.Tensor, h: tf.Tensor, training: bool = False
    ) -> tuple[tf.Tensor, tf.Tensor]:
        """Data -> latent: the mapped block and its log-determinant per event.

        Args:
            u: The block, shape (n, n_out).
            h: Conditioner input, shape (n, n_in) or (1, n_in).
            training: Switch the conditioner's dropout on (training step only).
        """

    @abstractmethod
    def inverse(self, v: tf.Tensor, h: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Latent -> data: the block and log|det ∂u/∂v| per event."""

    @abstractmethod
    def flops_per_dimension(self) -> int:
        """Approximate flops of the element-wise map of one dimension of one event."""

    @property
    def variables(self) -> list[tf.Variable]:
        """The conditioner's variables, in creation order."""
        return self.mlp.variables

    def flops(self) -> int:
        """Approximate flops of one event: the conditioner plus the element-wise map."""
        return self.mlp.flops() + self.flops_per_dimension() * self.n_out


class AffineTransform(Transform):
    """u -> u exp(s) + t with a soft-clamped log-scale s."""

    kind = "affine"

    def _configure(self, arch: Mapping[str, Any]) -> None:
        self.clamp = float(arch["soft_clamp"])

    def params_per_dimension(self) -> int:
        # Log-scale and shift.
        return 2

    def _params(self, h: tf.Tensor, training: bool = False) -> tuple[tf.Tensor, tf.Tensor]:
        s_raw, t = tf.split(self.mlp(h, training), 2, axis=-1)
        # Soft clamp bounds each per-layer log-scale to (-clamp, clamp): without it a single
        # step can blow the scale up and produce inf/NaN losses early in training.
        # Products with Python scalars (not divisions) take TF's one-op gradient fast path.
        s = tf.math.atan(s_raw * (1.0 / self.clamp)) * (2.0 * self.clamp / math.pi)
        return s, t

    def forward(
        self, u: tf.Tensor, h: tf.Tensor, training: bool = False
    ) -> tuple[tf.Tensor, tf.Tensor]:
        s, t = self._params(h, training)
        return u * tf.exp(s) + t, sum_last(s)

    def inverse(self, v: tf.Tensor, h: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        s, t = self._params(h)
        return (v - t) * tf.exp(-s), -sum_last(s)

    def flops_per_dimension(self) -> int:
        # The update costs ~12 per dimension (atan, exp, fma).
        return 12


class SplineTransform(Transform):
    """Rational-quadratic spline on [-bound, bound], the identity outside.

    ``use_tfp`` selects TFP's bijector on the same parameters instead of
    :mod:`innfer_lib.density.spline`; it is kept only as an independent cross-check.
    """

    kind = "spline"

    def _configure(self, arch: Mapping[str, Any]) -> None:
        self.bins = int(arch["spline_bins"])
        self.bound = float(arch["spline_bound"])
        self.use_tfp = arch["spline_implementation"] == "tfp"
        self.maps = spline_maps(self.bins, self.bound)

    def params_per_dimension(self) -> int:
        # K bin widths, K bin heights and the K - 1 interior knot slopes.
        return 3 * self.bins - 1

    def spline_params(
        self, h: tf.Tensor, training: bool = False
    ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """Bin widths, bin heights and interior knot slopes, shapes (m, d, K|K|K-1).

        The TFP cross-check and the tests use these; the default path builds the equivalent
        flat table (:func:`innfer_lib.density.spline.spline_table`).
        """
        return spline_params(self.mlp(h, training), self.n_out, self.bins, self.bound)

    def _tfp_spline(self, h: tf.Tensor, training: bool = False) -> Any:
        """TFP's bijector on the same parameters; kept only as an independent cross-check."""
        import tensorflow_probability as tfp  # Imported lazily: slow, and unused by default.

        widths, heights, slopes = self.spline_params(h, training)
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
        """Apply rqs_forward or rqs_inverse on the flat (n * d, 1) layout and sum log-dets.

        With d > 1 the conditioner input must have one row per event (the flow guarantees it:
        such conditioners always see other dimensions of x); a single row broadcasts only in
        the d = 1 case, where the table then has one row for all points.
        """
        out, log_slope = method(
            tf.reshape(points, [-1, 1]),
            spline_table(self.mlp(h, training), self.bins, self.maps, self.dtype),
            self.bins,
            self.bound,
        )
        if self.n_out == 1:
            return out, tf.reshape(log_slope, [-1])
        log_slope = tf.reshape(log_slope, [-1, self.n_out])
        return tf.reshape(out, [-1, self.n_out]), sum_last(log_slope)

    def forward(
        self, u: tf.Tensor, h: tf.Tensor, training: bool = False
    ) -> tuple[tf.Tensor, tf.Tensor]:
        if self.use_tfp:
            spline = self._tfp_spline(h, training)
            log_det = spline.forward_log_det_jacobian(u, event_ndims=0)
            return spline.forward(u), tf.reduce_sum(log_det, axis=-1)
        return self._spline(rqs_forward, u, h, training)

    def inverse(self, v: tf.Tensor, h: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        if self.use_tfp:
            spline = self._tfp_spline(h)
            log_det = spline.inverse_log_det_jacobian(v, event_ndims=0)
            return spline.inverse(v), tf.reduce_sum(log_det, axis=-1)
        return self._spline(rqs_inverse, v, h)

    def flops_per_dimension(self) -> int:
        # The table matmuls (8K^2 + 6K(K - 1)), the masked bin pick (2 * 7 * 7K) and ~60 for
        # softmax, softplus and the rational function.
        k = self.bins
        return 8 * k * k + 6 * k * (k - 1) + 98 * k + 60


#: The transform class of every kind a layer can have (see ``coupling_design``).
TRANSFORMS: dict[str, type[Transform]] = {
    "affine": AffineTransform,
    "spline": SplineTransform,
}
