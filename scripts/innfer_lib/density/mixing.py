"""The learnable permutation: an LU-parametrised invertible linear mixing of all dimensions.

``permutation: learnable`` (INNFER's orthogonal-initialised matrix) mixes the dimensions with
a trainable matrix before every coupling. Parametrising it by its LU factors keeps it
invertible whatever the optimiser does, makes its log-determinant a sum and its inverse two
triangular solves.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf


class LUMixing:
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
        """Draw the starting rotation from rng and create the packed LU variable.

        Args:
            n_x: Number of dimensions mixed.
            rng: Generator of the random orthogonal start (the flow's permutation stream).
            dtype: Dtype of the variable and of every matrix built from it.
            name: Prefix of the variable name.
        """
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
        """A fixed part of W as a constant of the mixing's dtype."""
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
        """The one trainable (d, d) variable."""
        return [self.lu]

    def flops(self) -> int:
        """Flops of mixing one event."""
        # One (1, d) x (d, d) product per event; building W is shared by the whole batch.
        return 2 * self.n_x * self.n_x
