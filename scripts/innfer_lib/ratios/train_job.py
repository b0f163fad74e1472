"""Train the regression FCNN of one nuisance of one (process, category) from PreProcess outputs.

Joins the data contract (the regression's `parameters.yaml` and its standardised train/test
tables: X = variables + [ν], target `wt_shift`, weight `wt`) to the network and the shared
training loop; the rule script only reads and writes files. TensorFlow is imported only when
training starts.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from innfer_lib.core.config_files import read_config_file
from innfer_lib.core.errors import ConfigError, DataError
from innfer_lib.data.schema import WEIGHT
from innfer_lib.ratios.fcnn_options import (
    check_regression_options,
    resolve_fcnn_architecture,
    resolve_regression_training,
)

if TYPE_CHECKING:
    from innfer_lib.ratios.fcnn import FCNN

LOG = logging.getLogger("innfer")


def load_regression_architecture(
    path: str | Path, overrides: Mapping[str, Any] | None = None, seed: int | None = None
) -> dict[str, Any]:
    """Read a regression architecture YAML, apply overrides and the workflow seed, check it."""
    arch = read_config_file(path)
    arch.update(overrides or {})
    if seed is not None:
        arch.setdefault("seed", int(seed))
    try:
        check_regression_options(arch)
    except ValueError as err:
        raise ConfigError(f"{path}: {err}") from err
    arch.pop("type", None)
    return arch


def regression_arrays(
    frame: pd.DataFrame, parameters: Mapping[str, Any], where: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X, y, w) in float32 from a standardised regression table.

    Raises:
        DataError: a missing column or non-finite values, naming the file and column.
    """
    x_columns = list(parameters["X_columns"])
    (target,) = parameters["y_columns"]
    for column in [*x_columns, target, WEIGHT]:
        if column not in frame.columns:
            raise DataError(f"{where}: no column '{column}' (expected {x_columns + [target]})")
    arrays = (
        frame[x_columns].to_numpy(np.float32),
        frame[target].to_numpy(np.float32),
        frame[WEIGHT].to_numpy(np.float32),
    )
    if len(arrays[0]) == 0:
        raise DataError(f"{where}: no events")
    for name, a in zip(["X columns", target, WEIGHT], arrays, strict=True):
        if not np.all(np.isfinite(a)):
            raise DataError(f"{where}: non-finite values in {name}")
    return arrays


def train_regression(
    train: pd.DataFrame,
    test: pd.DataFrame,
    parameters: Mapping[str, Any],
    architecture: Mapping[str, Any],
    progress: bool = True,
    checkpoint_dir: str | Path | None = None,
    where: tuple[str, str] = ("train", "test"),
) -> tuple[FCNN, dict[str, Any]]:
    """Build and train the FCNN; returns (float32 network at its best epoch, history).

    Args:
        train: Standardised training table of the regression.
        test: Standardised test table.
        parameters: The regression's parameters.yaml (X_columns, y_columns, standardisation).
        architecture: Checked options (load_regression_architecture).
        progress: Show a progress bar.
        checkpoint_dir: As for the density: a killed job resumes from its last epoch.
        where: Names of the two tables in error messages (their files).
    """
    from innfer_lib.density.training import train_model
    from innfer_lib.ratios.fcnn import FCNN

    options = resolve_regression_training(architecture)
    net = FCNN(
        len(parameters["X_columns"]),
        resolve_fcnn_architecture(architecture),
        seed=int(options["seed"]),
        dtype="float32",
    )
    history = train_model(
        net,
        regression_arrays(train, parameters, where[0]),
        regression_arrays(test, parameters, where[1]),
        options,
        progress=progress,
        log=LOG.info,
        checkpoint_dir=checkpoint_dir,
    )
    history["train_events"] = len(train)
    return net, history
