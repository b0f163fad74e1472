"""What a weight-ratio model offers the likelihood and the samplers.

Kept free of TensorFlow at import time, so the workflow's rule files and the config checks can
import it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class WeightRatio(Protocol):
    """ln[r(x, ν) S(ν, θ)] of one nuisance ν of one process in one category.

    r(x, ν) = w(x, ν)/w(x, 0) is the per-event weight ratio the model learned (regression) or
    the likelihood ratio of its classifier; S(ν, θ) = 1 / E_{p(x|θ)}[r(x, ν)] is its
    normalisation (`normalisation_surface`), so that p(x | θ) r(x, ν) S(ν, θ) is a normalised
    density in x at every θ of the density.

    Attributes:
        parameter: the nuisance ν.
        x_columns: the observables the model reads, in the order of the x passed in.
        nu_range: (low, high) of ν the model was trained and normalised on; the likelihood
            refuses ν outside it (INNFER's spline returned NaN there).
        smooth_in_parameter: ln r + ln S is C² in ν, so the autodiff Hessian is its curvature.
        theta_parameters: the density parameters θ that S depends on (empty when S is the
            same for every θ, as for an exact ratio).
    """

    parameter: str
    x_columns: list[str]
    nu_range: tuple[float, float]
    smooth_in_parameter: bool
    theta_parameters: tuple[str, ...]

    def log_weight(self, x: Any, nu: Any, theta: Mapping[str, Any] | None = None) -> Any:
        """ln r(x, ν) + ln S(ν, θ) per event, a float64 tensor differentiable in the scalar ν
        and in the θ values (`theta` holds one per `theta_parameters`)."""
