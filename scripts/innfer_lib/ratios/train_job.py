"""Train the regression or classifier FCNN of one nuisance of one (process, category) from
PreProcess outputs.

Joins the data contract (the model's `parameters.yaml` and its standardised train/test tables:
X = variables + [ν], target `wt_shift` (regression) or `classifier_truth` (classifier),
weight `wt`) to the network and the shared training loop; the rule script only reads and
writes files. TensorFlow is imported only when training starts.
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
    CLASSIFIER,
    REGRESSION,
    check_fcnn_options,
    resolve_fcnn_architecture,
    resolve_fcnn_training,
)

if TYPE_CHECKING:
    from innfer_lib.ratios.fcnn import FCNN

LOG = logging.getLogger("innfer")


def load_fcnn_architecture(
    path: str | Path,
    overrides: Mapping[str, Any] | None = None,
    seed: int | None = None,
    kind: str = REGRESSION,
) -> dict[str, Any]:
    """Read a regression or classifier architecture YAML, apply overrides and the workflow
    seed, check it."""
    arch = read_config_file(path)
    arch.update(overrides or {})
    if seed is not None:
        arch.setdefault("seed", int(seed))
    try:
        check_fcnn_options(arch, kind)
    except ValueError as err:
        raise ConfigError(f"{path}: {err}") from err
    arch.pop("type", None)
    return arch


def load_regression_architecture(
    path: str | Path, overrides: Mapping[str, Any] | None = None, seed: int | None = None
) -> dict[str, Any]:
    """load_fcnn_architecture of a regression."""
    return load_fcnn_architecture(path, overrides, seed, REGRESSION)


def load_classifier_architecture(
    path: str | Path, overrides: Mapping[str, Any] | None = None, seed: int | None = None
) -> dict[str, Any]:
    """load_fcnn_architecture of a classifier."""
    return load_fcnn_architecture(path, overrides, seed, CLASSIFIER)


def regression_arrays(
    frame: pd.DataFrame, parameters: Mapping[str, Any], where: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X, y, w) in float32 from a standardised regression or classifier table.

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


def physical_ratio_arrays(
    arrays: tuple[np.ndarray, np.ndarray, np.ndarray],
    frame: pd.DataFrame,
    parameters: Mapping[str, Any],
    where: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X, r, w) with the target turned back into the physical ratio r (in float64, from the
    table), which the gamma deviance compares with e^ŷ.

    Raises:
        DataError: a ratio that is not positive (its logarithm enters the deviance), naming the
            file and column. A ratio within 1e-9 standard deviations of zero counts as zero:
            that is all that standardising and unstandardising a zero can leave.
    """
    (target,) = parameters["y_columns"]
    stand = parameters["standardisation"][target]
    ratio = frame[target].to_numpy(np.float64) * stand["std"] + stand["mean"]
    bad = ~(ratio > 1e-9 * stand["std"])
    if np.any(bad):
        raise DataError(
            f"{where}: column '{target}' has {int(np.count_nonzero(bad))} ratios w(ν)/w(0) "
            f"that are not positive (min {float(np.min(ratio)):.4g}); `loss: gamma_deviance` "
            "needs r > 0 everywhere: use `loss: mse` for weight variations that can change "
            "sign or vanish"
        )
    return arrays[0], ratio.astype(np.float32), arrays[2]


def train_fcnn(
    train: pd.DataFrame,
    test: pd.DataFrame,
    parameters: Mapping[str, Any],
    architecture: Mapping[str, Any],
    progress: bool = True,
    checkpoint_dir: str | Path | None = None,
    where: tuple[str, str] = ("train", "test"),
    kind: str = REGRESSION,
) -> tuple[FCNN, dict[str, Any]]:
    """Build and train the FCNN; returns (float32 network at its best epoch, history).

    Args:
        train: Standardised training table of the model.
        test: Standardised test table.
        parameters: The model's parameters.yaml (X_columns, y_columns, standardisation).
        architecture: Checked options (load_fcnn_architecture of the same kind).
        progress: Show a progress bar.
        checkpoint_dir: As for the density: a killed job resumes from its last epoch.
        where: Names of the two tables in error messages (their files).
        kind: "regression" or "classifier".
    """
    from innfer_lib.density.training import train_model
    from innfer_lib.ratios.fcnn import FCNN

    options = resolve_fcnn_training(architecture, kind)
    net = FCNN(
        len(parameters["X_columns"]),
        resolve_fcnn_architecture(architecture, kind),
        seed=int(options["seed"]),
        dtype="float32",
        kind=kind,
    )
    train_arrays = regression_arrays(train, parameters, where[0])
    test_arrays = regression_arrays(test, parameters, where[1])
    if net.log_link:
        train_arrays = physical_ratio_arrays(train_arrays, train, parameters, where[0])
        test_arrays = physical_ratio_arrays(test_arrays, test, parameters, where[1])
    arrays = (train_arrays, test_arrays)
    if kind == CLASSIFIER:
        for (_, truth, _), name in zip(arrays, where, strict=True):
            if not np.all((truth == 0.0) | (truth == 1.0)):
                column = parameters["y_columns"][0]
                raise DataError(f"{name}: column '{column}' must be 0 (nominal) or 1 (shifted)")
    history = train_model(
        net,
        train_arrays,
        test_arrays,
        options,
        progress=progress,
        log=LOG.info,
        checkpoint_dir=checkpoint_dir,
    )
    history["train_events"] = len(train)
    return net, history


def train_regression(
    train: pd.DataFrame,
    test: pd.DataFrame,
    parameters: Mapping[str, Any],
    architecture: Mapping[str, Any],
    progress: bool = True,
    checkpoint_dir: str | Path | None = None,
    where: tuple[str, str] = ("train", "test"),
) -> tuple[FCNN, dict[str, Any]]:
    """train_fcnn of a regression."""
    return train_fcnn(
        train, test, parameters, architecture, progress, checkpoint_dir, where, REGRESSION
    )


def train_classifier(
    train: pd.DataFrame,
    test: pd.DataFrame,
    parameters: Mapping[str, Any],
    architecture: Mapping[str, Any],
    progress: bool = True,
    checkpoint_dir: str | Path | None = None,
    where: tuple[str, str] = ("train", "test"),
) -> tuple[FCNN, dict[str, Any]]:
    """train_fcnn of a classifier (truth 1 = ν-shifted events, 0 = nominal)."""
    return train_fcnn(
        train, test, parameters, architecture, progress, checkpoint_dir, where, CLASSIFIER
    )
