"""What a fit predicts at a parameter point, for post-fit plots: bin yields or event weights.

A binned fit predicts bin yields directly (`binned_predictions`). An unbinned fit predicts
densities; the plot histograms events sampled from them at the best fit, and
`EventReweighter` moves those samples to another point θ by the weight
λ_p(θ) p_p(x|θ) / (λ_p(θ̂) p_p(x|θ̂)), so the band of `postfit_band` needs no new sampling per
draw. The draws lie within a few σ of θ̂, where the sample covers the reweighted density.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from innfer_lib.inference.likelihood import TermSum
from innfer_lib.inference.model import Category, floor_expectation
from innfer_lib.inference.templates import bin_expectation
from innfer_lib.inference.terms import BinnedTerm, named_parameters


@dataclass(frozen=True)
class BinnedPrediction:
    """One binned category: the fitted counts and each process's expected yield per bin.

    With a shape-only (`binned`) likelihood the processes are rescaled together so their sum
    equals the observed total, as the likelihood does.
    """

    observed: np.ndarray
    processes: dict[str, np.ndarray]

    @property
    def total(self) -> np.ndarray:
        return np.sum(list(self.processes.values()), axis=0)


def binned_predictions(likelihood: TermSum, theta: ArrayLike) -> dict[str, BinnedPrediction]:
    """{category: `BinnedPrediction`} of every binned term of the likelihood at θ.

    Raises:
        ValueError: the likelihood has no binned terms.
    """
    import tensorflow as tf

    terms = [t for t in likelihood.terms if isinstance(t, BinnedTerm)]
    if not terms:
        raise ValueError("this likelihood has no bins (no binned terms)")
    t = tf.constant(np.asarray(theta, np.float64))
    out = {}
    for term in terms:
        per_process = {
            name: bin_expectation([template], t).numpy().astype(np.float64)
            for name, template in zip(term.process_names, term.templates, strict=True)
        }
        if term.shape_only:
            total = floor_expectation(tf.constant(sum(per_process.values()))).numpy()
            scale = float(term.counts.sum() / total.sum())
            per_process = {k: v * scale for k, v in per_process.items()}
        out[term.name] = BinnedPrediction(observed=term.counts.copy(), processes=per_process)
    return out


def binned_total(likelihood: TermSum, category: str) -> Any:
    """θ → the category's predicted total per bin (for `postfit_band.propagate`)."""

    def total(theta: np.ndarray) -> np.ndarray:
        return binned_predictions(likelihood, theta)[category].total

    return total


class EventReweighter:
    """Weights moving events sampled at θ̂ to another θ, per process of one category.

    Args:
        columns: The likelihood's parameters, in θ order.
        category: The likelihood's category (its processes' densities and yield models).
        events: Process name → (x (n, n_x), w (n,)) of the events sampled at θ̂, with the
            weights summing to λ_p(θ̂).
        theta_hat: The best fit.
    """

    def __init__(
        self,
        columns: Sequence[str],
        category: Category,
        events: Mapping[str, tuple[np.ndarray, np.ndarray]],
        theta_hat: ArrayLike,
    ):
        import tensorflow as tf

        self.columns = list(columns)
        self._processes = {p.name: p for p in category.processes}
        missing = [p for p in self._processes if p not in events]
        if missing:
            raise ValueError(f"category {category.name!r}: no post-fit events of {missing}")
        self._x = {p: tf.constant(np.asarray(events[p][0], np.float64)) for p in self._processes}
        self._w = {p: np.asarray(events[p][1], np.float64) for p in self._processes}
        self._log = {p: tf.function(self._log_weight_fn(p)) for p in self._processes}
        self._base = {p: self._log[p](self._theta(theta_hat)).numpy() for p in self._processes}

    @staticmethod
    def _theta(theta: ArrayLike) -> Any:
        import tensorflow as tf

        return tf.constant(np.asarray(theta, np.float64))

    def _log_weight_fn(self, name: str) -> Any:
        """ln λ_p(θ) + ln p_p(x|θ) of the process's events, as a function of θ."""
        import tensorflow as tf

        process, x = self._processes[name], self._x[name]
        density = process.density
        if density is None:
            raise ValueError(f"process {name!r} has no density to reweight its events with")

        def log_weight(theta: Any) -> Any:
            params = named_parameters(self.columns, theta)
            return tf.math.log(process.yield_tf(params)) + density.log_prob(x, params)

        return log_weight

    def weights(self, theta: ArrayLike) -> dict[str, np.ndarray]:
        """Process → the events' weights at θ (at θ̂ the sampled weights themselves)."""
        t = self._theta(theta)
        out = {}
        for name, log in self._log.items():
            shift = log(t).numpy() - self._base[name]
            # A draw far outside the sample's support would give overflowing weights; those
            # events carry no information about θ anyway.
            out[name] = self._w[name] * np.exp(np.clip(shift, -700.0, 700.0))
        return out
