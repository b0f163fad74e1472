"""The flow's architecture options: defaults, validation and the saved signature.

An architecture is a plain mapping (usually read from YAML) that fixes which map a
:class:`innfer_lib.density.flow.ConditionalFlow` computes, apart from its weights. This module
owns everything about that mapping and nothing about networks, so it does not import
TensorFlow: a bad YAML is refused with a message naming the key before any network is built.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

DEFAULT_ARCHITECTURE: dict[str, Any] = {
    "coupling_design": "interleaved",
    "num_coupling_layers": 10,
    "permutation": "fixed",
    "act_norm": True,
    "affine_units_per_dense_layer": 128,
    "affine_num_dense_layers": 2,
    "affine_activation": "swish",
    "spline_units_per_dense_layer": 128,
    "spline_num_dense_layers": 2,
    "spline_activation": "swish",
    "spline_bins": 16,
    "spline_bound": 5.0,
    "soft_clamp": 1.9,
    "seed": 42,
    "spline_implementation": "innfer",
    "affine_dropout": False,
    "affine_dropout_prob": 0.0,
    "spline_dropout": False,
    "spline_dropout_prob": 0.0,
}

COUPLING_DESIGNS = ("affine", "spline", "interleaved")
PERMUTATIONS = ("fixed", "none", "learnable")
# INNFER writes "no permutation" as YAML null; both spellings resolve to "none" so that the two
# configurations give the same saved signature.
_PERMUTATION_ALIASES: dict[Any, str] = {None: "none", "null": "none", "None": "none"}
SPLINE_IMPLEMENTATIONS = ("innfer", "tfp")
#: Names of the conditioner activations; :mod:`innfer_lib.density.dense` maps each to its
#: function (a test checks that the two agree).
ACTIVATIONS = (
    "relu",
    "elu",
    "selu",
    "gelu",
    "swish",
    "silu",
    "tanh",
    "sigmoid",
    "softplus",
    "leaky_relu",
    "linear",
)
#: Keys that choose how the map is computed, not which map it is: they stay out of the saved
#: signature, so weights load under either choice and files from before the key existed load.
#: Dropout only acts while training and adds no weights, so a network trained with dropout is
#: evaluated (and loaded) exactly like one trained without.
NOT_IN_SIGNATURE = frozenset(
    {
        "spline_implementation",
        "affine_dropout",
        "affine_dropout_prob",
        "spline_dropout",
        "spline_dropout_prob",
    }
)


def check_int(value: Any, name: str, minimum: int) -> None:
    """Require an integral value >= minimum; int() alone would silently truncate 2.5 to 2."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not number.is_integer() or number < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def check_float(
    value: Any,
    name: str,
    low: float,
    high: float = math.inf,
    closed_low: bool = True,
    closed_high: bool = False,
) -> None:
    """Require a finite number between low and high, each end closed or open as given."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    above = number >= low if closed_low else number > low
    below = number <= high if closed_high else number < high
    if isinstance(value, bool) or not (above and below and math.isfinite(number)):
        interval = f"{'[' if closed_low else '('}{low}, {high}{']' if closed_high else ')'}"
        raise ValueError(f"{name} must be a number in {interval}, got {value!r}")


def check_bool(value: Any, name: str) -> None:
    """Require a real boolean: bool("false") is True, so strings must not slip through."""
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{name} must be true or false, got {value!r}")


def resolve_architecture(architecture: Mapping[str, Any] | None) -> dict[str, Any]:
    """Merge an architecture mapping onto the defaults and validate the flow keys.

    Architecture YAMLs also carry training options (epochs, batch size, ...); those keys are
    passed through untouched so the same mapping can feed both the flow and the trainer.
    Validation happens here, once, so a bad YAML fails with a message naming the key before
    any network is built or any training time is spent.

    Args:
        architecture: User options, or None for the defaults.

    Returns:
        A new dict holding every default key, overridden where the user gave a value. The
        permutation is normalised (INNFER's ``null`` becomes ``"none"``); other values are
        returned as given.

    Raises:
        ValueError: If a flow option has an unsupported value; the message names the key.
    """
    arch = dict(DEFAULT_ARCHITECTURE)
    if architecture:
        arch.update(dict(architecture))
    if arch["coupling_design"] not in COUPLING_DESIGNS:
        raise ValueError(
            f"coupling_design must be one of {COUPLING_DESIGNS}, got {arch['coupling_design']!r}"
        )
    permutation = arch["permutation"]
    if isinstance(permutation, str | None) and permutation in _PERMUTATION_ALIASES:
        arch["permutation"] = permutation = _PERMUTATION_ALIASES[permutation]
    if permutation not in PERMUTATIONS:
        raise ValueError(f"permutation must be one of {PERMUTATIONS}, got {permutation!r}")
    if arch["spline_implementation"] not in SPLINE_IMPLEMENTATIONS:
        raise ValueError(
            f"spline_implementation must be one of {SPLINE_IMPLEMENTATIONS}, "
            f"got {arch['spline_implementation']!r}"
        )
    check_int(arch["num_coupling_layers"], "num_coupling_layers", 1)
    check_int(arch["spline_bins"], "spline_bins", 2)
    check_int(arch["seed"], "seed", 0)
    check_float(arch["spline_bound"], "spline_bound", 0.0, closed_low=False)
    check_float(arch["soft_clamp"], "soft_clamp", 0.0, closed_low=False)
    check_bool(arch["act_norm"], "act_norm")
    for prefix in ("affine", "spline"):
        if arch[f"{prefix}_activation"] not in ACTIVATIONS:
            raise ValueError(
                f"{prefix}_activation must be one of {sorted(ACTIVATIONS)}, "
                f"got {arch[f'{prefix}_activation']!r}"
            )
        # Zero hidden layers is allowed: the conditioner is then a single linear layer.
        check_int(arch[f"{prefix}_num_dense_layers"], f"{prefix}_num_dense_layers", 0)
        check_int(arch[f"{prefix}_units_per_dense_layer"], f"{prefix}_units_per_dense_layer", 1)
        check_bool(arch[f"{prefix}_dropout"], f"{prefix}_dropout")
        check_float(arch[f"{prefix}_dropout_prob"], f"{prefix}_dropout_prob", 0.0, 1.0)
    # INNFER's MC dropout keeps dropout on at inference, which makes log q(x | θ) random; the
    # fits here differentiate a deterministic likelihood, so refuse it rather than ignore it.
    for key in sorted(k for k in arch if str(k).endswith("mc_dropout")):
        if arch[key]:
            raise ValueError(
                f"{key} (MC dropout, active at inference) is not supported: the likelihood "
                f"needs a deterministic density; use {str(key).replace('mc_', '')} instead"
            )
    return arch


def layer_kinds(arch: Mapping[str, Any]) -> list[str]:
    """The transform kind of every coupling layer of a resolved architecture.

    ``interleaved`` alternates and starts with ``affine``; the other designs repeat their kind.
    """
    design = arch["coupling_design"]
    n_layers = int(arch["num_coupling_layers"])
    if design == "interleaved":
        return ["affine" if i % 2 == 0 else "spline" for i in range(n_layers)]
    return [design] * n_layers


def dropout_rate(arch: Mapping[str, Any], kind: str) -> float:
    """Dropout probability of a coupling kind's conditioners; 0 unless ``<kind>_dropout`` is set."""
    return float(arch[f"{kind}_dropout_prob"]) if arch[f"{kind}_dropout"] else 0.0


def canonical(value: Any) -> bool | float | str:
    """Spelling-independent form of an option (5, 5.0 and YAML's string "5e0" compare equal)."""
    if isinstance(value, bool):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def signature(
    n_x: int, n_cond: int, arch: Mapping[str, Any], pretransform: Mapping[str, Any] | None = None
) -> str:
    """Canonical text of everything that shapes the map besides the weights.

    Two flows with the same weight shapes can still differ (seed-dependent permutations,
    clamp, spline bound), so loading compares this text, stored next to the weights, instead
    of trusting shapes alone.

    Args:
        n_x: Number of observables.
        n_cond: Number of conditioning parameters.
        arch: A resolved architecture (see :func:`resolve_architecture`).
        pretransform: The flow's fixed pre-transform record, if any: weights trained behind
            one map are meaningless behind another, so its digest is part of the text.
    """
    options = {k: canonical(arch[k]) for k in DEFAULT_ARCHITECTURE if k not in NOT_IN_SIGNATURE}
    text = {"n_x": n_x, "n_cond": n_cond, **options}
    if pretransform:
        digest = hashlib.sha256(json.dumps(pretransform, sort_keys=True).encode()).hexdigest()
        text["pretransform"] = digest[:16]
    return json.dumps(text, sort_keys=True)
