"""The post-fit uncertainty band: the fit covariance propagated to a predicted histogram.

INNFER's band summed, per bin and in quadrature, the differences of per-nuisance ±1σ
templates, ignoring the correlations between parameters (and its "down" template was an up
shift). Here parameter vectors are drawn from the multivariate Gaussian N(θ̂, C) of the fit's
covariance (H⁻¹ or the sandwich, over the floating parameters; frozen ones stay at their
values), the prediction is recomputed at each — yields and shapes together — and the band is
the central 68.3 % of the predicted counts per bin. Correlations (e.g. a yield against a shape
parameter, which often cancel in the total) are kept, and a non-linear prediction gives an
asymmetric band. Numbers only, so it is tested without TensorFlow.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Parameter vectors drawn for a band: the 15.9 % and 84.1 % quantiles of 200 draws are
#: within about 10 % of the band's half-width, finer than a plot shows.
N_BAND_SAMPLES = 200
#: The quantiles of the predicted counts that bound the band: ±1σ of a Gaussian.
BAND_QUANTILES = (0.5 * math.erfc(1 / math.sqrt(2)), 0.5 * math.erfc(-1 / math.sqrt(2)))


@dataclass(frozen=True)
class Band:
    """Per-bin bounds of a prediction's ±1σ band, and the draws they came from.

    Attributes:
        low: The 15.9 % quantile per bin.
        high: The 84.1 % quantile per bin.
        n_samples: Parameter vectors drawn.
    """

    low: np.ndarray
    high: np.ndarray
    n_samples: int


def parameter_samples(
    theta: Sequence[float],
    columns: Sequence[str],
    covariance: Mapping[str, Any],
    n_samples: int = N_BAND_SAMPLES,
    seed: int | Sequence[int] = 0,
    limits: Mapping[str, Sequence[float | None]] | None = None,
) -> np.ndarray:
    """Parameter vectors drawn from N(θ̂, C) over the covariance's columns.

    Args:
        theta: The best fit in ``columns`` order.
        columns: Every parameter of the likelihood.
        covariance: A covariance record (`covariance.covariance_result`): ``matrix_columns``
            (the floating parameters) and ``covariance``.
        n_samples: Vectors to draw.
        seed: Seed (or seed sequence) of the draws: the same seed gives the same band.
        limits: (low, high) per parameter (None for open); a draw outside is moved onto the
            limit, as the fit could not have gone further (a yield below zero, a template
            outside its grid).

    Returns:
        (n_samples, len(columns)) vectors; parameters outside ``matrix_columns`` keep θ̂.

    Raises:
        ValueError: a covariance column the likelihood lacks, or a covariance of the wrong
            shape or with non-finite entries.
    """
    centre = np.asarray(theta, np.float64)
    names = list(covariance["matrix_columns"])
    unknown = [c for c in names if c not in columns]
    if unknown:
        raise ValueError(f"covariance columns {unknown} are not parameters {list(columns)}")
    cov = np.asarray(covariance["covariance"], np.float64).reshape(len(names), len(names))
    if not np.all(np.isfinite(cov)):
        raise ValueError("the covariance has non-finite entries; no band can be drawn from it")
    index = [list(columns).index(c) for c in names]
    rng = np.random.default_rng(seed)
    # method="eigh" accepts a positive semi-definite matrix (a parameter at its limit).
    draws = rng.multivariate_normal(centre[index], 0.5 * (cov + cov.T), n_samples, method="eigh")
    samples = np.tile(centre, (n_samples, 1))
    samples[:, index] = draws
    for name, (low, high) in (limits or {}).items():
        if name in columns and (low is not None or high is not None):
            k = list(columns).index(name)
            samples[:, k] = np.clip(samples[:, k], low, high)
    return samples


def band(predictions: np.ndarray) -> Band:
    """The central 68.3 % per bin of (n_samples, n_bins) predicted counts."""
    p = np.asarray(predictions, np.float64)
    if p.ndim != 2 or p.shape[0] < 2:
        raise ValueError(f"need (n_samples ≥ 2, n_bins) predictions, got shape {p.shape}")
    low, high = np.quantile(p, BAND_QUANTILES, axis=0)
    return Band(low=low, high=high, n_samples=p.shape[0])


def propagate(predict: Callable[[np.ndarray], np.ndarray], samples: np.ndarray) -> Band:
    """The band of ``predict`` (θ → counts per bin) over the parameter draws."""
    return band(np.array([predict(theta) for theta in samples]))


def histogram_draws(
    values: Mapping[str, np.ndarray],
    weights_per_draw: Sequence[Mapping[str, np.ndarray]],
    edges: np.ndarray,
) -> np.ndarray:
    """(n_draws, n_bins) summed histograms of fixed events with each draw's weights.

    The events of each process stay the same, only their weights change with θ
    (`postfit_prediction.EventReweighter`); non-finite values are left out.
    """
    keep = {p: np.isfinite(np.asarray(x, np.float64)) for p, x in values.items()}
    out = np.zeros((len(weights_per_draw), len(edges) - 1))
    for i, weights in enumerate(weights_per_draw):
        for p, x in values.items():
            k = keep[p]
            out[i] += np.histogram(np.asarray(x)[k], bins=edges, weights=weights[p][k])[0]
    return out


@dataclass(frozen=True)
class PostfitSetup:
    """What both post-fit plots (unbinned and binned) take from a fit before drawing."""

    prefit_theta: np.ndarray
    samples: np.ndarray
    text: str


def postfit_setup(job: Any, covariance: Mapping[str, Any], seed: Sequence[int]) -> PostfitSetup:
    """The prefit point (the analysis defaults), the seeded band draws and the best-fit text.

    Args:
        job: the fit's `inference.fit_job.FitJob` with its best fit (typed loosely so this
            module stays free of TensorFlow imports).
        covariance: the fit's covariance record (H⁻¹ or the sandwich).
        seed: the draws' seed, e.g. [config seed, *stable_seed(fit, density, val)].
    """
    columns = job.problem.columns
    best = dict(zip(columns, job.theta, strict=True))
    return PostfitSetup(
        prefit_theta=np.array([job.analysis.defaults[c] for c in columns]),
        samples=parameter_samples(
            job.theta, columns, covariance, seed=list(seed), limits=job.problem.limits
        ),
        text="best fit: " + ", ".join(f"{c}={best[c]:.4g}" for c in job.free),
    )
