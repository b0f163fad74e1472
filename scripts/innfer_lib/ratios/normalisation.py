"""The normalisation spline S(ν) of a weight-ratio model: Σw / Σw·r̂ as a function of ν.

A learned ratio r̂(x, ν) does not integrate exactly to the yield change it should leave to the
lnN/yield model, so the likelihood uses p(x | θ) r̂(x, ν) S(ν) with S(ν) = Σw / Σw r̂(x, ν) over
the nominal training events (models spec §2.3): p·r̂·S then integrates to one for every ν.

Built over one fixed set of events for every ν (`normalisation_surface.fit_normalisation`, at
every point of a grid of the density's parameters θ): Σw and Σw·r̂(x, ν) of the same events at
each ν of a grid, and a cubic spline (scipy CubicSpline) through the ratios; this module holds
the spline in ν at one θ. Differences from INNFER, by decision:

* the regression's S is not binned in the per-event ν of its training set. INNFER took each
  bin's ratio over the events whose drawn ν fell in it, so every knot averaged r̂ over other
  events, and S inherited their sampling fluctuation, ≈ std(r)/√N_bin, as wiggles between the
  knots. A wiggle of S multiplies the density of every fitted event of the process alike, so
  the likelihood reads its slope and curvature as a yield change N times over: for a weak
  nuisance this dominates. On the top-mass example's isr (3000 events per mass point) the
  binned S made σ_isr 4 times too small and pulled isr by +3.8σ; over fixed events, with the
  same network, σ_isr came within 2 % of the exact reweighting's
  (tests/perf/top_mass_isr_reference.py). Over fixed events S is Σw/Σw·r̂ of one sample, as
  smooth in ν as r̂ itself, at the price of one network pass per grid value;
* the spline's end conditions are scipy's "not-a-knot", not INNFER's "clamped". Clamped forces
  S'(ν) = 0 at both ends, which S(ν) does not have: for S = exp(−ν²/2) on [−1, 1] (r = exp(νx),
  x ~ N(0, 1)) it is off by 3.5 % between knots with 10 knots and 9 % with 4, and its
  d ln S/dν at ν = −0.95 is off by −0.30 (of 0.95) with 10 knots, an error the likelihood's
  gradient and Hessian inherit. Not-a-knot: 2e-5 and 6e-5;
* outside the knots it is an error, not NaN (INNFER's extrapolate=False); the knot range is
  the model's `nu_range`.

The spline is stored as its knots and per-interval cubic coefficients in YAML (no pickle) and
evaluated as a piecewise cubic, in NumPy for plots and in TensorFlow float64 (differentiable in
ν) for the likelihood. This module imports TensorFlow only inside `log_value_tf`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

#: scipy CubicSpline end conditions (see the module docstring for why not "clamped").
BOUNDARY_CONDITION = "not-a-knot"


@dataclass(frozen=True)
class NormalisationSpline:
    """S(ν) as a piecewise cubic through `knots`.

    Attributes:
        parameter: The nuisance ν.
        knots: Increasing ν values of the knots (at least two).
        coefficients: Per interval i, (c3, c2, c1, c0) of S = c3 d³ + c2 d² + c1 d + c0 with
            d = ν − knots[i] (scipy's PPoly layout, transposed).
        values: S at the knots (the per-bin ratios), for plots and checks.
    """

    parameter: str
    knots: tuple[float, ...]
    coefficients: tuple[tuple[float, float, float, float], ...]
    values: tuple[float, ...]

    @property
    def nu_range(self) -> tuple[float, float]:
        """(first knot, last knot): where S is defined."""
        return (self.knots[0], self.knots[-1])

    def _check_range(self, nu: np.ndarray) -> None:
        low, high = self.nu_range
        outside = (nu < low) | (nu > high) | ~np.isfinite(nu)
        if np.any(outside):
            raise ValueError(
                f"normalisation spline of '{self.parameter}': {self.parameter} = "
                f"{nu[outside][0]} is outside its range [{low}, {high}] (the ν the regression "
                "was trained on)"
            )

    def value(self, nu: Any) -> np.ndarray:
        """S(ν) in NumPy (float64), for any array of ν inside the range."""
        nu = np.asarray(nu, dtype=np.float64)
        self._check_range(np.atleast_1d(nu))
        knots = np.asarray(self.knots)
        i = np.clip(np.searchsorted(knots, nu, side="right") - 1, 0, len(knots) - 2)
        c = np.asarray(self.coefficients)[i]
        d = nu - knots[i]
        return ((c[..., 0] * d + c[..., 1]) * d + c[..., 2]) * d + c[..., 3]

    def log_value_tf(self, nu: Any) -> Any:
        """ln S(ν) of a scalar ν as a float64 tensor, differentiable in ν.

        Raises:
            ValueError: (eagerly) ν outside the knot range; inside a tf.function an
                InvalidArgumentError with the same message.
        """
        import tensorflow as tf

        nu = tf.convert_to_tensor(nu, dtype=tf.float64)
        low, high = self.nu_range
        if tf.executing_eagerly():
            self._check_range(np.atleast_1d(nu.numpy()))
        else:
            message = f"{self.parameter} outside the normalisation spline's range [{low}, {high}]"
            tf.debugging.assert_greater_equal(nu, tf.constant(low, tf.float64), message=message)
            tf.debugging.assert_less_equal(nu, tf.constant(high, tf.float64), message=message)
        knots = tf.constant(self.knots, tf.float64)
        coefficients = tf.constant(self.coefficients, tf.float64)
        i = tf.searchsorted(knots[1:-1], tf.reshape(nu, [1]), side="right")[0]
        c = tf.gather(coefficients, i)
        d = nu - tf.gather(knots, i)
        return tf.math.log(((c[0] * d + c[1]) * d + c[2]) * d + c[3])

    def to_dict(self) -> dict[str, Any]:
        """Plain YAML-friendly form."""
        return {
            "parameter": self.parameter,
            "knots": [float(k) for k in self.knots],
            "values": [float(v) for v in self.values],
            "coefficients": [[float(c) for c in row] for row in self.coefficients],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "normalisation spline") -> Any:
        """Read to_dict's form back.

        Raises:
            ValueError: missing keys or inconsistent lengths, naming `where`.
        """
        try:
            knots = tuple(float(k) for k in data["knots"])
            values = tuple(float(v) for v in data["values"])
            rows = data["coefficients"]
            coefficients = tuple((float(r[0]), float(r[1]), float(r[2]), float(r[3])) for r in rows)
            parameter = str(data["parameter"])
        except (KeyError, TypeError, IndexError, ValueError) as err:
            raise ValueError(f"{where}: not a normalisation spline ({err!r})") from err
        if (
            len(knots) < 2
            or len(coefficients) != len(knots) - 1
            or len(values) != len(knots)
            or any(b <= a for a, b in zip(knots, knots[1:], strict=False))
        ):
            raise ValueError(
                f"{where}: need increasing knots, one value per knot and one coefficient row "
                "per interval"
            )
        return cls(parameter, knots, coefficients, values)


def spline_through(
    parameter: str, knots: Sequence[float], values: Sequence[float]
) -> NormalisationSpline:
    """The cubic spline S(ν) through (knots, values), scipy's, stored as its coefficients."""
    from scipy.interpolate import CubicSpline

    spline = CubicSpline(knots, values, bc_type=BOUNDARY_CONDITION, extrapolate=False)
    # scipy stores c[k, i] for d^(3-k) on interval i.
    coefficients = tuple(tuple(float(v) for v in spline.c[:, i]) for i in range(len(knots) - 1))
    return NormalisationSpline(
        parameter,
        tuple(float(k) for k in knots),
        coefficients,  # type: ignore[arg-type]
        tuple(float(v) for v in values),
    )
