"""Training options of a density flow: defaults, valid names and validation.

Architecture YAMLs mix flow and training options; this module owns the training half and the
check of a whole architecture mapping (`check_density_options`: unknown keys, then both halves'
values). It does not import TensorFlow, so an architecture file is checked while the workflow
builds its DAG: a bad key fails with a message naming it before any job runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from innfer_lib.core.config_files import unknown_key_message
from innfer_lib.density.architecture import (
    DEFAULT_ARCHITECTURE,
    check_bool,
    check_float,
    check_int,
    resolve_architecture,
)
from innfer_lib.density.ensemble import ENSEMBLE_KEY, check_ensemble

DEFAULT_LR_SCHEDULER_OPTIONS: dict[str, Any] = {
    # CosineDecayWithWarmUp: final learning rate (absolute) and share of steps spent warming up.
    "alpha": 5e-6,
    "warmup_fraction": 0.1,
    # CosineDecayWithWarmUp: INNFER's exponent p on the decay progress; p < 1 decays faster early.
    "step_power": 1.0,
    # ExponentialDecay: lr · decay_rate^(step / decay_steps); decay_steps None = one epoch.
    "decay_rate": 0.9,
    "decay_steps": None,
    "staircase": False,
}

DEFAULT_TRAINING_OPTIONS: dict[str, Any] = {
    "epochs": 20,
    "batch_size": 2048,
    "learning_rate": 1e-3,
    "optimizer_name": "AdamW",
    "weight_decay": 0.004,
    "lr_scheduler_name": "CosineDecayWithWarmUp",
    "lr_scheduler_options": dict(DEFAULT_LR_SCHEDULER_OPTIONS),
    "early_stopping": True,
    "patience": 3,
    "tolerance": 0.0,
    "wait_till": 5,
    "seed": 42,
    "gradient_clipping_norm": None,
    # The training loss recorded per epoch: "running", the weighted mean of the epoch's batch
    # losses as its steps compute them (what Keras, Lightning and sbi report), or "full", a
    # pass over the whole training set after the epoch (INNFER's), which costs about a third
    # of an epoch's steps. The test loss, which picks the best epoch, is always a full pass.
    "epoch_train_loss": "running",
    # Outputs only: they never change the trained weights, so they stay out of the checkpoint
    # fingerprint and may change between a killed run and its resumption.
    "save_model_per_epoch": False,
    "epoch_model_dir": None,
    "tensorboard_dir": None,
}


#: Optimiser names; :mod:`innfer_lib.density.optimisers` maps each to its Keras class (a test
#: checks that the two agree).
OPTIMIZERS = ("AdamW", "Adam", "SGD", "RMSprop", "Adadelta")
LR_SCHEDULERS = ("CosineDecayWithWarmUp", "CosineDecay", "ExponentialDecay", "Constant")

#: Options that only choose outputs: they never change the trained weights, so the checkpoint
#: fingerprint leaves them out and they may change between a killed run and its resumption.
OUTPUT_ONLY_OPTIONS = frozenset(
    {"save_model_per_epoch", "epoch_model_dir", "tensorboard_dir", "epoch_train_loss"}
)
#: `epoch_train_loss` values (see DEFAULT_TRAINING_OPTIONS).
EPOCH_TRAIN_LOSSES = ("running", "full")

#: `type` of an architecture file: INNFER's name for its flows and this workflow's.
DENSITY_TYPES = ("flow", "BayesFlow")
#: INNFER's MC dropout switches: accepted only when off (`resolve_architecture` says why).
MC_DROPOUT_OPTIONS = ("affine_mc_dropout", "spline_mc_dropout")
#: INNFER options this workflow does not implement, with what they did; accepted only when off,
#: which is what training here does.
UNSUPPORTED_OPTIONS = {
    "active_learning": "`active_learning` (batches augmented with samples of the flow)",
    "resample": "`resample` (each batch oversampled to unit weights)",
}


def resolve_training_options(options: Mapping[str, Any] | None) -> dict[str, Any]:
    """Merge training options onto the defaults and validate them.

    Keys that are not training options are ignored here because the architecture YAML mixes
    flow and training options; `check_density_options` rejects keys that are neither.

    Args:
        options: User options (may be None).

    Returns:
        A new dict with every default key; lr_scheduler_options is merged key by key so a
        partial override keeps the other scheduler defaults.

    Raises:
        ValueError: If an option has an unsupported value; the message starts with the key and
            names the valid choices.
    """
    opts = dict(DEFAULT_TRAINING_OPTIONS)
    sched = dict(DEFAULT_LR_SCHEDULER_OPTIONS)
    if options:
        opts.update(dict(options))
        given = options.get("lr_scheduler_options")
        if given is not None and not isinstance(given, Mapping):
            raise ValueError(f"lr_scheduler_options must be a mapping, got {given!r}")
        sched.update(dict(given or {}))
    opts["lr_scheduler_options"] = sched
    if opts["lr_scheduler_name"] in (None, "None", "none"):
        opts["lr_scheduler_name"] = "Constant"
    if opts["optimizer_name"] not in OPTIMIZERS:
        raise ValueError(
            f"optimizer_name must be one of {OPTIMIZERS}, got {opts['optimizer_name']!r}"
        )
    if opts["lr_scheduler_name"] not in LR_SCHEDULERS:
        raise ValueError(
            f"lr_scheduler_name must be one of {LR_SCHEDULERS} (or null), "
            f"got {opts['lr_scheduler_name']!r}"
        )
    train_loss = opts["epoch_train_loss"]
    if train_loss not in EPOCH_TRAIN_LOSSES:
        message = f"epoch_train_loss must be one of {EPOCH_TRAIN_LOSSES}, got {train_loss!r}"
        raise ValueError(message)
    check_int(opts["epochs"], "epochs", 0)
    check_int(opts["batch_size"], "batch_size", 1)
    check_float(opts["learning_rate"], "learning_rate", 0.0)
    check_float(opts["weight_decay"], "weight_decay", 0.0)
    check_int(opts["patience"], "patience", 1)
    check_int(opts["wait_till"], "wait_till", 0)
    check_float(opts["tolerance"], "tolerance", 0.0)
    check_int(opts["seed"], "seed", 0)
    for key in ("early_stopping", "save_model_per_epoch"):
        check_bool(opts[key], key)
    for key in ("epoch_model_dir", "tensorboard_dir"):
        if opts[key] is not None and not isinstance(opts[key], str):
            raise ValueError(f"{key} must be a directory or null, got {opts[key]!r}")
    clip = opts["gradient_clipping_norm"]
    if clip is not None:
        check_float(clip, "gradient_clipping_norm", 0.0, closed_low=False)
    where = "lr_scheduler_options."
    check_float(sched["alpha"], f"{where}alpha", 0.0)
    check_float(sched["warmup_fraction"], f"{where}warmup_fraction", 0.0, 1.0, closed_high=True)
    check_float(sched["step_power"], f"{where}step_power", 0.0, closed_low=False)
    check_float(sched["decay_rate"], f"{where}decay_rate", 0.0, closed_low=False)
    if sched["decay_steps"] is not None:
        check_int(sched["decay_steps"], f"{where}decay_steps", 1)
    check_bool(sched["staircase"], f"{where}staircase")
    return opts


def check_density_options(options: Mapping[str, Any]) -> None:
    """Check an architecture mapping (flow and training options) without TensorFlow.

    The workflow calls this while it builds the DAG, on the architecture file and on the
    workflow config's `density_architecture_overrides`, so a misspelt or bad key fails before
    any job runs, naming the key; the training job checks its merged mapping the same way.
    `ensemble` (how many flows to train, `density.ensemble`) is checked here too, though it is
    a workflow option that no single flow sees.

    Raises:
        ValueError: an unknown key (with the closest known one), an INNFER option that is not
            supported, or a bad value; the message starts with the key.
    """
    known = [
        "type",
        *DEFAULT_ARCHITECTURE,
        *MC_DROPOUT_OPTIONS,
        *DEFAULT_TRAINING_OPTIONS,
        *UNSUPPORTED_OPTIONS,
        ENSEMBLE_KEY,
    ]
    for key, value in options.items():
        if key in UNSUPPORTED_OPTIONS and value is not False:
            raise ValueError(
                f"{key}: INNFER's {UNSUPPORTED_OPTIONS[key]} is not supported; remove the key "
                "or set it to false"
            )
        if key not in known:
            raise ValueError(f"{key}: {unknown_key_message(key, known)}")
    schedule = options.get("lr_scheduler_options")
    for key in schedule if isinstance(schedule, Mapping) else {}:
        if key not in DEFAULT_LR_SCHEDULER_OPTIONS:
            message = unknown_key_message(key, list(DEFAULT_LR_SCHEDULER_OPTIONS))
            raise ValueError(f"lr_scheduler_options.{key}: {message}")
    if ENSEMBLE_KEY in options:
        check_ensemble(options[ENSEMBLE_KEY])
    kind = options.get("type", DENSITY_TYPES[0])
    if kind not in DENSITY_TYPES:
        raise ValueError(f"type must be one of {DENSITY_TYPES}, got {kind!r}")
    rest = {
        k: v for k, v in options.items() if k not in ("type", ENSEMBLE_KEY, *UNSUPPORTED_OPTIONS)
    }
    resolve_architecture(rest)
    resolve_training_options(rest)
