"""The inputs of a weight-ratio FCNN: physical (x, ν) to the standardised columns it was trained on.

Shared by the regression and the classifier, whose parameters.yaml (PreProcess) both record
X_columns = variables + [ν] and their standardisation.
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
