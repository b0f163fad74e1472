"""EvaluateRegression and EvaluateClassifier: predicted against true weight ratios or classes,
the regression's normalisation spline and the classifier's ROC AUC.

Works on the PreProcess tables (standardised) turned back into physical units, so the
prediction files and plots read like the inputs; no TensorFlow import here (the model passed
in does the forward pass).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from innfer_lib.data.schema import CLASSIFIER_TRUTH, WEIGHT
from innfer_lib.ratios.normalisation_asimov import asimov_inputs
from innfer_lib.ratios.normalisation_surface import (
    NormalisationSurface,
    fit_normalisation,
    spline_grid,
)

#: Column of the prediction files holding r̂ (next to the true `wt_shift`).
REGRESSED = "wt_shift_regressed"
#: Columns of the classifier's prediction files: ln r = logit₁ − logit₀ and p₁ = σ(ln r).
LOG_RATIO = "log_ratio"
PROBABILITY = "probability"


def physical_table(frame: pd.DataFrame, parameters: Mapping[str, Any]) -> pd.DataFrame:
    """X columns and the target (wt_shift or classifier_truth) in physical units, with the
    weight `wt`; columns PreProcess did not standardise (the classifier's truth) are copied."""
    stand = parameters["standardisation"]
    columns = [*parameters["X_columns"], *parameters["y_columns"]]
    out = pd.DataFrame(
        {
            c: frame[c].to_numpy() * stand[c]["std"] + stand[c]["mean"]
            if c in stand
            else frame[c].to_numpy()
            for c in columns
        }
    )
    out[WEIGHT] = frame[WEIGHT].to_numpy()
    return out


def regression_predictions(
    model: Any, frame: pd.DataFrame, parameters: Mapping[str, Any], where: str
) -> pd.DataFrame:
    """physical_table plus the regressed ratio r̂ as the likelihood uses it: anchored at ν = 0,
    clipped at the floor (counted in the log)."""
    table = physical_table(frame, parameters)
    inputs = table[list(parameters["X_columns"])].to_numpy(np.float64)
    table[REGRESSED] = model.anchored_ratio_of_inputs(inputs, where)
    return table


def regression_spline(
    model: Any,
    events: pd.DataFrame,
    grid: Mapping[str, Sequence[float]],
    train: pd.DataFrame,
    where: str,
) -> NormalisationSurface:
    """S(ν, θ) = Σw/Σw·r̂(x, ν) over the normalisation Asimov at each ν knot of the training
    set's ν (`normalisation_surface.spline_grid`), r̂ anchored and clipped as the likelihood
    uses it.

    Args:
        model: the regression (`RegressedRatio`).
        events: the normalisation Asimov (`normalisation_asimov`): X columns, weights per
            grid point.
        grid: its θ grid.
        train: the training events in physical units (`physical_table`), for the ν knots.
        where: names the events in messages.

    Raises:
        DataError: a missing column, naming `where`.
        ValueError: fewer than two distinct ν in `train`, or a ν where Σw·r̂ is not positive.
    """
    parameter = model.parameter
    x, weights = asimov_inputs(events, grid, model.x_columns, where, "regression")
    ratio_at = model.ratio_function(x, where)
    knots = spline_grid(train[parameter].to_numpy())
    return fit_normalisation(parameter, knots, weights, ratio_at, grid)[0]


def classifier_predictions(
    model: Any, frame: pd.DataFrame, parameters: Mapping[str, Any]
) -> pd.DataFrame:
    """physical_table plus the anchored ln r (as the likelihood uses it) and p₁ = σ(ln r) of
    the classifier per event."""
    table = physical_table(frame, parameters)
    log_ratio = model.log_ratio_of_inputs(table[list(parameters["X_columns"])].to_numpy())
    table[LOG_RATIO] = log_ratio
    table[PROBABILITY] = 1.0 / (1.0 + np.exp(-log_ratio))
    return table


def weighted_roc_auc(truth: np.ndarray, score: np.ndarray, weights: np.ndarray) -> float:
    """Area under the weighted ROC curve: P(score₁ > score₀) + ½ P(score₁ = score₀) for a
    class-1 and a class-0 event drawn with probability ∝ weight.

    The same number as sklearn.metrics.roc_auc_score(truth, score, sample_weight=weights)
    (checked to 1e-12), computed here to keep scikit-learn out of the dependencies: sort by
    score, sum weights per distinct score, trapezoids of the cumulative rates.

    Raises:
        ValueError: a class without positive total weight (the AUC is undefined).
    """
    truth = np.asarray(truth, dtype=np.float64) > 0.5
    score = np.asarray(score, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    order = np.argsort(-score, kind="mergesort")
    score, truth, weights = score[order], truth[order], weights[order]
    tp = np.cumsum(weights * truth)
    fp = np.cumsum(weights * ~truth)
    last = np.r_[np.flatnonzero(np.diff(score)), len(score) - 1]  # end of each distinct score
    tp, fp = np.r_[0.0, tp[last]], np.r_[0.0, fp[last]]
    if not (tp[-1] > 0 and fp[-1] > 0):
        raise ValueError(
            f"ROC AUC needs both classes with positive weight, got Σw = {fp[-1]:.4g} (class 0) "
            f"and {tp[-1]:.4g} (class 1)"
        )
    return float(np.trapezoid(tp / tp[-1], fp / fp[-1]))


def performance_metrics(tables: Mapping[str, pd.DataFrame]) -> dict[str, float]:
    """{roc_auc_<split>} of the classifier's predictions per split (INNFER's metrics file)."""
    return {
        f"roc_auc_{split}": weighted_roc_auc(
            table[CLASSIFIER_TRUTH].to_numpy(),
            table[LOG_RATIO].to_numpy(),
            table[WEIGHT].to_numpy(),
        )
        for split, table in tables.items()
    }
