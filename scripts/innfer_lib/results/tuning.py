"""Collect a hyperparameter search: one table of every trial and the best point's architecture.

The grid scan and the Bayesian tuning end the same way: a table (one row per trial: its
point, state and metrics) and the scan file with the best point filled in
(`scan_space.architecture_at`), which the workflow trains from when `density_architecture` is `best_of_scan` or `best_of_tuning`.
INNFER's HyperparameterScanCollect copied the last point, not the best [BUG]; here the best is
chosen by `MetricChoice.best` over the table.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from innfer_lib.core.io import read_yaml
from innfer_lib.density.scan_space import MetricChoice

TRIAL = "trial"
STATE = "state"
VALUE = "value"
COMPLETE = "COMPLETE"


def _scalar(value: Any) -> Any:
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return str(value)


def trials_table(
    points: Mapping[int, Mapping[str, Any]],
    metrics: Mapping[int, Mapping[str, Any]],
    metric: MetricChoice,
    states: Mapping[int, str] | None = None,
    extra: Mapping[int, Mapping[str, Any]] | None = None,
) -> pd.DataFrame:
    """One row per trial: its number, state, point, the ranking metric and every scalar metric.

    Args:
        points: {trial: {dotted key: value}}.
        metrics: {trial: metrics mapping}; a trial without metrics (pruned, failed) has none.
        metric: The ranking metric; its value is the `value` column.
        states: {trial: optuna state name}; trials not named are COMPLETE.
        extra: {trial: more columns} (the worker of a Bayesian trial, say).
    """
    rows = []
    for trial in sorted(points):
        found = metrics.get(trial) or {}
        value = found.get(metric.key)
        row: dict[str, Any] = {
            TRIAL: int(trial),
            STATE: (states or {}).get(trial, COMPLETE),
            VALUE: float(value) if value is not None else math.nan,
        }
        row.update({k: _scalar(v) for k, v in points[trial].items()})
        row.update((extra or {}).get(trial, {}))
        row.update(
            {
                k: float(v)
                for k, v in found.items()
                if isinstance(v, int | float) and not isinstance(v, bool) and k not in row
            }
        )
        rows.append(row)
    return pd.DataFrame(rows)


def best_trial(table: pd.DataFrame, metric: MetricChoice) -> int:
    """The complete trial with the best value.

    Raises:
        ValueError: no complete trial has a finite value (every trial failed or was pruned).
    """
    done = table[table[STATE] == COMPLETE]
    best = metric.best(dict(zip(done[TRIAL], done[VALUE], strict=True)))
    if best is None:
        raise ValueError(
            f"no trial finished with a finite {metric.key}: {len(table)} trials, states "
            f"{table[STATE].value_counts().to_dict()}"
        )
    return int(best)



def reference_value(path: str | None, metric: MetricChoice) -> float | None:
    """The true density's value of the ranking metric (its metrics file on a benchmark), or
    None: without a truth, or when its metrics do not include the key (the trials always
    compute the loss family, the truth's metrics only what density_performance_metrics asks)."""
    if path is None:
        return None
    value = read_yaml(path).get(metric.key)
    return float(value) if value is not None else None
