"""The fixed first stage of a flow: the pre-transforms fitted in PreProcess, as one bijection.

The record comes from :func:`innfer_lib.data.pretransforms.fit_pretransform` (stored as
``density.pretransform`` in ``parameters.yaml`` and in the flow's architecture record). Being part
of the flow, it is in every log-density (with its log-Jacobian, which INNFER left out for the
spline) and every sample (with its exact inverse), and it has no trainable weights.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import tensorflow as tf

from innfer_lib.density.spline import knot_table, rqs_inside, rqs_inside_inverse


class _KnotSpline:
    """One column's monotone rational-quadratic spline with linear tails beyond its end knots."""

    def __init__(self, spline: Mapping[str, Any], dtype: tf.DType) -> None:
        x, z, d = (np.asarray(spline[k], np.float64) for k in ("x_knots", "z_knots", "slopes"))
        self.bins = len(x) - 1
        self.table = tf.constant(knot_table(x, z, d)[np.newaxis, :], dtype)
        self.x_lo, self.x_hi = float(x[0]), float(x[-1])
        self.z_lo, self.z_hi = float(z[0]), float(z[-1])
        self.d_lo, self.d_hi = float(d[0]), float(d[-1])

    @staticmethod
    def _tails(
        v: tf.Tensor, lo: float, hi: float, inside: tf.Tensor, at_lo: tuple, at_hi: tuple
    ) -> tuple[tf.Tensor, tf.Tensor]:
        """Linear continuation below ``lo`` and above ``hi``: value and log slope."""
        (out_lo, slope_lo), (out_hi, slope_hi) = at_lo, at_hi
        value, log_slope = inside
        below, above = v < lo, v > hi
        value = tf.where(below, out_lo + slope_lo * (v - lo), value)
        value = tf.where(above, out_hi + slope_hi * (v - hi), value)
        log_slope = tf.where(below, tf.constant(math.log(slope_lo), v.dtype), log_slope)
        log_slope = tf.where(above, tf.constant(math.log(slope_hi), v.dtype), log_slope)
        return value, log_slope

    def forward(self, x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """z(x) and log dz/dx, shapes (n, 1)."""
        # Clipped inside first ("safe where"), so the discarded branch stays finite.
        xs = tf.clip_by_value(x, self.x_lo, self.x_hi)
        inside = rqs_inside(xs, self.table, self.bins)
        return self._tails(
            x, self.x_lo, self.x_hi, inside, (self.z_lo, self.d_lo), (self.z_hi, self.d_hi)
        )

    def inverse(self, z: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """x(z) and log dx/dz, shapes (n, 1)."""
        zs = tf.clip_by_value(z, self.z_lo, self.z_hi)
        inside = rqs_inside_inverse(zs, self.table, self.bins)
        return self._tails(
            z,
            self.z_lo,
            self.z_hi,
            inside,
            (self.x_lo, 1.0 / self.d_lo),
            (self.x_hi, 1.0 / self.d_hi),
        )


class PreTransform:
    """Gaussianising splines, then PCA whitening (either may be absent), as one bijection."""

    def __init__(self, record: Mapping[str, Any], n_x: int, dtype: tf.DType) -> None:
        """Build the constant maps.

        Raises:
            ValueError: The record is for another number of columns.
        """
        columns = list(record["columns"])
        if len(columns) != n_x:
            raise ValueError(f"the pre-transform is for {len(columns)} columns, the flow has {n_x}")
        splines = record.get("gaussianise") or []
        if splines and len(splines) != n_x:
            raise ValueError(f"the pre-transform has {len(splines)} splines for {n_x} columns")
        self._splines = [_KnotSpline(s, dtype) for s in splines]
        pca = record.get("pca_whitening")
        self._pca = None
        if pca:
            self._pca = (
                tf.constant(np.asarray(pca["mean"])[np.newaxis, :], dtype),
                tf.constant(np.asarray(pca["matrix"]).T, dtype),
                tf.constant(np.asarray(pca["inverse"]).T, dtype),
                float(pca["log_det"]),
            )

    def _per_column(self, v: tf.Tensor, inverse: bool) -> tuple[tf.Tensor, tf.Tensor]:
        outs, log_slopes = [], []
        for j, spline in enumerate(self._splines):
            out, log_slope = (spline.inverse if inverse else spline.forward)(v[:, j : j + 1])
            outs.append(out)
            log_slopes.append(log_slope)
        return tf.concat(outs, axis=1), tf.add_n(log_slopes)[:, 0]

    def forward(self, x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Standardised x to the flow's input, with log|det| per event, shape (n,)."""
        log_det = tf.zeros_like(x[:, 0])
        if self._splines:
            x, log_det = self._per_column(x, inverse=False)
        if self._pca is not None:
            mean, matrix, _, pca_log_det = self._pca
            x = tf.matmul(x - mean, matrix)
            log_det = log_det + pca_log_det
        return x, log_det

    def inverse(self, y: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """The flow's input back to standardised x, with log|det ∂x/∂y| per event."""
        log_det = tf.zeros_like(y[:, 0])
        if self._pca is not None:
            mean, _, inverse, pca_log_det = self._pca
            y = tf.matmul(y, inverse) + mean
            log_det = log_det - pca_log_det
        if self._splines:
            y, spline_log_det = self._per_column(y, inverse=True)
            log_det = log_det + spline_log_det
        return y, log_det
