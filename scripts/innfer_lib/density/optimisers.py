"""Optimisers and learning-rate schedules of the training loop, built from resolved options.

Optimisers come from ``tf_keras`` (Keras 2 API) because TensorFlow Probability already depends
on it and it applies gradients to raw ``tf.Variable`` objects without wrapping them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import tensorflow as tf
import tf_keras

#: The Keras class of every name in :data:`innfer_lib.density.training_options.OPTIMIZERS`.
OPTIMIZER_CLASSES: dict[str, type[tf_keras.optimizers.Optimizer]] = {
    "AdamW": tf_keras.optimizers.AdamW,
    "Adam": tf_keras.optimizers.Adam,
    "SGD": tf_keras.optimizers.SGD,
    "RMSprop": tf_keras.optimizers.RMSprop,
    "Adadelta": tf_keras.optimizers.Adadelta,
}


class CosineDecayWithWarmUp(tf_keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up to the peak learning rate, then cosine decay down to a floor.

    Warm-up avoids large early Adam steps while its moment estimates are still noisy, which
    otherwise can push the coupling scales into the soft clamp and stall training.

    With W warm-up steps out of T, the learning rate is peak·(step+1)/W during warm-up and
    floor + (peak − floor)·½(1 + cos(π·((step − W)/(T − W))^p)) afterwards (floor from step T
    on). INNFER writes the decay as peak·½(1 + cos(…))·(1 − a) + a with an absolute a; the two
    agree at both ends and differ by at most a·|1 − peak| in between (≤ 5e-6 with the
    defaults), and the form here never exceeds the peak whatever a is.
    """

    def __init__(
        self,
        peak: float,
        total_steps: int,
        warmup_steps: int,
        floor: float,
        step_power: float = 1.0,
    ) -> None:
        """Store the schedule shape.

        Args:
            peak: Learning rate reached at the end of the warm-up.
            total_steps: Number of optimiser steps in the whole run.
            warmup_steps: Steps of linear warm-up (0 for none).
            floor: Final learning rate (absolute), capped at peak so the schedule never rises
                during the decay.
            step_power: Exponent p on the decay progress (INNFER's ``step_power``); p < 1
                spends fewer steps near the peak.
        """
        super().__init__()
        self.peak = float(peak)
        self.total_steps = int(total_steps)
        self.warmup_steps = int(warmup_steps)
        self.floor = min(float(floor), self.peak)
        self.step_power = float(step_power)

    def __call__(self, step: Any) -> tf.Tensor:
        step = tf.cast(step, tf.float32)
        peak = tf.constant(self.peak, tf.float32)
        floor = tf.constant(self.floor, tf.float32)
        warmup = float(self.warmup_steps)
        decay_steps = float(max(self.total_steps - self.warmup_steps, 1))
        # (step + 1) so the very first step already moves the weights.
        warm_lr = peak * (step + 1.0) / max(warmup, 1.0)
        progress = tf.clip_by_value((step - warmup) / decay_steps, 0.0, 1.0)
        if self.step_power != 1.0:
            progress = tf.pow(progress, self.step_power)
        cos_lr = floor + (peak - floor) * 0.5 * (1.0 + tf.cos(math.pi * progress))
        return tf.where(step < warmup, warm_lr, cos_lr)

    def get_config(self) -> dict[str, Any]:
        """Config for Keras serialisation."""
        return {
            "peak": self.peak,
            "total_steps": self.total_steps,
            "warmup_steps": self.warmup_steps,
            "floor": self.floor,
            "step_power": self.step_power,
        }


def make_lr_schedule(
    opts: Mapping[str, Any], steps_per_epoch: int
) -> tf_keras.optimizers.schedules.LearningRateSchedule | float:
    """Build the learning-rate schedule named in resolved options.

    Args:
        opts: Output of :func:`~innfer_lib.density.training_options.resolve_training_options`.
        steps_per_epoch: Optimiser steps per epoch, ceil(n_train / batch_size).

    Returns:
        A Keras schedule of the optimiser step, or a float for ``Constant``.
    """
    lr = float(opts["learning_rate"])
    name = opts["lr_scheduler_name"]
    sched = opts["lr_scheduler_options"]
    total_steps = max(int(opts["epochs"]) * steps_per_epoch, 1)
    if name == "Constant":
        return lr
    if name == "CosineDecay":
        # Keras' own schedule with alpha 0, as INNFER uses it.
        return tf_keras.optimizers.schedules.CosineDecay(lr, decay_steps=total_steps, alpha=0.0)
    if name == "ExponentialDecay":
        decay_steps = sched["decay_steps"]
        return tf_keras.optimizers.schedules.ExponentialDecay(
            lr,
            decay_steps=int(decay_steps) if decay_steps is not None else max(steps_per_epoch, 1),
            decay_rate=float(sched["decay_rate"]),
            staircase=bool(sched["staircase"]),
        )
    warmup = int(round(float(sched["warmup_fraction"]) * total_steps))
    return CosineDecayWithWarmUp(
        lr, total_steps, warmup, float(sched["alpha"]), float(sched["step_power"])
    )


def make_optimizer(
    opts: Mapping[str, Any],
    schedule: tf_keras.optimizers.schedules.LearningRateSchedule | float,
    variables: Sequence[tf.Variable],
) -> tf_keras.optimizers.Optimizer:
    """Create the optimiser named in resolved options and build it for the variables.

    Building here makes its slot variables exist before a checkpoint restore assigns them.

    Args:
        opts: Output of :func:`~innfer_lib.density.training_options.resolve_training_options`.
        schedule: Learning rate or schedule, from :func:`make_lr_schedule`.
        variables: The variables it will update, in the order of the flow's weights.
    """
    clip = opts["gradient_clipping_norm"]
    kwargs: dict[str, Any] = {
        "learning_rate": schedule,
        "global_clipnorm": None if clip is None else float(clip),
        # XLA is ignored on CPU anyway; keeping it off keeps CPU and GPU runs on one code path.
        "jit_compile": False,
    }
    name = opts["optimizer_name"]
    if name == "AdamW":
        optimizer = tf_keras.optimizers.AdamW(weight_decay=float(opts["weight_decay"]), **kwargs)
        # Decaying the ActNorm scale pulls it towards 0 (a singular map), not towards identity.
        optimizer.exclude_from_weight_decay(var_names=["actnorm"])
    else:
        optimizer = OPTIMIZER_CLASSES[name](**kwargs)
    optimizer.build(list(variables))
    return optimizer
