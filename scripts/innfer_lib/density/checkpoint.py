"""Resumable training state: one checkpoint file per training, written after every epoch.

Training jobs run for hours on shared clusters and get killed (wall-time limits, pre-emption).
:func:`innfer_lib.density.training.train_flow` writes the complete training state after every
epoch, atomically, and a later call with the same inputs continues after the last finished
epoch. Everything that shapes the trajectory is either in the checkpoint (weights, optimiser
slots and step counter, dropout generator state, history, best epoch, early-stopping counter)
or a pure function of (seed, epoch) (the batch order), so a resumed run ends with exactly the
weights and history of an uninterrupted one. A checkpoint written for other data,
architecture, options or starting weights is recognised by its fingerprint and ignored.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import tf_keras

from innfer_lib.core.io import atomic_path
from innfer_lib.density.training_options import OUTPUT_ONLY_OPTIONS

if TYPE_CHECKING:
    from innfer_lib.density.training import TrainableModel

CHECKPOINT_FILE = "training_state.npz"
#: Bump when the meaning of the stored state changes, so old checkpoints are ignored, not misread.
CHECKPOINT_VERSION = 1


def checkpoint_fingerprint(
    setup: Mapping[str, Any], opts: Mapping[str, Any], arrays: Sequence[np.ndarray]
) -> str:
    """Hash of everything a checkpoint must agree with before it may be resumed.

    A checkpoint left by a run with other data, architecture, options or starting weights
    would silently give a model trained half one way and half another, so such a checkpoint
    is ignored instead. `setup` is the model's `checkpoint_setup()` (dimensions, dtype,
    architecture); `arrays` holds the data and the model's weights on entry.
    """
    digest = hashlib.blake2b(digest_size=16)
    record = {
        "version": CHECKPOINT_VERSION,
        **setup,
        "options": {k: v for k, v in opts.items() if k not in OUTPUT_ONLY_OPTIONS},
    }
    digest.update(json.dumps(record, sort_keys=True, default=str).encode())
    for a in arrays:
        digest.update(str(a.shape).encode())
        # The raw bytes in C order (a copy: NumPy's stubs do not declare arrays as buffers).
        digest.update(np.ascontiguousarray(a).tobytes())
    return digest.hexdigest()


def write_checkpoint(
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

    Args:
        directory: Where :data:`CHECKPOINT_FILE` is written.
        meta: The loop's JSON-serialisable state (fingerprint, epoch, history, ...); the
            format version and the array counts are added here.
        weights: The flow's current weights.
        best_weights: The weights of the best epoch so far.
        optimizer_state: The optimiser's variables (slots and step counter).
        random_state: The flow's random generator state (dropout).
    """
    record = {
        "version": CHECKPOINT_VERSION,
        **meta,
        "n_weights": len(weights),
        "n_optimizer": len(optimizer_state),
        "n_random": len(random_state),
    }
    arrays: dict[str, np.ndarray] = {"meta": np.array(json.dumps(record))}
    groups = (
        ("weight", weights),
        ("best", best_weights),
        ("opt", optimizer_state),
        ("rng", random_state),
    )
    for prefix, group in groups:
        arrays.update({f"{prefix}_{i:04d}": np.asarray(a) for i, a in enumerate(group)})
    with atomic_path(directory / CHECKPOINT_FILE) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, allow_pickle=False, **arrays)
        handle.flush()
        os.fsync(handle.fileno())


def _read_checkpoint(
    directory: Path,
) -> tuple[dict[str, Any], list[np.ndarray], list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """Read (meta, weights, best weights, optimiser and RNG state) from write_checkpoint."""
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


#: File name of the weights after one epoch (`save_model_per_epoch`); `{epoch}` from 0.
EPOCH_MODEL = "epoch_{epoch}.npz"


def epoch_model_files(directory: str | os.PathLike[str]) -> dict[int, Path]:
    """The per-epoch weight files of a directory, by epoch number."""
    prefix, suffix = EPOCH_MODEL.split("{epoch}")
    found = {}
    for path in Path(directory).glob(EPOCH_MODEL.format(epoch="*")):
        number = path.name[len(prefix) : -len(suffix)]
        if number.isdigit():
            found[int(number)] = path
    return dict(sorted(found.items()))


def keep_epoch_models(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
    """Move the per-epoch weights of a finished training into the rule's output directory.

    Raises:
        FileNotFoundError: There are none (save_model_per_epoch was off for this training).
    """
    files = epoch_model_files(source)
    if not files:
        raise FileNotFoundError(f"{source}: no per-epoch models ({EPOCH_MODEL.format(epoch='K')})")
    Path(target).mkdir(parents=True, exist_ok=True)
    for path in files.values():
        os.replace(path, Path(target) / path.name)


def restore_checkpoint(
    checkpoint_dir: Path,
    fingerprint: str,
    model: TrainableModel,
    optimizer: tf_keras.optimizers.Optimizer,
    log: Callable[[str], None],
) -> tuple[dict[str, Any], list[np.ndarray]] | None:
    """Load a matching checkpoint into the model and optimiser; returns (meta, best weights).

    Everything is read and checked before anything is assigned, so a rejected checkpoint
    leaves the freshly initialised model and optimiser untouched.
    """
    path = checkpoint_dir / CHECKPOINT_FILE
    if not path.exists():
        return None
    try:
        meta, weights, best, opt_state, rng_state = _read_checkpoint(checkpoint_dir)
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile) as err:
        log(f"checkpoint {path} is unreadable ({err}); training from scratch")
        return None
    if meta.get("version") != CHECKPOINT_VERSION or meta.get("fingerprint") != fingerprint:
        log(
            f"checkpoint {path} was written for other data, architecture or options; "
            "training from scratch"
        )
        return None
    opt_vars = list(optimizer.variables)
    rng_vars = model.random_state_variables
    trainable = list(model.trainable_variables)
    stored = [*weights, *best, *opt_state, *rng_state]
    targets = [*trainable, *trainable, *opt_vars, *rng_vars]
    shapes_ok = (
        len(weights) == len(trainable)
        and len(opt_state) == len(opt_vars)
        and len(rng_state) == len(rng_vars)
        and all(tuple(a.shape) == tuple(v.shape) for a, v in zip(stored, targets, strict=True))
    )
    if not shapes_ok:
        log(
            f"checkpoint {path} does not match the model or optimiser shapes; training from scratch"
        )
        return None
    model.set_weights(weights)
    for var, value in zip([*opt_vars, *rng_vars], [*opt_state, *rng_state], strict=True):
        var.assign(value)
    return meta, best
