"""One Bayesian tuning trial: train the flow of a proposed point and score it.

A grid-scan trial is two Snakemake jobs (`train_scan_trial`, then the metrics); a Bayesian
trial is only known once optuna proposes it, so a worker job runs both steps in turn for each
trial it asks for, writing the same files a grid trial has into `trial_<n>/` of the study
directory: the architecture record, weights, history and metrics.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from innfer_lib.core.io import write_yaml
from innfer_lib.core.paths import TRIAL_FILES
from innfer_lib.density.checkpoint import remove_checkpoint
from innfer_lib.density.models import load_density
from innfer_lib.density.performance import DensityInputs, MetricOptions, performance_metrics
from innfer_lib.density.scan_space import TRIAL_OVERRIDES, MetricChoice, architecture_at
from innfer_lib.density.train_job import prepare_architecture, save_trained, train_density


def trial_files(root: str | Path, number: int) -> dict[str, Path]:
    """The files of Bayesian trial `number` under the study directory `root`."""
    folder = Path(root) / f"trial_{number}"
    return {role: folder / name for role, name in TRIAL_FILES.items()}


@dataclass(frozen=True)
class TrialSetup:
    """What every trial of one (process, category) shares."""

    space: Mapping[str, Any]
    #: The metrics' inputs, with the training and test events (the trial trains on them).
    inputs: DensityInputs
    options: MetricOptions
    metric: MetricChoice
    seed: int
    metric_seed: int
    root: Path


def run_trial(
    setup: TrialSetup,
    number: int,
    params: Mapping[str, Any],
    report: Callable[[int, float], None],
    origin: int | None = None,
) -> float:
    """Train trial `number` at `params`, write its files and return its metric.

    `origin` names the killed trial this one retries: training resumes from its checkpoint
    (the checkpoint's fingerprint guarantees it is the same point and data).

    The test loss of every epoch goes to `report` with the sign that makes the study's
    direction hold (the pruner compares intermediate values in that sense), so a hopeless
    trial stops after a few epochs whatever metric ranks the trials.
    """
    files = trial_files(setup.root, number)
    files["weights"].parent.mkdir(parents=True, exist_ok=True)
    checkpoint = trial_files(setup.root, number if origin is None else origin)["checkpoint"]
    if setup.inputs.train is None or setup.inputs.test is None:
        raise ValueError("a tuning trial needs the training and test events")
    architecture = prepare_architecture(
        architecture_at(setup.space, params),
        TRIAL_OVERRIDES,
        setup.seed,
        where=f"trial {number}",
    )
    sign = 1.0 if setup.metric.direction == "min" else -1.0
    try:
        flow, history = train_density(
            setup.inputs.train,
            setup.inputs.test,
            setup.inputs.parameters,
            architecture,
            progress=False,
            checkpoint_dir=checkpoint,
            on_epoch_end=lambda epoch, loss: report(epoch, sign * loss),
        )
    except Exception:
        # A pruned or crashed trial is never resumed (only a killed one is retried), so its
        # training state would only take space.
        remove_checkpoint(checkpoint)
        raise
    save_trained(
        flow,
        history,
        architecture,
        setup.inputs.parameters,
        files["weights"],
        files["architecture"],
        files["history"],
    )
    remove_checkpoint(checkpoint)
    density = load_density(files["architecture"], setup.inputs.parameters)
    metrics = performance_metrics(density, setup.inputs, setup.options, setup.metric_seed)
    write_yaml(files["metrics"], metrics)
    return float(metrics[setup.metric.key])
