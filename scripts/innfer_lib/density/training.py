"""Training loop for :class:`innfer_lib.density.flows.ConditionalFlow` on weighted simulation.

The loop is deliberately small and explicit rather than built on ``keras.Model.fit``: the flow
is a plain ``tf.Module``, event weights enter the loss directly, and the bookkeeping the rest of
the workflow relies on (best-epoch restore, early stopping that honours its configuration,
seeded shuffling, throughput, resumable checkpoints) is easier to audit in one function.

Optimisers come from ``tf_keras`` (Keras 2 API) because TensorFlow Probability already depends
on it and it applies gradients to raw ``tf.Variable`` objects without wrapping them.

Resuming. Training jobs run for hours on shared clusters and get killed (wall-time limits,
pre-emption). With ``checkpoint_dir`` set, :func:`train_flow` writes the complete training state
after every epoch, atomically, and a later call with the same inputs continues after the last
finished epoch. Everything that shapes the trajectory is either in the checkpoint (weights,
optimiser slots and step counter, dropout generator state, history, best epoch, early-stopping
counter) or a pure function of (seed, epoch) (the batch order), so a resumed run ends with
exactly the weights and history of an uninterrupted one; only the wall-clock fields of the
history differ.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
import math
import os
import time
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402
import tf_keras  # noqa: E402
from tensorflow.core.framework import summary_pb2  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

from innfer_lib.core.io import atomic_path  # noqa: E402
from innfer_lib.density.flow import ConditionalFlow  # noqa: E402

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

_OPTIMIZER_CLASSES: dict[str, type[tf_keras.optimizers.Optimizer]] = {
    "AdamW": tf_keras.optimizers.AdamW,
    "Adam": tf_keras.optimizers.Adam,
    "SGD": tf_keras.optimizers.SGD,
    "RMSprop": tf_keras.optimizers.RMSprop,
    "Adadelta": tf_keras.optimizers.Adadelta,
}
OPTIMIZERS = tuple(_OPTIMIZER_CLASSES)
LR_SCHEDULERS = ("CosineDecayWithWarmUp", "CosineDecay", "ExponentialDecay", "Constant")

_OUTPUT_ONLY_OPTIONS = frozenset({"save_model_per_epoch", "epoch_model_dir", "tensorboard_dir"})

# Loss evaluation needs no gradients, so it can use larger batches than training.
_MIN_EVAL_BATCH = 16384

# What tensorboard's own tf.summary.scalar attaches, so TensorBoard shows these as scalars.
# Writing through the core tf.summary.write keeps the tensorboard package an optional extra.
_SCALAR_METADATA = summary_pb2.SummaryMetadata(
    plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"),
    data_class=summary_pb2.DATA_CLASS_SCALAR,
)

CHECKPOINT_FILE = "training_state.npz"
# Bump when the meaning of the stored state changes, so old checkpoints are ignored, not misread.
_CHECKPOINT_VERSION = 1


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


def make_lr_schedule(
    opts: Mapping[str, Any], steps_per_epoch: int
) -> tf_keras.optimizers.schedules.LearningRateSchedule | float:
    """Build the learning-rate schedule named in resolved options.

    Args:
        opts: Output of :func:`resolve_training_options`.
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


def _make_optimizer(
    opts: Mapping[str, Any],
    schedule: tf_keras.optimizers.schedules.LearningRateSchedule | float,
    flow: ConditionalFlow,
) -> tf_keras.optimizers.Optimizer:
    """Create and build the optimiser, so its slot variables exist before any restore."""
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
        optimizer = _OPTIMIZER_CLASSES[name](**kwargs)
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


def epoch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    """Order of the training events in one epoch, a pure function of (seed, epoch).

    Deriving each epoch's permutation from its own seed (rather than from one generator that
    advances epoch by epoch) is what lets a resumed run see exactly the batches an
    uninterrupted run would, without storing any random-number-generator state.
    """
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(epoch)])).permutation(n)


def _epoch_dataset(
    order: np.ndarray, data: Sequence[tf.Tensor], batch_size: int
) -> tf.data.Dataset:
    """Batches of the events in `order`, gathered from tensors that stay in host memory.

    Gathering per batch (instead of permuting whole arrays each epoch) keeps one copy of the
    data however large it is, and prefetching prepares the next batch during the current step.
    One background thread is enough for a gather; a pool sized to the machine only competes
    with the training step for the cores (measured on 2 CPUs: +5% per epoch with one thread,
    more with a parallel map).
    """

    def gather(idx: tf.Tensor) -> tuple[tf.Tensor, ...]:
        return tuple(tf.gather(t, idx) for t in data)

    options = tf.data.Options()
    options.threading.private_threadpool_size = 1
    options.threading.max_intra_op_parallelism = 1
    return (
        tf.data.Dataset.from_tensor_slices(order)
        .batch(batch_size)
        .map(gather)
        .prefetch(2)
        .with_options(options)
    )


def _log_prob_for_training(flow: ConditionalFlow) -> Callable[[tf.Tensor, tf.Tensor], tf.Tensor]:
    """flow.log_prob in training mode (dropout on) where the flow supports that keyword.

    Checked by signature rather than by version so this works with flows that have no
    dropout (no ``training`` argument) as well as with those that do.
    """
    try:
        params = inspect.signature(flow.log_prob).parameters.values()
    except (TypeError, ValueError):
        return flow.log_prob
    if any(p.name == "training" or p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return lambda x, c: flow.log_prob(x, c, training=True)
    return flow.log_prob


def _random_states(flow: ConditionalFlow) -> list[tf.Variable]:
    """State variables of the random generators the flow draws from while training (dropout).

    Dropout masks come from a ``tf.random.Generator`` whose state advances every step; a
    resumed run must continue that stream, not restart it, to reproduce the same masks. The
    generators are found among the flow's attributes so no private name is needed here.
    """
    generators = [v for _, v in sorted(vars(flow).items()) if isinstance(v, tf.random.Generator)]
    return [g.state for g in generators]


def _fingerprint(
    flow: ConditionalFlow, opts: Mapping[str, Any], arrays: Sequence[np.ndarray]
) -> str:
    """Hash of everything a checkpoint must agree with before it may be resumed.

    A checkpoint left by a run with other data, architecture, options or starting weights
    would silently give a model trained half one way and half another, so such a checkpoint
    is ignored instead. `arrays` holds the data and the flow's weights on entry.
    """
    digest = hashlib.blake2b(digest_size=16)
    setup = {
        "version": _CHECKPOINT_VERSION,
        "n_x": flow.n_x,
        "n_cond": flow.n_cond,
        "dtype": flow.dtype.name,
        "architecture": flow.architecture,
        "options": {k: v for k, v in opts.items() if k not in _OUTPUT_ONLY_OPTIONS},
    }
    digest.update(json.dumps(setup, sort_keys=True, default=str).encode())
    for a in arrays:
        digest.update(str(a.shape).encode())
        digest.update(np.ascontiguousarray(a).view(np.uint8).reshape(-1))
    return digest.hexdigest()


def _write_checkpoint(
    directory: Path,
    meta: Mapping[str, Any],
    weights: Sequence[np.ndarray],
    best_weights: Sequence[np.ndarray],
    optimizer_state: Sequence[np.ndarray],
    random_state: Sequence[np.ndarray],
) -> None:
    """Write the training state to one file, replacing the previous one atomically.

    One file (not a set of files) means a kill at any moment leaves either the previous
    complete state or the new one; fsync makes the data durable before the rename publishes it.
    """
    arrays: dict[str, np.ndarray] = {"meta": np.array(json.dumps(dict(meta)))}
    groups = (
        ("weight", weights),
        ("best", best_weights),
        ("opt", optimizer_state),
        ("rng", random_state),
    )
    for prefix, group in groups:
        arrays.update({f"{prefix}_{i:04d}": np.asarray(a) for i, a in enumerate(group)})
    with atomic_path(directory / CHECKPOINT_FILE) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **arrays)
        handle.flush()
        os.fsync(handle.fileno())


def _read_checkpoint(
    directory: Path,
) -> tuple[dict[str, Any], list[np.ndarray], list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """Read (meta, weights, best weights, optimiser and RNG state) from _write_checkpoint."""
    with np.load(directory / CHECKPOINT_FILE) as data:
        meta = json.loads(str(data["meta"]))

        def group(prefix: str, key: str) -> list[np.ndarray]:
            return [data[f"{prefix}_{i:04d}"] for i in range(int(meta[key]))]

        return (
            meta,
            group("weight", "n_weights"),
            group("best", "n_weights"),
            group("opt", "n_optimizer"),
            group("rng", "n_random"),
        )


def checkpoint_epoch(checkpoint_dir: str | os.PathLike[str]) -> int | None:
    """Last finished epoch stored in a checkpoint directory, or None if there is none.

    Lets callers and tests watch a running training without touching its state.
    """
    try:
        with np.load(Path(checkpoint_dir) / CHECKPOINT_FILE) as data:
            return int(json.loads(str(data["meta"]))["epoch"])
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile):
        return None


def remove_checkpoint(checkpoint_dir: str | os.PathLike[str]) -> None:
    """Delete the training state (and temporary files of interrupted writes) of a directory.

    Per-epoch models and anything else in the directory are left alone. Call this once the
    trained model is safely written, so a forced rerun trains afresh instead of returning the
    finished state.
    """
    directory = Path(checkpoint_dir)
    for path in [directory / CHECKPOINT_FILE, *directory.glob(f".{CHECKPOINT_FILE}.*")]:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _restore(
    checkpoint_dir: Path,
    fingerprint: str,
    flow: ConditionalFlow,
    optimizer: tf_keras.optimizers.Optimizer,
    log: Callable[[str], None],
) -> tuple[dict[str, Any], list[np.ndarray]] | None:
    """Load a matching checkpoint into the flow and optimiser; returns (meta, best weights).

    Everything is read and checked before anything is assigned, so a rejected checkpoint
    leaves the freshly initialised flow and optimiser untouched.
    """
    path = checkpoint_dir / CHECKPOINT_FILE
    if not path.exists():
        return None
    try:
        meta, weights, best, opt_state, rng_state = _read_checkpoint(checkpoint_dir)
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile) as err:
        log(f"checkpoint {path} is unreadable ({err}); training from scratch")
        return None
    if meta.get("version") != _CHECKPOINT_VERSION or meta.get("fingerprint") != fingerprint:
        log(
            f"checkpoint {path} was written for other data, architecture or options; "
            "training from scratch"
        )
        return None
    opt_vars = list(optimizer.variables)
    rng_vars = _random_states(flow)
    stored = [*weights, *best, *opt_state, *rng_state]
    targets = [*flow.trainable_variables, *flow.trainable_variables, *opt_vars, *rng_vars]
    shapes_ok = (
        len(weights) == len(flow.trainable_variables)
        and len(opt_state) == len(opt_vars)
        and len(rng_state) == len(rng_vars)
        and all(tuple(a.shape) == tuple(v.shape) for a, v in zip(stored, targets, strict=True))
    )
    if not shapes_ok:
        log(f"checkpoint {path} does not match the flow or optimiser shapes; training from scratch")
        return None
    flow.set_weights(weights)
    for var, value in zip([*opt_vars, *rng_vars], [*opt_state, *rng_state], strict=True):
        var.assign(value)
    return meta, best


def training_placement(step_output: tf.Tensor, variables: Sequence[tf.Variable]) -> dict[str, Any]:
    """Where TensorFlow actually ran training: the visible GPUs, the weights and one step.

    A GPU job that silently falls back to the CPU (driver or CUDA libraries not found) still
    finishes, only slower; recording the placement in the log and the history makes that
    visible on a cluster, where nobody watches the job.
    """
    gpus = [d.name for d in tf.config.list_logical_devices("GPU")]
    return {
        "gpus": gpus,
        "weights_on": sorted({v.device for v in variables}),
        "step_on": step_output.device,
    }


def describe_placement(placement: Mapping[str, Any]) -> str:
    """One log line: on GPU or CPU, and the device names behind it."""
    on_gpu = "GPU" in placement["step_on"].upper()
    visible = ", ".join(placement["gpus"]) or "none"
    return (
        f"training on {'GPU' if on_gpu else 'CPU'}: step ran on {placement['step_on']}, "
        f"weights on {', '.join(placement['weights_on'])}; GPUs visible: {visible}"
    )


def train_flow(
    flow: ConditionalFlow,
    train: tuple[np.ndarray, np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray, np.ndarray],
    options: Mapping[str, Any],
    progress: bool = True,
    log: Callable[[str], None] = print,
    checkpoint_dir: str | os.PathLike[str] | None = None,
    on_epoch_end: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Fit the flow by minimising the weighted negative log-likelihood.

    The returned flow holds the weights of the epoch with the lowest test loss (epoch 0, the
    untrained flow, included), so a run that diverges late still yields its best model.
    Training steps call ``flow.log_prob(x, cond, training=True)`` where the flow accepts that
    keyword (dropout on); the losses recorded per epoch are always evaluated without it.

    Args:
        flow: The flow to train in place (normally float32).
        train: (x, cond, weights) in standardised space, shapes (n, n_x), (n, n_cond), (n,).
        test: Same layout; used for model selection and early stopping.
        options: Training options (see DEFAULT_TRAINING_OPTIONS); unknown keys are ignored.
        progress: Show a tqdm bar over epochs.
        log: Receives one summary line per epoch.
        checkpoint_dir: Directory for the resumable training state. The state is written
            after every epoch (epoch 0 included) to ``CHECKPOINT_FILE`` there; if a state for
            the same data, architecture, options and starting weights is found on entry,
            training continues after its last epoch and ends exactly as an uninterrupted run
            would. The state is left in place at the end (see :func:`remove_checkpoint`); a
            call that finds a finished state returns its result without training. The state
            of the flow's dropout generator is part of the checkpoint, so this holds with
            dropout too.
        on_epoch_end: Called with the epoch number once that epoch's checkpoint (if any) is
            on disk; an exception raised here aborts training like a killed job would.

    Returns:
        History with plain Python types (YAML-friendly): per-epoch lists "epoch",
        "train_loss", "test_loss", "learning_rate" (epoch 0 = before training), and
        "best_epoch", "stopped_early", "events_per_second" (training steps only) and
        "seconds" (time in train_flow); the last two add up over resumed calls; and
        "placement" (`training_placement` of the latest call's first training step).

    Raises:
        ValueError: For invalid options or data, or save_model_per_epoch without a directory.
    """
    t_start = time.perf_counter()
    opts = resolve_training_options(options)
    seed = int(opts["seed"])
    tf.random.set_seed(seed)

    x_tr, c_tr, w_tr = _as_arrays(train, flow, "train")
    x_te, c_te, w_te = _as_arrays(test, flow, "test")
    n_train = len(x_tr)
    batch_size = int(opts["batch_size"])
    epochs = int(opts["epochs"])
    steps_per_epoch = math.ceil(n_train / batch_size)
    schedule = make_lr_schedule(opts, steps_per_epoch)
    optimizer = _make_optimizer(opts, schedule, flow)
    variables = list(flow.trainable_variables)
    training_log_prob = _log_prob_for_training(flow)
    random_states = _random_states(flow)

    ckpt_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
    fingerprint = ""
    epoch_model_dir = opts["epoch_model_dir"] or ckpt_dir
    if opts["save_model_per_epoch"] and epoch_model_dir is None:
        raise ValueError("save_model_per_epoch needs epoch_model_dir or a checkpoint_dir")
    if ckpt_dir is not None:
        ckpt_dir.mkdir(parents=True, exist_ok=True)
        fingerprint = _fingerprint(
            flow, opts, [x_tr, c_tr, w_tr, x_te, c_te, w_te, *flow.get_weights()]
        )
    writer = (
        tf.summary.create_file_writer(str(opts["tensorboard_dir"]))
        if opts["tensorboard_dir"]
        else None
    )

    with tf.device("/CPU:0"):
        # Host copies the input pipeline gathers from; steps copy one batch at a time.
        train_tensors = [tf.constant(a) for a in (x_tr, c_tr, w_tr)]

    spec = (
        tf.TensorSpec([None, flow.n_x], flow.dtype),
        tf.TensorSpec([None, flow.n_cond], flow.dtype),
        tf.TensorSpec([None], flow.dtype),
    )

    @tf.function(input_signature=spec)
    def train_step(x: tf.Tensor, c: tf.Tensor, w: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            nll = -training_log_prob(x, c)
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

    def record(epoch: int) -> None:
        """Per-epoch outputs that never feed back into training."""
        if writer is not None:
            with writer.as_default():
                for key in ("train_loss", "test_loss", "learning_rate"):
                    value = tf.constant(history[key][-1], tf.float32)
                    tf.summary.write(key, value, step=epoch, metadata=_SCALAR_METADATA)
            writer.flush()
        if opts["save_model_per_epoch"]:
            with atomic_path(Path(epoch_model_dir) / f"epoch_{epoch}.npz") as tmp:
                flow.save(str(tmp))

    restored = None
    if ckpt_dir is not None:
        restored = _restore(ckpt_dir, fingerprint, flow, optimizer, log)
    if restored is not None:
        meta, best_weights = restored
        history: dict[str, Any] = {
            k: list(v) if isinstance(v, list) else v for k, v in meta["history"].items()
        }
        best_loss = float(meta["best_loss"])
        best_epoch = int(meta["best_epoch"])
        bad_epochs = int(meta["bad_epochs"])
        stopped_early = bool(meta["stopped_early"])
        finished = bool(meta["finished"])
        train_seconds = float(meta["train_seconds"])
        train_events = int(meta["train_events"])
        earlier_seconds = float(meta["seconds"])
        start_epoch = int(meta["epoch"]) + 1
        log(
            f"resuming from epoch {start_epoch - 1} (checkpoint in {ckpt_dir})"
            + ("; training had already finished" if finished else "")
        )
    else:
        history = {
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
        finished = epochs == 0
        train_seconds = 0.0
        train_events = 0
        earlier_seconds = 0.0
        start_epoch = 1
        record(0)

    def checkpoint(epoch: int) -> None:
        if ckpt_dir is None:
            return
        meta = {
            "version": _CHECKPOINT_VERSION,
            "fingerprint": fingerprint,
            "epoch": epoch,
            "history": history,
            "best_epoch": best_epoch,
            "best_loss": best_loss,
            "bad_epochs": bad_epochs,
            "stopped_early": stopped_early,
            "finished": finished,
            "train_seconds": train_seconds,
            "train_events": train_events,
            "seconds": earlier_seconds + time.perf_counter() - t_start,
            "n_weights": len(variables),
            "n_optimizer": len(optimizer.variables),
            "n_random": len(random_states),
        }
        opt_state = [v.numpy() for v in optimizer.variables]
        rng_state = [v.numpy() for v in random_states]
        _write_checkpoint(ckpt_dir, meta, flow.get_weights(), best_weights, opt_state, rng_state)

    if restored is None:
        checkpoint(0)
        if on_epoch_end is not None:
            on_epoch_end(0)

    patience = int(opts["patience"])
    wait_till = int(opts["wait_till"])
    tolerance = float(opts["tolerance"])
    epoch_range = range(start_epoch, epochs + 1) if not finished else range(0)
    first_in_call = True
    for epoch in tqdm(
        epoch_range, desc="training", disable=not progress, initial=start_epoch - 1, total=epochs
    ):
        batches = iter(_epoch_dataset(epoch_order(seed, epoch, n_train), train_tensors, batch_size))
        skipped = 0
        if first_in_call:
            # The first call pays one-off graph optimisation (seconds for a spline flow); keep
            # it out of the throughput so events/s reflects steady-state training.
            x, c, w = next(batches)
            first_loss = train_step(x, c, w)
            int(optimizer.iterations)
            skipped = int(x.shape[0])
            first_in_call = False
            # Part of the history, so a checkpoint carries it to a call that only resumes.
            history["placement"] = training_placement(first_loss, variables)
            log(describe_placement(history["placement"]))
        t0 = time.perf_counter()
        for x, c, w in batches:
            train_step(x, c, w)
        # Reading the optimiser step forces the last asynchronous update to finish.
        int(optimizer.iterations)
        dt = time.perf_counter() - t0
        train_seconds += dt
        train_events += n_train - skipped

        train_loss = full_loss(x_tr, c_tr, w_tr)
        test_loss = full_loss(x_te, c_te, w_te)
        lr = current_lr()
        history["epoch"].append(epoch)
        history["train_loss"].append(train_loss)
        history["test_loss"].append(test_loss)
        history["learning_rate"].append(lr)
        log(
            f"epoch {epoch}/{epochs}: train_loss={train_loss:.6f} test_loss={test_loss:.6f} "
            f"lr={lr:.3e} events/s={(n_train - skipped) / dt if dt > 0 else 0.0:.0f}"
        )

        if not math.isfinite(test_loss):
            log(
                f"test loss is not finite at epoch {epoch}; stopping and keeping epoch {best_epoch}"
            )
            stopped_early = True
        else:
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
        finished = stopped_early or epoch == epochs
        record(epoch)
        checkpoint(epoch)
        if on_epoch_end is not None:
            on_epoch_end(epoch)
        if stopped_early:
            break

    if writer is not None:
        writer.close()
    flow.set_weights(best_weights)
    history["best_epoch"] = int(best_epoch)
    history["events_per_second"] = float(train_events / train_seconds) if train_seconds else 0.0
    history["seconds"] = float(earlier_seconds + time.perf_counter() - t_start)
    history["stopped_early"] = bool(stopped_early)
    history["train_loss"] = [float(v) for v in history["train_loss"]]
    history["test_loss"] = [float(v) for v in history["test_loss"]]
    history["learning_rate"] = [float(v) for v in history["learning_rate"]]
    history["epoch"] = [int(v) for v in history["epoch"]]
    return history
