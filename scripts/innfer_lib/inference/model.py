"""What a likelihood is built from: categories of events or bins, and the processes in them.

These are plain records (numpy arrays, densities, yield models); the terms of
`innfer_lib.inference.terms` turn them into pieces of −ln L. A process's expected yield is
λ_p(θ) = nominal × μ_p × Π_k κ_k(ν_k), the CMS-style log-normal of `yields.log_kappa` written
with TensorFlow ops so that it is differentiable in θ together with the densities.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from innfer_lib.data.yields import log_kappa
from innfer_lib.density.models import Density

# Expected bin contents (and Poisson totals, and extrapolated κ) are floored here instead of
# dropping the bin: INNFER dropped bins with ν_b ≤ 0 *together with their observed counts*,
# which silently changes the data set as θ moves and makes the NLL jump. With the floor, a
# bin that the model empties while it has counts is penalised by n_b·ln(1e-12) (a wall the
# fitter backs off from) and an empty bin without counts contributes exactly zero.
EXPECTATION_FLOOR = 1e-12


def floor_expectation(value: Any) -> Any:
    """max(value, `EXPECTATION_FLOOR`) as a float64 tensor (see the constant for why)."""
    import tensorflow as tf

    return tf.maximum(value, tf.constant(EXPECTATION_FLOOR, tf.float64))


def lnn_factor_tf(nu: Any, kappa_down: Any, kappa_up: Any) -> Any:
    """Log-normal yield factor, differentiable in ν (TensorFlow, float64).

    `yields.log_kappa`'s interpolation with TensorFlow ops, so the kappas may be tensors, e.g.
    one per bin (a binned template, a POI-interpolated κ).

    Args:
        nu: the nuisance value (scalar tensor).
        kappa_down: κ at ν = −1; scalar or any shape (e.g. (n_bins,)).
        kappa_up: κ at ν = +1; the same shape as `kappa_down`.

    Returns:
        exp(ν·log κ(ν)), broadcast to the kappas' shape.
    """
    import tensorflow as tf

    nu = tf.convert_to_tensor(nu, tf.float64)
    d_up = tf.math.log(tf.convert_to_tensor(kappa_up, tf.float64))
    d_down = tf.math.log(tf.convert_to_tensor(kappa_down, tf.float64))
    return tf.exp(nu * log_kappa(nu, d_down, d_up, clip=tf.clip_by_value, where=tf.where))


@dataclass
class Process:
    """One process in one event category: its shape and its yield model.

    `density` is None for a process that only counts (a `poisson` likelihood never evaluates
    a shape); an event (mixture) term refuses such a process.
    """

    name: str
    density: Density | None
    nominal: float
    rate_parameter: str | None = None
    lnN: Mapping[str, Sequence[float]] = field(default_factory=dict)

    def yield_tf(self, params: Mapping[str, Any]) -> Any:
        """λ_p(θ) = nominal × μ_p × Π_k lnN factor, as a float64 tensor."""
        import tensorflow as tf

        value = tf.constant(self.nominal, tf.float64)
        if self.rate_parameter is not None:
            value = value * params[self.rate_parameter]
        for name, (down, up) in self.lnN.items():
            value = value * lnn_factor_tf(params[name], float(down), float(up))
        return value

    def parameter_names(self) -> list[str]:
        """Every parameter the process depends on (shape and yield)."""
        names = list(self.density.parameters) if self.density is not None else []
        if self.rate_parameter is not None:
            names.append(self.rate_parameter)
        return names + list(self.lnN)

    @property
    def smooth(self) -> bool:
        """Whether its log-density is C² in θ (a counting process has no density: smooth)."""
        return self.density is None or bool(self.density.smooth_in_parameters)


@dataclass
class Category:
    """Observed (or simulated, weighted) events of one category and the processes there."""

    name: str
    x: np.ndarray
    weights: np.ndarray
    processes: list[Process]


@dataclass
class BinnedProcess:
    """Per-bin expectation of one process, tabulated on a grid of one shape POI.

    ν_{b,p}(θ) = interp(nominal)(poi) × μ_p × Π_k lnN(ν_k; interp(κ_down), interp(κ_up)).
    The interpolation is piecewise linear between grid rows (so a grid value reproduces its
    row exactly). Outside the grid the end segment is extrapolated linearly, rather than
    giving NaN as INNFER did, so a fitter probing just past a limit sees a finite, smooth
    continuation; extrapolated expectations and κ are floored at `EXPECTATION_FLOOR`.
    With one grid row (`poi` None, or a single grid value) the templates are constant.

    Attributes:
        name: process name.
        nominal: (n_grid, n_bins) expected content per bin at each grid value.
        lnN: nuisance -> (n_grid, 2, n_bins) [κ_down, κ_up] per bin (a (2, n_bins) array is
            taken as constant in the POI).
        poi: the shape POI the rows are tabulated in.
        grid: sorted POI values of the rows of `nominal`.
        rate_parameter: multiplicative rate parameter μ_p, if any.
    """

    name: str
    nominal: np.ndarray
    lnN: Mapping[str, np.ndarray]
    poi: str | None = None
    grid: Sequence[float] = ()
    rate_parameter: str | None = None


@dataclass
class BinnedCategory:
    """Observed per-bin counts of one category (weighted sums allowed) and its processes."""

    name: str
    counts: np.ndarray
    processes: list[BinnedProcess]


def check_events(name: str, x: Any, weights: Any) -> None:
    """Events are (n_events, n_x) with one weight each.

    Raises:
        ValueError: other shapes.
    """
    if np.ndim(x) != 2 or np.ndim(weights) != 1 or len(x) != len(weights):
        raise ValueError(
            f"category {name!r}: x must be (n_events, n_x) and weights (n_events,), got "
            f"{np.shape(x)} and {np.shape(weights)}"
        )


def weight_sum(category: Category, power: int) -> float:
    """Σ_e w_e^power of the category's events, in float64."""
    return float(np.sum(np.asarray(category.weights, np.float64) ** power))
