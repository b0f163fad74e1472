"""Train the density model of one (process, category) from PreProcess outputs.

Joins the data contract (`parameters.yaml`, standardised train/test tables) to the flow and
its training loop; the rule script only reads and writes files.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from innfer_lib.core.config_files import read_config_file
from innfer_lib.core.errors import ConfigError
from innfer_lib.core.io import atomic_path, write_yaml
from innfer_lib.density.ensemble import member_architecture
from innfer_lib.density.models import learned_architecture
from innfer_lib.density.scan_space import architecture_at
from innfer_lib.density.training_options import check_density_options

if TYPE_CHECKING:
    from innfer_lib.density.flow import ConditionalFlow

LOG = logging.getLogger("innfer")


def load_architecture(
    path: str | Path,
    overrides: Mapping[str, Any] | None = None,
    seed: int | None = None,
    member: int = 0,
    point: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Read an architecture YAML, apply overrides and the workflow seed, and check it.

    `point` ({dotted key: value}) picks one point of a scan file (`density.scan_space`): the
    hyperparameter scan's trials read the scan file itself, so editing it reruns them.
    """
    arch = read_config_file(path)
    if point is not None:
        arch = architecture_at(arch, point)
    return prepare_architecture(arch, overrides, seed, member, where=str(path))


def prepare_architecture(
    architecture: Mapping[str, Any],
    overrides: Mapping[str, Any] | None = None,
    seed: int | None = None,
    member: int = 0,
    where: str = "architecture",
) -> dict[str, Any]:
    """The mapping one flow is trained from, checked.

    `ensemble` is dropped (it counts flows, it is not part of one) and `member` > 0 replaces
    the seed by that ensemble member's (`density.ensemble.member_seed`), so member 0 is the
    flow of a run without an ensemble, bit for bit. The workflow seed applies where the
    architecture sets none.
    """
    arch = dict(architecture)
    arch.update(overrides or {})
    if seed is not None:
        arch.setdefault("seed", int(seed))
    try:
        check_density_options(arch)
    except ValueError as err:
        raise ConfigError(f"{where}: {err}") from err
    arch.pop("type", None)
    return member_architecture(arch, member)


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file: which weights a warm-started flow came from, even if the file moves
    or is overwritten later."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
    on_epoch_end: Callable[[int, float], None] | None = None,
    warm_start: str | Path | None = None,
) -> tuple[ConditionalFlow, dict[str, Any]]:
    """Build and train the conditional flow; returns (flow at its best epoch, history).

    checkpoint_dir and on_epoch_end are passed to :func:`innfer_lib.density.training.train_flow`:
    with a checkpoint directory, a rerun of a killed job continues after the last finished epoch
    and ends with the weights and history an uninterrupted run would have produced; the Bayesian
    tuning prunes hopeless trials from on_epoch_end.
    """
    # Imported here: TensorFlow is needed only once training starts.
    from innfer_lib.density.flow import ConditionalFlow
    from innfer_lib.density.training import train_flow

    d = parameters["density"]
    flow = ConditionalFlow(
        len(d["X_columns"]),
        len(d["Y_columns"]),
        architecture,
        dtype="float32",
        pretransform=d.get("pretransform"),
    )
    if warm_start is not None:
        flow.warm_start(str(warm_start))
        LOG.info("warm start: the flow starts from the weights in %s", warm_start)
    history = train_flow(
        flow,
        _arrays(train, parameters),
        _arrays(test, parameters),
        architecture,
        progress=progress,
        log=LOG.info,
        checkpoint_dir=checkpoint_dir,
        on_epoch_end=on_epoch_end,
    )
    if warm_start is not None:
        history["warm_start"] = {
            "file": str(warm_start),
            "sha256": file_digest(warm_start),
            "train_loss_at_start": history["train_loss"][0],
            "test_loss_at_start": history["test_loss"][0],
        }
    history["flops_per_event"] = int(flow.count_flops_per_event())
    history["train_events"] = len(train)
    return flow, history


def save_trained(
    flow: ConditionalFlow,
    history: Mapping[str, Any],
    architecture: Mapping[str, Any],
    parameters: Mapping[str, Any],
    weights: str | Path,
    record: str | Path,
    history_file: str | Path,
) -> None:
    """Write a trained flow the way every reader expects it: weights, architecture record
    (`models.load_density` finds the weights beside it) and training history."""
    with atomic_path(weights) as tmp:
        flow.save(str(tmp))
    write_yaml(record, learned_architecture(architecture, parameters))
    write_yaml(history_file, history)
