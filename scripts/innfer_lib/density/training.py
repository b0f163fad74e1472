"""Training loop of the workflow's networks (density flows, weight-ratio FCNNs) on weighted events.

`train_model` trains anything that offers a per-event loss (`TrainableModel`); `train_flow`
adapts the conditional flow to it, and the regression FCNN (innfer_lib.ratios.fcnn) implements
it directly, so both share one loop, one checkpoint format and one resume logic.

The loop is deliberately small and explicit rather than built on ``keras.Model.fit``: the flow
is a plain ``tf.Module``, event weights enter the loss directly, and the bookkeeping the rest of
the workflow relies on (best-epoch restore, early stopping that honours its configuration,
seeded shuffling, throughput, resumable checkpoints) is easier to audit in one function.
Options are resolved by :mod:`~innfer_lib.density.training_options`, the optimiser and its
schedule come from :mod:`~innfer_lib.density.optimisers`, and the state that lets a killed
job resume is written and read by :mod:`~innfer_lib.density.checkpoint`; only the
wall-clock fields of the history differ between a resumed and an uninterrupted run.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import summary_pb2
from tqdm.auto import tqdm

from innfer_lib.core.io import atomic_path
from innfer_lib.density.checkpoint import (
    EPOCH_MODEL,
    checkpoint_fingerprint,
    restore_checkpoint,
    write_checkpoint,
)
from innfer_lib.density.flow import ConditionalFlow
from innfer_lib.density.optimisers import make_lr_schedule, make_optimizer
from innfer_lib.density.tensor_ops import shared_rows
from innfer_lib.density.training_options import resolve_training_options

# Loss evaluation needs no gradients, so it can use larger batches than training.
_MIN_EVAL_BATCH = 16384

# What tensorboard's own tf.summary.scalar attaches, so TensorBoard shows these as scalars.
# Writing through the core tf.summary.write keeps the tensorboard package an optional extra.
_SCALAR_METADATA = summary_pb2.SummaryMetadata(
    plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"),
    data_class=summary_pb2.DATA_CLASS_SCALAR,
)


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


class TrainableModel(Protocol):
    """What `train_model` needs of a network: its variables, its loss and how to save it.

    The loss of a batch is Σ w·loss_i / Σ w + penalty, with loss_i from `per_event_loss`
    and the weights as the last input array; the recorded epoch losses use the same formula
    (penalty included, as INNFER reports its L2 term), without dropout.
    """

    @property
    def dtype(self) -> tf.DType:
        """Dtype of the variables and of the inputs the loss takes."""

    @property
    def trainable_variables(self) -> Sequence[tf.Variable]:
        """The variables the optimiser updates, in get_weights order."""

    @property
    def random_state_variables(self) -> list[tf.Variable]:
        """Random-generator state advanced by training steps (dropout); checkpointed."""

    def get_weights(self) -> list[np.ndarray]:
        """Copies of the trainable variables."""

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        """Assign weights from get_weights."""

    def save(self, path: str) -> None:
        """Write the weights to one file (per-epoch models)."""

    def checkpoint_setup(self) -> dict[str, Any]:
        """Everything besides data, options and weights a checkpoint must agree with."""

    def per_event_loss(self, inputs: Sequence[tf.Tensor], training: bool) -> tf.Tensor:
        """Loss of every event, shape (n,), from the input arrays without the weights."""

    def penalty(self) -> tf.Tensor | None:
        """A term added to every loss (a weight regulariser), or None."""

    def batch_weights(self, inputs: Sequence[tf.Tensor], w: tf.Tensor) -> tf.Tensor:
        """The event weights a training step uses for one batch (the classifier's per-batch
        class balancing); the recorded epoch losses use the stored weights."""


class _FlowTraining:
    """ConditionalFlow as a `TrainableModel`: the loss is −log q(x | θ)."""

    def __init__(self, flow: ConditionalFlow, share_rows: bool = False) -> None:
        self.flow = flow
        #: Conditioners run once per distinct θ of a batch (see
        #: `ConditionalFlow.distinct_training_rows`).
        self.share_rows = share_rows

    @property
    def dtype(self) -> tf.DType:
        return self.flow.dtype

    @property
    def trainable_variables(self) -> Sequence[tf.Variable]:
        return self.flow.trainable_variables

    @property
    def random_state_variables(self) -> list[tf.Variable]:
        return self.flow.random_state_variables

    def get_weights(self) -> list[np.ndarray]:
        return self.flow.get_weights()

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        self.flow.set_weights(weights)

    def save(self, path: str) -> None:
        self.flow.save(path)

    def checkpoint_setup(self) -> dict[str, Any]:
        flow = self.flow
        return {
            "n_x": flow.n_x,
            "n_cond": flow.n_cond,
            "dtype": flow.dtype.name,
            "architecture": flow.architecture,
        }

    def per_event_loss(self, inputs: Sequence[tf.Tensor], training: bool) -> tf.Tensor:
        x, c = inputs
        # Training mode: the conditioners' dropout (if configured) acts in training steps only.
        cond = shared_rows(c) if self.share_rows else c
        return -self.flow.log_prob(x, cond, training=training)

    def penalty(self) -> tf.Tensor | None:
        return None

    def batch_weights(self, inputs: Sequence[tf.Tensor], w: tf.Tensor) -> tf.Tensor:
        return w


def train_flow(
    flow: ConditionalFlow,
    train: tuple[np.ndarray, np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray, np.ndarray],
    options: Mapping[str, Any],
    progress: bool = True,
    log: Callable[[str], None] = print,
    checkpoint_dir: str | os.PathLike[str] | None = None,
    on_epoch_end: Callable[[int, float], None] | None = None,
) -> dict[str, Any]:
    """Fit the flow by minimising the weighted negative log-likelihood.

    The returned flow holds the weights of the epoch with the lowest test loss (epoch 0, the
    untrained flow, included), so a run that diverges late still yields its best model.
    Training steps call ``flow.log_prob(x, cond, training=True)`` (dropout on, where the
    architecture configures it). The test loss recorded per epoch is evaluated without it; the
    training loss is the mean of the epoch's step losses (dropout on), or with
    ``epoch_train_loss: full`` a pass without dropout after the epoch.

    Args:
        flow: The flow to train in place (normally float32).
        train: (x, cond, weights) in standardised space, shapes (n, n_x), (n, n_cond), (n,).
        test: Same layout; used for model selection and early stopping.
        options: Training options (see :data:`~innfer_lib.density.training_options.
            DEFAULT_TRAINING_OPTIONS`); unknown keys are ignored.
        progress: Show a tqdm bar over epochs.
        log: Receives one summary line per epoch.
        checkpoint_dir: Directory for the resumable training state. The state is written
            after every epoch (epoch 0 included) to
            :data:`~innfer_lib.density.checkpoint.CHECKPOINT_FILE` there; if a state for
            the same data, architecture, options and starting weights is found on entry,
            training continues after its last epoch and ends exactly as an uninterrupted run
            would. The state is left in place at the end (see
            :func:`~innfer_lib.density.checkpoint.remove_checkpoint`); a
            call that finds a finished state returns its result without training. The state
            of the flow's dropout generator is part of the checkpoint, so this holds with
            dropout too.
        on_epoch_end: Called with the epoch number and its test loss once that epoch's
            checkpoint (if any) is on disk; an exception raised here aborts training like a
            killed job would (the Bayesian tuning prunes a trial this way).

    Returns:
        History with plain Python types (YAML-friendly): per-epoch lists "epoch",
        "train_loss", "test_loss", "learning_rate" (epoch 0 = before training), and
        "best_epoch", "stopped_early", "events_per_second" (training steps only) and
        "seconds" (time in train_flow); the last two add up over resumed calls; and
        "placement" (`training_placement` of the latest call's first training step).

    Raises:
        ValueError: For invalid options or data, or save_model_per_epoch without a directory.
    """
    train_arrays = _as_arrays(train, flow, "train")
    batch_size = int(resolve_training_options(options)["batch_size"])
    distinct = flow.distinct_training_rows(train_arrays[1], batch_size)
    if distinct is not None:
        log(f"conditioners run once per distinct θ of a batch: {distinct} θ points in training")
    return train_model(
        _FlowTraining(flow, share_rows=distinct is not None),
        train_arrays,
        _as_arrays(test, flow, "test"),
        options,
        progress=progress,
        log=log,
        checkpoint_dir=checkpoint_dir,
        on_epoch_end=on_epoch_end,
    )


def train_model(
    model: TrainableModel,
    train: Sequence[np.ndarray],
    test: Sequence[np.ndarray],
    options: Mapping[str, Any],
    progress: bool = True,
    log: Callable[[str], None] = print,
    checkpoint_dir: str | os.PathLike[str] | None = None,
    on_epoch_end: Callable[[int, float], None] | None = None,
) -> dict[str, Any]:
    """Minimise Σ w·loss_i / Σ w (+ the model's penalty) by minibatch descent.

    Everything `train_flow` documents holds for any `TrainableModel`: best-test-loss weights
    at the end, per-epoch checkpoints that a rerun resumes from bitwise, seeded batch order,
    early stopping, per-epoch models and TensorBoard scalars.

    Args:
        model: The network to train in place.
        train: The model's input arrays (first axis: events), already in its dtype, finite
            and non-empty, followed by the event weights.
        test: Same layout; used for model selection and early stopping.
        options: As for `train_flow`.
        progress: As for `train_flow`.
        log: As for `train_flow`.
        checkpoint_dir: As for `train_flow`.
        on_epoch_end: As for `train_flow`.

    Returns:
        The history `train_flow` describes.
    """
    t_start = time.perf_counter()
    opts = resolve_training_options(options)
    seed = int(opts["seed"])
    tf.random.set_seed(seed)

    tr = [np.ascontiguousarray(a) for a in train]
    te = [np.ascontiguousarray(a) for a in test]
    n_train = len(tr[0])
    batch_size = int(opts["batch_size"])
    epochs = int(opts["epochs"])
    steps_per_epoch = math.ceil(n_train / batch_size)
    schedule = make_lr_schedule(opts, steps_per_epoch)
    optimizer = make_optimizer(opts, schedule, model.trainable_variables)
    variables = list(model.trainable_variables)
    random_states = model.random_state_variables

    ckpt_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
    fingerprint = ""
    epoch_model_dir: Path | None = None
    if opts["save_model_per_epoch"]:
        directory = opts["epoch_model_dir"] or ckpt_dir
        if directory is None:
            raise ValueError("save_model_per_epoch needs epoch_model_dir or a checkpoint_dir")
        epoch_model_dir = Path(directory)
    if ckpt_dir is not None:
        ckpt_dir.mkdir(parents=True, exist_ok=True)
        fingerprint = checkpoint_fingerprint(
            model.checkpoint_setup(), opts, [*tr, *te, *model.get_weights()]
        )
    writer = (
        tf.summary.create_file_writer(str(opts["tensorboard_dir"]))
        if opts["tensorboard_dir"]
        else None
    )

    with tf.device("/CPU:0"):
        # Host copies the input pipeline gathers from; steps copy one batch at a time.
        train_tensors = [tf.constant(a) for a in tr]

    spec = [tf.TensorSpec([None, *a.shape[1:]], model.dtype) for a in tr]
    # Σ w·loss_i and Σ w of the epoch's steps so far (event weights as in the test loss, before
    # any batch reweighting), for the "running" epoch_train_loss; float64 so that no epoch's
    # sum loses the last batches' digits.
    running = [tf.Variable(0.0, dtype=tf.float64, trainable=False) for _ in range(2)]

    @tf.function(input_signature=spec)
    def train_step(*batch: tf.Tensor) -> tf.Tensor:
        w = model.batch_weights(batch[:-1], batch[-1])
        with tf.GradientTape() as tape:
            # Training mode: dropout (if configured) acts in this step only.
            per_event = model.per_event_loss(batch[:-1], training=True)
            loss = tf.reduce_sum(w * per_event) / tf.reduce_sum(w)
            penalty = model.penalty()
            if penalty is not None:
                loss = loss + penalty
        grads = tape.gradient(loss, variables)
        optimizer.apply_gradients(zip(grads, variables, strict=True))
        event_w = batch[-1]
        running[0].assign_add(tf.cast(tf.reduce_sum(event_w * per_event), tf.float64))
        running[1].assign_add(tf.cast(tf.reduce_sum(event_w), tf.float64))
        return loss

    @tf.function(input_signature=spec)
    def loss_sums(*batch: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        w = batch[-1]
        per_event = model.per_event_loss(batch[:-1], training=False)
        return tf.reduce_sum(w * per_event), tf.reduce_sum(w)

    eval_batch = max(batch_size, _MIN_EVAL_BATCH)

    def mean_loss(num: float, den: float) -> float:
        """Σ w·loss_i / Σ w plus the model's current penalty."""
        loss = num / den if den != 0.0 else float("nan")
        penalty = model.penalty()
        return loss if penalty is None else loss + float(penalty)

    def full_loss(arrays: Sequence[np.ndarray]) -> float:
        num, den = 0.0, 0.0
        for i in range(0, len(arrays[0]), eval_batch):
            s, sw = loss_sums(*(a[i : i + eval_batch] for a in arrays))
            num += float(s)
            den += float(sw)
        return mean_loss(num, den)

    def epoch_train_loss() -> float:
        """The epoch's training loss as `epoch_train_loss` defines it."""
        if opts["epoch_train_loss"] == "full":
            return full_loss(tr)
        num, den = (float(v.numpy()) for v in running)
        return mean_loss(num, den)

    def current_lr() -> float:
        if isinstance(schedule, float):
            return schedule
        return float(schedule(optimizer.iterations))

    def record(epoch: int) -> None:
        """Per-epoch outputs that never feed back into training."""
        if writer is not None:
            with writer.as_default():
                for key in ("train_loss", "test_loss", "learning_rate"):
                    value = tf.constant(history[key][-1], tf.float32)
                    tf.summary.write(key, value, step=epoch, metadata=_SCALAR_METADATA)
            writer.flush()
        if epoch_model_dir is not None:
            with atomic_path(epoch_model_dir / EPOCH_MODEL.format(epoch=epoch)) as tmp:
                model.save(str(tmp))

    restored = None
    if ckpt_dir is not None:
        restored = restore_checkpoint(ckpt_dir, fingerprint, model, optimizer, log)
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
            "train_loss": [full_loss(tr)],
            "test_loss": [full_loss(te)],
            "learning_rate": [current_lr()],
        }
        log(
            f"epoch 0/{epochs}: train_loss={history['train_loss'][0]:.6f} "
            f"test_loss={history['test_loss'][0]:.6f} lr={history['learning_rate'][0]:.3e}"
        )
        best_loss = history["test_loss"][0]
        best_epoch = 0
        best_weights = model.get_weights()
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
        }
        opt_state = [v.numpy() for v in optimizer.variables]
        rng_state = [v.numpy() for v in random_states]
        write_checkpoint(ckpt_dir, meta, model.get_weights(), best_weights, opt_state, rng_state)

    if restored is None:
        checkpoint(0)
        if on_epoch_end is not None:
            on_epoch_end(0, history["test_loss"][-1])

    patience = int(opts["patience"])
    wait_till = int(opts["wait_till"])
    tolerance = float(opts["tolerance"])
    epoch_range = range(start_epoch, epochs + 1) if not finished else range(0)
    first_in_call = True
    for epoch in tqdm(
        epoch_range, desc="training", disable=not progress, initial=start_epoch - 1, total=epochs
    ):
        batches = iter(_epoch_dataset(epoch_order(seed, epoch, n_train), train_tensors, batch_size))
        for v in running:
            v.assign(0.0)
        skipped = 0
        if first_in_call:
            # The first call pays one-off graph optimisation (seconds for a spline flow); keep
            # it out of the throughput so events/s reflects steady-state training.
            batch = next(batches)
            first_loss = train_step(*batch)
            int(optimizer.iterations)
            skipped = int(batch[0].shape[0])
            first_in_call = False
            # Part of the history, so a checkpoint carries it to a call that only resumes.
            history["placement"] = training_placement(first_loss, variables)
            log(describe_placement(history["placement"]))
        t0 = time.perf_counter()
        for batch in batches:
            train_step(*batch)
        # Reading the optimiser step forces the last asynchronous update to finish.
        int(optimizer.iterations)
        dt = time.perf_counter() - t0
        train_seconds += dt
        train_events += n_train - skipped

        train_loss = epoch_train_loss()
        test_loss = full_loss(te)
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
                best_weights = model.get_weights()
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
            on_epoch_end(epoch, test_loss)
        if stopped_early:
            break

    if writer is not None:
        writer.close()
    model.set_weights(best_weights)
    history["best_epoch"] = int(best_epoch)
    history["events_per_second"] = float(train_events / train_seconds) if train_seconds else 0.0
    history["seconds"] = float(earlier_seconds + time.perf_counter() - t_start)
    history["stopped_early"] = bool(stopped_early)
    history["train_loss"] = [float(v) for v in history["train_loss"]]
    history["test_loss"] = [float(v) for v in history["test_loss"]]
    history["learning_rate"] = [float(v) for v in history["learning_rate"]]
    history["epoch"] = [int(v) for v in history["epoch"]]
    return history
