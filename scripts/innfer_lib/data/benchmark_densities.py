"""The benchmarks' analytic densities and samplers, each written once for numpy and TensorFlow.

A benchmark checks a trained density and the inference chain against a known truth, which only
works if the truth is exact: every density here is normalised in closed form (the original
normalised the exponential background with a 100-point Riemann sum and was 1.5 % off). Each
log-density is written once over a tiny backend shim (`Ops`), so the numpy reference and the
differentiable TensorFlow version used by gradient-based fits cannot drift apart.

scipy and TensorFlow are imported inside the functions that build a backend: Snakemake imports
the benchmarks while parsing the workflow, where seconds of import time for every rule would
add up.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Signal fraction of the fixed-yield mixture (and true signal rate of the varying-yield data).
SIGNAL_FRACTION: float = 0.3

# Truncated exponential background: rate 0.1 on [160, 185].
BKG_LOW: float = 160.0
BKG_HIGH: float = 185.0
BKG_RATE: float = 0.1
# log of the truncation mass 1 - exp(-rate * (high - low)), via expm1 for full precision.
_BKG_LOG_NORM: float = math.log(-math.expm1(-BKG_RATE * (BKG_HIGH - BKG_LOW)))
_LOG_2PI: float = math.log(2.0 * math.pi)
_LOG_2: float = math.log(2.0)


# --------------------------------------------------------------------------------------------
# Parameter maps. Plain arithmetic, so they work on floats, per-event numpy arrays (sampling)
# and TF scalars (densities) alike: one definition for sampling and density.
# --------------------------------------------------------------------------------------------
def gaussian_sigma(y: Any) -> Any:
    """Width of the signal peak: a 1 % resolution, as in the original."""
    return 0.01 * y


def chi2_dof(y: Any) -> Any:
    """Degrees of freedom of the X2 chi-squared."""
    return 3.5 + 0.1 * (y - 173.0)


def exponential_scale(y: Any) -> Any:
    """Scale (mean) of the X3 exponential."""
    return 20.0 + 20.0 * y / (y - 160.0) ** 2


def beta_shapes(y: Any) -> tuple[Any, Any]:
    """Shapes (a, b) of the X4 beta; b < 1 makes the density diverge at X4 = 1."""
    return 0.5 + 0.01 * y, 0.05 * (y - 165.0)


def weibull_shape_scale(y: Any) -> tuple[Any, Any]:
    """Shape k and scale lambda of the X5 Weibull."""
    return (y - 160.0) ** 2, 0.05 * y


# --------------------------------------------------------------------------------------------
# Backend shim
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Ops:
    """The handful of elementwise operations the log-densities need, bound to one backend."""

    log: Callable[[Any], Any]
    exp: Callable[[Any], Any]
    log1p: Callable[[Any], Any]
    lgamma: Callable[[Any], Any]
    where: Callable[[Any, Any, Any], Any]
    logaddexp: Callable[[Any, Any], Any]

    def restrict(self, inside: Any, value: Any) -> Any:
        """Set the log-density to -inf off the support (not NaN, so fits can skip such events)."""
        return self.where(inside, value, -math.inf)


@functools.cache
def numpy_ops() -> Ops:
    """The numpy/scipy backend: the float64 reference densities."""
    from scipy.special import gammaln

    return Ops(
        log=np.log,
        exp=np.exp,
        log1p=np.log1p,
        lgamma=gammaln,
        where=np.where,
        logaddexp=np.logaddexp,
    )


@functools.cache
def tf_ops() -> Ops:
    """The TensorFlow backend: the same densities, differentiable w.r.t. the parameters."""
    import tensorflow as tf

    def where(cond: Any, a: Any, b: Any) -> Any:
        # tf.where refuses to mix a float64 tensor with a Python float (converted to float32).
        return tf.where(cond, tf.cast(a, tf.float64), tf.cast(b, tf.float64))

    def logaddexp(a: Any, b: Any) -> Any:
        # reduce_logsumexp handles -inf entries without NaN values or gradients.
        return tf.reduce_logsumexp(tf.stack([a, b], axis=0), axis=0)

    return Ops(
        log=tf.math.log,
        exp=tf.math.exp,
        log1p=tf.math.log1p,
        lgamma=tf.math.lgamma,
        where=where,
        logaddexp=logaddexp,
    )


# --------------------------------------------------------------------------------------------
# Log-densities, each written once over the shim. Off-support inputs are first replaced by a
# harmless in-support value before any log is taken, then masked: a plain where() on a value
# that is inf/NaN off the support would turn the gradient inside the support into NaN in TF.
# --------------------------------------------------------------------------------------------
def log_gaussian(ops: Ops, x: Any, y: Any) -> Any:
    """Log of N(x; y, (0.01 y)^2)."""
    sigma = gaussian_sigma(y)
    return -0.5 * ((x - y) / sigma) ** 2 - ops.log(sigma) - 0.5 * _LOG_2PI


def log_background(ops: Ops, x: Any) -> Any:
    """Log of the exponential (rate 0.1) truncated to [160, 185], normalised exactly."""
    inside = (x >= BKG_LOW) & (x <= BKG_HIGH)
    value = math.log(BKG_RATE) - BKG_RATE * (x - BKG_LOW) - _BKG_LOG_NORM
    return ops.restrict(inside, value)


def log_mixture(ops: Ops, x: Any, y: Any) -> Any:
    """Log of 0.3 Gaussian + 0.7 background, computed stably in log space."""
    return ops.logaddexp(
        math.log(SIGNAL_FRACTION) + log_gaussian(ops, x, y),
        math.log(1.0 - SIGNAL_FRACTION) + log_background(ops, x),
    )


def log_chi2(ops: Ops, x: Any, y: Any) -> Any:
    """Log of the chi-squared density of X2 (support x > 0)."""
    half_k = 0.5 * chi2_dof(y)
    inside = x > 0.0
    xs = ops.where(inside, x, 1.0)
    value = (half_k - 1.0) * ops.log(xs) - 0.5 * xs - half_k * _LOG_2 - ops.lgamma(half_k)
    return ops.restrict(inside, value)


def log_exponential(ops: Ops, x: Any, y: Any) -> Any:
    """Log of the exponential density of X3 (support x >= 0)."""
    scale = exponential_scale(y)
    return ops.restrict(x >= 0.0, -ops.log(scale) - x / scale)


def log_beta(ops: Ops, x: Any, y: Any) -> Any:
    """Log of the beta density of X4 (support 0 < x < 1)."""
    a, b = beta_shapes(y)
    inside = (x > 0.0) & (x < 1.0)
    xs = ops.where(inside, x, 0.5)
    log_norm = ops.lgamma(a) + ops.lgamma(b) - ops.lgamma(a + b)
    value = (a - 1.0) * ops.log(xs) + (b - 1.0) * ops.log1p(-xs) - log_norm
    return ops.restrict(inside, value)


def log_weibull(ops: Ops, x: Any, y: Any) -> Any:
    """Log of the Weibull density of X5 (support x > 0)."""
    k, lam = weibull_shape_scale(y)
    inside = x > 0.0
    # (x / lam)^k as exp(k * log(x / lam)): k reaches 400, and the log form keeps the gradient
    # free of inf * 0 for events on the far tail.
    z = ops.log(ops.where(inside, x, lam)) - ops.log(lam)
    value = ops.log(k) - ops.log(lam) + (k - 1.0) * z - ops.exp(k * z)
    return ops.restrict(inside, value)


# --------------------------------------------------------------------------------------------
# Samplers (vectorised over events; y is the per-event Y1 array)
# --------------------------------------------------------------------------------------------
def sample_gaussian(rng: np.random.Generator, y: np.ndarray) -> np.ndarray:
    """Draw X ~ N(y, (0.01 y)^2) per event."""
    return rng.normal(y, gaussian_sigma(y))


def sample_background(rng: np.random.Generator, n: int) -> np.ndarray:
    """Draw the truncated exponential exactly by inverting its CDF (no rejection loop)."""
    u = rng.random(n)
    mass = -math.expm1(-BKG_RATE * (BKG_HIGH - BKG_LOW))
    return BKG_LOW - np.log1p(-u * mass) / BKG_RATE


def sample_beta(rng: np.random.Generator, y: np.ndarray) -> np.ndarray:
    """Draw X4 ~ Beta(a(y), b(y)), redrawing values that float64 rounds onto the boundary.

    With b as small as 0.05 a sizeable fraction of true draws lies within 2**-53 of 1 and is
    returned as exactly 1.0, where the density is infinite and the log-density -inf (the original
    redrew those too). Redrawing conditions the sample on the representable open interval; only
    the lowest Y1 points (b <= 0.1) lose a noticeable mass this way. The loop runs over redraw
    rounds on the shrinking set of offenders, never over events.
    """
    a, b = beta_shapes(y)
    x = rng.beta(a, b)
    bad = (x <= 0.0) | (x >= 1.0)
    while bad.any():
        x[bad] = rng.beta(a[bad], b[bad])
        bad = (x <= 0.0) | (x >= 1.0)
    return x


def _sample_weibull(rng: np.random.Generator, y: np.ndarray) -> np.ndarray:
    k, lam = weibull_shape_scale(y)
    return lam * rng.weibull(k)


def sample_signal(rng: np.random.Generator, y: np.ndarray, n_variables: int) -> np.ndarray:
    """Draw the first n_variables of (X1..X5), independent given Y1, as an (n, d) array."""
    samplers: list[Callable[[], np.ndarray]] = [
        lambda: sample_gaussian(rng, y),
        lambda: rng.chisquare(chi2_dof(y)),
        lambda: rng.exponential(exponential_scale(y)),
        lambda: sample_beta(rng, y),
        lambda: _sample_weibull(rng, y),
    ]
    return np.column_stack([draw() for draw in samplers[:n_variables]])


# --------------------------------------------------------------------------------------------
# Shape nuisance carried by a per-event weight (Dim2GaussianWithShapeNuisance)
# --------------------------------------------------------------------------------------------
#: g(X1) = SHAPE_SLOPE + SHAPE_TILT (X1 − SHAPE_CENTRE)/SHAPE_SCALE: the X2 shift per unit ν.
#: Sized like a real weight variation (r within a few tens of per cent at |ν| = 1): with
#: 0.5 and 0.25 the ratios reached 10² at |ν| = 3, and an MSE regression of them was biased
#: (fitted ν off by 0.2-0.4 at ν = 0, measured).
SHAPE_SLOPE: float = 0.15
SHAPE_TILT: float = 0.05
SHAPE_CENTRE: float = 172.5
SHAPE_SCALE: float = 1.725
#: ln of the yield factor per unit ν: Σw r(ν) = e^{SHAPE_YIELD_RATE ν} Σw exactly.
SHAPE_YIELD_RATE: float = 0.1


def shape_slope(x1: Any) -> Any:
    """g(X1): how far one unit of ν moves X2, a little larger for heavier X1."""
    return SHAPE_SLOPE + SHAPE_TILT * (x1 - SHAPE_CENTRE) / SHAPE_SCALE


def log_shape_weight(x1: Any, x2: Any, nu: Any) -> Any:
    """ln r(x, ν) − ν a: the normalised part of the weight variation, ν g X2 − ν² g²/2.

    With X2 ~ N(0, 1) independent of X1, E[exp(ν g X2 − ν² g²/2) | X1] = 1 for every X1, so
    the normalisation S(ν) = e^{−aν} is exact for every Y1 (and every mix of Y1 values): a
    ratio model r·S can then reproduce p(x | Y1, ν) exactly. Plain arithmetic, any backend.
    """
    g = shape_slope(x1)
    return nu * g * x2 - 0.5 * (nu * g) ** 2


def log_shape_weight_expression(nu: str, x1: str, x2: str) -> str:
    """ln r(x, ν) as an analysis-config expression (the `weight_shifts` entry takes exp of it)."""
    g = f"({SHAPE_SLOPE} + {SHAPE_TILT} * ({x1} - {SHAPE_CENTRE}) / {SHAPE_SCALE})"
    return f"{SHAPE_YIELD_RATE} * {nu} + {nu} * {g} * {x2} - 0.5 * ({nu} * {g}) ** 2"


def log_unit_gaussian(x: Any, mean: Any) -> Any:
    """Log of N(x; mean, 1)."""
    return -0.5 * (x - mean) ** 2 - 0.5 * _LOG_2PI


def sample_shape_x2(rng: np.random.Generator, x1: np.ndarray, nu: Any) -> np.ndarray:
    """Draw X2 ~ N(ν g(X1), 1): the ν-reweighted X2 of Dim2GaussianWithShapeNuisance."""
    return rng.normal(nu * shape_slope(x1), 1.0)


#: Log-density factors of X1..X5 given Y1, in column order.
SIGNAL_FACTORS = (log_gaussian, log_chi2, log_exponential, log_beta, log_weibull)
