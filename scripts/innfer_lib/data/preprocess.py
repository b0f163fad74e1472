"""PreProcess of one (process, category): the density's sets and `parameters.yaml`, in one call.

The steps run in INNFER's order, each in its own module over the shared `Preprocessor`: yields
(`measured_yields`), the density's train/test sets (`training_sets`), the validation sets
(`validation_sets`) and, for a binned fit, its inputs (`binned_inputs`). X, Y and the weight of
an event are stored in one file, so they cannot fall out of step. The regression and classifier
models have their own job (`training_sets.aux_sets`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from innfer_lib.data.binned_inputs import binned_fit_inputs
from innfer_lib.data.measured_yields import measure_yields
from innfer_lib.data.preprocessor import Preprocessor
from innfer_lib.data.training_sets import density_sets
from innfer_lib.data.validation_sets import validation_sets


@dataclass
class PreprocessResult:
    """Everything the density preprocess job writes."""

    train: pd.DataFrame
    test: pd.DataFrame
    validation: dict[int, pd.DataFrame]
    parameters: dict[str, Any]


def preprocess(pre: Preprocessor) -> PreprocessResult:
    """Build the density training, test and validation sets and `parameters.yaml`.

    Args:
        pre: the job: analysis, process, category, LoadData outputs and the workflow seed.
    """
    analysis, process, category = pre.analysis, pre.process, pre.category
    yields = measure_yields(pre)
    density = density_sets(pre, yields)
    validation, eff = validation_sets(pre, density.info["training_range"])
    parameters = {
        "file_name": process,
        "category": category,
        "yields": yields,
        "rate_parameter": pre.rate,
        "eff_events": eff,
        "density": density.info,
        "regression_models": sorted(analysis.aux_entries(process, "regression", category)),
        "classifier_models": sorted(analysis.aux_entries(process, "classifier", category)),
        "validation_points": {
            i: {k: point[k] for k in analysis.process_parameters(process)}
            for i, point in enumerate(analysis.validation_points)
        },
        "events": density.info["events"],
    }
    parameters.update(binned_fit_inputs(pre, validation, yields))
    return PreprocessResult(
        train=density.train, test=density.test, validation=validation, parameters=parameters
    )
