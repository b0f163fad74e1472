"""The built-in `asym_log_normal` functions: INNFER's per-event weight systematics.

A config names them as `{type: function, file: asym_log_normal, name: ...}` in `weight_shifts`;
`functions` maps that bare `file:` to this module without importing anything from disk. An event
weight ratio r (varied over nominal) becomes a log-normal weight factor for a nuisance ν, with
the same smooth interpolation as the process yields (`yields.lnn_factor`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from innfer_lib.core import expressions
from innfer_lib.core.errors import DataError
from innfer_lib.data.schema import WEIGHT
from innfer_lib.data.yields import log_kappa

#: Ratios of varied to nominal weights are clipped to this range: a per-event ratio outside it is
#: almost always a statistical fluke of a sparsely populated generator weight, and a single event
#: with a huge factor would dominate the varied template.
RATIO_RANGE: tuple[float, float] = (0.5, 2.0)
#: The per-event weight factor is clipped to this range, as INNFER does, so that an extreme
#: nuisance value in a fit cannot blow a weight up (or flip its sign).
FACTOR_RANGE: tuple[float, float] = (0.0, 2.0)


def _column(df: pd.DataFrame, name: str, role: str) -> np.ndarray:
    if name not in df.columns:
        raise DataError(
            f"asym_log_normal: {role} column '{name}' is missing; available: {sorted(df.columns)}"
        )
    return df[name].to_numpy(dtype=np.float64)


def _ratio(
    df: pd.DataFrame, weight: str, nominal: str | None, add_one_to_weight: bool
) -> np.ndarray:
    """Per-event varied/nominal weight ratio, clipped to RATIO_RANGE.

    An event with a zero nominal weight has no defined ratio; it gets 1 (no variation) rather
    than inf or NaN, which would otherwise turn into the clip bound or poison the sums.
    """
    r = _column(df, weight, "weight")
    if add_one_to_weight:
        r = r + 1.0
    if nominal is not None:
        nom = _column(df, nominal, "nominal")
        r = np.divide(r, nom, out=np.ones_like(r), where=nom != 0)
    return np.clip(r, *RATIO_RANGE)


def weight_factor(
    nu: Any,
    ratio_down: Any,
    ratio_up: Any,
    clip: Callable[..., Any] = np.clip,
    where: Callable[..., Any] = np.where,
    exp: Callable[[Any], Any] = np.exp,
    log: Callable[[Any], Any] = np.log,
) -> Any:
    """The per-event weight factor of a weight variation at ν, from its ±1σ ratios.

    clip(AsymLogNormal(ν; κ_down = r_down, κ_up = r_up), FACTOR_RANGE), the ratios clipped to
    RATIO_RANGE: the one formula of `one_weight_variation` and `two_weight_variation`. The
    array operations are NumPy's by default; with TensorFlow's (`tf.clip_by_value`, `tf.where`,
    `tf.exp`, `tf.math.log`) the same factor is differentiable in ν, so a fit can use a
    simulation's exact weight variation as its ratio model (tests/perf/
    top_mass_isr_reference.py) and agree with the weights PreProcess applied to the last bit.
    """
    low, high = RATIO_RANGE
    d_down = log(clip(ratio_down, low, high))
    d_up = log(clip(ratio_up, low, high))
    factor = exp(nu * log_kappa(nu, d_down, d_up, clip=clip, where=where))
    return clip(factor, *FACTOR_RANGE)


def _apply_factor(
    df: pd.DataFrame, param: str, kappa_down: np.ndarray, kappa_up: np.ndarray, mask: str | None
) -> pd.DataFrame:
    nu = _column(df, param, "parameter")
    weights = _column(df, WEIGHT, "weight")
    factor = weight_factor(nu, kappa_down, kappa_up)
    if mask:
        inside = expressions.mask(df, mask, "asym_log_normal mask")
        factor = np.where(inside, factor, 1.0)
    out = df.copy(deep=False)
    out[WEIGHT] = weights * factor
    return out


def one_weight_variation(
    df: pd.DataFrame,
    param: str,
    weight: str,
    nominal: str | None = None,
    add_one_to_weight: bool = False,
    mask: str | None = None,
) -> pd.DataFrame:
    """Symmetric per-event weight systematic: `wt *= r**ν` with r the varied/nominal ratio.

    Generators often store only the "up" variation of a weight; the "down" one is taken as its
    mirror 1/r, which makes the log-normal symmetric in ln r.

    Args:
        df: events; needs `wt`, the `param` column and the weight column(s).
        param: column holding the nuisance value ν of each event.
        weight: column of the varied weight (or of the ratio if `nominal` is None).
        nominal: column of the nominal weight the varied one is divided by.
        add_one_to_weight: add 1 to the weight column first (for columns storing r − 1).
        mask: selection outside of which `wt` is left untouched.

    Returns:
        A frame with `wt` multiplied by the clipped factor.
    """
    r = _ratio(df, weight, nominal, add_one_to_weight)
    return _apply_factor(df, param, 1.0 / r, r, mask)


def two_weight_variation(
    df: pd.DataFrame,
    param: str,
    weight_up: str,
    weight_down: str,
    nominal: str | None = None,
    add_one_to_weight: bool = False,
    mask: str | None = None,
) -> pd.DataFrame:
    """Asymmetric per-event weight systematic from separate up and down weights.

    Args:
        df: events; needs `wt`, the `param` column and the weight column(s).
        param: column holding the nuisance value ν of each event.
        weight_up: column of the weight at ν = +1 (or of its ratio if `nominal` is None).
        weight_down: column of the weight at ν = −1 (or of its ratio if `nominal` is None).
        nominal: column of the nominal weight both are divided by.
        add_one_to_weight: add 1 to both weight columns first.
        mask: selection outside of which `wt` is left untouched.

    Returns:
        A frame with `wt` multiplied by the clipped factor.
    """
    r_up = _ratio(df, weight_up, nominal, add_one_to_weight)
    r_down = _ratio(df, weight_down, nominal, add_one_to_weight)
    return _apply_factor(df, param, r_down, r_up, mask)
