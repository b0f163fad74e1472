"""Train the density model of one (process, category) from PreProcess outputs.

Joins the data contract (`parameters.yaml`, standardised train/test tables) to the flow and
its training loop; the rule script only reads and writes files.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from innfer_lib.core.config_files import read_config_file
from innfer_lib.core.errors import ConfigError
from innfer_lib.density.ensemble import member_architecture
from innfer_lib.density.training_options import check_density_options

if TYPE_CHECKING:
    from innfer_lib.density.flow import ConditionalFlow

LOG = logging.getLogger("innfer")


def load_architecture(
    path: str | Path,
    overrides: Mapping[str, Any] | None = None,
    seed: int | None = None,
    member: int = 0,
) -> dict[str, Any]:
    """Read an architecture YAML, apply overrides and the workflow seed, and check it.

    The mapping returned is what one flow is trained from: `ensemble` is dropped (it counts
    flows, it is not part of one) and `member` > 0 replaces the seed by that ensemble
    member's (`density.ensemble.member_seed`), so member 0 is the flow of a run without an
    ensemble, bit for bit.
    """
    arch = read_config_file(path)
    arch.update(overrides or {})
    if seed is not None:
        arch.setdefault("seed", int(seed))
    try:
        check_density_options(arch)
    except ValueError as err:
        raise ConfigError(f"{path}: {err}") from err
    arch.pop("type", None)
    return member_architecture(arch, member)


def _arrays(
    frame: pd.DataFrame, parameters: Mapping[str, Any]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = parameters["density"]
    return (
        frame[d["X_columns"]].to_numpy(np.float32),
        frame[d["Y_columns"]].to_numpy(np.float32).reshape(len(frame), len(d["Y_columns"])),
        frame["wt"].to_numpy(np.float32),
    )


def train_density(
    train: pd.DataFrame,
    test: pd.DataFrame,
    parameters: Mapping[str, Any],
    architecture: Mapping[str, Any],
    progress: bool = True,
    checkpoint_dir: str | Path | None = None,
) -> tuple[ConditionalFlow, dict[str, Any]]:
    """Build and train the conditional flow; returns (flow at its best epoch, history).

    checkpoint_dir is passed to :func:`innfer_lib.density.training.train_flow`: with it, a rerun
    of a killed job continues after the last finished epoch and ends with the weights and history
    an uninterrupted run would have produced.
    """
    # Imported here: TensorFlow is needed only once training starts.
    from innfer_lib.density.flow import ConditionalFlow
    from innfer_lib.density.training import train_flow

    d = parameters["density"]
    flow = ConditionalFlow(len(d["X_columns"]), len(d["Y_columns"]), architecture, dtype="float32")
    history = train_flow(
        flow,
        _arrays(train, parameters),
        _arrays(test, parameters),
        architecture,
        progress=progress,
        log=LOG.info,
        checkpoint_dir=checkpoint_dir,
    )
    history["flops_per_event"] = int(flow.count_flops_per_event())
    history["train_events"] = len(train)
    return flow, history
