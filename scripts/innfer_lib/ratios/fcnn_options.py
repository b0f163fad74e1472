"""Options of the weight-ratio FCNNs: INNFER's `regression_default.yaml` and
`classifier_default.yaml` keys, defaults and checks.

An architecture file of a weight-ratio regression or classifier mixes network keys (`dense_layers`,
`activation`, `dropout`, `l2_lambda`) and training keys, which are the density flow's
(innfer_lib.density.training_options), so both networks train with one loop and one set of
optimiser and schedule names. This module imports no TensorFlow: the workflow checks the file
and the `regression_architecture_overrides` / `classifier_architecture_overrides` while it
builds the DAG, naming a bad key before
any job runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from innfer_lib.core.config_files import unknown_key_message
from innfer_lib.density.architecture import ACTIVATIONS, check_bool, check_float, check_int
from innfer_lib.density.training_options import (
    DEFAULT_LR_SCHEDULER_OPTIONS,
    DEFAULT_TRAINING_OPTIONS,
    resolve_training_options,
)

#: `type` of a regression or classifier architecture file (INNFER's only FCNN type).
FCNN_TYPES = ("FCNN",)

#: How a classifier's ratio is used (INNFER's classifier types, selectable per nuisance): the
#: network at every ν, or INNFER's interpolating classifiers, which evaluate it at ν = +1 (and
#: −1) only and interpolate ln r in ν with the asymmetric log-normal (ratios.classifier).
PLAIN_CLASSIFIER = "FCNN"
CLASSIFIER_TYPES = (PLAIN_CLASSIFIER, "FCNN_TwoPointInterpolator", "FCNN_ThreePointInterpolator")

#: The two kinds of FCNN: a regression of w(ν)/w(0), a classifier of shifted against nominal.
REGRESSION = "regression"
CLASSIFIER = "classifier"
FCNN_KINDS = (REGRESSION, CLASSIFIER)

#: A regression's loss, which also fixes what its output means:
#: * "mse" (INNFER's): the output is the standardised r̂ = w(ν)/w(0), fitted by the weighted
#:   squared error. The rare large ratios dominate it (at |ν| = 3 the shape benchmark's reach
#:   30, its typical ones 1 ± 0.2), and r̂ can come out negative;
#: * "gamma_deviance": the output is ln r̂ (a log link) and the loss the gamma deviance
#:   r/r̂ − ln(r/r̂) − 1. Its minimiser is still the conditional mean E[r | x, ν], as for the
#:   squared error (a fit of ln r would give exp E[ln r], biased low wherever the ratio varies
#:   at fixed x), but its curvature in ln r̂ is one per event, so every ν and every ratio count
#:   alike, and r̂ > 0 by construction. It needs r > 0 on every training event.
MSE_LOSS = "mse"
GAMMA_LOSS = "gamma_deviance"
REGRESSION_LOSSES = (MSE_LOSS, GAMMA_LOSS)

#: The network: INNFER's regression defaults (models spec §2.2).
DEFAULT_FCNN_ARCHITECTURE: dict[str, Any] = {
    "dense_layers": [256, 256, 256],
    "activation": "relu",
    "dropout": 0.2,
    "l2_lambda": 0.05,
    "loss": MSE_LOSS,
}

#: The network: INNFER's classifier defaults (models spec §2.2), with its per-batch class
#: balancing, which changes the trained weights and so belongs with the network keys.
DEFAULT_CLASSIFIER_ARCHITECTURE: dict[str, Any] = {
    "dense_layers": [64, 64],
    "activation": "relu",
    "dropout": 0.02,
    "l2_lambda": 1e-5,
    "normalise_batch_categories": True,
}

#: Training defaults of a regression where they differ from the density flow's.
REGRESSION_TRAINING_DEFAULTS: dict[str, Any] = {
    "epochs": 20,
    "batch_size": 4096,
    "early_stopping": False,
    "learning_rate": 1e-3,
    "optimizer_name": "AdamW",
    "lr_scheduler_name": "CosineDecay",
}

#: Training defaults of a classifier where they differ from the density flow's.
CLASSIFIER_TRAINING_DEFAULTS: dict[str, Any] = {
    "epochs": 20,
    "batch_size": 2048,
    "early_stopping": False,
    "learning_rate": 1e-3,
    "optimizer_name": "AdamW",
    "lr_scheduler_name": "CosineDecayWithWarmUp",
    "lr_scheduler_options": {"alpha": 5e-6, "warmup_fraction": 0.1, "step_power": 0.5},
}

#: INNFER's classifier option that rescales each class's weights per batch. A regression has
#: no classes, so the key is accepted (a classifier file may be reused) only when off.
CLASSIFIER_ONLY_OPTIONS = ("normalise_batch_categories",)

#: A regression's keys that a classifier (cross-entropy of its two logits) has no use for.
REGRESSION_ONLY_OPTIONS = ("loss",)

#: Activations whose network is C² in its inputs (so in ν): the likelihood's autodiff Hessian
#: is then the curvature. relu, leaky_relu, elu and selu have kinks in a derivative.
SMOOTH_ACTIVATIONS = frozenset({"gelu", "swish", "silu", "tanh", "sigmoid", "softplus", "linear"})


def dense_layer_widths(value: Any) -> list[int]:
    """Hidden-layer widths from INNFER's `dense_layers`: a list, or a mapping layer_i: width.

    INNFER's regression file writes a list and its classifier file a mapping; both mean the
    widths in order.

    Raises:
        ValueError: neither form, no layer, or a width that is not a positive integer.
    """
    widths = list(value.values()) if isinstance(value, Mapping) else value
    if not isinstance(widths, list) or not widths:
        raise ValueError(
            f"dense_layers must be a non-empty list of layer widths (or a mapping of them), "
            f"got {value!r}"
        )
    for i, width in enumerate(widths):
        check_int(width, f"dense_layers[{i}]", 1)
    return [int(w) for w in widths]


def _check_kind(kind: str) -> None:
    if kind not in FCNN_KINDS:
        raise ValueError(f"kind must be one of {FCNN_KINDS}, got {kind!r}")


def resolve_fcnn_architecture(
    options: Mapping[str, Any] | None, kind: str = REGRESSION
) -> dict[str, Any]:
    """The network keys of `options` merged onto the kind's defaults and validated.

    Returns:
        {dense_layers (list of widths), activation, dropout, l2_lambda}, and for a regression
        its loss, for a classifier normalise_batch_categories; other keys ignored.

    Raises:
        ValueError: a bad value; the message starts with the key.
    """
    _check_kind(kind)
    defaults = DEFAULT_FCNN_ARCHITECTURE if kind == REGRESSION else DEFAULT_CLASSIFIER_ARCHITECTURE
    arch = dict(defaults)
    arch.update({k: v for k, v in (options or {}).items() if k in defaults})
    arch["dense_layers"] = dense_layer_widths(arch["dense_layers"])
    if arch["activation"] not in ACTIVATIONS:
        raise ValueError(
            f"activation must be one of {sorted(ACTIVATIONS)}, got {arch['activation']!r}"
        )
    if kind == REGRESSION and arch["loss"] not in REGRESSION_LOSSES:
        raise ValueError(f"loss must be one of {REGRESSION_LOSSES}, got {arch['loss']!r}")
    check_float(arch["dropout"], "dropout", 0.0, 1.0)
    check_float(arch["l2_lambda"], "l2_lambda", 0.0)
    arch["dropout"] = float(arch["dropout"])
    arch["l2_lambda"] = float(arch["l2_lambda"])
    if kind == CLASSIFIER:
        check_bool(arch["normalise_batch_categories"], "normalise_batch_categories")
    return arch


def resolve_fcnn_training(
    options: Mapping[str, Any] | None, kind: str = REGRESSION
) -> dict[str, Any]:
    """Training options of an FCNN: the file's over INNFER's defaults of its kind.

    `lr_scheduler_options` merge key by key, so a file that sets one keeps the kind's others.
    """
    _check_kind(kind)
    defaults = REGRESSION_TRAINING_DEFAULTS if kind == REGRESSION else CLASSIFIER_TRAINING_DEFAULTS
    merged = {**defaults, **(options or {})}
    schedule = (options or {}).get("lr_scheduler_options")
    if isinstance(schedule, Mapping):
        merged["lr_scheduler_options"] = {**defaults.get("lr_scheduler_options", {}), **schedule}
    return resolve_training_options(
        {k: v for k, v in merged.items() if k in DEFAULT_TRAINING_OPTIONS}
    )


def resolve_regression_training(options: Mapping[str, Any] | None) -> dict[str, Any]:
    """Training options of a regression: the file's over INNFER's regression defaults."""
    return resolve_fcnn_training(options, REGRESSION)


def check_fcnn_options(options: Mapping[str, Any], kind: str = REGRESSION) -> None:
    """Check a regression or classifier architecture mapping without TensorFlow.

    Raises:
        ValueError: an unknown key (with the closest known one), `normalise_batch_categories`
            switched on for a regression, `loss` for a classifier, a wrong `type` or a bad
            value; the message starts with the key.
    """
    _check_kind(kind)
    known = [
        "type",
        *DEFAULT_FCNN_ARCHITECTURE,
        *DEFAULT_TRAINING_OPTIONS,
        *CLASSIFIER_ONLY_OPTIONS,
    ]
    for key, value in options.items():
        if key not in known:
            raise ValueError(f"{key}: {unknown_key_message(key, known)}")
        if kind == REGRESSION and key in CLASSIFIER_ONLY_OPTIONS and value is not False:
            raise ValueError(
                f"{key}: balances the classes of a classifier's batches; a regression has no "
                "classes, so remove the key or set it to false"
            )
        if kind == CLASSIFIER and key in REGRESSION_ONLY_OPTIONS:
            raise ValueError(
                f"{key}: chooses a regression's loss; a classifier always trains with the "
                "cross-entropy of its two logits, so remove the key"
            )
    schedule = options.get("lr_scheduler_options")
    for key in schedule if isinstance(schedule, Mapping) else {}:
        if key not in DEFAULT_LR_SCHEDULER_OPTIONS:
            message = unknown_key_message(key, list(DEFAULT_LR_SCHEDULER_OPTIONS))
            raise ValueError(f"lr_scheduler_options.{key}: {message}")
    fcnn_type = options.get("type", FCNN_TYPES[0])
    types = CLASSIFIER_TYPES if kind == CLASSIFIER else FCNN_TYPES
    if fcnn_type not in types:
        raise ValueError(f"type must be one of {types}, got {fcnn_type!r}")
    resolve_fcnn_architecture(options, kind)
    resolve_fcnn_training(options, kind)


def check_regression_options(options: Mapping[str, Any]) -> None:
    """check_fcnn_options of a regression architecture."""
    check_fcnn_options(options, REGRESSION)


def check_classifier_options(options: Mapping[str, Any]) -> None:
    """check_fcnn_options of a classifier architecture."""
    check_fcnn_options(options, CLASSIFIER)


def check_classifier_type(value: Any, where: str) -> str:
    """One of CLASSIFIER_TYPES.

    Raises:
        ValueError: another value, naming `where` and the choices.
    """
    if value not in CLASSIFIER_TYPES:
        raise ValueError(f"{where}: expected one of {list(CLASSIFIER_TYPES)}, got {value!r}")
    return str(value)
