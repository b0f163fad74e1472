"""INNFER's LikelihoodDebug: −ln L (and its gradient) at named hypotheses, as table rows.

INNFER only printed; a table can be written by the rule and compared between versions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np


def likelihood_debug(
    nll_fn: Callable[[Mapping[str, float]], Any],
    points: Sequence[Mapping[str, float]],
    defaults: Mapping[str, float] | None = None,
    columns: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """The likelihood (and its gradient, if returned) at each hypothesis, as table rows.

    INNFER's LikelihoodDebug only printed; a table can be written by the rule and compared
    between versions. A point that raises is recorded with its error instead of stopping the
    table, because finding the points where the likelihood breaks is what the step is for.

    Args:
        nll_fn: ``point -> value`` or ``point -> (value, gradient)``; the gradient may be a
            mapping by name or a sequence in ``columns`` order.
        points: Hypotheses; parameters they leave out take ``defaults``.
        defaults: Values of the parameters a point does not set (INNFER: the model defaults).
        columns: Names of the gradient entries when it is a sequence; defaults to the point's
            parameter order.

    Returns:
        One row per point: the parameter values, ``nll``, ``delta_nll`` (to the lowest finite
        value of the table), ``finite``, ``error`` and ``grad_<param>`` entries when a gradient
        was returned.
    """
    rows: list[dict[str, Any]] = []
    for point in points:
        full = {**{k: float(v) for k, v in (defaults or {}).items()}}
        full.update({k: float(v) for k, v in point.items()})
        row: dict[str, Any] = dict(full)
        value, gradient, error = None, None, None
        try:
            out = nll_fn(dict(full))
            if isinstance(out, tuple):
                value, gradient = out
            else:
                value = out
            value = float(np.asarray(value).reshape(()))
        except Exception as exc:  # the table records a broken point and goes on
            error = f"{type(exc).__name__}: {exc}"
            value, gradient = None, None
        row["nll"] = value
        row["finite"] = value is not None and math.isfinite(value)
        row["error"] = error
        if gradient is not None:
            if isinstance(gradient, Mapping):
                named = {str(k): float(v) for k, v in gradient.items()}
            else:
                g = np.asarray(gradient, dtype=float).reshape(-1)
                names = list(columns) if columns is not None else list(full)
                if len(names) != g.size:
                    names = [str(n) for n in range(g.size)]
                named = dict(zip(names, (float(v) for v in g), strict=True))
            row.update({f"grad_{k}": v for k, v in named.items()})
        rows.append(row)
    finite = [r["nll"] for r in rows if r["finite"]]
    lowest = min(finite) if finite else None
    for r in rows:
        r["delta_nll"] = r["nll"] - lowest if r["finite"] and lowest is not None else None
    return rows


def debug_hypotheses(
    truth: Mapping[str, float],
    defaults: Mapping[str, float],
    best_fit: Mapping[str, float],
    points: Sequence[Mapping[str, float]] = (),
) -> dict[str, dict[str, float]]:
    """The labelled hypotheses of the debug table: truth, defaults, best fit, then `points`.

    A given point (`debug_points`, INNFER's --debug-input) leaves its other parameters at the
    analysis defaults, as INNFER did: the point then means the same hypothesis in every fit
    set and validation point, which is what comparing tables between them needs.
    """
    labelled = {
        "truth": dict(truth),
        "defaults": dict(defaults),
        "best fit": dict(best_fit),
    }
    for i, point in enumerate(points):
        text = ",".join(f"{k}={v:g}" for k, v in point.items())
        labelled[f"point {i}: {text}"] = {**defaults, **{k: float(v) for k, v in point.items()}}
    return labelled
