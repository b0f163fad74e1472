"""Hyperparameter search spaces in INNFER's scan-file format, and the metric that ranks them.

A scan file is an architecture file in which some values are lists (nested mappings such as
``lr_scheduler_options`` are searched too). The grid scan takes every list as an axis and runs
the Cartesian product; the Bayesian tuning reads a two-number list as a range (integers give
an integer range, anything else a uniform float range, ``{low, high, log}`` a log-uniform one)
and any other list as categorical choices. Everything else is fixed.

This module only reads and checks mappings (no TensorFlow, no optuna), so the workflow checks
a scan file while it builds the DAG: a key that is not an architecture key, an empty range or
a metric that the chosen metrics do not compute fails before any job runs.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from innfer_lib.core.config_files import unknown_key_message
from innfer_lib.density.training_options import check_density_options

#: Keys that decide the jobs (how many flows, which outputs) while the DAG is built, or name
#: the model type: one value for every trial, so they may not be scanned.
NOT_SCANNABLE = ("type", "ensemble", "save_model_per_epoch", "epoch_model_dir", "tensorboard_dir")
#: What every trial sets: trials train only the flow, per-epoch models belong to the final
#: training (they decide its jobs).
TRIAL_OVERRIDES = {"save_model_per_epoch": False, "epoch_model_dir": None}
#: Keys of a range written as a mapping (a log-uniform learning rate, say).
RANGE_KEYS = frozenset({"low", "high", "log"})
DIRECTIONS = ("min", "max")
#: `density_architecture` values that take the architecture from a search instead of a file.
SEARCHES = {"best_of_scan": "hyperparameter_scan", "best_of_tuning": "bayesian_tuning"}


def _number(value: Any) -> Any:
    """YAML 1.1 reads ``1e-4`` as a string; a scan range means the number."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _is_range_mapping(value: Any) -> bool:
    return isinstance(value, Mapping) and bool(value) and set(value) <= RANGE_KEYS


def scanned_values(space: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{dotted key: list or range mapping} of every scanned value, in file order."""
    found: dict[str, Any] = {}
    for key, value in space.items():
        name = f"{prefix}{key}"
        if isinstance(value, list) or _is_range_mapping(value):
            found[name] = value
        elif isinstance(value, Mapping):
            found.update(scanned_values(value, f"{name}."))
    return found


def architecture_at(space: Mapping[str, Any], point: Mapping[str, Any]) -> dict[str, Any]:
    """The architecture of one point: the scan file with each scanned value replaced.

    Args:
        space: The scan file's mapping.
        point: {dotted key: value}, one value per scanned key.
    """
    arch: dict[str, Any] = {}
    for key, value in space.items():
        arch[key] = dict(value) if isinstance(value, Mapping) else value
    for name, value in point.items():
        *parents, leaf = name.split(".")
        node = arch
        for parent in parents:
            node = node[parent]
        node[leaf] = value
    return arch


def _check_scanned_keys(space: Mapping[str, Any], scanned: Mapping[str, Any], where: str) -> None:
    if not scanned:
        raise ValueError(f"{where}: no value is a list, so there is nothing to scan")
    for name in scanned:
        top = name.split(".")[0]
        if top in NOT_SCANNABLE:
            raise ValueError(
                f"{where}: {name} cannot be scanned: it decides the jobs or the model type "
                "when the workflow is built; give it one value"
            )


def _checked(space: Mapping[str, Any], point: Mapping[str, Any], where: str) -> None:
    try:
        check_density_options(architecture_at(space, point))
    except ValueError as err:
        shown = ", ".join(f"{k}={v!r}" for k, v in point.items())
        raise ValueError(f"{where}: at {shown}: {err}") from None


def grid_points(space: Mapping[str, Any], where: str = "scan file") -> list[dict[str, Any]]:
    """Every point of the grid (each list an axis), the last axis varying fastest.

    Each point's architecture is checked as a training job would check it, so a key that is
    not an architecture key or a value out of range fails here, naming the key.

    Raises:
        ValueError: no list, an empty list, a key that may not be scanned, or a bad point.
    """
    scanned = scanned_values(space)
    _check_scanned_keys(space, scanned, where)
    axes = {}
    for name, values in scanned.items():
        if not isinstance(values, list):
            raise ValueError(
                f"{where}: {name}: a grid axis is a list of values, got {values!r} "
                "(ranges are for bayesian_tuning)"
            )
        if not values:
            raise ValueError(f"{where}: {name} is an empty list: a grid axis needs values")
        axes[name] = [_number(v) for v in values]
    points = [dict(zip(axes, combo, strict=True)) for combo in itertools.product(*axes.values())]
    for point in points:
        _checked(space, point, where)
    return points


@dataclass(frozen=True)
class Dimension:
    """One searched hyperparameter of a Bayesian tuning.

    Attributes:
        name: Dotted key in the architecture.
        kind: ``int``, ``float`` or ``categorical``.
        low, high: Range ends (numeric kinds).
        log: Log-uniform (float ranges given as a mapping with ``log: true``).
        choices: The categories (categorical kind).
    """

    name: str
    kind: str
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    choices: tuple[Any, ...] = ()

    def corners(self) -> list[Any]:
        """Values that together reach every edge of the dimension (for checking)."""
        if self.kind == "categorical":
            return list(self.choices)
        if self.kind == "int":
            return [int(self.low), int(self.high)]
        return [self.low, self.high]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _dimension(name: str, spec: Any, where: str) -> Dimension:
    if _is_range_mapping(spec):
        missing = {"low", "high"} - set(spec)
        if missing:
            raise ValueError(f"{where}: {name}: a range mapping needs {sorted(missing)}")
        low, high, log = _number(spec["low"]), _number(spec["high"]), spec.get("log", False)
        if not isinstance(log, bool):
            raise ValueError(f"{where}: {name}.log must be true or false, got {log!r}")
        values = [low, high]
    else:
        values = [_number(v) for v in spec]
        log = False
        if not values:
            raise ValueError(f"{where}: {name} is an empty list: a range needs [low, high]")
        # Exactly two numbers are a range (INNFER's format); any other list is a choice.
        if len(values) != 2 or not all(_is_number(v) for v in values):
            return Dimension(name, "categorical", choices=tuple(values))
        low, high = values
    if not all(_is_number(v) and math.isfinite(v) for v in values):
        raise ValueError(f"{where}: {name}: range ends must be finite numbers, got {values!r}")
    if not low < high:
        raise ValueError(f"{where}: {name}: empty range [{low}, {high}]: low must be below high")
    if log and low <= 0:
        raise ValueError(f"{where}: {name}: a log range needs low > 0, got {low}")
    kind = "int" if _is_int(low) and _is_int(high) and not log else "float"
    return Dimension(name, kind, float(low), float(high), bool(log))


def bayesian_dimensions(space: Mapping[str, Any], where: str = "scan file") -> list[Dimension]:
    """The searched dimensions of a Bayesian tuning, each corner checked as a training job would.

    Raises:
        ValueError: no range, an empty range, a key that may not be scanned, or a bad value.
    """
    scanned = scanned_values(space)
    _check_scanned_keys(space, scanned, where)
    dims = [_dimension(name, spec, where) for name, spec in scanned.items()]
    low = low_corner(dims)
    for d in dims:
        for value in d.corners():
            _checked(space, {**low, d.name: value}, where)
    return dims


def low_corner(dims: Sequence[Dimension]) -> dict[str, Any]:
    """The point where every dimension is at its first corner (low end, first choice)."""
    return {d.name: d.corners()[0] for d in dims}


def read_search(
    space: Mapping[str, Any], search: str, where: str = "scan file"
) -> tuple[list[Any], dict[str, Any]]:
    """A search's scan file, checked once: its grid points (`hyperparameter_scan`) or Bayesian
    dimensions, and the architecture of its first point, whose fixed keys are every trial's.

    Raises:
        ValueError: as `grid_points` or `bayesian_dimensions`.
    """
    if search == "hyperparameter_scan":
        points: list[Any] = grid_points(space, where)
        first = points[0]
    else:
        points = bayesian_dimensions(space, where)
        first = low_corner(points)
    return points, architecture_at(space, first)


@dataclass(frozen=True)
class MetricChoice:
    """The metric that ranks trials and whether lower or higher is better."""

    key: str
    direction: str

    @classmethod
    def parse(cls, spec: str, available: Sequence[str]) -> MetricChoice:
        """Read INNFER's ``"key,min"`` / ``"key,max"`` and check the key is computed.

        Raises:
            ValueError: a malformed spec, an unknown direction, or a key that the chosen
                performance metrics do not compute (with the closest one).
        """
        parts = [p.strip() for p in str(spec).split(",")]
        if len(parts) != 2 or not parts[0]:
            raise ValueError(f"metric must be 'key,min' or 'key,max', got {spec!r}")
        key, direction = parts
        if direction not in DIRECTIONS:
            raise ValueError(f"metric {spec!r}: direction must be min or max, got {direction!r}")
        if key not in available:
            raise ValueError(
                f"metric {spec!r}: {unknown_key_message(key, list(available))} "
                "(the keys density_performance_metrics computes)"
            )
        return cls(key, direction)

    def best(self, values: Mapping[Any, float]) -> Any:
        """The trial with the best finite value; the earliest of equals. None if none is finite.

        INNFER's HyperparameterScanCollect copied the last point instead [BUG].
        """
        finite = [(t, float(v)) for t, v in values.items() if v is not None and math.isfinite(v)]
        if not finite:
            return None
        sign = 1.0 if self.direction == "min" else -1.0
        return min(finite, key=lambda item: sign * item[1])[0]
