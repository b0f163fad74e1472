"""A trained weight-ratio classifier as the likelihood's `WeightRatio` (float64, physical units).

The classifier separates ν-shifted events (class 1) from nominal ones (class 0), both with ν as
an input and balanced in weight, so its probabilities estimate p₁/p₀ = w(x, ν)/w(x, 0). Its two
logits give that ratio directly:

    ln r(x, ν) = logit₁ − logit₀ = ln(p₁/p₀),

exact to rounding for any logits, anchored at ν = 0 (minus its value there, so r(x, 0) = 1;
see `inputs`). INNFER computes p₁/p₀ from the softmax, which underflows to
0/0 or x/0 where the classifier is confident (it then sets p₀ := 1, p₁ := 0, i.e. r = 0 and
ln r = −∞); the logit difference has no such saturation.

`LearnedClassifier.log_weight` = ln r + ln S(ν, θ), with S the normalisation of
`normalisation_surface` over density-only events (INNFER's NormalisationSplineClassifier used
one Asimov at the defaults; here they are pooled over a grid of the density's θ) on the ν
range the classifier was trained on.

Interpolating classifiers (INNFER's FCNN_TwoPointInterpolator / FCNN_ThreePointInterpolator,
`InterpolatedRatio`) evaluate the network only at ν = +1 (k₊ = r(x, +1)) and, for three points,
at ν = −1 (k₋ = r(x, −1); two points take k₋ = 1/k₊), and interpolate

    ln r(x, ν) = ν · log κ(ν; k₋, k₊)

with the asymmetric log-normal of the yields (data.yields.log_kappa: k₊^ν for ν ≥ ½, k₋^(−ν)
for ν ≤ −½, a quintic in between), so ln r is C² in ν whatever the activation. Differences from
INNFER, by decision: the interpolation is in ln(p₁/p₀) with k from the logits, so it cannot
saturate (INNFER gave events with p ≈ 0 or 1 a weight 0, i.e. ln r = −∞); its result is not
clipped to [0, 2] (a clip has no derivative at the bound and turns r = 0 into −∞); and it is
differentiable in ν (INNFER's was order 0 only). INNFER's likelihood also used the complement
probability here, adding −ln R (a suspected sign flip, inference spec §1.2); here the
likelihood and MakeAsimov both get +ln r.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from innfer_lib.core.errors import DataError, ModelFileError
from innfer_lib.core.io import read_yaml
from innfer_lib.data.yields import log_kappa
from innfer_lib.ratios.fcnn_options import (
    CLASSIFIER,
    CLASSIFIER_TYPES,
    PLAIN_CLASSIFIER,
    SMOOTH_ACTIVATIONS,
    check_classifier_type,
)
from innfer_lib.ratios.inputs import StandardisedInputs
from innfer_lib.ratios.normalisation import NormalisationSpline
from innfer_lib.ratios.normalisation_asimov import asimov_inputs
from innfer_lib.ratios.normalisation_surface import (
    NormalisationSurface,
    as_surface,
    classifier_nu_grid,
    fit_normalisation,
    read_normalisation,
)


class ClassifiedRatio(StandardisedInputs):
    """r(x, ν) = p₁/p₀ of a trained classifier in physical units."""

    def __init__(self, network: Any, parameters: Mapping[str, Any]) -> None:
        """Combine the float64 classifier FCNN and its data contract.

        Args:
            network: The trained FCNN of kind "classifier", float64 (FCNN.load).
            parameters: The classifier's parameters.yaml: X_columns (variables + [ν]),
                conditional_variable and standardisation (of X only).
        """
        super().__init__(parameters)
        self.network = network
        self.smooth_in_parameter = network.architecture["activation"] in SMOOTH_ACTIVATIONS

    def _logit_difference(self, inputs: np.ndarray) -> np.ndarray:
        logits = self.network(self.scaled_inputs(inputs)).numpy()
        return logits[:, 1] - logits[:, 0]

    def log_ratio_of_inputs(self, inputs: np.ndarray) -> np.ndarray:
        """ln r per event of physical model inputs (all X_columns, ν included, per event),
        anchored: the logit difference at the event's ν minus that at ν = 0 (`inputs`)."""
        inputs = np.asarray(inputs, dtype=np.float64)
        return self._logit_difference(inputs) - self._logit_difference(self.nominal_inputs(inputs))

    def log_ratio_function(self, x: np.ndarray) -> Callable[[float], np.ndarray]:
        """Anchored ln r per event of physical x (n, len(x_columns)) as a function of ν, in
        NumPy; the ν = 0 pass is made once, for the many ν of a normalisation grid."""
        nominal = self._logit_difference(self.physical_inputs(x, 0.0))
        return lambda nu: self._logit_difference(self.physical_inputs(x, nu)) - nominal

    def log_ratio_at(self, x: np.ndarray, nu: float) -> np.ndarray:
        """Anchored ln r per event of physical x (n, len(x_columns)) at one ν, in NumPy."""
        return self.log_ratio_function(x)(nu)

    def _logit_difference_tf(self, x: Any, nu: Any) -> Any:
        logits = self.network(self.scaled_inputs_tf(x, nu))
        return logits[:, 1] - logits[:, 0]

    def log_ratio(self, x: Any, nu: Any) -> Any:
        """Anchored ln r(x, ν) = (logit₁ − logit₀)(x, ν) − (logit₁ − logit₀)(x, 0) per event,
        float64, of physical x and scalar ν."""
        return self._logit_difference_tf(x, nu) - self._logit_difference_tf(x, 0.0)


class InterpolatedRatio(ClassifiedRatio):
    """INNFER's two- or three-point interpolating classifier (see the module docstring)."""

    def __init__(self, network: Any, parameters: Mapping[str, Any], points: int) -> None:
        """The classifier at ν = ±1 and the number of points (2: k₋ = 1/k₊, 3: k₋ = r(−1))."""
        super().__init__(network, parameters)
        if points not in (2, 3):
            raise ValueError(f"an interpolating classifier has 2 or 3 points, got {points}")
        self.points = points
        self.smooth_in_parameter = True

    def _log_k(self, x: Any, at: Any) -> tuple[Any, Any]:
        log_up = at(x, 1.0)
        return (-log_up if self.points == 2 else at(x, -1.0)), log_up

    def log_ratio_function(self, x: np.ndarray) -> Callable[[float], np.ndarray]:
        """Interpolated ln r per event of physical x as a function of ν, in NumPy (k₋ and k₊
        are computed once)."""
        plain = super().log_ratio_function(x)
        log_down, log_up = self._log_k(x, lambda _, nu: plain(nu))
        return lambda nu: float(nu) * log_kappa(np.float64(nu), log_down, log_up)

    def log_ratio(self, x: Any, nu: Any) -> Any:
        """Interpolated ln r per event, float64, differentiable (C²) in the scalar ν."""
        import tensorflow as tf

        nu = tf.convert_to_tensor(nu, tf.float64)
        nominal = self._logit_difference_tf(x, 0.0)  # once for k₊ and k₋
        log_down, log_up = self._log_k(x, lambda x, v: self._logit_difference_tf(x, v) - nominal)
        return nu * log_kappa(nu, log_down, log_up, clip=tf.clip_by_value, where=tf.where)


def classifier_ratio(
    network: Any, parameters: Mapping[str, Any], classifier_type: str = PLAIN_CLASSIFIER
) -> ClassifiedRatio:
    """The ratio of a classifier used as `classifier_type` (fcnn_options.CLASSIFIER_TYPES)."""
    check_classifier_type(classifier_type, "classifier type")
    if classifier_type == PLAIN_CLASSIFIER:
        return ClassifiedRatio(network, parameters)
    return InterpolatedRatio(network, parameters, 1 + CLASSIFIER_TYPES.index(classifier_type))


class LearnedClassifier:
    """ln[r(x, ν) S(ν, θ)] of one nuisance of one process in one category (a `WeightRatio`)."""

    def __init__(
        self,
        ratio: ClassifiedRatio,
        normalisation: NormalisationSpline | NormalisationSurface,
    ) -> None:
        """The classifier's ratio (plain or interpolating) and its normalisation S (a plain
        spline is the same for every θ)."""
        self.ratio = ratio
        self.normalisation = as_surface(normalisation)
        self.parameter = ratio.parameter
        self.x_columns = list(ratio.x_columns)
        self.smooth_in_parameter = ratio.smooth_in_parameter
        self.nu_range = self.normalisation.nu_range
        self.theta_parameters = self.normalisation.theta_parameters

    def log_weight(self, x: Any, nu: Any, theta: Mapping[str, Any] | None = None) -> Any:
        """ln r(x, ν) + ln S(ν, θ) per event, float64, differentiable in ν and θ."""
        return self.ratio.log_ratio(x, nu) + self.normalisation.log_value_tf(nu, theta)


def classifier_spline(
    model: ClassifiedRatio,
    events: pd.DataFrame,
    grid: Mapping[str, Sequence[float]],
    nu_range: Sequence[float],
    where: str,
) -> tuple[NormalisationSurface, np.ndarray]:
    """S(ν, θ) = Σw / Σw·r(x, ν) over the normalisation Asimov, on the trained ν range.

    Args:
        model: The classifier's ratio.
        events: The normalisation Asimov (its X columns and per-grid-point weights,
            `normalisation_asimov`).
        grid: Its θ grid.
        nu_range: (low, high) of ν the classifier was trained on (its parameters.yaml's
            training_range); INNFER used [−3, 3] whatever the training covered.
        where: The events' file, for errors.

    Raises:
        DataError: a missing column, or a ν where Σw·r is not positive, naming `where`.
    """
    x, weights = asimov_inputs(events, grid, model.x_columns, where, "classifier")
    log_ratio = model.log_ratio_function(x)
    low, high = float(nu_range[0]), float(nu_range[1])
    if isinstance(model, InterpolatedRatio) and not (low <= -1.0 and high >= 1.0):
        raise DataError(
            f"an interpolating classifier of {model.parameter} evaluates it at ±1, outside its "
            f"trained range [{low}, {high}]"
        )
    try:
        return fit_normalisation(
            model.parameter,
            classifier_nu_grid((low, high)),
            weights,
            lambda nu: np.exp(log_ratio(nu)),
            grid,
        )
    except ValueError as err:
        raise DataError(f"{where}: normalisation spline of {model.parameter}: {err}") from None


def load_classified_ratio(
    weights_path: str | Path, architecture_path: str | Path, parameters_path: str | Path
) -> ClassifiedRatio:
    """r of a trained classifier from the files train_classifier wrote (no spline yet).

    Raises:
        ModelFileError: (a ValueError) a file that cannot be read or does not fit the others;
            the message names it.
    """
    from innfer_lib.ratios.fcnn import load_trained_network

    network, parameters = load_trained_network(
        weights_path, architecture_path, parameters_path, CLASSIFIER
    )
    return ClassifiedRatio(network, parameters)


def load_classifier(
    weights_path: str | Path,
    architecture_path: str | Path,
    parameters_path: str | Path,
    spline_path: str | Path,
) -> LearnedClassifier:
    """The trained classifier of one nuisance from the files train_classifier and
    normalisation_spline_classifier wrote; the spline file records how the classifier is used
    (its `type`: plain or interpolating), since S(ν) was computed for that use.

    Raises:
        ModelFileError: (a ValueError) a file that cannot be read or does not fit the others;
            the message names it.
    """
    ratio = load_classified_ratio(weights_path, architecture_path, parameters_path)
    data = read_yaml(spline_path)
    normalisation = read_normalisation(
        spline_path, ratio.parameter, parameters_path, "classifier", data
    )
    try:
        classifier_type = check_classifier_type(
            data.get("type", PLAIN_CLASSIFIER), f"{spline_path}: type"
        )
    except ValueError as err:
        raise ModelFileError(str(err)) from err
    return LearnedClassifier(
        classifier_ratio(ratio.network, read_yaml(parameters_path), classifier_type),
        normalisation,
    )
