"""The Bayesian tuning's optuna study, shared by W worker jobs through one journal file.

The study lives in a journal file (optuna's `JournalFileBackend`) in the results directory.
The journal appends operations under a lock file created with ``O_EXCL``
(`JournalFileOpenLock`), which holds on NFS v3+ where SQLite's ``fcntl`` locks do not, so
worker jobs on different cluster nodes share the study through the shared filesystem.

Each worker asks for trials until the study holds the requested number of finished (complete
or pruned) trials counting the ones other workers are running. The journal is a side file, not
an output of any job: a rerun of a worker (a killed job, or more `trials`) finds the trials
already finished and adds trials instead of repeating them. A trial left RUNNING by a killed
worker is failed when that worker's job reruns (Snakemake never runs one worker twice at
once), and its hyperparameters are queued again, so the search does not lose the point and
the retry resumes the killed trial's training from its checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock
from optuna.trial import TrialState

from innfer_lib.core.errors import DataError
from innfer_lib.core.seeds import stable_seed
from innfer_lib.density.sampling import batch_seed
from innfer_lib.density.scan_space import Dimension, MetricChoice

LOG = logging.getLogger("innfer")
#: The study's journal file in the study directory.
JOURNAL = "study.journal"
WORKER_ATTR = "worker"
RETRY_ATTR = "retry_of"
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
#: The pruner stops only hopeless trials: those whose best test loss so far is in the worst
#: quarter of earlier trials' at the same epoch (optuna's PercentilePruner keeps the best 75 %),
#: once 2 trials finished and after 5 epochs. The median rule (after 3 epochs) pruned 5 of the
#: 8 trials of a Dim1Gaussian study (tests/perf/tuning_searches.py): more than "hopeless".
PRUNER_KEEP_PERCENTILE = 75.0
PRUNER_STARTUP_TRIALS = 2
PRUNER_WARMUP_EPOCHS = 5

optuna.logging.set_verbosity(optuna.logging.WARNING)


def distributions(dims: Sequence[Dimension]) -> dict[str, BaseDistribution]:
    """optuna's distribution of each searched dimension, by dotted key."""
    out: dict[str, BaseDistribution] = {}
    for d in dims:
        if d.kind == "categorical":
            out[d.name] = CategoricalDistribution(list(d.choices))
        elif d.kind == "int":
            out[d.name] = IntDistribution(int(d.low), int(d.high))
        else:
            out[d.name] = FloatDistribution(d.low, d.high, log=d.log)
    return out


def study_name(
    space: Mapping[str, Any],
    metric: MetricChoice,
    options: Mapping[str, Any],
    seed: int,
    data_files: Sequence[str | Path],
    *context: str,
) -> str:
    """A name that changes with anything that makes earlier trials incomparable.

    The search space, the metric and its options, the seed and the content of the events
    (train, test, validation, parameters) go into a digest: an edited scan file or
    re-processed data starts a new study in the same journal, while a rerun of the same search
    continues the old one.
    """
    digest = hashlib.sha256()
    payload = [space, metric.key, metric.direction, options, seed]
    digest.update(json.dumps(payload, sort_keys=True, default=str).encode())
    for path in data_files:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return "_".join([*context, digest.hexdigest()[:12]])


def _storage(journal: str | Path) -> JournalStorage:
    return JournalStorage(
        JournalFileBackend(str(journal), lock_obj=JournalFileOpenLock(str(journal)))
    )


def load_study(journal: str | Path, name: str) -> optuna.Study:
    """The study `name` of a journal, to read (the collect job)."""
    if not Path(journal).is_file():
        raise DataError(f"{journal}: no study journal (did the worker jobs run?)")
    return optuna.load_study(study_name=name, storage=_storage(journal))


def importances(study: optuna.Study, seed: int) -> dict[str, float]:
    """fANOVA importance of each searched hyperparameter; empty with fewer than 2 complete
    trials, where optuna cannot estimate them."""
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if len(complete) < 2:
        return {}
    evaluator = optuna.importance.FanovaImportanceEvaluator(seed=seed)
    found = optuna.importance.get_param_importances(study, evaluator=evaluator)
    return {k: float(v) for k, v in found.items()}


def open_study(
    journal: str | Path,
    name: str,
    direction: str,
    seed: int,
    startup_trials: int,
    pruning: bool,
    worker: int | None = None,
) -> optuna.Study:
    """Create the study, or load it when another worker (or an earlier run) created it.

    The TPE sampler runs with constant liar, so parallel workers do not all propose the point
    next to the current best; its seed is derived from the worker and the number of trials
    already in the study, so a rerun does not propose again what the killed run proposed.
    """
    Path(journal).parent.mkdir(parents=True, exist_ok=True)
    pruner: optuna.pruners.BasePruner = (
        optuna.pruners.PercentilePruner(
            PRUNER_KEEP_PERCENTILE,
            n_startup_trials=PRUNER_STARTUP_TRIALS,
            n_warmup_steps=PRUNER_WARMUP_EPOCHS,
        )
        if pruning
        else optuna.pruners.NopPruner()
    )
    direction_name = (
        optuna.study.StudyDirection.MINIMIZE
        if direction == "min"
        else optuna.study.StudyDirection.MAXIMIZE
    )
    study = optuna.create_study(
        storage=_storage(journal),
        study_name=name,
        direction=direction_name,
        pruner=pruner,
        load_if_exists=True,
    )
    # The sampler's seed depends on the trials already there, known once the study is open.
    study.sampler = optuna.samplers.TPESampler(
        seed=batch_seed(seed, *stable_seed("tuning", worker, len(study.trials))),
        n_startup_trials=startup_trials,
        constant_liar=True,
    )
    return study


def fail_stale_trials(study: optuna.Study, worker: int) -> list[int]:
    """Fail this worker's trials left RUNNING by a killed run and queue their points again."""
    stale = [
        t
        for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        if t.user_attrs.get(WORKER_ATTR) == worker
    ]
    for trial in stale:
        study.tell(trial.number, state=TrialState.FAIL)
        origin = trial.user_attrs.get(RETRY_ATTR, trial.number)
        study.enqueue_trial(dict(trial.params), user_attrs={RETRY_ATTR: origin})
        LOG.info("trial %d was left running by a killed run: failed, point queued", trial.number)
    return [t.number for t in stale]


def open_trials(study: optuna.Study) -> int:
    """Trials that count towards the target: finished ones and those running now."""
    counted = (*FINISHED, TrialState.RUNNING)
    return len(study.get_trials(deepcopy=False, states=counted))


class Pruned(Exception):
    """Raised from the epoch callback of a trial that the pruner stops."""


Objective = Callable[[int, dict[str, Any], Callable[[int, float], None], int], float]


def run_worker(
    study: optuna.Study,
    dims: Sequence[Dimension],
    n_trials: int,
    worker: int,
    objective: Objective,
) -> list[dict[str, Any]]:
    """Run trials until the study holds `n_trials` finished or running ones.

    Args:
        study: From `open_study`.
        dims: The searched dimensions.
        n_trials: The study's target number of finished trials.
        worker: This worker's index; recorded on each trial it runs.
        objective: Called as ``objective(number, params, report, origin)``; returns the
            metric. ``report(epoch, value)`` hands an intermediate value (oriented so that the
            study's direction holds) to the pruner and raises `Pruned` when the trial should
            stop. ``origin`` is the killed trial this one retries (its training checkpoint can
            be resumed), or the trial's own number.

    Returns:
        One record per trial this call ran: number, state, value, params.
    """
    space = distributions(dims)
    fail_stale_trials(study, worker)
    ran: list[dict[str, Any]] = []
    while open_trials(study) < n_trials:
        trial = study.ask(space)
        trial.set_user_attr(WORKER_ATTR, worker)
        params = {d.name: trial.params[d.name] for d in dims}
        LOG.info("trial %d (worker %d): %s", trial.number, worker, params)

        def report(epoch: int, value: float, trial: optuna.Trial = trial) -> None:
            trial.report(value, epoch)
            if trial.should_prune():
                raise Pruned(f"pruned at epoch {epoch}")

        record: dict[str, Any] = {"number": trial.number, "params": params}
        try:
            origin = int(trial.user_attrs.get(RETRY_ATTR, trial.number))
            value = float(objective(trial.number, params, report, origin))
        except Pruned as why:
            study.tell(trial, state=TrialState.PRUNED)
            record.update(state="PRUNED", value=None, note=str(why))
        except BaseException:
            # A crash (or a stop) is not the point's fault alone; failing it keeps the count
            # right, and the rerun proposes a new point rather than the crashing one.
            study.tell(trial, state=TrialState.FAIL)
            raise
        else:
            # A NaN metric fails the trial (optuna's rule), so it can never be the best.
            frozen = study.tell(trial, value)
            record.update(state=frozen.state.name, value=value)
        LOG.info("trial %d: %s %s", trial.number, record["state"], record.get("value"))
        ran.append(record)
    return ran
