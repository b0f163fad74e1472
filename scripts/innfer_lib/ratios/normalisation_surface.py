"""S(ν, θ): a ratio model's normalisation at every point θ of its density's parameters.

The likelihood uses p(x | θ) r̂(x, ν) S and leaves every yield change to the yield model, so
p·r̂·S must integrate to one at the θ the fit is at, not only at the defaults: S(ν, θ) =
1 / E_{p(x|θ)}[r̂(x, ν)]. The exact ratio of a weight variation may be normalised the same
for every θ, but a learned r̂ is wrong by different amounts in different parts of x, so its
normalisation moves with θ wherever θ moves the events. Measured on the shape benchmark (a
20-epoch classifier, 1,300-event pseudo-experiments at Y1 = 171, two σ_Y from the defaults):
S taken at the defaults gave σ_ν 23 % too large; S at the Y1 of the sample gave 7 %.

How S(ν, θ) is built (`fit_normalisation`):

* θ grid (`theta_grid`): each parameter of the flow on equally spaced knots over its training
  range (the fit's limits of it), `knots_per_dimension` of them (9 in one dimension, 7 in two,
  3 beyond, so the grid stays near 50 points up to three parameters);
* normalisation Asimov: the same number of flow events at each grid point θ_g, all pooled.
  Every pooled event gets, for each grid point, the weight p(x | θ_g) / Σ_k p(x | θ_k)
  (`mixture_weights`, the balance heuristic of multiple importance sampling), so
  Σ_i w_ig r̂(x_i, ν) / Σ_i w_ig estimates E_{p(x|θ_g)}[r̂] from *all* events. The grid points
  share the events, so S is smooth in θ (independent samples per point would put their
  sampling noise, ~0.2 % at 10⁵ events, into the slope of S in θ, which the likelihood reads
  N times over as information on θ), and the weights are at most K, so no point is starved;
* per grid point, the cubic spline in ν through its knot values (`normalisation.
  spline_through`, as for one point);
* across θ, cardinal cubic splines (`cardinal_coefficients`): S(ν, θ) = Σ_g S_g(ν) Π_d
  B_{d,g_d}(θ_d), where B_{d,j} is the not-a-knot cubic spline through the unit vector e_j
  of dimension d's knots. At fixed θ this is again a piecewise cubic in ν on the same knots
  (`at`), so S stays C² in ν for the Hessian; it is C² in θ inside the grid. Beyond the
  grid's θ range (a point outside the flow's trained range, which a fit cannot reach) θ is
  held at the edge.

A density without parameters has an empty θ: one grid point, the plain S(ν). A file written
with the one-point layout (no `theta` key) is read as that.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from innfer_lib.ratios.normalisation import NormalisationSpline, spline_through

#: Grid points of θ above which fewer knots per dimension are used (`knots_per_dimension`):
#: the normalisation Asimov evaluates the flow once per event and grid point.
MAX_GRID_POINTS = 50
#: Knots of a single θ parameter: the cubic then follows S(θ) to ~1e-4 over a training range
#: a few σ wide.
MAX_KNOTS = 9
#: A dimension needs at least this many knots for a curvature in θ.
MIN_KNOTS = 3


def knots_per_dimension(dimensions: int) -> int:
    """9 knots for one θ parameter, 7 for two (49 points), 3 for three or more."""
    if dimensions <= 0:
        return 1
    return max(MIN_KNOTS, min(MAX_KNOTS, math.floor(MAX_GRID_POINTS ** (1.0 / dimensions))))


def theta_grid(ranges: Mapping[str, Sequence[float]]) -> dict[str, list[float]]:
    """Equally spaced knots over each parameter's (low, high), in the order given.

    Raises:
        ValueError: a range with high <= low (a parameter the flow cannot depend on).
    """
    n = knots_per_dimension(len(ranges))
    grid = {}
    for name, (low, high) in ranges.items():
        if not float(high) > float(low):
            raise ValueError(f"parameter '{name}' has the empty range [{low}, {high}]")
        grid[name] = [float(v) for v in np.linspace(float(low), float(high), n)]
    return grid


def grid_points(grid: Mapping[str, Sequence[float]]) -> list[dict[str, float]]:
    """Every point of the grid, the last parameter varying fastest (C order)."""
    names = list(grid)
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*grid.values())]


def mixture_weights(log_prob: np.ndarray) -> np.ndarray:
    """w_ig = p(x_i | θ_g) / Σ_k p(x_i | θ_k) of pooled events drawn equally at each θ_g.

    Args:
        log_prob: (events, grid points) ln p(x_i | θ_g).

    Raises:
        ValueError: an event whose ln p is not finite at every grid point.
    """
    log_prob = np.asarray(log_prob, dtype=np.float64)
    bad = ~np.all(np.isfinite(log_prob), axis=1)
    if np.any(bad):
        raise ValueError(f"{int(bad.sum())} event(s) with a non-finite ln p at some grid point")
    top = log_prob.max(axis=1, keepdims=True)
    shifted = np.exp(log_prob - top)
    return shifted / shifted.sum(axis=1, keepdims=True)


def cardinal_coefficients(knots: Sequence[float]) -> np.ndarray:
    """(basis j, interval i, (c3, c2, c1, c0)) of the cubic splines through each unit vector.

    One knot (a parameter-free dimension) is the constant 1.
    """
    k = len(knots)
    if k == 1:
        return np.array([[[0.0, 0.0, 0.0, 1.0]]])
    eye = np.eye(k)
    return np.array([spline_through("basis", knots, eye[j]).coefficients for j in range(k)])


def _interval(knots: np.ndarray, value: float) -> tuple[int, float]:
    """(interval index, offset from its left knot) of a value held inside the knots."""
    if len(knots) == 1:
        return 0, 0.0
    value = min(max(float(value), float(knots[0])), float(knots[-1]))
    i = int(np.clip(np.searchsorted(knots, value, side="right") - 1, 0, len(knots) - 2))
    return i, value - float(knots[i])


def _horner(c: Any, d: Any) -> Any:
    return ((c[..., 0] * d + c[..., 1]) * d + c[..., 2]) * d + c[..., 3]


class NormalisationSurface:
    """S(ν, θ) on a grid of θ, cubic in ν and cardinal-cubic in θ (see the module docstring).

    Args:
        parameter: the nuisance ν.
        knots: increasing ν knots, shared by every grid point.
        theta: {parameter: knots} of the density parameters S depends on (may be empty).
        values: S at each (grid point, ν knot), shape (points, len(knots)), grid points in
            C order of `theta` (`grid_points`).

    Raises:
        ValueError: shapes that do not fit, or knots that do not increase.
    """

    def __init__(
        self,
        parameter: str,
        knots: Sequence[float] | np.ndarray,
        theta: Mapping[str, Sequence[float]],
        values: Any,
    ) -> None:
        self.parameter = parameter
        self.theta = {name: tuple(float(v) for v in ks) for name, ks in theta.items()}
        values = np.asarray(values, dtype=np.float64)
        shape = tuple(len(ks) for ks in self.theta.values())
        points = math.prod(shape)
        if values.ndim != 2 or values.shape[0] != points or values.shape[1] != len(knots):
            raise ValueError(
                f"normalisation of '{parameter}': values of shape {values.shape}, expected "
                f"({points}, {len(knots)}) for θ grid {shape} and {len(knots)} ν knots"
            )
        for name, ks in self.theta.items():
            if any(b <= a for a, b in itertools.pairwise(ks)):
                raise ValueError(f"normalisation of '{parameter}': knots of {name} must increase")
        nu_knots = [float(k) for k in knots]
        self.splines = tuple(spline_through(parameter, nu_knots, row) for row in values)
        self.knots = self.splines[0].knots
        self.values = values
        self._shape = shape
        # (points, intervals, 4): every grid point's cubic in ν.
        self._coefficients = np.array([s.coefficients for s in self.splines])
        self._cardinal = [cardinal_coefficients(ks) for ks in self.theta.values()]

    @classmethod
    def of_spline(cls, spline: NormalisationSpline) -> NormalisationSurface:
        """The θ-independent surface of one spline S(ν)."""
        return cls(spline.parameter, spline.knots, {}, [spline.values])

    @property
    def theta_parameters(self) -> tuple[str, ...]:
        """The density parameters S depends on."""
        return tuple(self.theta)

    @property
    def nu_range(self) -> tuple[float, float]:
        """(first knot, last knot): where S is defined in ν."""
        return self.splines[0].nu_range

    def _basis(self, theta: Mapping[str, Any] | None) -> np.ndarray:
        """Π_d B_{d,g_d}(θ_d) per grid point (C order), in NumPy."""
        out = np.ones(1)
        for (name, ks), coefficients in zip(self.theta.items(), self._cardinal, strict=True):
            if theta is None or name not in theta:
                raise ValueError(f"normalisation of '{self.parameter}' needs a value of {name}")
            i, d = _interval(np.asarray(ks), float(theta[name]))
            out = np.multiply.outer(out, _horner(coefficients[:, i, :], d)).reshape(-1)
        return out

    def at(self, theta: Mapping[str, Any] | None = None) -> NormalisationSpline:
        """S(ν) at one θ: a piecewise cubic on the same knots (the interpolated coefficients)."""
        basis = self._basis(theta)
        coefficients = np.tensordot(basis, self._coefficients, axes=1)
        values = basis @ self.values
        return NormalisationSpline(
            self.parameter,
            self.knots,
            tuple(tuple(float(c) for c in row) for row in coefficients),  # type: ignore[misc]
            tuple(float(v) for v in values),
        )

    def value(self, nu: Any, theta: Mapping[str, Any] | None = None) -> np.ndarray:
        """S(ν, θ) in NumPy for an array of ν inside the range and one θ."""
        return self.at(theta).value(nu)

    def log_value_tf(self, nu: Any, theta: Mapping[str, Any] | None = None) -> Any:
        """ln S(ν, θ) of scalar ν and θ's as a float64 tensor, differentiable in all of them.

        Raises:
            ValueError: (eagerly) ν outside the knot range or a missing θ; inside a
                tf.function an InvalidArgumentError names ν's range.
        """
        import tensorflow as tf

        if not self.theta:
            return self.splines[0].log_value_tf(nu)
        nu = tf.convert_to_tensor(nu, dtype=tf.float64)
        low, high = self.nu_range
        if tf.executing_eagerly():
            self.splines[0].value(np.atleast_1d(nu.numpy()))  # range check, naming ν
        else:
            message = f"{self.parameter} outside the normalisation spline's range [{low}, {high}]"
            tf.debugging.assert_greater_equal(nu, tf.constant(low, tf.float64), message=message)
            tf.debugging.assert_less_equal(nu, tf.constant(high, tf.float64), message=message)
        knots = tf.constant(self.knots, tf.float64)
        i = tf.searchsorted(knots[1:-1], tf.reshape(nu, [1]), side="right")[0]
        per_point = _horner(tf.gather(tf.constant(self._coefficients), i, axis=1), nu - knots[i])
        surface = tf.reshape(per_point, self._shape)
        for (name, ks), coefficients in zip(self.theta.items(), self._cardinal, strict=True):
            if theta is None or name not in theta:
                raise ValueError(f"normalisation of '{self.parameter}' needs a value of {name}")
            # dtype_hint: a Python float would otherwise become float32 first.
            t = tf.cast(tf.convert_to_tensor(theta[name], dtype_hint=tf.float64), tf.float64)
            theta_knots = tf.constant(ks, tf.float64)
            t = tf.clip_by_value(t, theta_knots[0], theta_knots[-1])
            j = tf.searchsorted(theta_knots[1:-1], tf.reshape(t, [1]), side="right")[0]
            basis = _horner(tf.gather(tf.constant(coefficients), j, axis=1), t - theta_knots[j])
            surface = tf.tensordot(basis, surface, axes=1)
        return tf.math.log(surface)

    def to_dict(self) -> dict[str, Any]:
        """Plain YAML-friendly form: knots, θ grid and the values (coefficients are rebuilt)."""
        return {
            "parameter": self.parameter,
            "knots": [float(k) for k in self.knots],
            "theta": {name: list(ks) for name, ks in self.theta.items()},
            "values": [[float(v) for v in row] for row in self.values],
        }

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], where: str = "normalisation spline"
    ) -> NormalisationSurface:
        """Read to_dict's form back, or the one-point form (`NormalisationSpline.to_dict`).

        Raises:
            ValueError: missing keys or inconsistent shapes, naming `where`.
        """
        if "theta" not in data:
            return cls.of_spline(NormalisationSpline.from_dict(data, where))
        try:
            theta = {str(k): [float(v) for v in ks] for k, ks in dict(data["theta"]).items()}
            return cls(
                str(data["parameter"]),
                [float(k) for k in data["knots"]],
                theta,
                [[float(v) for v in row] for row in data["values"]],
            )
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"{where}: not a normalisation surface ({err})") from err


def as_surface(normalisation: NormalisationSpline | NormalisationSurface) -> NormalisationSurface:
    """A surface from either form (a plain spline is θ-independent)."""
    if isinstance(normalisation, NormalisationSpline):
        return NormalisationSurface.of_spline(normalisation)
    return normalisation


def fit_normalisation(
    parameter: str,
    nu_grid: Sequence[float] | np.ndarray,
    weights: np.ndarray,
    ratio_at: Callable[[float], np.ndarray],
    theta: Mapping[str, Sequence[float]] | None = None,
) -> tuple[NormalisationSurface, np.ndarray]:
    """S(ν_j, θ_g) = Σ_i w_ig / Σ_i w_ig r(x_i, ν_j) over one set of events, and the surface.

    The ratio is evaluated once per ν for all grid points.

    Args:
        parameter: The nuisance ν.
        nu_grid: Increasing ν knots.
        weights: (events,) for a θ-free S, or (events, grid points) per grid point of
            `theta` in C order (`mixture_weights` times the event weight).
        ratio_at: r per event at one ν.
        theta: {parameter: knots} of the grid; None or empty for a θ-free S.

    Returns:
        The surface and, per (grid point, ν knot), INNFER's spread √(Σw²(r − S)²)/Σw (for
        the plots only).

    Raises:
        ValueError: Σw or Σw·r not positive at some (ν, θ_g), or shapes that do not fit.
    """
    theta = dict(theta or {})
    weights = np.asarray(weights, dtype=np.float64)
    if weights.ndim == 1:
        weights = weights[:, None]
    points = math.prod(len(ks) for ks in theta.values())
    if weights.shape[1] != points:
        raise ValueError(f"{weights.shape[1]} weight columns for {points} θ grid points")
    total = weights.sum(axis=0)
    values = np.empty((points, len(nu_grid)))
    errors = np.empty_like(values)
    for j, nu in enumerate(nu_grid):
        ratio = np.asarray(ratio_at(float(nu)), dtype=np.float64)
        reweighted = ratio @ weights
        if not (np.all(total > 0) and np.all(reweighted > 0)):
            g = int(np.argmin(np.minimum(total, reweighted)))
            raise ValueError(
                f"at {parameter} = {nu:.4g} (θ grid point {g}) Σw = {total[g]:.4g} and "
                f"Σw·r = {reweighted[g]:.4g}; both must be positive"
            )
        values[:, j] = total / reweighted
        spread = (ratio[:, None] - values[None, :, j]) ** 2
        errors[:, j] = np.sqrt(np.sum(weights**2 * spread, axis=0)) / total
    return NormalisationSurface(parameter, nu_grid, theta, values), errors


#: ν knots of a spline: a classifier's (INNFER: 100 on [−3, 3]; here on its trained range) and
#: at most as many for a regression.
GRID_POINTS = 100


def classifier_nu_grid(nu_range: Sequence[float], points: int = GRID_POINTS) -> np.ndarray:
    """`points` equal steps over the ν range a classifier was trained on.

    Raises:
        ValueError: an empty range or fewer than two points.
    """
    low, high = float(nu_range[0]), float(nu_range[1])
    if not high > low or points < 2:
        raise ValueError(f"needs a ν range with low < high and >= 2 points, got {nu_range}")
    return np.linspace(low, high, points)


def spline_grid(nu: np.ndarray, points: int = GRID_POINTS) -> np.ndarray:
    """The ν knots of a regression's S, from the ν its training events carry.

    The distinct values when there are at most `points` of them (a discrete or fixed shift:
    the network learned only there), else `points` equal steps over their range (a
    continuous or flat-top shift).

    Raises:
        ValueError: fewer than two distinct ν values (no ν dependence to normalise).
    """
    unique = np.unique(np.asarray(nu, dtype=np.float64))
    if len(unique) < 2:
        raise ValueError(f"needs at least two distinct ν values, got {unique.tolist()}")
    if len(unique) <= points:
        return unique
    return np.linspace(unique[0], unique[-1], points)


def fit_spline_on_grid(
    parameter: str,
    nu_range: tuple[float, float],
    weights: np.ndarray,
    ratio_at: Callable[[float], np.ndarray],
    points: int = GRID_POINTS,
) -> tuple[NormalisationSpline, np.ndarray]:
    """θ-free S(ν) over one set of events at `points` ν values of `nu_range` (INNFER's
    NormalisationSplineClassifier), and its per-knot spreads; see `fit_normalisation`."""
    surface, errors = fit_normalisation(
        parameter, classifier_nu_grid(nu_range, points), weights, ratio_at
    )
    return surface.splines[0], errors[0]


def read_normalisation(
    path: str | Path,
    parameter: str,
    model_path: str | Path,
    kind: str,
    data: Mapping[str, Any] | None = None,
) -> NormalisationSurface:
    """The normalisation file of a ratio model, checked to belong to it.

    Args:
        path: the normalisation YAML (evaluate_regression's or normalisation_spline_
            classifier's).
        parameter: the ν of the model it should normalise.
        model_path: the model's parameters.yaml, for the message.
        kind: regression or classifier, for the message.
        data: the file's contents when the caller has read it already.

    Raises:
        ModelFileError: (a ValueError) an unreadable file or one of another ν, naming both.
    """
    from innfer_lib.core.errors import ModelFileError
    from innfer_lib.core.io import read_yaml

    try:
        surface = NormalisationSurface.from_dict(
            read_yaml(path) if data is None else data, str(path)
        )
    except ValueError as err:
        raise ModelFileError(str(err)) from err
    if surface.parameter != parameter:
        raise ModelFileError(
            f"{path}: normalisation of '{surface.parameter}', but {model_path} is the "
            f"{kind} of '{parameter}'"
        )
    return surface
