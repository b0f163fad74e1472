"""A trained weight-ratio classifier as the likelihood's `WeightRatio` (float64, physical units).

The classifier separates ν-shifted events (class 1) from nominal ones (class 0), both with ν as
an input and balanced in weight, so its probabilities estimate p₁/p₀ = w(x, ν)/w(x, 0). Its two
logits give that ratio directly:

    ln r(x, ν) = logit₁ − logit₀ = ln(p₁/p₀),

exact to rounding for any logits. INNFER computes p₁/p₀ from the softmax, which underflows to
0/0 or x/0 where the classifier is confident (it then sets p₀ := 1, p₁ := 0, i.e. r = 0 and
ln r = −∞); the logit difference has no such saturation.

`LearnedClassifier.log_weight` = ln r + ln S(ν), with S the normalisation spline of
`fit_spline_on_grid` (a density-only Asimov at the defaults, INNFER's
NormalisationSplineClassifier) on the ν range the classifier was trained on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from innfer_lib.core.errors import DataError, ModelFileError
from innfer_lib.core.io import read_yaml
from innfer_lib.data.schema import WEIGHT
from innfer_lib.ratios.fcnn_options import CLASSIFIER, SMOOTH_ACTIVATIONS, resolve_fcnn_architecture
from innfer_lib.ratios.inputs import StandardisedInputs
from innfer_lib.ratios.normalisation import NormalisationSpline, fit_spline_on_grid


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

    def log_ratio_of_inputs(self, inputs: np.ndarray) -> np.ndarray:
        """ln r per event of physical model inputs (all X_columns, ν included, per event)."""
        logits = self.network(self.scaled_inputs(inputs)).numpy()
        return logits[:, 1] - logits[:, 0]

    def log_ratio_at(self, x: np.ndarray, nu: float) -> np.ndarray:
        """ln r per event of physical x (n, len(x_columns)) at one ν, in NumPy."""
        x = np.asarray(x, dtype=np.float64).reshape(-1, len(self.x_columns))
        inputs = np.insert(x, self._nu_index, float(nu), axis=1)
        return self.log_ratio_of_inputs(inputs)

    def log_ratio(self, x: Any, nu: Any) -> Any:
        """ln r(x, ν) = logit₁ − logit₀ per event, float64, of physical x and scalar ν."""
        logits = self.network(self.scaled_inputs_tf(x, nu))
        return logits[:, 1] - logits[:, 0]


class LearnedClassifier(ClassifiedRatio):
    """ln[r(x, ν) S(ν)] of one nuisance of one process in one category (a `WeightRatio`)."""

    def __init__(
        self, network: Any, parameters: Mapping[str, Any], spline: NormalisationSpline
    ) -> None:
        """The classifier's ratio (see ClassifiedRatio) and its normalisation spline."""
        super().__init__(network, parameters)
        self.spline = spline
        self.nu_range = spline.nu_range

    def log_weight(self, x: Any, nu: Any) -> Any:
        """(logit₁ − logit₀)(x, ν) + ln S(ν) per event, float64, differentiable in ν."""
        return self.log_ratio(x, nu) + self.spline.log_value_tf(nu)


#: Events of the density-only Asimov the spline averages over (INNFER: 10⁶). 10⁵ keeps the
#: job to seconds on a CPU (sampling the flow, then 100 ν values × 10⁵ classifier passes) while
#: the statistical error of Σw·r/Σw stays ~0.3 % for a spread of r of 100 %.
NORMALISATION_ASIMOV_EVENTS = 100_000


def classifier_spline(
    model: ClassifiedRatio, events: pd.DataFrame, nu_range: Sequence[float], where: str
) -> tuple[NormalisationSpline, np.ndarray]:
    """S(ν) = Σw / Σw·r(x, ν) over density-only events at the defaults, on the trained range.

    Args:
        model: The classifier's ratio.
        events: The normalisation Asimov (its X columns and `wt`).
        nu_range: (low, high) of ν the classifier was trained on (its parameters.yaml's
            training_range); INNFER used [−3, 3] whatever the training covered.
        where: The events' file, for errors.

    Raises:
        DataError: a missing column, or a ν where Σw·r is not positive, naming `where`.
    """
    missing = [c for c in [*model.x_columns, WEIGHT] if c not in events.columns]
    if missing:
        raise DataError(f"{where}: no column {missing} (the classifier reads {model.x_columns})")
    x = events[model.x_columns].to_numpy(np.float64)
    low, high = float(nu_range[0]), float(nu_range[1])
    try:
        return fit_spline_on_grid(
            model.parameter,
            (low, high),
            events[WEIGHT].to_numpy(np.float64),
            lambda nu: np.exp(model.log_ratio_at(x, nu)),
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
    from innfer_lib.ratios.fcnn import FCNN

    parameters = read_yaml(parameters_path)
    try:
        network_options = resolve_fcnn_architecture(read_yaml(architecture_path), CLASSIFIER)
    except ValueError as err:
        raise ModelFileError(f"{architecture_path}: {err}") from err
    network = FCNN.load(
        str(weights_path),
        len(parameters["X_columns"]),
        network_options,
        dtype="float64",
        kind=CLASSIFIER,
    )
    return ClassifiedRatio(network, parameters)


def load_classifier(
    weights_path: str | Path,
    architecture_path: str | Path,
    parameters_path: str | Path,
    spline_path: str | Path,
) -> LearnedClassifier:
    """The trained classifier of one nuisance from the files train_classifier and
    normalisation_spline_classifier wrote.

    Raises:
        ModelFileError: (a ValueError) a file that cannot be read or does not fit the others;
            the message names it.
    """
    ratio = load_classified_ratio(weights_path, architecture_path, parameters_path)
    try:
        spline = NormalisationSpline.from_dict(read_yaml(spline_path), str(spline_path))
    except ValueError as err:
        raise ModelFileError(str(err)) from err
    if spline.parameter != ratio.parameter:
        raise ModelFileError(
            f"{spline_path}: spline of '{spline.parameter}', but {parameters_path} is the "
            f"classifier of '{ratio.parameter}'"
        )
    return LearnedClassifier(ratio.network, read_yaml(parameters_path), spline)
