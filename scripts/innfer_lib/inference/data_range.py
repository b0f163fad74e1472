"""Observed events against the range the densities were trained on: a warning, not an error.

A flow knows nothing outside the [min, max] of its training events (`parameters.yaml`,
`density.initial_minmax`); data there is fitted with an extrapolated density, which can pull a
fit anywhere without any sign in its result. Data or pseudo-data with a noticeable fraction of
events there is still fitted (it may be what the analysis is about), but the user is told
which column and category, and how many events (by count and by weight). The range of a
category is the union over its processes: an event outside it is outside every density.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from innfer_lib.core.io import read_parquet, read_yaml
from innfer_lib.data.schema import WEIGHT
from innfer_lib.inference.fit_inputs import FitInputs

LOG = logging.getLogger("innfer")

#: Fraction of the events (by count or by weight) outside the trained range that is worth a
#: warning. Below it the job log still lists every column with events outside; a few tail
#: events beyond the training extremes are normal for any sample drawn independently of it.
WARN_FRACTION = 0.01


@dataclass(frozen=True)
class OutsideRange:
    """Events of one column of one category outside the trained range."""

    category: str
    column: str
    low: float
    high: float
    outside: int
    events: int
    weight_fraction: float

    @property
    def count_fraction(self) -> float:
        return self.outside / self.events if self.events else 0.0

    @property
    def notable(self) -> bool:
        return max(self.count_fraction, self.weight_fraction) > WARN_FRACTION

    def message(self, what: str) -> str:
        """One line naming the data, the category, the column and both fractions."""
        return (
            f"{what}, category '{self.category}': column '{self.column}' has {self.outside} of "
            f"{self.events} events ({100 * self.count_fraction:.1f} %, "
            f"{100 * self.weight_fraction:.1f} % of the weight) outside the trained range "
            f"[{self.low:.6g}, {self.high:.6g}]; the densities extrapolate there"
        )


def trained_ranges(parameters: Iterable[Mapping[str, Any]]) -> dict[str, tuple[float, float]]:
    """[min, max] of every trained column over the given parameters.yaml records (a union)."""
    ranges: dict[str, tuple[float, float]] = {}
    for params in parameters:
        for column, mm in (params.get("density") or {}).get("initial_minmax", {}).items():
            low, high = float(mm["min"]), float(mm["max"])
            lo, hi = ranges.get(column, (low, high))
            ranges[column] = (min(lo, low), max(hi, high))
    return ranges


def outside_training(
    events: pd.DataFrame,
    category: str,
    columns: Sequence[str],
    ranges: Mapping[str, tuple[float, float]],
) -> list[OutsideRange]:
    """Per column with a trained range: the events of `events` outside it (none: omitted).

    Weights are the `wt` column where there is one (pseudo-data), else 1 (observed data).
    """
    n = len(events)
    if WEIGHT in events.columns:
        weights = np.abs(events[WEIGHT].to_numpy(np.float64))
    else:
        weights = np.ones(n)
    total = float(weights.sum())
    out = []
    for column in columns:
        if column not in ranges or column not in events.columns:
            continue
        low, high = ranges[column]
        x = events[column].to_numpy(np.float64)
        mask = ~((x >= low) & (x <= high))
        if mask.any():
            fraction = float(weights[mask].sum()) / total if total > 0 else 0.0
            out.append(OutsideRange(category, column, low, high, int(mask.sum()), n, fraction))
    return out


def data_range_warnings(
    what: str,
    events: Mapping[str, pd.DataFrame],
    parameters: Mapping[tuple[str, str], Mapping[str, Any]],
    columns: Sequence[str],
) -> list[str]:
    """The warning lines for data fitted with densities trained elsewhere; the rest is logged.

    Args:
        what: what the events are, for the message ("observed data", "pseudo-data").
        events: the events per category.
        parameters: parameters.yaml per (process, category): the trained ranges.
        columns: the observables to check.

    Returns:
        One line per (category, column) with more than `WARN_FRACTION` of the events outside
        the category's trained range; columns with fewer events outside are only logged.
    """
    lines = []
    for category, frame in events.items():
        ranges = trained_ranges(p for (_, c), p in parameters.items() if c == category)
        for found in outside_training(frame, category, columns, ranges):
            if found.notable:
                lines.append(found.message(what))
            else:
                LOG.info("%s", found.message(what))
    return lines


def fit_data_warnings(inputs: FitInputs, columns: Sequence[str]) -> list[str]:
    """`data_range_warnings` for the observed data of a data fit (`inputs.data`)."""
    events = {category: read_parquet(path) for category, path in inputs.data.items()}
    parameters = {key: read_yaml(files.parameters) for key, files in inputs.items()}
    return data_range_warnings("observed data", events, parameters, columns)
