"""The normalisation Asimov: density-only events pooled over a grid of θ, weighted per point.

make_asimov_for_normalisation_spline draws the same number of flow events at each point θ_g
of the density's parameter grid (`normalisation_surface.theta_grid`), pools them and writes,
per event and grid point, the weight w_ig = p(x_i | θ_g) / Σ_k p(x_i | θ_k) as a column
`wt_theta_<g>` (see `normalisation_surface` for why). Its grid goes beside it in YAML. The
regression's and the classifier's S(ν, θ) both average over these events, so every ratio
model of a process and category is normalised against the same density.

TensorFlow comes in only through the density passed in.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from innfer_lib.core.errors import DataError
from innfer_lib.data.schema import WEIGHT
from innfer_lib.density.sampling import batch_seed, make_asimov, parameter_ranges
from innfer_lib.ratios.normalisation_surface import grid_points, mixture_weights, theta_grid

#: Events of the normalisation Asimov over all grid points together (INNFER: 10⁶ at the
#: defaults only). 2·10⁵ keeps the job to minutes on a CPU (K flow passes over them, then
#: 100 ν values × 2·10⁵ ratio passes), while Σw·r/Σw at a grid point, with at least
#: 2·10⁵/K effective events, is known to ~0.2 % for a spread of r of 20 %, and its change
#: between neighbouring points far better (the events are shared).
NORMALISATION_ASIMOV_EVENTS = 200_000
#: Prefix of the per-grid-point weight columns.
THETA_WEIGHT_PREFIX = "wt_theta_"


def theta_weight_columns(points: int) -> list[str]:
    """`wt_theta_<g>` for each grid point g."""
    return [f"{THETA_WEIGHT_PREFIX}{g}" for g in range(points)]


def log_prob_matrix(
    density: Any, x: np.ndarray, points: Sequence[Mapping[str, float]], batch_size: int
) -> np.ndarray:
    """(events, points) ln p(x_i | θ_g) of the density, in batches of `batch_size` events."""
    out = np.empty((len(x), len(points)))
    for g, point in enumerate(points):
        params = {p: float(point[p]) for p in density.parameters}
        for start in range(0, len(x), batch_size):
            chunk = x[start : start + batch_size]
            out[start : start + batch_size, g] = np.asarray(density.log_prob(chunk, params))
    return out


def normalisation_asimov(
    density: Any,
    parameters: Mapping[str, Any],
    defaults: Mapping[str, float],
    seed: int,
    batch_size: int,
    n_events: int = NORMALISATION_ASIMOV_EVENTS,
    weighting: Any = None,
) -> tuple[pd.DataFrame, dict[str, list[float]]]:
    """The pooled events with their per-grid-point weights, and the θ grid.

    The weights need ln p(x_i | θ_g) at every event and grid point, K times the events drawn:
    the job's cost. They may come from a cheaper evaluation of the same density
    (`weighting`), since S(ν, θ) averages them over all events: the rule passes the flow
    evaluated in float32, which on the top-mass W+jets flow took the K log-density passes
    from 84 s to 26 s for 4·10⁴ events and changed each grid point's summed weight by
    2·10⁻⁷ relative (float32's per-event ln p error is ~10⁻⁵, and below 10⁻³ for all but
    the farthest tail events). The events themselves are always drawn from `density`.

    Args:
        density: the process's density at nominal weights (`density.models.load_density`).
        parameters: its parameters.yaml (training ranges, X columns, yields).
        defaults: the analysis defaults, for the parameters the grid does not set (yields).
        seed: base seed; grid point g samples with `batch_seed(seed, g)`.
        batch_size: events per sampling and log-density call.
        n_events: events over all grid points (each point draws n_events / K).
        weighting: the density that gives the log-densities for the weights; `density` if
            None.

    Raises:
        DataError: a grid point where no event survives the training box, or an event whose
            density is not finite at some point.
    """
    ranges = parameter_ranges(parameters)
    grid = theta_grid({p: ranges[p] for p in density.parameters})
    points = grid_points(grid)
    per_point = math.ceil(n_events / len(points))
    x_columns = list(parameters["density"]["X_columns"])
    frames = [
        make_asimov(
            density,
            parameters,
            {**defaults, **point},
            per_point,
            batch_seed(seed, g),
            batch_size,
        )[x_columns]
        for g, point in enumerate(points)
    ]
    events = pd.concat(frames, ignore_index=True)
    x = events.to_numpy(np.float64)
    try:
        log_probs = log_prob_matrix(
            density if weighting is None else weighting, x, points, batch_size
        )
        weights = mixture_weights(log_probs)
    except ValueError as err:
        raise DataError(f"normalisation Asimov over the θ grid {grid}: {err}") from None
    events[WEIGHT] = 1.0
    columns = pd.DataFrame(weights, columns=theta_weight_columns(len(points)))
    return pd.concat([events, columns], axis=1), grid


def grid_weights(events: pd.DataFrame, grid: Mapping[str, Sequence[float]], where: str) -> Any:
    """(events, points) weights of the normalisation Asimov for the grid written beside it.

    Raises:
        DataError: a missing weight column, naming `where`.
    """
    points = math.prod(len(v) for v in grid.values())
    columns = theta_weight_columns(points)
    missing = [c for c in [*columns, WEIGHT] if c not in events.columns]
    if missing:
        raise DataError(
            f"{where}: no column(s) {missing[:3]} (a normalisation Asimov over {points} θ "
            "grid points has one weight column per point)"
        )
    return events[columns].to_numpy(np.float64) * events[WEIGHT].to_numpy(np.float64)[:, None]


def asimov_inputs(
    events: pd.DataFrame,
    grid: Mapping[str, Sequence[float]],
    x_columns: Sequence[str],
    where: str,
    kind: str,
) -> tuple[np.ndarray, Any]:
    """(x, weights) of the normalisation Asimov for a ratio model reading `x_columns`.

    Raises:
        DataError: a missing column, naming `where` and the model `kind`.
    """
    missing = [c for c in x_columns if c not in events.columns]
    if missing:
        raise DataError(f"{where}: no column {missing} (the {kind} reads {list(x_columns)})")
    return events[list(x_columns)].to_numpy(np.float64), grid_weights(events, grid, where)
