"""Process yields: nominal × rate parameter × asymmetric log-normal factors.

The interpolation is CMS Combine's "AsymPow" form. INNFER's yield code used a different
polynomial in |ν| < 0.5 that jumps at |ν| = 0.5; this one is continuous in value, slope and
curvature, which Minuit and the autodiff Hessian rely on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

SMOOTH_REGION = 0.5


def _alpha(t):
    """Odd quintic with alpha(±1) = ±1 and zero first and second derivative at ±1."""
    return (3.0 * t**5 - 10.0 * t**3 + 15.0 * t) / 8.0


def log_kappa(nu, log_kappa_down, log_kappa_up, clip=np.clip, where=np.where):
    """Effective log κ(ν) so that the yield factor is exp(ν·log κ(ν)).

    The one place the interpolation is written: yields, per-event weight systematics and the
    likelihood's TensorFlow yields (per-bin κ tensors, differentiated by autodiff) all call
    it, so they agree to the last bit. `clip` and `where` are NumPy's or TensorFlow's
    (`tf.clip_by_value`, `tf.where`); the κ arguments are already logged and broadcast with ν.
    """
    t = clip(nu / SMOOTH_REGION, -1.0, 1.0)
    inner = 0.5 * (log_kappa_up - log_kappa_down) + 0.5 * (log_kappa_up + log_kappa_down) * _alpha(
        t
    )
    return where(
        nu >= SMOOTH_REGION, log_kappa_up, where(nu < -SMOOTH_REGION, -log_kappa_down, inner)
    )


def lnn_factor(nu, kappa_down, kappa_up):
    """Yield factor of a log-normal nuisance: κ_up at ν = 1, κ_down at ν = −1, 1 at 0.

    ν, κ_down and κ_up broadcast: one pair per nuisance for a yield, one pair per event for a
    weight systematic.
    """
    nu = np.asarray(nu, dtype=np.float64)
    d_up = np.log(np.asarray(kappa_up, dtype=np.float64))
    d_down = np.log(np.asarray(kappa_down, dtype=np.float64))
    return np.exp(nu * log_kappa(nu, d_down, d_up))


def process_yield(
    yields: Mapping, point: Mapping[str, float], rate_name: str | None = None
) -> float:
    """Expected yield of one process at a parameter point (numpy; for normalisations).

    Args:
        yields: the `yields` block of a `parameters.yaml`: {nominal, lnN: {param: [down, up]}}.
        point: parameter values; absent nuisances count as 0.
        rate_name: the process's rate parameter, if it has one.
    """
    value = float(yields["nominal"])
    for name, (down, up) in (yields.get("lnN") or {}).items():
        value *= float(lnn_factor(np.float64(point.get(name, 0.0)), down, up))
    if rate_name is not None:
        value *= float(point.get(rate_name, 1.0))
    return value


def expected_yield(parameters: Mapping[str, Any], point: Mapping[str, float]) -> float:
    """Yield of the process of a ``parameters.yaml`` at a point (rate parameter and lnN).

    Absent nuisances count as 0 and an absent rate parameter as 1, which is INNFER's "start from
    the defaults, set lnN parameters to 0, then apply the point".
    """
    return process_yield(parameters["yields"], point, parameters.get("rate_parameter"))
