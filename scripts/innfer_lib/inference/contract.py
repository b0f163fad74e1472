"""The contract of a likelihood: what the fit, Hessian and covariance code may ask of one.

`likelihood.TermSum` (and the kind-built `likelihood.Likelihood`) satisfy it; the code that
minimises, differentiates and inverts is typed against it, so it never has to guess what an
object offers. Everything is −ln L over the parameter vector θ in `columns` order (errordef
0.5: Δ(−ln L) = ½ at 1σ).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

import numpy as np
from numpy.typing import ArrayLike

#: −ln L and its gradient at θ: what a minimiser or a difference Hessian needs.
ValueAndGradient = Callable[[np.ndarray], tuple[float, np.ndarray]]


class NegativeLogLikelihood(Protocol):
    """−ln L over named parameters, with exact (autodiff) derivatives."""

    @property
    def columns(self) -> list[str]:
        """Names of the parameters, in the order of θ."""
        ...

    @property
    def smooth(self) -> bool:
        """Whether −ln L is C² in θ, so that `hessian` is its curvature on every scale.

        False where a density or a template has kinks in θ: the curvature that matters is
        then the one on the scale of the uncertainty (`hessian.smoothed_gradient_slope`).
        """
        ...

    def __call__(self, theta: ArrayLike) -> float:
        """−ln L at θ."""
        ...

    def value_and_gradient(self, theta: ArrayLike) -> tuple[float, np.ndarray]:
        """−ln L and ∂(−ln L)/∂θ at θ (float64)."""
        ...

    def hessian(self, theta: ArrayLike) -> np.ndarray:
        """∂²(−ln L)/∂θ² at θ, symmetric (n_par, n_par)."""
        ...

    def dmatrix(self, theta: ArrayLike) -> np.ndarray:
        """D = Σ_e w_e² s_e s_eᵀ (+ constraints), the middle of the sandwich H⁻¹ D H⁻¹.

        Raises:
            ValueError: where the likelihood cannot say it (binned counts without Σw²).
        """
        ...


#: Parameter values either by name or as a vector in `columns` order.
ParameterValues = Mapping[str, float] | Sequence[float] | np.ndarray


def by_name(values: ParameterValues, columns: Sequence[str]) -> dict[str, float]:
    """{name: value} over `columns` from values given by name or as a θ vector.

    Interval and bootstrap callers get a best fit either from a file (by name) or from a
    minimiser (a vector); they all accept both through this.

    Raises:
        KeyError: a column missing from a mapping.
        ValueError: a vector of the wrong length.
    """
    if isinstance(values, Mapping):
        return {c: float(values[c]) for c in columns}
    vector = np.asarray(values, np.float64).reshape(len(columns))
    return dict(zip(columns, (float(v) for v in vector), strict=True))
