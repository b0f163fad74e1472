"""The unbinned (extended) likelihood as one float64 TensorFlow function.

−ln L(θ) = −Σ_c [Σ_e w_e ln Σ_p λ_p(θ) p_p(x_e|θ) − Σ_p λ_p(θ)]  (extended), or
−ln L(θ) = −Σ_c Σ_e w_e [ln Σ_p λ_p p_p(x_e) − ln Σ_p λ_p]      (unbinned),
plus ½ν² for constrained nuisances. Value, gradient and Hessian all come from autodiff through
densities, yields and constraints together (INNFER differentiated yields by finite
differences against a stale cache, so its ∂/∂μ was zero). Events are processed in batches so
memory stays bounded; per-batch sums are accumulated in float64.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from innfer_lib.density import Density
from innfer_lib.yields import lnn_factor

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

EXTENDED = "unbinned_extended"
UNBINNED = "unbinned"
KINDS = (EXTENDED, UNBINNED)


@dataclass
class Process:
    """One process in one category: its shape and its yield model."""

    name: str
    density: Density
    nominal: float
    rate_parameter: str | None = None
    lnN: Mapping[str, Sequence[float]] = field(default_factory=dict)

    def yield_tf(self, params):
        import tensorflow as tf

        value = tf.constant(self.nominal, tf.float64)
        if self.rate_parameter is not None:
            value = value * params[self.rate_parameter]
        for name, (down, up) in self.lnN.items():
            value = value * lnn_factor(params[name], down, up, xp=_TFMath())
        return value


class _TFMath:
    """numpy-like namespace over TensorFlow so `yields` serves both numpy and autodiff."""

    def __getattr__(self, name):
        import tensorflow as tf

        if name == "where":
            return lambda c, a, b: tf.where(c, tf.cast(a, tf.float64), tf.cast(b, tf.float64))
        return getattr(tf.math, name)


@dataclass
class Category:
    """Observed (or simulated, weighted) events of one category and the processes there."""

    name: str
    x: np.ndarray
    weights: np.ndarray
    processes: list[Process]


class Likelihood:
    """Negative log-likelihood over named parameters, with autodiff derivatives.

    Args:
        columns: names of the parameters, in the order of the θ vectors passed in.
        categories: events and processes per category.
        kind: `unbinned_extended` or `unbinned`.
        constrained: nuisances with a unit-Gaussian constraint.
        constraint_centres: centre of each constraint (the truth for closure fits).
        batch_size: events per TensorFlow call; bounds memory, not the result.
    """

    def __init__(
        self,
        columns: Sequence[str],
        categories: Sequence[Category],
        kind: str = EXTENDED,
        constrained: Sequence[str] = (),
        constraint_centres: Mapping[str, float] | None = None,
        batch_size: int = 20_000,
    ):
        import tensorflow as tf

        if kind not in KINDS:
            raise ValueError(f"likelihood kind {kind!r} is not one of {KINDS}")
        self.columns = list(columns)
        self.categories = list(categories)
        self.kind = kind
        self.constrained = list(constrained)
        centres = constraint_centres or {}
        self._centres = {c: float(centres.get(c, 0.0)) for c in self.constrained}
        self.batch_size = int(batch_size)
        self.n_calls = {"value": 0, "gradient": 0, "hessian": 0}
        n_par = len(self.columns)
        self._batches = []
        for c_index, cat in enumerate(self.categories):
            for start in range(0, len(cat.weights), self.batch_size):
                stop = start + self.batch_size
                self._batches.append(
                    (
                        c_index,
                        tf.constant(cat.x[start:stop], tf.float64),
                        tf.constant(cat.weights[start:stop], tf.float64),
                    )
                )

        def spec(c_index: int) -> list:
            n_x = self.categories[c_index].x.shape[1]
            return [
                tf.TensorSpec([None, n_x], tf.float64),
                tf.TensorSpec([None], tf.float64),
                tf.TensorSpec([n_par], tf.float64),
            ]

        self._event_grad = [
            tf.function(self._make_event_grad(i), input_signature=spec(i))
            for i in range(len(self.categories))
        ]
        self._event_hess = [
            tf.function(self._make_event_hess(i), input_signature=spec(i))
            for i in range(len(self.categories))
        ]
        theta_spec = [tf.TensorSpec([n_par], tf.float64)]
        self._global_grad = tf.function(self._global_value_grad, input_signature=theta_spec)
        self._global_hess = tf.function(self._global_hessian, input_signature=theta_spec)

    def _params(self, theta):
        return {name: theta[i] for i, name in enumerate(self.columns)}

    def _event_term(self, c_index: int, x, w, theta):
        """−Σ_e w_e ln ρ(x_e) for one batch (ρ normalised to Σλ if not extended)."""
        import tensorflow as tf

        params = self._params(theta)
        cat = self.categories[c_index]
        logs, yields = [], []
        for proc in cat.processes:
            lam = proc.yield_tf(params)
            yields.append(lam)
            logs.append(tf.math.log(lam) + proc.density.log_prob(x, params))
        log_rho = tf.reduce_logsumexp(tf.stack(logs, axis=0), axis=0)
        if self.kind == UNBINNED:
            log_rho = log_rho - tf.math.log(tf.add_n(yields))
        return -tf.reduce_sum(w * log_rho)

    def _make_event_grad(self, c_index: int):
        import tensorflow as tf

        def fn(x, w, theta):
            with tf.GradientTape() as tape:
                tape.watch(theta)
                value = self._event_term(c_index, x, w, theta)
            return value, tape.gradient(value, theta)

        return fn

    def _make_event_hess(self, c_index: int):
        import tensorflow as tf

        def fn(x, w, theta):
            with tf.GradientTape() as outer:
                outer.watch(theta)
                with tf.GradientTape() as inner:
                    inner.watch(theta)
                    value = self._event_term(c_index, x, w, theta)
                grad = inner.gradient(value, theta)
            return outer.jacobian(grad, theta, experimental_use_pfor=False)

        return fn

    def _global_term(self, theta):
        """The parts that do not loop over events: Σλ (extended) and the constraints."""
        import tensorflow as tf

        params = self._params(theta)
        total = tf.constant(0.0, tf.float64)
        if self.kind == EXTENDED:
            for cat in self.categories:
                for proc in cat.processes:
                    total = total + proc.yield_tf(params)
        for name in self.constrained:
            total = total + 0.5 * (params[name] - self._centres[name]) ** 2
        return total

    def _global_value_grad(self, theta):
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(theta)
            value = self._global_term(theta)
        return value, tape.gradient(value, theta, unconnected_gradients="zero")

    def _global_hessian(self, theta):
        import tensorflow as tf

        with tf.GradientTape() as outer:
            outer.watch(theta)
            with tf.GradientTape() as inner:
                inner.watch(theta)
                value = self._global_term(theta)
            grad = inner.gradient(value, theta, unconnected_gradients="zero")
        return outer.jacobian(grad, theta, unconnected_gradients="zero")

    def _theta(self, theta):
        import tensorflow as tf

        return tf.constant(np.asarray(theta, np.float64))

    def value_and_gradient(self, theta) -> tuple[float, np.ndarray]:
        """−ln L and its gradient at θ (float64)."""
        t = self._theta(theta)
        value, grad = self._global_grad(t)
        total, g = float(value.numpy()), grad.numpy().astype(np.float64)
        for c_index, x, w in self._batches:
            v, gb = self._event_grad[c_index](x, w, t)
            total += float(v.numpy())
            g = g + gb.numpy()
        self.n_calls["value"] += 1
        self.n_calls["gradient"] += 1
        return total, g

    def hessian(self, theta) -> np.ndarray:
        """∂²(−ln L)/∂θ² by nested autodiff, summed over batches, symmetrised."""
        t = self._theta(theta)
        h = self._global_hess(t).numpy().astype(np.float64)
        for c_index, x, w in self._batches:
            h = h + self._event_hess[c_index](x, w, t).numpy()
        self.n_calls["hessian"] += 1
        return 0.5 * (h + h.T)

    def __call__(self, theta) -> float:
        return self.value_and_gradient(theta)[0]

    @property
    def n_events(self) -> int:
        return int(sum(len(c.weights) for c in self.categories))
