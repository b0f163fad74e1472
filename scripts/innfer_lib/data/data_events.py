"""The observed events of a fit: real data per category, or pseudo-data drawn from simulation.

DataCategories reads `data_file` (parquet or ROOT, through the reader LoadData uses), applies
`data_add_columns`, `data_calculate`, `data_selection` and the category selection.
ResampleValidationForData instead draws unweighted pseudo-data from the weighted validation
samples, for fits that stand in for data. Both give the variables first, float64 and finite;
real data keep their other columns, pseudo-data add `wt` = 1.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from innfer_lib.core.analysis import Analysis
from innfer_lib.core.errors import ConfigError, DataError
from innfer_lib.core.expressions import select
from innfer_lib.data.columns import as_float, calculate, check_finite, per_input_values
from innfer_lib.data.schema import WEIGHT
from innfer_lib.data.tables import describe_columns, read_table
from innfer_lib.data.weighted_stats import effective_events

LOG = logging.getLogger("innfer")


def load_data_events(
    analysis: Analysis, category: str, base_dir: str | Path | None = None
) -> pd.DataFrame:
    """Observed events of one category (INNFER's DataCategories step).

    Per `data_file`: read it (parquet, or ROOT with `data_tree_name`), add `data_add_columns`,
    apply `data_calculate`, then keep the events passing `data_selection` and the category
    selection. All columns are kept (data-vs-simulation plots may want more than the variables);
    the variables are guaranteed present, float64 and finite.

    Args:
        analysis: the analysis config.
        category: a key of `analysis.categories`.
        base_dir: directory relative paths of function-dict `file`s are resolved against.

    Returns:
        The events, variables first; an empty frame (with the variable columns) when the
        category holds no data, which is a legitimate outcome of a tight selection.
    """
    raw = analysis.raw
    if raw.get("data_file") is None:
        raise ConfigError(f"{analysis.source}: data_file is not set; no observed data to load")
    data_files = analysis.data_file_keys()
    if not data_files:
        raise ConfigError(f"{analysis.source}: data_file is not set (empty list)")
    categories = analysis.categories
    if category not in categories:
        raise ConfigError(
            f"{analysis.source}: unknown category '{category}' (known: {list(categories)})"
        )
    add_values = per_input_values(raw.get("data_add_columns"), len(data_files), "data_add_columns")
    variables = analysis.variables

    frames: list[pd.DataFrame] = []
    for i, (key, path) in enumerate(data_files.items()):
        frame, _ = read_table(path, None, raw.get("data_tree_name"), "data_tree_name", key)
        where = f"{key} {path}"
        for column, value in add_values[i].items():
            frame[column] = value
        frame, _ = calculate(frame, raw.get("data_calculate"), f"{where}: data_calculate", base_dir)
        missing = [v for v in variables if v not in frame.columns]
        if missing:
            raise DataError(
                f"{where}: missing variable(s) {missing}; present: "
                f"{describe_columns(frame.columns)}"
            )
        frame = select(frame, raw.get("data_selection"), f"data_selection ({path})")
        frame = select(frame, categories[category], f"categories.{category} ({path})")
        values = as_float(frame, variables, where)
        check_finite(values, variables, where)
        others = frame.drop(columns=variables).reset_index(drop=True)
        frames.append(pd.concat([values, others], axis=1))
    out = pd.concat(frames, ignore_index=True)
    if out.empty:
        LOG.warning("category '%s': no data events pass the selections", category)
    return out


#: Pull width from the finite source sample above which the pseudo-data job warns.
PULL_WIDTH_WARNING = 1.1


def resampling_pull_width(samples: Sequence[tuple[np.ndarray, np.ndarray]]) -> float:
    """How much wider than 1 closure pulls of fits to pseudo-data get from the source sample.

    Pseudo-data drawn with replacement from a weighted sample repeat its statistical
    fluctuation: an estimate's variance is σ²/N from the draw of N ≈ Σw events plus σ²/n_eff
    from the sample itself (n_eff = Kish's effective events of all processes' weights), so
    pulls against the true point widen by √(1 + N/n_eff). A sample much larger than the
    pseudo-data keeps it near 1.

    Args:
        samples: (X, w) per process, the weights normalised to the expected yields.
    """
    w = np.concatenate([np.asarray(wi, dtype=np.float64).reshape(-1) for _, wi in samples])
    n_eff = effective_events(w)
    if not n_eff > 0:
        return float("inf")
    return float(np.sqrt(1.0 + float(w.sum()) / n_eff))


def pull_width_warning(samples: Sequence[tuple[np.ndarray, np.ndarray]], where: str) -> str | None:
    """The line a pseudo-data job warns with when `resampling_pull_width` exceeds
    `PULL_WIDTH_WARNING`, naming the numbers; None when the source sample is large enough."""
    width = resampling_pull_width(samples)
    if width <= PULL_WIDTH_WARNING:
        return None
    w = np.concatenate([np.asarray(wi, dtype=np.float64).reshape(-1) for _, wi in samples])
    return (
        f"{where}: the pseudo-data ({float(w.sum()):.0f} expected events) are drawn from "
        f"validation events worth {effective_events(w):.0f} effective events; they repeat "
        f"that sample's fluctuation, so closure pulls will be about {width:.2f} wide "
        "instead of 1 (simulate more events)"
    )


def event_weights(frame: pd.DataFrame) -> np.ndarray:
    """Weights of observed events in float64: the `wt` column if the file has one, else 1 each.

    Real data are counts; pseudo-data carry `wt` = 1; a user's data file may carry weights. The
    fits and the simulation-to-data factors read them alike through this one rule.
    """
    if WEIGHT in frame.columns:
        return frame[WEIGHT].to_numpy(np.float64)
    return np.ones(len(frame), dtype=np.float64)


def resample_for_data(
    samples: Sequence[tuple[np.ndarray, np.ndarray]],
    columns: Sequence[str],
    rng: np.random.Generator,
    poisson: bool = True,
) -> pd.DataFrame:
    """Unweighted pseudo-data drawn from weighted validation samples, one per process.

    Per process, events are drawn with replacement with probability ∝ w (negative weights
    cannot be probabilities and are dropped); the number drawn is Poisson(Σw) so the pseudo-data
    fluctuate like real data (INNFER used int(Σw), so every toy had the same size), or round(Σw)
    with `poisson=False`. Σw is the process's total weight including negative weights: the
    validation samples are normalised so that this total is the predicted yield. The rows are
    shuffled with one permutation so the processes are not in blocks.

    Args:
        samples: (X of shape (n, len(columns)), w of shape (n,)) per process.
        columns: names of the X columns (the analysis variables).
        rng: the generator; the same seed gives the same pseudo-data.
        poisson: fluctuate the number of events.

    Returns:
        The variable columns plus `wt` = 1.0.
    """
    columns = list(columns)
    drawn: list[np.ndarray] = []
    for k, (x, w) in enumerate(samples):
        x = np.asarray(x, dtype=np.float64)
        w = np.asarray(w, dtype=np.float64).reshape(-1)
        if x.ndim == 1:
            x = x.reshape(-1, 1)
        if x.shape != (len(w), len(columns)):
            raise DataError(
                f"resample_for_data: process {k}: X has shape {x.shape}, expected "
                f"({len(w)}, {len(columns)}) for columns {columns}"
            )
        total = float(w.sum())
        positive = np.where(w > 0, w, 0.0)
        if not total > 0 or not positive.sum() > 0:
            raise DataError(
                f"resample_for_data: process {k}: total weight {total} is not positive, "
                "cannot draw events from it"
            )
        n = int(rng.poisson(total)) if poisson else int(round(total))
        picks = rng.choice(len(w), size=n, replace=True, p=positive / positive.sum())
        drawn.append(x[picks])
    if not drawn:
        raise DataError("resample_for_data: no samples given")
    events = np.concatenate(drawn, axis=0)
    events = events[rng.permutation(len(events))]
    out = pd.DataFrame(events, columns=columns)
    out[WEIGHT] = 1.0
    return out
