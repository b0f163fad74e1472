"""Tensor plumbing of the flow chosen for small derivative graphs.

The likelihood differentiates the flow twice (gradient and θ-Hessian), so every op of the
forward pass appears several times over in the derivative graphs. These helpers do the
joins, splits and sums the coupling layers need with the ops whose derivatives are cheapest,
and add no op at all where the shapes make one unnecessary.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import tensorflow as tf


class SharedRows(NamedTuple):
    """A per-event conditioner input given as its distinct rows and each event's row.

    In a 1-D flow every conditioner sees only θ, and training sets hold a few θ points
    (Dim1Gaussian: 15 masses for 77k events): the conditioners then run once per distinct θ
    and their outputs are gathered per event (`innfer_lib.density.dense.MLP`), the same
    numbers for a fraction of the work.
    """

    rows: tf.Tensor  # (distinct rows, n_cond)
    index: tf.Tensor  # (n,): each event's row

    @property
    def shape(self) -> tf.TensorShape:
        return self.rows.shape


def shared_rows(cond: tf.Tensor) -> SharedRows:
    """The distinct rows of cond and each row's index among them (no gradient through cond)."""
    rows, index = tf.raw_ops.UniqueV2(x=cond, axis=tf.constant([0], tf.int64))
    return SharedRows(rows, index)


def join(parts: Sequence[tf.Tensor | SharedRows | None], dtype: tf.DType) -> tf.Tensor | SharedRows:
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
    if any(isinstance(p, SharedRows) for p in present):
        raise ValueError("SharedRows are for conditioners that see θ alone (1-D flows)")
    return tf.concat(present, axis=-1)


def sum_last(t: tf.Tensor) -> tf.Tensor:
    """Sum over the last axis; a reshape when it has size 1, whose derivative is cheaper."""
    return tf.reshape(t, [-1]) if t.shape[-1] == 1 else tf.reduce_sum(t, axis=-1)


def concat_columns(columns: Sequence[tf.Tensor]) -> tf.Tensor:
    """Concatenate (n, 1) columns; a single column is returned as is, adding no op."""
    return columns[0] if len(columns) == 1 else tf.concat(list(columns), axis=1)


def columns(x: tf.Tensor, width: int) -> list[tf.Tensor]:
    """Split x into its (n, 1) columns; one Split op, whose gradient is a single concat."""
    return [x] if width == 1 else tf.split(x, width, axis=1)
