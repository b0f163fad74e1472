"""A trained weight-ratio regression as the likelihood's `WeightRatio` (float64, physical units).

`LearnedRegression` wraps the float64 twin of the trained FCNN, the regression's standardisation
(parameters.yaml written by PreProcess) and its normalisation spline:

    log_weight(x, ν) = ln max(r̂(x, ν), R_FLOOR) − ln max(r̂(x, 0), R_FLOOR) + ln S(ν, θ),

with r̂ the network's output unstandardised back to `wt_shift` = w(ν)/w(0) (`loss: mse`, INNFER's)
or the exponential of its output (`loss: gamma_deviance`, whose network regresses ln r̂),
anchored at ν = 0 (divided by its value there, so the ratio is 1 at ν = 0; see `inputs`).

A regression trained with the squared error is not constrained to positive outputs; where it
predicts r̂ ≤ 0 (or tiny) the logarithm would be −∞ or NaN and the whole likelihood with it, as
in INNFER. Such predictions are clipped at R_FLOOR = 1e-3: far below any physical weight ratio
of a nuisance (the top-mass example's are clipped to [0.5, 2] by construction) yet bounded, so
one extrapolating event costs at most ln 1e3 ≈ 6.9 in the log-likelihood. Every clipped event
is counted and logged (a warning when eager, in the evaluation's record); at the floor the
derivative in ν is zero. A log-link regression's r̂ is positive, so only an output below
ln 1e-3 is clipped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from innfer_lib.core.io import read_yaml
from innfer_lib.data.schema import WEIGHT_SHIFT
from innfer_lib.ratios.fcnn_options import SMOOTH_ACTIVATIONS
from innfer_lib.ratios.inputs import StandardisedInputs
from innfer_lib.ratios.normalisation import NormalisationSpline
from innfer_lib.ratios.normalisation_surface import (
    NormalisationSurface,
    as_surface,
    read_normalisation,
)

LOG = logging.getLogger("innfer")

#: Smallest regressed ratio the log-weight uses (see the module docstring).
R_FLOOR = 1e-3


def clip_ratio(ratio: np.ndarray, where: str) -> tuple[np.ndarray, int]:
    """r̂ clipped at R_FLOOR and the number of events clipped (logged when > 0)."""
    low = ~(ratio >= R_FLOOR)
    n = int(np.count_nonzero(low))
    if n:
        LOG.warning(
            "%s: %d of %d regressed weight ratios below %g (min %.3g) clipped to %g",
            where,
            n,
            ratio.size,
            R_FLOOR,
            float(np.nanmin(ratio)),
            R_FLOOR,
        )
    return np.where(low, R_FLOOR, ratio), n


class RegressedRatio(StandardisedInputs):
    """r̂(x, ν) of a trained regression in physical units: the network and its standardisation."""

    def __init__(self, network: Any, parameters: Mapping[str, Any]) -> None:
        """Combine the float64 network and the data contract.

        Args:
            network: The trained FCNN, float64 (FCNN.load).
            parameters: The regression's parameters.yaml: X_columns (variables + [ν]),
                conditional_variable, y_columns ([wt_shift]) and standardisation.
        """
        super().__init__(parameters)
        stand = parameters["standardisation"]
        self._y_mean = float(stand[WEIGHT_SHIFT]["mean"])
        self._y_std = float(stand[WEIGHT_SHIFT]["std"])
        self.network = network
        self.smooth_in_parameter = network.architecture["activation"] in SMOOTH_ACTIVATIONS
        self.log_link = bool(network.log_link)

    def _unstandardise(self, y: Any) -> Any:
        return y * self._y_std + self._y_mean

    def ratio_of_inputs(self, inputs: np.ndarray, where: str = "regression") -> np.ndarray:
        """Clipped r̂ per event of physical model inputs (variables and ν per event)."""
        out = self.network(self.scaled_inputs(inputs)).numpy()
        ratio = np.exp(out) if self.log_link else self._unstandardise(out)
        return clip_ratio(ratio, where)[0]

    def ratio_function(self, x: np.ndarray, where: str) -> Callable[[float], np.ndarray]:
        """Anchored, clipped r̂ per event of physical x (n, len(x_columns)) as a function of ν;
        the ν = 0 pass is made once, for the many ν of a normalisation grid."""
        nominal = self.ratio_of_inputs(self.physical_inputs(x, 0.0), f"{where} at ν = 0")

        def at(nu: float) -> np.ndarray:
            ratio = self.ratio_of_inputs(self.physical_inputs(x, nu), f"{where} at ν = {nu:g}")
            return ratio / nominal

        return at

    def anchored_ratio_of_inputs(self, inputs: np.ndarray, where: str = "regression") -> np.ndarray:
        """Clipped r̂ at each event's ν over clipped r̂ at ν = 0: the ratio the likelihood uses."""
        inputs = np.asarray(inputs, dtype=np.float64)
        nominal = self.ratio_of_inputs(self.nominal_inputs(inputs), f"{where} at ν = 0")
        return self.ratio_of_inputs(inputs, where) / nominal

    def ratio(self, x: Any, nu: Any) -> Any:
        """Unclipped r̂(x, ν) per event, a float64 tensor, of physical x (n, len(x_columns))."""
        out = self.network(self.scaled_inputs_tf(x, nu))
        if self.log_link:
            import tensorflow as tf

            return tf.exp(out)
        return self._unstandardise(out)


class LearnedRegression(RegressedRatio):
    """ln[r̂(x, ν) S(ν, θ)] of one nuisance of one process in one category (a `WeightRatio`)."""

    def __init__(
        self,
        network: Any,
        parameters: Mapping[str, Any],
        normalisation: NormalisationSpline | NormalisationSurface,
    ) -> None:
        """The regressed ratio (see RegressedRatio) and its normalisation S (a plain spline is
        the same for every θ)."""
        super().__init__(network, parameters)
        self.normalisation = as_surface(normalisation)
        self.nu_range = self.normalisation.nu_range
        self.theta_parameters = self.normalisation.theta_parameters

    def _log_clipped(self, x: Any, nu: Any) -> Any:
        import tensorflow as tf

        ratio = self.ratio(x, nu)
        if tf.executing_eagerly():
            clip_ratio(ratio.numpy(), f"regression of {self.parameter}")
        return tf.math.log(tf.maximum(ratio, tf.constant(R_FLOOR, tf.float64)))

    def log_weight(self, x: Any, nu: Any, theta: Mapping[str, Any] | None = None) -> Any:
        """ln max(r̂(x, ν), R_FLOOR) − ln max(r̂(x, 0), R_FLOOR) + ln S(ν, θ) per event,
        float64, differentiable in ν and θ."""
        log_s = self.normalisation.log_value_tf(nu, theta)
        return self._log_clipped(x, nu) - self._log_clipped(x, 0.0) + log_s


def load_regressed_ratio(
    weights_path: str | Path, architecture_path: str | Path, parameters_path: str | Path
) -> RegressedRatio:
    """r̂ of a trained regression from the files train_regression wrote (no spline yet).

    Raises:
        ModelFileError: (a ValueError) a file that cannot be read or does not fit the others;
            the message names it.
    """
    from innfer_lib.ratios.fcnn import load_trained_network

    network, parameters = load_trained_network(weights_path, architecture_path, parameters_path)
    return RegressedRatio(network, parameters)


def load_regression(
    weights_path: str | Path,
    architecture_path: str | Path,
    parameters_path: str | Path,
    spline_path: str | Path,
) -> LearnedRegression:
    """The trained regression of one nuisance from the files train/evaluate_regression wrote.

    Raises:
        ModelFileError: (a ValueError) a file that cannot be read or does not fit the others;
            the message names it.
    """
    ratio = load_regressed_ratio(weights_path, architecture_path, parameters_path)
    normalisation = read_normalisation(spline_path, ratio.parameter, parameters_path, "regression")
    return LearnedRegression(ratio.network, read_yaml(parameters_path), normalisation)
