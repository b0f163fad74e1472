"""Training loop for :class:`innfer_lib.flows.ConditionalFlow` on weighted simulation.

The loop is deliberately small and explicit rather than built on ``keras.Model.fit``: the flow
is a plain ``tf.Module``, event weights enter the loss directly, and the bookkeeping the rest of
the workflow relies on (best-epoch restore, early stopping that honours its configuration,
seeded shuffling, throughput) is easier to audit in one function.

Optimisers come from ``tf_keras`` (Keras 2 API) because TensorFlow Probability already depends
on it and it applies gradients to raw ``tf.Variable`` objects without wrapping them.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402
import tf_keras  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

from innfer_lib.flows import ConditionalFlow  # noqa: E402

DEFAULT_TRAINING_OPTIONS: dict[str, Any] = {
    "epochs": 20,
    "batch_size": 2048,
    "learning_rate": 1e-3,
    "optimizer_name": "AdamW",
    "weight_decay": 0.004,
    "lr_scheduler_name": "CosineDecayWithWarmUp",
    "lr_scheduler_options": {"alpha": 5e-6, "warmup_fraction": 0.1},
    "early_stopping": True,
    "patience": 3,
    "tolerance": 0.0,
    "wait_till": 5,
    "seed": 42,
    "gradient_clipping_norm": None,
}

OPTIMIZERS = ("AdamW", "Adam")
LR_SCHEDULERS = ("CosineDecayWithWarmUp", "CosineDecay", "Constant")

# Loss evaluation needs no gradients, so it can use larger batches than training.
_MIN_EVAL_BATCH = 16384


class CosineDecayWithWarmUp(tf_keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up to the peak learning rate, then cosine decay down to a floor.

    Warm-up avoids large early Adam steps while its moment estimates are still noisy, which
    otherwise can push the coupling scales into the soft clamp and stall training.
    """

    def __init__(self, peak: float, total_steps: int, warmup_steps: int, floor: float) -> None:
        """Store the schedule shape.

        Args:
            peak: Learning rate reached at the end of the warm-up.
            total_steps: Number of optimiser steps in the whole run.
            warmup_steps: Steps of linear warm-up (0 for none).
            floor: Final learning rate (absolute), capped at peak so the schedule never rises
                during the decay.
        """
        super().__init__()
        self.peak = float(peak)
        self.total_steps = int(total_steps)
        self.warmup_steps = int(warmup_steps)
        self.floor = min(float(floor), self.peak)

    def __call__(self, step: Any) -> tf.Tensor:
        step = tf.cast(step, tf.float32)
        peak = tf.constant(self.peak, tf.float32)
        floor = tf.constant(self.floor, tf.float32)
        warmup = float(self.warmup_steps)
        decay_steps = float(max(self.total_steps - self.warmup_steps, 1))
        # (step + 1) so the very first step already moves the weights.
        warm_lr = peak * (step + 1.0) / max(warmup, 1.0)
        progress = tf.clip_by_value((step - warmup) / decay_steps, 0.0, 1.0)
        cos_lr = floor + (peak - floor) * 0.5 * (1.0 + tf.cos(math.pi * progress))
        return tf.where(step < warmup, warm_lr, cos_lr)

    def get_config(self) -> dict[str, Any]:
        """Config for Keras serialisation."""
        return {
            "peak": self.peak,
            "total_steps": self.total_steps,
            "warmup_steps": self.warmup_steps,
            "floor": self.floor,
        }


def resolve_training_options(options: Mapping[str, Any] | None) -> dict[str, Any]:
    """Merge training options onto the defaults and validate them.

    Unknown keys are ignored because the architecture YAML mixes flow and training options.

    Args:
        options: User options (may be None).

    Returns:
        A new dict with every default key; lr_scheduler_options is merged key by key so a
        partial override keeps the other scheduler defaults.

    Raises:
        ValueError: If an option has an unsupported value.
    """
    opts = dict(DEFAULT_TRAINING_OPTIONS)
    sched = dict(DEFAULT_TRAINING_OPTIONS["lr_scheduler_options"])
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
            f"lr_scheduler_name must be one of {LR_SCHEDULERS}, got {opts['lr_scheduler_name']!r}"
        )
    if int(opts["epochs"]) < 0 or int(opts["batch_size"]) < 1:
        raise ValueError("epochs must be >= 0 and batch_size >= 1")
    if float(opts["learning_rate"]) < 0:
        raise ValueError("learning_rate must be >= 0")
    if int(opts["patience"]) < 1 or int(opts["wait_till"]) < 0 or float(opts["tolerance"]) < 0:
        raise ValueError("need patience >= 1, wait_till >= 0 and tolerance >= 0")
    if not 0.0 <= float(sched["warmup_fraction"]) <= 1.0:
        raise ValueError("lr_scheduler_options.warmup_fraction must lie in [0, 1]")
    return opts


def _make_schedule(
    opts: Mapping[str, Any], total_steps: int
) -> tf_keras.optimizers.schedules.LearningRateSchedule | float:
    lr = float(opts["learning_rate"])
    name = opts["lr_scheduler_name"]
    if name == "Constant":
        return lr
    sched = opts["lr_scheduler_options"]
    warmup = 0
    if name == "CosineDecayWithWarmUp":
        warmup = int(round(float(sched["warmup_fraction"]) * total_steps))
    return CosineDecayWithWarmUp(lr, total_steps, warmup, float(sched["alpha"]))


def _make_optimizer(
    opts: Mapping[str, Any],
    schedule: tf_keras.optimizers.schedules.LearningRateSchedule | float,
    flow: ConditionalFlow,
) -> tf_keras.optimizers.Optimizer:
    clip = opts["gradient_clipping_norm"]
    kwargs: dict[str, Any] = {
        "learning_rate": schedule,
        "global_clipnorm": None if clip is None else float(clip),
        # XLA is ignored on CPU anyway; keeping it off keeps CPU and GPU runs on one code path.
        "jit_compile": False,
    }
    if opts["optimizer_name"] == "AdamW":
        optimizer = tf_keras.optimizers.AdamW(weight_decay=float(opts["weight_decay"]), **kwargs)
        # Decaying the ActNorm scale pulls it towards 0 (a singular map), not towards identity.
        optimizer.exclude_from_weight_decay(var_names=["actnorm"])
    else:
        optimizer = tf_keras.optimizers.Adam(**kwargs)
    optimizer.build(list(flow.trainable_variables))
    return optimizer


def _as_arrays(
    data: tuple[np.ndarray, np.ndarray | None, np.ndarray], flow: ConditionalFlow, name: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, cond, w = data
    np_dtype = flow.dtype.as_numpy_dtype
    x = np.ascontiguousarray(np.asarray(x, dtype=np_dtype).reshape(-1, flow.n_x))
    n = len(x)
    if cond is None:
        cond = np.zeros((n, 0))
    cond = np.ascontiguousarray(np.asarray(cond, dtype=np_dtype).reshape(n, flow.n_cond))
    w = np.ascontiguousarray(np.asarray(w, dtype=np_dtype).reshape(n))
    if n == 0:
        raise ValueError(f"{name} set is empty")
    if not np.all(np.isfinite(x)) or not np.all(np.isfinite(cond)) or not np.all(np.isfinite(w)):
        raise ValueError(f"{name} set contains non-finite values")
    return x, cond, w


def train_flow(
    flow: ConditionalFlow,
    train: tuple[np.ndarray, np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray, np.ndarray],
    options: Mapping[str, Any],
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Fit the flow by minimising the weighted negative log-likelihood.

    The returned flow holds the weights of the epoch with the lowest test loss (epoch 0, the
    untrained flow, included), so a run that diverges late still yields its best model.

    Args:
        flow: The flow to train in place (normally float32).
        train: (x, cond, weights) in standardised space, shapes (n, n_x), (n, n_cond), (n,).
        test: Same layout; used for model selection and early stopping.
        options: Training options (see DEFAULT_TRAINING_OPTIONS); unknown keys are ignored.
        progress: Show a tqdm bar over epochs.
        log: Receives one summary line per epoch.

    Returns:
        History with plain Python types (YAML-friendly): per-epoch lists "epoch",
        "train_loss", "test_loss", "learning_rate" (epoch 0 = before training), and
        "best_epoch", "events_per_second" (training steps only), "seconds" (whole call),
        "stopped_early".
    """
    t_start = time.perf_counter()
    opts = resolve_training_options(options)
    seed = int(opts["seed"])
    tf.random.set_seed(seed)
    rng = np.random.default_rng(seed)

    x_tr, c_tr, w_tr = _as_arrays(train, flow, "train")
    x_te, c_te, w_te = _as_arrays(test, flow, "test")
    n_train = len(x_tr)
    batch_size = int(opts["batch_size"])
    epochs = int(opts["epochs"])
    steps_per_epoch = math.ceil(n_train / batch_size)
    schedule = _make_schedule(opts, max(epochs * steps_per_epoch, 1))
    optimizer = _make_optimizer(opts, schedule, flow)
    variables = list(flow.trainable_variables)

    spec = (
        tf.TensorSpec([None, flow.n_x], flow.dtype),
        tf.TensorSpec([None, flow.n_cond], flow.dtype),
        tf.TensorSpec([None], flow.dtype),
    )

    @tf.function(input_signature=spec)
    def train_step(x: tf.Tensor, c: tf.Tensor, w: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            nll = -flow.log_prob(x, c)
            loss = tf.reduce_sum(w * nll) / tf.reduce_sum(w)
        grads = tape.gradient(loss, variables)
        optimizer.apply_gradients(zip(grads, variables, strict=True))
        return loss

    @tf.function(input_signature=spec)
    def loss_sums(x: tf.Tensor, c: tf.Tensor, w: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        nll = -flow.log_prob(x, c)
        return tf.reduce_sum(w * nll), tf.reduce_sum(w)

    eval_batch = max(batch_size, _MIN_EVAL_BATCH)

    def full_loss(x: np.ndarray, c: np.ndarray, w: np.ndarray) -> float:
        num, den = 0.0, 0.0
        for i in range(0, len(x), eval_batch):
            s, sw = loss_sums(x[i : i + eval_batch], c[i : i + eval_batch], w[i : i + eval_batch])
            num += float(s)
            den += float(sw)
        return num / den if den != 0.0 else float("nan")

    def current_lr() -> float:
        if callable(schedule):
            return float(schedule(optimizer.iterations))
        return float(schedule)

    history: dict[str, Any] = {
        "epoch": [0],
        "train_loss": [full_loss(x_tr, c_tr, w_tr)],
        "test_loss": [full_loss(x_te, c_te, w_te)],
        "learning_rate": [current_lr()],
    }
    log(
        f"epoch 0/{epochs}: train_loss={history['train_loss'][0]:.6f} "
        f"test_loss={history['test_loss'][0]:.6f} lr={history['learning_rate'][0]:.3e}"
    )
    best_loss = history["test_loss"][0]
    best_epoch = 0
    best_weights = flow.get_weights()
    bad_epochs = 0
    stopped_early = False
    train_seconds = 0.0
    train_events = 0
    patience = int(opts["patience"])
    wait_till = int(opts["wait_till"])
    tolerance = float(opts["tolerance"])

    for epoch in tqdm(range(1, epochs + 1), desc="training", disable=not progress):
        perm = rng.permutation(n_train)
        xs, cs, ws = x_tr[perm], c_tr[perm], w_tr[perm]
        start = 0
        if epoch == 1:
            # The first call pays one-off graph optimisation (seconds for a spline flow); keep
            # it out of the throughput so events/s reflects steady-state training.
            train_step(xs[:batch_size], cs[:batch_size], ws[:batch_size])
            int(optimizer.iterations)
            start = min(batch_size, n_train)
        t0 = time.perf_counter()
        for i in range(start, n_train, batch_size):
            train_step(xs[i : i + batch_size], cs[i : i + batch_size], ws[i : i + batch_size])
        # Reading the optimiser step forces the last asynchronous update to finish.
        int(optimizer.iterations)
        dt = time.perf_counter() - t0
        train_seconds += dt
        train_events += n_train - start

        train_loss = full_loss(x_tr, c_tr, w_tr)
        test_loss = full_loss(x_te, c_te, w_te)
        lr = current_lr()
        history["epoch"].append(epoch)
        history["train_loss"].append(train_loss)
        history["test_loss"].append(test_loss)
        history["learning_rate"].append(lr)
        log(
            f"epoch {epoch}/{epochs}: train_loss={train_loss:.6f} test_loss={test_loss:.6f} "
            f"lr={lr:.3e} events/s={(n_train - start) / dt if dt > 0 else 0.0:.0f}"
        )

        if not math.isfinite(test_loss):
            log(
                f"test loss is not finite at epoch {epoch}; stopping and keeping epoch {best_epoch}"
            )
            stopped_early = True
            break
        # A relative threshold keeps `tolerance` meaningful whatever the loss scale.
        if test_loss < best_loss - tolerance * abs(best_loss):
            best_loss = test_loss
            best_epoch = epoch
            best_weights = flow.get_weights()
            bad_epochs = 0
        else:
            bad_epochs += 1
        if opts["early_stopping"] and bad_epochs >= patience and epoch >= wait_till:
            log(
                f"early stopping at epoch {epoch}: no improvement for {bad_epochs} epochs "
                f"(patience {patience}, wait_till {wait_till}); best epoch {best_epoch}"
            )
            stopped_early = True
            break

    flow.set_weights(best_weights)
    history["best_epoch"] = int(best_epoch)
    history["events_per_second"] = float(train_events / train_seconds) if train_seconds else 0.0
    history["seconds"] = float(time.perf_counter() - t_start)
    history["stopped_early"] = bool(stopped_early)
    history["train_loss"] = [float(v) for v in history["train_loss"]]
    history["test_loss"] = [float(v) for v in history["test_loss"]]
    history["learning_rate"] = [float(v) for v in history["learning_rate"]]
    history["epoch"] = [int(v) for v in history["epoch"]]
    return history
