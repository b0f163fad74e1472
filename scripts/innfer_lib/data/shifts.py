"""Parameter shifts: how a parameter that is not a column of the simulation is given values.

A density conditioned on a nuisance ν learns p(x | ν) only if the training events carry ν
values spread over the range it must cover. INNFER draws them per event from a `shifts` spec
(`fixed`, `continuous`, `discrete` or `flat_top`) and then lets `calculate` / `weight_shifts`
turn ν into shifted features or weights. This module draws the values and knows each spec's
density (for the reweighting that makes the weighted ν distribution match the spec) and range
(for checking that validation points lie where the model was trained).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from innfer_lib.core.errors import ConfigError

SHIFT_TYPES = ("fixed", "continuous", "discrete", "flat_top")
RANDOM_TYPES = ("continuous", "flat_top")


def fixed(value: float) -> dict[str, Any]:
    """A `fixed` shift spec: every event gets `value`."""
    return {"type": "fixed", "value": float(value)}


def _require(spec: Mapping[str, Any], key: str, source: str) -> Any:
    if key not in spec:
        raise ConfigError(f"{source}: a '{spec.get('type')}' shift needs the key '{key}'")
    return spec[key]


def _range(spec: Mapping[str, Any], source: str) -> tuple[float, float]:
    low, high = (float(v) for v in _require(spec, "range", source))
    if not high > low:
        raise ConfigError(f"{source}: range must be [low, high] with high > low, got {[low, high]}")
    return low, high


def flat_top_sigma(spec: Mapping[str, Any], source: str) -> float:
    """Width of the Gaussian tails of a flat_top; INNFER's sampling default is 10 % of the range.

    The original crashed in the reweighting step when `other.sigma_out` was absent although
    sampling accepted it; both use the same default here.
    """
    low, high = _range(spec, source)
    sigma = float((spec.get("other") or {}).get("sigma_out", 0.1 * (high - low)))
    if not sigma > 0:
        raise ConfigError(f"{source}: other.sigma_out must be positive, got {sigma}")
    return sigma


def check_shift(spec: Mapping[str, Any], source: str) -> None:
    """Raise a ConfigError naming `source` if a spec cannot be drawn from."""
    kind = spec.get("type")
    if kind not in SHIFT_TYPES:
        raise ConfigError(f"{source}: unknown shift type {kind!r}; expected one of {SHIFT_TYPES}")
    if kind == "fixed":
        float(_require(spec, "value", source))
    elif kind == "continuous":
        _range(spec, source)
    elif kind == "discrete":
        if not list(_require(spec, "values", source)):
            raise ConfigError(f"{source}: a discrete shift needs at least one value")
    else:
        flat_top_sigma(spec, source)


def draw(spec: Mapping[str, Any], n: int, rng: np.random.Generator, source: str) -> np.ndarray:
    """Values of one shifted parameter for `n` events."""
    check_shift(spec, source)
    kind = spec["type"]
    if kind == "fixed":
        return np.full(n, float(spec["value"]))
    if kind == "continuous":
        low, high = _range(spec, source)
        return rng.uniform(low, high, n)
    if kind == "discrete":
        return rng.choice(np.asarray(spec["values"], dtype=np.float64), size=n)
    low, high = _range(spec, source)
    sigma = flat_top_sigma(spec, source)
    # A plateau on [low, high] with half-Gaussian tails: the plateau holds the fraction
    # (b-a)/((b-a) + σ√(2π)) of the probability, which keeps the density continuous.
    plateau = (high - low) / ((high - low) + sigma * math.sqrt(2 * math.pi))
    in_plateau = rng.random(n) < plateau
    tails = rng.normal(0.0, sigma, n)
    tails = np.where(tails >= 0, tails + high, tails + low)
    return np.where(in_plateau, rng.uniform(low, high, n), tails)


def density(spec: Mapping[str, Any], values: np.ndarray, source: str) -> np.ndarray:
    """Probability density a continuous or flat_top spec draws with (for reweighting)."""
    low, high = _range(spec, source)
    values = np.asarray(values, dtype=np.float64)
    if spec["type"] == "continuous":
        return np.where((values >= low) & (values <= high), 1.0 / (high - low), 0.0)
    sigma = flat_top_sigma(spec, source)
    norm = (high - low) + sigma * math.sqrt(2 * math.pi)
    outside = np.where(values < low, low - values, np.where(values > high, values - high, 0.0))
    return np.exp(-0.5 * (outside / sigma) ** 2) / norm


def support(spec: Mapping[str, Any], source: str) -> tuple[float, float]:
    """Range of values a model trained on this spec has seen enough of to be trusted.

    For flat_top the tails reach two σ beyond the plateau with 95 % of their probability.
    """
    check_shift(spec, source)
    kind = spec["type"]
    if kind == "fixed":
        return float(spec["value"]), float(spec["value"])
    if kind == "discrete":
        values = [float(v) for v in spec["values"]]
        return min(values), max(values)
    low, high = _range(spec, source)
    if kind == "flat_top":
        sigma = flat_top_sigma(spec, source)
        return low - 2 * sigma, high + 2 * sigma
    return low, high
