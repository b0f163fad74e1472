"""Which split each event of a file goes to: train, test, validation or discarded.

INNFER's rules, with one difference on purpose: the split uses one seeded generator over the
whole file (INNFER split per batch with the global RNG, so its outputs depended on the batch
size and therefore on CPU vs GPU). Events at a validation point feed the validation sets,
`drop_from_training` values never reach train/test, and the rest is split train:test,
optionally stratified so the test fraction holds in every stratum of a column.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

SPLITS = ("train", "test", "val")
SPLIT_CODE = {name: code for code, name in enumerate(SPLITS)}
DISCARDED = -1
#: INNFER's "sim types": which events of a validation set a fit or plot uses.
SIM_TYPES = ("val", "train_inf", "test_inf", "full")
#: Parameter values closer than this are the same point (file values are rounded floats).
POINT_TOLERANCE = 1e-7
#: Stratified splits use at most this many strata (distinct values, else quantile bins).
STRATA = 20


def matches(frame: pd.DataFrame, point: Mapping[str, float], columns: Sequence[str]) -> np.ndarray:
    """Rows whose parameter columns equal a point (within a float tolerance)."""
    mask = np.ones(len(frame), dtype=bool)
    for col in columns:
        mask &= np.abs(frame[col].to_numpy() - point[col]) < POINT_TOLERANCE
    return mask


def strata_of(values: np.ndarray) -> np.ndarray:
    """Stratum label per event: the value itself if few distinct, else a quantile bin."""
    unique = np.unique(values)
    if len(unique) <= STRATA:
        return np.searchsorted(unique, values)
    edges = np.unique(np.quantile(values, np.linspace(0, 1, STRATA + 1)[1:-1]))
    return np.searchsorted(edges, values, side="right")


def assign_splits(
    frame: pd.DataFrame,
    fractions: Sequence[float],
    validation_mask: np.ndarray,
    drop_mask: np.ndarray,
    rng: np.random.Generator,
    strata: np.ndarray | None = None,
) -> np.ndarray:
    """Split code per event (train 0, test 1, val 2, discarded −1), INNFER's rules.

    Validation candidates (events at a validation point) send a fraction `val` to the
    validation split; candidates dropped from training go there entirely; the rest, minus the
    dropped events, is split into train and test with the ratio train:test. With `strata`, the
    test fraction is met exactly inside every stratum.
    """
    f_train, f_test, f_val = fractions
    u_val = rng.random(len(frame))
    u_test = rng.random(len(frame))
    codes = np.full(len(frame), DISCARDED, dtype=np.int8)
    to_val = validation_mask & ((u_val < f_val) | drop_mask)
    pool = ~to_val & ~drop_mask
    test_fraction = f_test / (f_train + f_test) if f_train + f_test > 0 else 0.0
    if strata is None:
        is_test = u_test < test_fraction
    else:
        # Rank the random numbers inside each stratum and send the lowest fraction to test.
        is_test = np.zeros(len(frame), dtype=bool)
        for label in np.unique(strata[pool]):
            members = np.flatnonzero(pool & (strata == label))
            order = members[np.argsort(u_test[members])]
            is_test[order[: int(round(test_fraction * len(members)))]] = True
    codes[pool] = np.where(is_test[pool], SPLIT_CODE["test"], SPLIT_CODE["train"])
    codes[to_val] = SPLIT_CODE["val"]
    return codes


def sim_type_mask(split_codes: np.ndarray, sim_type: str) -> np.ndarray:
    """Rows of a validation set that form one INNFER "sim type" (val/train_inf/test_inf/full)."""
    if sim_type == "full":
        return np.ones(len(split_codes), dtype=bool)
    name = {"val": "val", "train_inf": "train", "test_inf": "test"}[sim_type]
    return split_codes == SPLIT_CODE[name]
