"""EvaluateRegression: regressed against true weight ratios, and the normalisation spline.

Works on the PreProcess tables (standardised) turned back into physical units, so the
prediction files and plots read like the inputs; no TensorFlow import here (the model passed
in does the forward pass).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from innfer_lib.data.schema import WEIGHT, WEIGHT_SHIFT
from innfer_lib.ratios.normalisation import NormalisationSpline, fit_normalisation_spline

#: Column of the prediction files holding r̂ (next to the true `wt_shift`).
REGRESSED = "wt_shift_regressed"


def physical_table(frame: pd.DataFrame, parameters: Mapping[str, Any]) -> pd.DataFrame:
    """X columns and wt_shift back in physical units, with the nominal weight `wt`."""
    stand = parameters["standardisation"]
    columns = [*parameters["X_columns"], WEIGHT_SHIFT]
    out = pd.DataFrame(
        {c: frame[c].to_numpy() * stand[c]["std"] + stand[c]["mean"] for c in columns}
    )
    out[WEIGHT] = frame[WEIGHT].to_numpy()
    return out


def regression_predictions(
    model: Any, frame: pd.DataFrame, parameters: Mapping[str, Any], where: str
) -> pd.DataFrame:
    """physical_table plus the regressed ratio r̂ (clipped at the floor, counted in the log)."""
    table = physical_table(frame, parameters)
    inputs = table[list(parameters["X_columns"])].to_numpy(np.float64)
    table[REGRESSED] = model.ratio_of_inputs(inputs, where)
    return table


def spline_of_predictions(parameter: str, train: pd.DataFrame) -> NormalisationSpline:
    """S(ν) = Σw/Σw·r̂ per ν bin of the training predictions (ratios.normalisation)."""
    return fit_normalisation_spline(
        parameter,
        train[parameter].to_numpy(),
        train[WEIGHT].to_numpy(),
        train[REGRESSED].to_numpy(),
    )
