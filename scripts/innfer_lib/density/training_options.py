"""Training options of a density flow: defaults, valid names and validation.

Architecture YAMLs mix flow and training options; this module owns the training half. It does
not import TensorFlow, so an architecture file can be checked without building anything: a
bad value fails with a message naming the key before any training time is spent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
OUTPUT_ONLY_OPTIONS = frozenset({"save_model_per_epoch", "epoch_model_dir", "tensorboard_dir"})


def resolve_training_options(options: Mapping[str, Any] | None) -> dict[str, Any]:
    """Merge training options onto the defaults and validate them.

    Unknown keys are ignored because the architecture YAML mixes flow and training options.

    Args:
        options: User options (may be None).

    Returns:
        A new dict with every default key; lr_scheduler_options is merged key by key so a
        partial override keeps the other scheduler defaults.

    Raises:
        ValueError: If an option has an unsupported value; names list the valid choices.
    """
    opts = dict(DEFAULT_TRAINING_OPTIONS)
    sched = dict(DEFAULT_LR_SCHEDULER_OPTIONS)
    if options:
        opts.update(dict(options))
        sched.update(dict(options.get("lr_scheduler_options") or {}))
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
    if int(opts["epochs"]) < 0 or int(opts["batch_size"]) < 1:
        raise ValueError("epochs must be >= 0 and batch_size >= 1")
    if float(opts["learning_rate"]) < 0 or float(opts["weight_decay"]) < 0:
        raise ValueError("learning_rate and weight_decay must be >= 0")
    if int(opts["patience"]) < 1 or int(opts["wait_till"]) < 0 or float(opts["tolerance"]) < 0:
        raise ValueError("need patience >= 1, wait_till >= 0 and tolerance >= 0")
    if int(opts["seed"]) < 0:
        raise ValueError(f"seed must be >= 0, got {opts['seed']}")
    clip = opts["gradient_clipping_norm"]
    if clip is not None and float(clip) <= 0:
        raise ValueError(f"gradient_clipping_norm must be null or > 0, got {clip}")
    if not 0.0 <= float(sched["warmup_fraction"]) <= 1.0:
        raise ValueError("lr_scheduler_options.warmup_fraction must lie in [0, 1]")
    if float(sched["step_power"]) <= 0 or float(sched["decay_rate"]) <= 0:
        raise ValueError("lr_scheduler_options.step_power and decay_rate must be > 0")
    if sched["decay_steps"] is not None and int(sched["decay_steps"]) < 1:
        raise ValueError("lr_scheduler_options.decay_steps must be null or >= 1")
    return opts
