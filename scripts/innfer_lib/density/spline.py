"""Rational-quadratic spline maths (Durkan et al. 2019) on a flat per-bin table.

The spline is implemented here rather than taken from TFP. TFP locates each event's bin with
``searchsorted`` and batched ``gather``; the gradients of those gathers (and their second
derivatives, which the likelihood's Hessian needs) made graphs of ~37k ops that took tens of
seconds to build and optimise. Here the conditioner outputs are mapped to one flat table per
spline by constant matmuls, and a one-hot mask from comparisons with the knots picks the bin,
so every derivative is a handful of element-wise ops and matmuls. TFP's bijector stays
selectable (``spline_implementation: tfp``) as an independent cross-check, see
:class:`innfer_lib.density.transform.SplineTransform`.

The spline maps the box [-bound, bound] onto itself and is the identity outside it.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import tensorflow as tf

# Lower bounds keep the spline strictly monotone with finite slopes, so the inverse and the
# log-Jacobian stay well conditioned even when the conditioner outputs become extreme.
_MIN_BIN_SIZE = 1e-3
_MIN_SLOPE = 1e-3
# softplus(_SLOPE_SHIFT) + _MIN_SLOPE == 1: a zero conditioner output gives unit knot slopes,
# which together with uniform bins makes the initial spline exactly the identity.
_SLOPE_SHIFT = math.log(math.expm1(1.0 - _MIN_SLOPE))


# Column blocks of the flat per-bin spline table, each ``bins`` wide (see spline_maps).
_X_LO, _WIDTH, _Y_LO, _HEIGHT, _D_LO, _D_HI, _D_SUM = range(7)
_N_BLOCKS = 7


def spline_maps(bins: int, bound: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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


def knot_table(x_knots: np.ndarray, y_knots: np.ndarray, slopes: np.ndarray) -> np.ndarray:
    """Flat per-bin table (see :func:`spline_maps`) of a spline through given knots.

    A fixed spline (the Gaussianising pre-transform) is given by its K + 1 knots and the
    slopes there rather than by conditioner outputs; laying it out as the same table lets it
    share :func:`rqs_inside` with the flow's splines.

    Args:
        x_knots: Strictly increasing knot positions, shape (K + 1,).
        y_knots: Strictly increasing knot values, shape (K + 1,).
        slopes: Positive slopes dy/dx at the knots, shape (K + 1,).

    Returns:
        The table, shape (7K,).
    """
    x_knots, y_knots, slopes = (np.asarray(a, np.float64) for a in (x_knots, y_knots, slopes))
    blocks = [
        x_knots[:-1],
        np.diff(x_knots),
        y_knots[:-1],
        np.diff(y_knots),
        slopes[:-1],
        slopes[1:],
        slopes[:-1] + slopes[1:],
    ]
    return np.concatenate(blocks)


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


def rqs_inside(xs: tf.Tensor, table: tf.Tensor, bins: int) -> tuple[tf.Tensor, tf.Tensor]:
    """Rational-quadratic spline y(x) and log dy/dx for points between the first and last knot.

    The bin maths shared by the flow's box spline (:func:`rqs_forward`, identity tails) and
    the fixed Gaussianising pre-transform (:mod:`innfer_lib.density.pretransform`, linear
    tails); each wrapper moves its outside points inside before calling this ("safe where"), so
    the discarded branch stays finite and cannot send NaN into the gradients. Divisions are
    written as products with reciprocals: a reciprocal's derivative is one op, a division's five.

    Args:
        xs: Inputs inside the knots, shape (N, 1).
        table: Flat table (see :func:`spline_maps`), shape (N, 7K) or (1, 7K).
        bins: Number of bins K.

    Returns:
        y and log dy/dx, both of shape (N, 1).
    """
    x_k, w_k, y_k, h_k, d_lo, d_hi, d_sum = _select_bin(xs, table, _X_LO, bins)
    inv_w = tf.math.reciprocal(w_k)
    s = h_k * inv_w
    xi = (xs - x_k) * inv_w
    xi2 = tf.square(xi)
    xi1 = xi - xi2
    two_s = s * 2.0
    inv_denom = tf.math.reciprocal(s + (d_sum - two_s) * xi1)
    y = y_k + h_k * (s * xi2 + d_lo * xi1) * inv_denom
    return y, _rqs_log_slope(xi, xi1, xi2, two_s, d_lo, d_hi, s * inv_denom)


def _identity_outside(
    v: tf.Tensor,
    table: tf.Tensor,
    bins: int,
    bound: float,
    inside: Callable[[tf.Tensor, tf.Tensor, int], tuple[tf.Tensor, tf.Tensor]],
) -> tuple[tf.Tensor, tf.Tensor]:
    """The box spline: ``inside`` within [-bound, bound], the identity (log slope 0) outside.

    Points outside are moved to the left edge before any arithmetic ("safe where"), so the
    discarded branch stays finite and cannot send NaN into the gradients.
    """
    outside = tf.abs(v) >= bound
    vs = tf.where(outside, tf.constant(-bound, v.dtype), v)
    out, log_slope = inside(vs, table, bins)
    return tf.where(outside, v, out), tf.where(outside, tf.zeros_like(log_slope), log_slope)


def rqs_forward(
    x: tf.Tensor, table: tf.Tensor, bins: int, bound: float
) -> tuple[tf.Tensor, tf.Tensor]:
    """Rational-quadratic spline y(x) and log dy/dx per element, identity outside the box.

    Args:
        x: Inputs, shape (N, 1).
        table: Flat table from :func:`spline_table`, shape (N, 7K) or (1, 7K).
        bins: Number of bins K.
        bound: Half-width of the box.

    Returns:
        y and log dy/dx, both of shape (N, 1).
    """
    return _identity_outside(x, table, bins, bound, rqs_inside)


def rqs_inside_inverse(ys: tf.Tensor, table: tf.Tensor, bins: int) -> tuple[tf.Tensor, tf.Tensor]:
    """Inverse of :func:`rqs_inside` and its log dx/dy, for points between the end knots.

    Inside a bin the inverse is the root in [0, 1] of a quadratic a xi^2 + b xi + c = 0
    (Durkan et al. 2019, appendix A.3). Each sign of b gets the root formula without
    cancellation; for b < 0 monotonicity guarantees a > 0, and the unused branch of each
    formula is fed a harmless denominator so it stays finite (no NaN in gradients).

    Args:
        ys: Outputs inside the knots, shape (N, 1).
        table: Flat table, shape (N, 7K) or (1, 7K).
        bins: Number of bins K.

    Returns:
        x and log dx/dy, both of shape (N, 1).
    """
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
    return x_k + xi * w_k, -log_slope


def rqs_inverse(
    y: tf.Tensor, table: tf.Tensor, bins: int, bound: float
) -> tuple[tf.Tensor, tf.Tensor]:
    """Inverse of :func:`rqs_forward` and its log dx/dy per element.

    Args:
        y: Outputs, shape (N, 1).
        table: Flat table, shape (N, 7K) or (1, 7K).
        bins: Number of bins K.
        bound: Half-width of the box.

    Returns:
        x and log dx/dy, both of shape (N, 1).
    """
    return _identity_outside(y, table, bins, bound, rqs_inside_inverse)


def spline_params(
    outputs: tf.Tensor, n_out: int, bins: int, bound: float
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Bin widths, bin heights and interior knot slopes, shapes (m, d, K|K|K-1).

    The parametrisation of the conditioner outputs as separate tensors, the layout TFP's
    bijector takes; the TFP cross-check and the tests use it. The default path builds the
    equivalent flat table with :func:`spline_table`.

    Args:
        outputs: Conditioner outputs, shape (m, d * (3K - 1)).
        n_out: Number of transformed dimensions d.
        bins: Number of bins K.
        bound: Half-width of the box.
    """
    k = bins
    raw = tf.reshape(outputs, [-1, n_out, 3 * k - 1])
    w_raw, h_raw, d_raw = tf.split(raw, [k, k, k - 1], axis=-1)
    free = 2.0 * bound - k * _MIN_BIN_SIZE
    widths = tf.nn.softmax(w_raw, axis=-1) * free + _MIN_BIN_SIZE
    heights = tf.nn.softmax(h_raw, axis=-1) * free + _MIN_BIN_SIZE
    slopes = tf.math.softplus(d_raw + _SLOPE_SHIFT) + _MIN_SLOPE
    return widths, heights, slopes


def spline_table(
    outputs: tf.Tensor,
    bins: int,
    maps: tuple[np.ndarray, np.ndarray, np.ndarray],
    dtype: tf.DType,
) -> tf.Tensor:
    """Flat per-bin table (see spline_maps), one row per event and dimension.

    Same parametrisation as :func:`spline_params`, but laid out as 2-D matrices so that
    building the table and picking bins are matmuls, which keeps derivative graphs small.

    Args:
        outputs: Conditioner outputs, shape (m, d * (3K - 1)).
        bins: Number of bins K.
        maps: ``spline_maps(bins, bound)``, computed once per transform.
        dtype: Dtype of the outputs.

    Returns:
        Shape (m * d, 7K): m rows of outputs, d dimensions, row r = event r // d and
        dimension r % d, matching a (n, d) -> (n * d, 1) reshape of the points.
    """
    k = bins
    raw = tf.reshape(outputs, [-1, 3 * k - 1])
    size_raw, slope_raw = tf.split(raw, [2 * k, k - 1], axis=1)
    from_sizes, from_slopes, offset = (tf.constant(m, dtype) for m in maps)
    # Widths and heights as consecutive rows of one softmax; each row maps to its knots and
    # sizes, and the reshape puts them side by side: blocks X_LO, WIDTH, Y_LO, HEIGHT.
    sizes = tf.nn.softmax(tf.reshape(size_raw, [-1, k]))
    knots_and_sizes = tf.reshape(tf.matmul(sizes, from_sizes), [-1, 4 * k])
    slopes = tf.matmul(tf.math.softplus(slope_raw + _SLOPE_SHIFT), from_slopes)
    return tf.concat([knots_and_sizes, slopes], axis=1) + offset
