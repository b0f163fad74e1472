"""Binned templates as tensors: validated tables, interpolated in one shape POI.

A `BinnedProcess` becomes one table of rows [nominal, κ_down_1, κ_up_1, …] per grid value,
so one interpolation gives the nominal and every κ at the POI value; ν_b(θ) then multiplies
in the rate parameter and the log-normal factors (`bin_expectation`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from innfer_lib.inference.model import (
    BinnedCategory,
    BinnedProcess,
    floor_expectation,
    lnn_factor_tf,
)


@dataclass
class BinnedTemplate:
    """A validated `BinnedProcess` as tensors: rows [nominal, κ_down_1, κ_up_1, …] per grid."""

    table: Any  # (n_grid, 1 + 2·n_lnN, n_bins) float64 tensor
    grid: Any  # (n_grid,) float64 tensor, or None when constant
    n_grid: int
    poi: int | None
    rate: int | None
    lnn: list[int]


def _validate(
    proc: BinnedProcess, n_bins: int, columns: Sequence[str], where: str
) -> tuple[np.ndarray, np.ndarray | None]:
    """Check shapes, names and positivity; return the stacked table and the grid (or None)."""
    nominal = np.asarray(proc.nominal, np.float64)
    if nominal.ndim == 1:
        nominal = nominal[np.newaxis, :]
    if nominal.ndim != 2 or nominal.shape[1] != n_bins:
        raise ValueError(
            f"{where}: nominal has shape {np.shape(proc.nominal)}, expected (n_grid, {n_bins})"
        )
    n_grid = nominal.shape[0]
    rows = [nominal[:, np.newaxis, :]]
    for nuisance, kappas in proc.lnN.items():
        k = np.asarray(kappas, np.float64)
        if k.ndim == 2:
            k = np.broadcast_to(k, (n_grid, *k.shape))
        if k.shape != (n_grid, 2, n_bins):
            raise ValueError(
                f"{where}: lnN {nuisance!r} has shape {np.shape(kappas)}, "
                f"expected ({n_grid}, 2, {n_bins})"
            )
        if not np.all(np.isfinite(k)) or np.any(k <= 0.0):
            raise ValueError(f"{where}: lnN {nuisance!r} has a κ that is not finite and > 0")
        rows.append(k)
    if not np.all(np.isfinite(nominal)):
        raise ValueError(f"{where}: nominal is not finite")
    for name in (proc.poi, proc.rate_parameter, *proc.lnN):
        if name is not None and name not in columns:
            raise ValueError(f"{where}: parameter {name!r} is not one of the columns {columns}")
    grid = None
    if n_grid > 1:
        if proc.poi is None:
            raise ValueError(f"{where}: {n_grid} template rows but no shape POI")
        grid = np.asarray(proc.grid, np.float64)
        if grid.shape != (n_grid,) or not np.all(np.diff(grid) > 0.0):
            raise ValueError(
                f"{where}: grid must be {n_grid} strictly increasing values, got {proc.grid}"
            )
    return np.concatenate(rows, axis=1), grid


def binned_templates(category: BinnedCategory, columns: Sequence[str]) -> list[BinnedTemplate]:
    """The category's processes as templates over the parameter vector in `columns` order.

    Raises:
        ValueError: a template of the wrong shape, a κ that is not positive, a grid that is
            not strictly increasing, or a parameter that is not one of `columns`.
    """
    import tensorflow as tf

    columns = list(columns)
    n_bins = len(np.atleast_1d(category.counts))
    out = []
    for proc in category.processes:
        where = f"category {category.name!r}, process {proc.name!r}"
        table, grid = _validate(proc, n_bins, columns, where)
        poi = None
        if grid is not None and proc.poi is not None:
            poi = columns.index(proc.poi)
        out.append(
            BinnedTemplate(
                table=tf.constant(table, tf.float64),
                grid=None if grid is None else tf.constant(grid, tf.float64),
                n_grid=table.shape[0],
                poi=poi,
                rate=(None if proc.rate_parameter is None else columns.index(proc.rate_parameter)),
                lnn=[columns.index(n) for n in proc.lnN],
            )
        )
    return out


def interpolate(template: BinnedTemplate, theta: Any) -> Any:
    """Rows of the template at the POI value: piecewise linear, end segments extrapolated."""
    import tensorflow as tf

    if template.grid is None:
        return template.table[0]
    value = theta[template.poi]
    upper = tf.searchsorted(template.grid, tf.reshape(value, [1]), side="right")[0]
    # Clipping the segment index to the end segments *is* the linear extrapolation.
    index = tf.clip_by_value(upper - 1, 0, template.n_grid - 2)
    lo = tf.gather(template.grid, index)
    hi = tf.gather(template.grid, index + 1)
    a = (value - lo) / (hi - lo)
    # (1 − a)·r_i + a·r_{i+1} (not r_i + a·Δr) so that a grid value returns its row bit-exactly.
    return (1.0 - a) * tf.gather(template.table, index) + a * tf.gather(template.table, index + 1)


def bin_expectation(templates: Sequence[BinnedTemplate], theta: Any) -> Any:
    """ν_b(θ) = Σ_p ν_{b,p}(θ) of one binned category, before any floor or rescaling."""
    total = None
    for template in templates:
        rows = interpolate(template, theta)
        value = rows[0]
        if template.rate is not None:
            value = value * theta[template.rate]
        for k, nuisance in enumerate(template.lnn):
            down = floor_expectation(rows[1 + 2 * k])
            up = floor_expectation(rows[2 + 2 * k])
            value = value * lnn_factor_tf(theta[nuisance], down, up)
        total = value if total is None else total + value
    return total
