"""The inputs of a weight-ratio FCNN: physical (x, ν) to the standardised columns it was trained on.

Shared by the regression and the classifier, whose parameters.yaml (PreProcess) both record
X_columns = variables + [ν] and their standardisation.

Anchoring at ν = 0 (both models, by decision; INNFER used the network's r̂ as it is). The true
ratio w(x, ν)/w(x, 0) is exactly 1 at ν = 0, but a trained network's r̂(x, 0) is 1 only up to
its error ε(x). The models therefore use r̂(x, ν)/r̂(x, 0): at ν = 0 the reweighted density is
the flow itself, and an ε(x) that drifts with x no longer moves the density parameters θ
through S(0, θ) = 1/E_θ[1 + ε] (on the shape benchmark, a classifier's S(0, Y1) changed by 1 %
over the Y1 range and pulled Y1 by up to 0.24 σ at ν = 0 before anchoring). Near ν = 0 the
errors of r̂(x, ν) and r̂(x, 0) are those of one smooth network and largely cancel.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np


class StandardisedInputs:
    """Standardisation of an FCNN's inputs and the split of its columns into x and ν."""

    def __init__(self, parameters: Mapping[str, Any]) -> None:
        """Read X_columns, conditional_variable and standardisation of parameters.yaml."""
        self.parameter = str(parameters["conditional_variable"])
        columns = list(parameters["X_columns"])
        self.x_columns = [c for c in columns if c != self.parameter]
        stand = parameters["standardisation"]
        self._mean = np.array([stand[c]["mean"] for c in columns], dtype=np.float64)
        self._std = np.array([stand[c]["std"] for c in columns], dtype=np.float64)
        self._nu_index = columns.index(self.parameter)
        self._x_index = [columns.index(c) for c in self.x_columns]

    def physical_inputs(self, x: Any, nu: float) -> np.ndarray:
        """All X_columns per event of physical x (n, len(x_columns)) at one ν, in NumPy."""
        x = np.asarray(x, dtype=np.float64).reshape(-1, len(self.x_columns))
        return np.insert(x, self._nu_index, float(nu), axis=1)

    def nominal_inputs(self, inputs: Any) -> np.ndarray:
        """A copy of physical inputs with ν = 0, where the true ratio is 1 (anchoring)."""
        out = np.array(inputs, dtype=np.float64, copy=True)
        out[:, self._nu_index] = 0.0
        return out

    def scaled_inputs(self, inputs: Any) -> np.ndarray:
        """Standardised NumPy inputs of physical ones (all X_columns, in order, per event)."""
        return (np.asarray(inputs, dtype=np.float64) - self._mean) / self._std

    def scaled_inputs_tf(self, x: Any, nu: Any) -> Any:
        """Standardised float64 network inputs of physical x (n, len(x_columns)) and scalar ν,
        differentiable in ν."""
        import tensorflow as tf

        x = tf.convert_to_tensor(x, tf.float64)
        nu = tf.convert_to_tensor(nu, tf.float64)
        n = tf.shape(x)[0]
        x_scaled = (x - self._mean[self._x_index]) / self._std[self._x_index]
        nu_scaled = (nu - self._mean[self._nu_index]) / self._std[self._nu_index]
        columns = [x_scaled[:, j] for j in range(len(self.x_columns))]
        columns.insert(self._nu_index, tf.fill([n], nu_scaled))
        return tf.stack(columns, axis=1)
