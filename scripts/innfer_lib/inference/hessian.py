"""Hessians of −ln L: by autodiff, by differences of the autodiff gradient, or column by column.

Three producers write the same record (INNFER's Hessian, HessianNumerical and HessianCollect):
the likelihood's nested autodiff, central differences of the autodiff gradient over all
parameters (`hessian_by_differences`), or one gradient difference per job (`hessian_column` +
`hessian_collect`). Differencing the exact gradient needs one gradient pair per parameter,
where differencing the value (INNFER's numdifftools route) needs O(n²) values and is far less
accurate. Where −ln L has kinks in θ (`NegativeLogLikelihood.smooth` false) the columns are
measured on the scale of the uncertainty instead (`smoothed_gradient_slope`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from innfer_lib.core.errors import ConfigError, DataError
from innfer_lib.core.io import read_yaml
from innfer_lib.inference.contract import NegativeLogLikelihood, ValueAndGradient

RELATIVE_STEP = 1e-4
#: Smoothed Hessians: columns measured over ±SMOOTHING_FRACTION·σ, σ re-estimated this often.
SMOOTHING_FRACTION = 0.5
SMOOTHING_REFINEMENTS = 2
#: Tenfold widenings of the first step allowed while the curvature is not yet positive.
MAX_WIDENINGS = 4
AUTO, AUTODIFF, NUMERICAL = "auto", "autodiff", "numerical"
HESSIAN_METHODS = (AUTO, AUTODIFF, NUMERICAL)


def default_steps(theta: np.ndarray) -> np.ndarray:
    """1e-4·max(1, |θ_i|): small against any parameter's scale, large against rounding."""
    return RELATIVE_STEP * np.maximum(1.0, np.abs(np.asarray(theta, np.float64)))


def _gradient(value_and_gradient: ValueAndGradient, theta: np.ndarray) -> np.ndarray | None:
    value, grad = value_and_gradient(theta)
    grad = np.asarray(grad, np.float64)
    return grad if math.isfinite(float(value)) and np.all(np.isfinite(grad)) else None


def _gradient_slope(
    value_and_gradient: ValueAndGradient, theta: np.ndarray, index: int, step: float
) -> np.ndarray:
    """∂(∇ −ln L)/∂θ_index by a central difference of the gradient.

    The truncation error is O(h²·∂⁴ℓ) ≈ 1e-8 relative for h = 1e-4·scale, and the rounding
    error ε·|∇ℓ|/h is far below that for float64 sums. Where one side is not finite (a step
    across a physical bound: μ < 0, a density outside its support), the one-sided difference
    with the centre is used instead, O(h) accurate.
    """
    theta = np.asarray(theta, np.float64)
    up, down = theta.copy(), theta.copy()
    up[index] += step
    down[index] -= step
    g_up = _gradient(value_and_gradient, up)
    g_down = _gradient(value_and_gradient, down)
    if g_up is not None and g_down is not None:
        return (g_up - g_down) / (2.0 * step)
    g_0 = _gradient(value_and_gradient, theta)
    if g_0 is not None and g_up is not None:
        return (g_up - g_0) / step
    if g_0 is not None and g_down is not None:
        return (g_0 - g_down) / step
    return np.full(len(theta), np.nan)


def smoothed_gradient_slope(
    value_and_gradient: ValueAndGradient,
    theta: ArrayLike,
    index: int,
    fraction: float = SMOOTHING_FRACTION,
    refinements: int = SMOOTHING_REFINEMENTS,
) -> tuple[np.ndarray, float]:
    """One Hessian column measured over ±fraction·σ_index instead of an infinitesimal step.

    For an NLL that is smooth only above some scale (a spline flow's per-event kinks in θ,
    see `NegativeLogLikelihood.smooth`) the curvature that decides the ±1σ interval is the
    one on the σ scale, where the kinks of many events average into a smooth slope of the
    gradient.
    σ_index = 1/√H_ii (the conditional width) is taken from the previous estimate, starting
    from the default step and widened tenfold while the curvature is not yet positive. For a
    smooth NLL the result equals the infinitesimal one up to O((h/L)²), L the scale on which
    the curvature itself changes.

    Returns:
        The full-length column and the step it was measured with.
    """
    theta = np.asarray(theta, np.float64)

    def positive(column: np.ndarray) -> bool:
        return math.isfinite(column[index]) and column[index] > 0.0

    floor = float(default_steps(theta)[index])
    step = floor
    column = first = _gradient_slope(value_and_gradient, theta, index, step)
    for _ in range(MAX_WIDENINGS):
        if positive(column):
            break
        step *= 10.0
        column = _gradient_slope(value_and_gradient, theta, index, step)
    if not positive(column):
        # No positive curvature on any scale (a flat or concave direction): report the local
        # value, which the covariance step flags as not positive definite.
        return first, floor
    for _ in range(refinements):
        step = max(fraction / math.sqrt(float(column[index])), floor)
        column = _gradient_slope(value_and_gradient, theta, index, step)
        if not positive(column):
            break
    return column, step


def _steps(theta: np.ndarray, steps: float | Sequence[float] | None) -> np.ndarray:
    if steps is None:
        return default_steps(theta)
    return np.broadcast_to(np.asarray(steps, np.float64), theta.shape).copy()


def hessian_by_differences(
    value_and_gradient: ValueAndGradient,
    theta: ArrayLike,
    steps: float | Sequence[float] | None = None,
    indices: Sequence[int] | None = None,
    smoothed: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Hessian of −ln L from central differences of its autodiff gradient, and its steps.

    One gradient pair per parameter (2n gradient calls; up to 3x that when smoothed) instead
    of the nested-tape Hessian: cheaper in memory for large flows, an independent check of the
    autodiff Hessian, and with `smoothed` the right curvature for an NLL with kinks.

    Args:
        value_and_gradient: −ln L and its gradient over the full θ.
        theta: the point (the best fit).
        steps: step per parameter (scalar or one per θ entry); default 1e-4·max(1, |θ_i|).
        indices: the θ entries to differentiate (the unfrozen columns); default all.
        smoothed: measure each column over ±½σ (`smoothed_gradient_slope`); `steps` must
            then be None.

    Returns:
        The (len(indices), len(indices)) matrix ½(H + Hᵀ) and the step of each column.
    """
    theta = np.asarray(theta, np.float64)
    idx = list(range(len(theta))) if indices is None else [int(i) for i in indices]
    if smoothed and steps is not None:
        raise ValueError("hessian: give either explicit steps or smoothed=True, not both")
    h = _steps(theta, steps)
    out = np.empty((len(idx), len(idx)))
    used = np.empty(len(idx))
    for a, i in enumerate(idx):
        if smoothed:
            column, used[a] = smoothed_gradient_slope(value_and_gradient, theta, i)
        else:
            column, used[a] = _gradient_slope(value_and_gradient, theta, i, float(h[i])), h[i]
        out[:, a] = column[idx]
    return 0.5 * (out + out.T), used


def hessian_at(
    likelihood: NegativeLogLikelihood,
    theta: ArrayLike,
    indices: Sequence[int],
    method: str = AUTO,
) -> tuple[np.ndarray, dict[str, Any]]:
    """The Hessian of −ln L over the `indices` columns by the chosen method, and how.

    `auto` takes the autodiff Hessian where −ln L is C² (`likelihood.smooth`) and the
    smoothed difference Hessian elsewhere; `numerical` differences with the default step for
    a smooth NLL and smoothed for one with kinks; `autodiff` is taken as asked, even where
    it misses the kinks' curvature (the record then says `smooth: false`).

    Returns:
        The matrix and a record of `method`, `smooth` and, for differences, `steps`.
    """
    if method not in HESSIAN_METHODS:
        raise ConfigError(f"hessian method {method!r} is not one of {HESSIAN_METHODS}")
    smooth = likelihood.smooth
    idx = [int(i) for i in indices]
    if method == AUTO:
        method = AUTODIFF if smooth else NUMERICAL
    if method == AUTODIFF:
        return likelihood.hessian(theta)[np.ix_(idx, idx)], {"method": method, "smooth": smooth}
    matrix, steps = hessian_by_differences(
        likelihood.value_and_gradient, theta, indices=idx, smoothed=not smooth
    )
    columns = likelihood.columns
    info = {
        "method": method,
        "smooth": smooth,
        "steps": {str(columns[i]): float(h) for i, h in zip(idx, steps, strict=True)},
    }
    return matrix, info


def hessian_column(
    likelihood: NegativeLogLikelihood,
    theta: ArrayLike,
    index: int | str,
    step: float | None = None,
    smoothed: bool | None = None,
) -> np.ndarray:
    """One column ∂(∇ −ln L)/∂θ_index of the Hessian, for one job of a parallel Hessian.

    Uses only the likelihood's public `value_and_gradient`, by a central difference along
    one axis (see `_gradient_slope` for its accuracy: ~1e-8 relative for smooth −ln L, well
    inside the 1e-4 agreement with the autodiff Hessian that the tests require). Jobs are
    independent, so n columns run in parallel where the nested autodiff Hessian needs one
    job with all of them.

    Args:
        likelihood: the likelihood (only its `value_and_gradient`, `columns` and `smooth`
            are used).
        theta: the point (the best fit), full length.
        index: the θ entry (or its column name) to differentiate by.
        step: the step (default 1e-4·max(1, |θ_index|)).
        smoothed: measure over ±½σ (`smoothed_gradient_slope`); default: where the
            likelihood is not `smooth`, exactly as `hessian_at` does for the whole matrix.

    Returns:
        The full-length column (one entry per θ entry).
    """
    vg = likelihood.value_and_gradient
    point = np.asarray(theta, np.float64)
    if isinstance(index, str):
        columns = likelihood.columns
        if index not in columns:
            raise ConfigError(f"hessian column: '{index}' is not one of {columns}")
        index = columns.index(index)
    if smoothed is None:
        smoothed = step is None and not likelihood.smooth
    if smoothed:
        return smoothed_gradient_slope(vg, point, int(index))[0]
    h = float(step) if step is not None else float(default_steps(point)[index])
    return _gradient_slope(vg, point, int(index), h)


def matrix_record(
    best_fit: Mapping[str, Any],
    matrix_columns: Sequence[str],
    entries: Mapping[str, Any],
    fit_valid: bool | None = None,
) -> dict[str, Any]:
    """A Hessian, Hessian-column or D-matrix file: `entries` with the fit's bookkeeping.

    Every such file says which fit it belongs to in the same keys, so the collect and
    covariance steps can check and read any of them alike.

    Args:
        best_fit: the best-fit record (`columns`, `best_fit`, `row`, `valid`), or a record of
            this form (then `fit_valid` must be given: it has no `valid`).
        matrix_columns: the columns the matrix spans (the floating ones).
        entries: the file's own keys (the matrix, the column, ...), written after
            `matrix_columns`.
        fit_valid: whether the fit converged; default `best_fit["valid"]` (true if absent).
    """
    return {
        "columns": list(best_fit["columns"]),
        "matrix_columns": list(matrix_columns),
        **entries,
        "best_fit": list(best_fit["best_fit"]),
        "row": list(best_fit.get("row", [])),
        "fit_valid": bool(best_fit.get("valid", True)) if fit_valid is None else fit_valid,
    }


def hessian_column_record(
    best_fit: Mapping[str, Any],
    matrix_columns: Sequence[str],
    column: str,
    values: ArrayLike,
) -> dict[str, Any]:
    """The file one parallel-Hessian job writes: one column over the matrix columns.

    Args:
        best_fit: the best-fit record (`columns`, `best_fit`, `row`, `valid`).
        matrix_columns: the columns of the Hessian (the unfrozen ones).
        column: the column this job differentiated by.
        values: `hessian_column`'s full-length output.
    """
    columns = list(best_fit["columns"])
    full = np.asarray(values, np.float64)
    if full.shape != (len(columns),):
        # A column cut down to the matrix columns would be indexed by position in `columns`:
        # wrong entries, or an IndexError once a frozen parameter precedes a free one.
        raise ValueError(
            f"hessian column '{column}': {full.shape} values for the {len(columns)} columns "
            f"{columns}; give hessian_column's full-length output"
        )
    entries = {
        "column": column,
        "hessian_column": [float(full[columns.index(c)]) for c in matrix_columns],
    }
    return matrix_record(best_fit, matrix_columns, entries)


def parallel_hessian_column(
    likelihood: NegativeLogLikelihood,
    theta: ArrayLike,
    best_fit: Mapping[str, Any],
    matrix_columns: Sequence[str],
    column: str,
) -> dict[str, Any]:
    """One job of a parallel Hessian: the column by `column` at θ, as its record.

    `hessian_column` gives the column in `likelihood.columns` order and the record keeps the
    `matrix_columns` (the floating ones) of it, looked up by name in `best_fit["columns"]`.
    The full column is passed on: selecting the matrix columns first and then looking them up
    by their position among all columns read the wrong entries, or failed once a frozen
    parameter came before a floating one.

    Args:
        likelihood: the fit's likelihood.
        theta: the best fit in `likelihood.columns` order.
        best_fit: the best-fit record (`columns`, `best_fit`, `row`, `valid`).
        matrix_columns: the Hessian's columns (the floating parameters).
        column: the column this job differentiates by.
    """
    values = dict(zip(likelihood.columns, hessian_column(likelihood, theta, column), strict=True))
    full = [values[c] for c in best_fit["columns"]]
    return hessian_column_record(best_fit, matrix_columns, column, full)


def hessian_collect(columns_files: Sequence[str | Path | Mapping[str, Any]]) -> dict[str, Any]:
    """Assemble parallel-Hessian columns into the Hessian record, symmetrised.

    Every matrix column must come exactly once and all files must belong to the same fit
    (same columns and best fit): INNFER summed whatever files it found, first writer wins,
    so a missing or stale job gave a silently wrong matrix.

    Args:
        columns_files: `hessian_column_record` files (paths) or the records themselves.

    Returns:
        The same record as the single-job Hessian, plus `asymmetry` (max |H − Hᵀ| relative to
        max |H| before symmetrising: a measure of the finite-difference error).

    Raises:
        DataError: no files, a column missing or given twice, or files of different fits.
    """
    if not columns_files:
        raise DataError("hessian collect: no column files")
    records = [dict(f) if isinstance(f, Mapping) else read_yaml(f) for f in columns_files]
    names = [
        str(f) if not isinstance(f, Mapping) else f"record {i}" for i, f in enumerate(columns_files)
    ]
    ref = records[0]
    matrix_columns = list(ref["matrix_columns"])
    for name, rec in zip(names, records, strict=True):
        for key in ("columns", "matrix_columns", "best_fit"):
            if list(rec[key]) != list(ref[key]):
                raise DataError(
                    f"hessian collect: {name} has {key} {rec[key]}, {names[0]} has {ref[key]}; "
                    "the columns belong to different fits"
                )
    given = [rec["column"] for rec in records]
    duplicated = sorted({c for c in given if given.count(c) > 1})
    missing = [c for c in matrix_columns if c not in given]
    extra = sorted({c for c in given if c not in matrix_columns})
    if duplicated or missing or extra:
        raise DataError(
            f"hessian collect: every matrix column must come exactly once; missing {missing}, "
            f"duplicated {duplicated}, unknown {extra}"
        )
    h = np.empty((len(matrix_columns), len(matrix_columns)))
    for rec in records:
        h[:, matrix_columns.index(rec["column"])] = np.asarray(rec["hessian_column"], np.float64)
    scale = float(np.max(np.abs(h))) if h.size else 0.0
    asymmetry = float(np.max(np.abs(h - h.T)) / scale) if scale > 0 else 0.0
    fit_valid = all(bool(r.get("fit_valid", True)) for r in records)
    record = matrix_record(ref, matrix_columns, {"hessian": 0.5 * (h + h.T)}, fit_valid)
    return {**record, "asymmetry": asymmetry}
