"""Covariances of a fit from its Hessian: H⁻¹, the sandwich H⁻¹ D H⁻¹, and their files.

This is the one place where H is inverted. H⁻¹ comes from a Cholesky factorisation, which
both inverts stably and proves H positive definite (i.e. that the point is a minimum); when it
fails the pseudo-inverse is used and the result is flagged, so a summary can show the number
but mark it unreliable. For weighted events the inverse Hessian is not the covariance: D =
Σ w² s sᵀ carries the weights' spread, and the sandwich C = H⁻¹ D H⁻¹ combines both
(Langenbruch, arXiv:1911.01303; for unit weights ⟨D⟩ = ⟨H⟩ and C = H⁻¹).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from innfer_lib.core.errors import DataError
from innfer_lib.inference.validity import covariance_reasons

SIGMAS = (-2, -1, 0, 1, 2)
#: The key of the D matrix in the D-matrix file (`fit_job.FitJob.matrix_record`).
DMATRIX_KEY = "D_matrix"


def covariance_from_hessian(hessian: np.ndarray) -> tuple[np.ndarray, bool]:
    """C = H⁻¹ of the −ln L Hessian; also whether H was positive definite.

    A Hessian that is not positive definite means the point is not a minimum; the
    covariance is still returned (from the pseudo-inverse) so the summary can flag it. One
    with NaN or infinite entries is not positive definite either, whatever the factorisation
    gave (`_is_finite`).
    """
    h = np.asarray(hessian, np.float64)
    try:
        chol = np.linalg.cholesky(h)
        inv_chol = np.linalg.inv(chol)
    except np.linalg.LinAlgError:
        return np.linalg.pinv(h), False
    return inv_chol.T @ inv_chol, _is_finite(h)


def sandwich_covariance(hessian: np.ndarray, dmatrix: np.ndarray) -> tuple[np.ndarray, bool]:
    """C = H⁻¹ D H⁻¹, the covariance of a weighted maximum-likelihood fit, symmetrised.

    INNFER's CovarianceWithDMatrix sandwiched only the sub-block of columns that survived its
    NaN filter and kept plain H⁻¹ elsewhere, which is neither correct nor always PSD.

    Args:
        hessian: ∂²(−ln L)/∂θ² at the best fit.
        dmatrix: `NegativeLogLikelihood.dmatrix` at the best fit, over the same columns.

    Returns:
        The covariance and whether H was positive definite (`covariance_from_hessian`).

    Raises:
        ValueError: H and D are not square matrices of the same shape.
    """
    h = np.asarray(hessian, np.float64)
    d = np.asarray(dmatrix, np.float64)
    if h.ndim != 2 or h.shape[0] != h.shape[1] or d.shape != h.shape:
        raise ValueError(f"hessian {h.shape} and dmatrix {d.shape} must be equal square shapes")
    h_inv, positive_definite = covariance_from_hessian(h)
    cov = h_inv @ d @ h_inv
    return 0.5 * (cov + cov.T), positive_definite


def _is_finite(matrix: np.ndarray) -> bool:
    """Part of every positive-definiteness test here, for H and for the sandwich C alike.

    numpy's Cholesky factorisation does not fail on NaN or infinite entries (it returns NaN
    or infinite factors), so a factorisation that succeeded proves nothing about such a matrix.
    """
    return bool(np.all(np.isfinite(matrix)))


def _is_positive_definite(matrix: np.ndarray) -> bool:
    try:
        np.linalg.cholesky(matrix)
    except np.linalg.LinAlgError:
        return False
    return _is_finite(matrix)


def gaussian_crossings(best_fit: float, sigma: float) -> dict[int, float]:
    """Absolute parameter values at −2σ..+2σ around the best fit (INNFER's crossings schema)."""
    return {k: float(best_fit + k * sigma) for k in SIGMAS}


def _covariance_record(
    hessian_record: Mapping[str, Any], cov: np.ndarray, positive_definite: bool
) -> dict[str, Any]:
    columns = list(hessian_record["matrix_columns"])
    best = dict(zip(hessian_record["columns"], hessian_record["best_fit"], strict=True))
    sigmas = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    return {
        "columns": list(hessian_record["columns"]),
        "matrix_columns": columns,
        "covariance": cov,
        "positive_definite": positive_definite,
        # The covariance's own verdict (`validity`); `fit_valid` is the minimiser's, carried
        # over from the Hessian file.
        "invalid_reasons": covariance_reasons(positive_definite),
        "fit_valid": bool(hessian_record.get("fit_valid", True)),
        "best_fit": list(hessian_record["best_fit"]),
        "row": list(hessian_record["row"]),
        "uncertainty": {c: float(s) for c, s in zip(columns, sigmas, strict=True)},
        "crossings": {
            c: gaussian_crossings(best[c], float(s)) for c, s in zip(columns, sigmas, strict=True)
        },
    }


def covariance_result(hessian_record: Mapping[str, Any]) -> dict[str, Any]:
    """The covariance file: H⁻¹, its validity, and ±1σ/±2σ intervals per parameter."""
    cov, positive_definite = covariance_from_hessian(np.array(hessian_record["hessian"]))
    return _covariance_record(hessian_record, cov, positive_definite)


def _aligned_dmatrix(dmatrix: Any, matrix_columns: Sequence[str]) -> np.ndarray:
    """D over `matrix_columns`, from an array in that order or a record with its own order."""
    if not isinstance(dmatrix, Mapping):
        d = np.asarray(dmatrix, np.float64)
        if d.shape != (len(matrix_columns), len(matrix_columns)):
            raise DataError(
                f"sandwich: D has shape {d.shape}, the Hessian has {len(matrix_columns)} columns"
            )
        return d
    if DMATRIX_KEY not in dmatrix:
        raise DataError(
            f"sandwich: the D-matrix record has no {DMATRIX_KEY} (keys {list(dmatrix)})"
        )
    d = np.asarray(dmatrix[DMATRIX_KEY], np.float64)
    d_columns = list(dmatrix.get("matrix_columns", matrix_columns))
    missing = [c for c in matrix_columns if c not in d_columns]
    if missing:
        raise DataError(
            f"sandwich: the D matrix lacks the Hessian column(s) {missing}; INNFER dropped "
            "such columns silently, which mixes sandwich and plain-Hessian variances"
        )
    order = [d_columns.index(c) for c in matrix_columns]
    return d[np.ix_(order, order)]


def sandwich_result(hessian_record: Mapping[str, Any], dmatrix: Any) -> dict[str, Any]:
    """The covariance file of a weighted fit: C = H⁻¹ D H⁻¹, same schema as `covariance_result`.

    For weighted events the inverse Hessian is not the covariance: D = Σ w² s sᵀ carries the
    weights' spread, and the sandwich combines both (for unit weights D = H and C = H⁻¹).
    Unlike INNFER, the full sandwich is formed over every matrix column.

    Args:
        hessian_record: the Hessian file (`columns`, `matrix_columns`, `hessian`, ...).
        dmatrix: D over the Hessian's matrix columns: an array, or a record with `D_matrix`
            and its own `matrix_columns` (reordered to the Hessian's).

    Returns:
        The `covariance_result` schema plus `method: sandwich` and the D matrix used;
        `positive_definite` is true when both H and C are.
    """
    h = np.asarray(hessian_record["hessian"], np.float64)
    d = _aligned_dmatrix(dmatrix, list(hessian_record["matrix_columns"]))
    cov, h_positive_definite = sandwich_covariance(h, d)
    positive_definite = h_positive_definite and _is_positive_definite(cov)
    record = _covariance_record(hessian_record, cov, positive_definite)
    record["method"] = "sandwich"
    record["dmatrix"] = d
    return record
