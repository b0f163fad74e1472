"""The weights of a trained network in one .npz file, with the signature it was built for.

The flow and the ratio FCNNs store their weights the same way: arrays `w0000`, `w0001`, ... in
creation order plus `meta_signature`, the canonical text of dimensions and architecture. A
file is loaded only into a network with the same signature (two networks can share weight
shapes and still differ), and a file that cannot be read names itself and the rule that
writes it again. No TensorFlow here: the variables are anything with `shape` and `assign`.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Sequence
from typing import Any

import numpy as np

from innfer_lib.core.errors import ModelFileError


def read_weights(variables: Sequence[Any]) -> list[np.ndarray]:
    """Copies of the variables' values, in their (creation) order."""
    return [v.numpy() for v in variables]


def assign_weights(variables: Sequence[Any], weights: Sequence[np.ndarray], dtype: Any) -> None:
    """Assign arrays from `read_weights` of a network with the same shapes, cast to `dtype`.

    Raises:
        ValueError: If the number or shapes of the arrays do not match.
    """
    weights = list(weights)
    if len(weights) != len(variables):
        raise ValueError(f"expected {len(variables)} arrays, got {len(weights)}")
    for i, (var, w) in enumerate(zip(variables, weights, strict=True)):
        w = np.asarray(w)
        if tuple(w.shape) != tuple(var.shape):
            raise ValueError(f"weight {i}: shape {w.shape} != expected {tuple(var.shape)}")
        var.assign(w.astype(dtype))


def save_weights(path: str, weights: Sequence[np.ndarray], signature: str) -> None:
    """Write the weights and the signature to one .npz file, exactly at `path`.

    The file handle is opened here so NumPy adds no suffix; no object arrays are stored, so
    pickling stays off (np.load refuses it anyway).
    """
    arrays = {f"w{i:04d}": w for i, w in enumerate(weights)}
    arrays["meta_signature"] = np.array(signature)
    with open(path, "wb") as handle:
        np.savez(handle, allow_pickle=False, **arrays)


def _read(path: str, what: str, hint: str) -> tuple[str, list[np.ndarray]]:
    """The stored signature and weight arrays of a file `save_weights` wrote."""
    try:
        with np.load(path) as data:
            stored = str(data["meta_signature"])
            weights = [data[k] for k in sorted(k for k in data.files if k.startswith("w"))]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        raise ModelFileError(
            f"{path}: cannot read the {what}'s weights ({type(err).__name__}: {err}); {hint}"
        ) from err
    return stored, weights


def signature_differences(stored: str, requested: str) -> list[str]:
    """What differs between two signatures, one ``"key: stored in the file, requested"`` each.

    Signatures are JSON objects (`architecture.signature`); text that is not one is compared
    whole, so an old or foreign file still gets a message.
    """
    try:
        a, b = json.loads(stored), json.loads(requested)
    except ValueError:
        a, b = None, None
    if not isinstance(a, dict) or not isinstance(b, dict):
        return [f"signature: {stored!r} in the file, {requested!r} requested"]
    missing = object()
    out = []
    for key in sorted(set(a) | set(b)):
        x, y = a.get(key, missing), b.get(key, missing)
        if x != y:
            shown = ["(absent)" if v is missing else json.dumps(v) for v in (x, y)]
            out.append(f"{key}: {shown[0]} in the file, {shown[1]} requested")
    return out


def load_warm_start(path: str, signature: str, what: str) -> list[np.ndarray]:
    """Weights to start a training from, refused unless saved for the same network.

    Unlike `load_weights` (a model's own output, retrained when bad), a warm-start file is the
    user's choice, so the error says what differs and leaves the file alone.

    Raises:
        ModelFileError: (a ValueError) the file cannot be read, or its signature differs; the
            message names the file and each differing architecture key.
    """
    hint = "check the density_warm_start entry of the workflow config"
    stored, weights = _read(path, what, hint)
    if stored != signature:
        diffs = "; ".join(signature_differences(stored, signature))
        raise ModelFileError(
            f"{path}: cannot warm-start the {what} from this file, it was saved for another "
            f"network ({diffs}); {hint}"
        )
    return weights


def load_weights(path: str, signature: str, what: str, rule: str) -> list[np.ndarray]:
    """The weights stored at `path` for a network of `signature`.

    Args:
        path: the .npz file `save_weights` wrote.
        signature: the signature of the network the weights are for.
        what: the network, for messages ("flow", "regression", ...).
        rule: the rule that writes the file, named in how to recover.

    Raises:
        ModelFileError: (a ValueError) the file cannot be read, or was written for another
            signature; the message names the file and how to write it again.
    """
    retrain = f"remove it (or run with --forcerun {rule}) to train again"
    stored, weights = _read(path, what, retrain)
    if stored != signature:
        raise ModelFileError(
            f"{path} was saved for {stored}, which does not match the requested "
            f"{signature}; {retrain}"
        )
    return weights


def set_loaded_weights(net: Any, path: str, weights: Sequence[np.ndarray], rule: str) -> None:
    """`net.set_weights(weights)`, a shape mismatch named as a bad file of `path`."""
    try:
        net.set_weights(weights)
    except ValueError as err:
        raise ModelFileError(
            f"{path}: weights of the wrong shape ({err}); remove it (or run with --forcerun "
            f"{rule}) to train again"
        ) from err
