"""One coupling layer of the flow and the bookkeeping of its log-determinants.

A layer applies ActNorm, a fixed permutation or a learnable mixing, and two half couplings,
each transforming one half of the dimensions conditioned on the other half and θ, so that
every dimension is updated. Every piece is an exact bijection in any dimension: in 1-D the
single dimension is transformed directly by a conditioner that sees only θ (INNFER appended
a constant noise column and corrected by a constant, which mis-normalised the density).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import tensorflow as tf

from innfer_lib.density.mixing import LUMixing
from innfer_lib.density.tensor_ops import columns, concat_columns, join
from innfer_lib.density.transform import TRANSFORMS


class LogDets:
    """Collects per-coupling log-determinants and adds them with one AddN per kind.

    A chain of broadcasting adds puts a shape reduction into every derivative graph; AddN's
    derivative is the incoming gradient itself. AddN needs equal shapes, which holds within a
    kind: in 1-D with a single-row cond the affine terms have one row and the spline terms one
    per event, so the kinds are summed separately and then added once.
    """

    def __init__(self) -> None:
        self.terms: dict[str, list[tf.Tensor]] = {}

    def add(self, kind: str, term: tf.Tensor) -> None:
        """Record one half coupling's log-determinant under its transform kind."""
        self.terms.setdefault(kind, []).append(term)

    def total(self) -> tf.Tensor:
        """The sum of all recorded terms, kinds added in the order they first appeared."""
        sums = [t[0] if len(t) == 1 else tf.add_n(t) for t in self.terms.values()]
        return sums[0] if len(sums) == 1 else sums[0] + sums[1]


class CouplingLayer:
    """ActNorm, a permutation or learnable mixing, then two half couplings updating every dimension.

    The ActNorm and mixing log-determinants do not depend on the events; the flow adds all
    layers' terms once (see :class:`innfer_lib.density.flow.ConditionalFlow`) instead of per layer.
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
        mixing: LUMixing | None = None,
        dropout_rng: tf.random.Generator | None = None,
    ) -> None:
        """Create ActNorm, then the two half couplings' conditioners (t1 first).

        Args:
            kind: Transform kind of both halves, ``affine`` or ``spline``.
            n_x: Number of dimensions; the first half has (n_x + 1) // 2 of them.
            n_cond: Number of conditioning parameters, seen by both conditioners.
            arch: Resolved architecture.
            rng: Generator of the conditioners' initial weights.
            permutation: Fixed reordering of the columns (None: identity).
            dtype: Dtype of weights and outputs.
            name: Prefix of the variable names (``actnorm`` in the ActNorm names keeps them
                out of AdamW's weight decay).
            mixing: Learnable mixing applied instead of a permutation, or None.
            dropout_rng: Source of the conditioners' dropout seeds, or None.
        """
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
        transform = TRANSFORMS[kind]
        self.t1 = transform(self.d1, self.d2 + n_cond, arch, rng, dtype, f"{name}_t1", dropout_rng)
        self.t2 = (
            transform(self.d2, self.d1 + n_cond, arch, rng, dtype, f"{name}_t2", dropout_rng)
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
        cols = columns(x, self.n_x)
        order = self.permutation
        return (
            concat_columns([cols[i] for i in order[: self.d1]]),
            concat_columns([cols[i] for i in order[self.d1 :]]),
        )

    def _merge_unpermute(self, x1: tf.Tensor, x2: tf.Tensor | None) -> tf.Tensor:
        """Inverse of _permute_split."""
        if x2 is None:
            x = x1
        elif self.identity_perm:
            x = tf.concat([x1, x2], axis=1)
        else:
            cols = columns(x1, self.d1) + columns(x2, self.d2)
            x = concat_columns([cols[j] for j in self.inv_permutation])
        return x if self.mixing is None else self.mixing.inverse(x)

    def forward(
        self,
        x: tf.Tensor,
        cond: tf.Tensor | None,
        log_dets: LogDets,
        training: bool = False,
    ) -> tf.Tensor:
        """Data -> latent direction; appends each half coupling's log-det to log_dets."""
        if self.act_norm:
            x = x * self.scale + self.shift
        x1, x2 = self._permute_split(x)
        y1, log_det = self.t1.forward(x1, join([x2, cond], self.dtype), training)
        log_dets.add(self.t1.kind, log_det)
        if self.t2 is None:
            return y1
        y2, log_det = self.t2.forward(x2, join([y1, cond], self.dtype), training)
        log_dets.add(self.t2.kind, log_det)
        return tf.concat([y1, y2], axis=-1)

    def inverse(self, y: tf.Tensor, cond: tf.Tensor | None, log_dets: LogDets) -> tf.Tensor:
        """Latent -> data direction; appends each half coupling's log-det to log_dets."""
        if self.t2 is not None:
            y1, y2 = tf.split(y, [self.d1, self.d2], axis=1)
            x2, log_det = self.t2.inverse(y2, join([y1, cond], self.dtype))
            log_dets.add(self.t2.kind, log_det)
            x1, log_det = self.t1.inverse(y1, join([x2, cond], self.dtype))
        else:
            x2 = None
            x1, log_det = self.t1.inverse(y, join([cond], self.dtype))
        log_dets.add(self.t1.kind, log_det)
        x = self._merge_unpermute(x1, x2)
        if self.act_norm:
            x = (x - self.shift) / self.scale
        return x

    @property
    def variables(self) -> list[tf.Variable]:
        """ActNorm, mixing, then t1 and t2 variables: the order of get_weights."""
        out = [self.scale, self.shift] if self.act_norm else []
        if self.mixing is not None:
            out += self.mixing.variables
        out += self.t1.variables
        if self.t2 is not None:
            out += self.t2.variables
        return out

    def flops(self) -> int:
        """Approximate flops of one event through the layer."""
        total = self.t1.flops() + (self.t2.flops() if self.t2 is not None else 0)
        total += self.mixing.flops() if self.mixing is not None else 0
        return total + (2 * self.n_x if self.act_norm else 0)
