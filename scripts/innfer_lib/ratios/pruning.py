"""INNFER's pruning of classifiers that learned nothing (`--prune-classifier-models`).

A classifier whose evaluation metrics (performance_metrics.yaml of evaluate_classifier) are
all at or below their thresholds separates shifted from nominal events no better than chance:
the nuisance then has no learnable shape effect, and its noisy ratio would only add noise to
the likelihood and to MakeAsimov, so both drop it. No TensorFlow here: the workflow may call it
while it builds the DAG.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: What evaluate_classifier writes to performance_metrics.yaml: the weighted ROC AUC per split.
CLASSIFIER_METRICS = ("roc_auc_train", "roc_auc_test")


def check_thresholds(thresholds: Any, where: str = "prune_classifier_models") -> dict[str, float]:
    """{metric: threshold} as floats.

    Raises:
        ValueError: not a mapping of metric names to numbers, naming `where` and the key.
    """
    if not isinstance(thresholds, Mapping):
        raise ValueError(f"{where}: expected a mapping metric: threshold, got {thresholds!r}")
    out = {}
    for key, value in thresholds.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{where}.{key}: expected a number, got {value!r}")
        out[str(key)] = float(value)
    return out


def pruned(metrics: Mapping[str, Any], thresholds: Mapping[str, Any]) -> bool:
    """Whether a classifier is dropped: every listed metric is ≤ its threshold.

    No thresholds means no pruning.

    Raises:
        ValueError: a bad threshold, or a listed metric the classifier's metrics lack
            (naming it and the metrics there are).
    """
    limits = check_thresholds(thresholds)
    if not limits:
        return False
    missing = [k for k in limits if k not in metrics]
    if missing:
        raise ValueError(
            f"prune_classifier_models: no metric {missing} among the classifier's {sorted(metrics)}"
        )
    return all(float(metrics[k]) <= limit for k, limit in limits.items())
