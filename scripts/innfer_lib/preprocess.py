"""PreProcess for one (process, category): splits, yields, standardisation, validation sets.

Differences from INNFER, on purpose:
* the split uses one seeded generator over the whole file (INNFER split per batch with the
  global RNG, so its outputs depended on the batch size and therefore on CPU vs GPU);
* X, Y and the weight of an event are stored in one file, so they cannot fall out of step;
* there is one validation index, the position in the canonical loop (`Analysis.validation_points`).
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from innfer_lib.config import Analysis, rate_parameter
from innfer_lib.errors import DataError
from innfer_lib.expressions import evaluate, select
from innfer_lib.yields import process_yield

SPLITS = ("train", "test", "val")
SPLIT_CODE = {name: code for code, name in enumerate(SPLITS)}
DISCARDED = -1
SIM_TYPES = ("val", "train_inf", "test_inf", "full")
WEIGHT = "wt"
POINT_TOLERANCE = 1e-7


def stable_seed(*parts: object) -> list[int]:
    """A seed sequence that depends on names, stable across processes and Python versions."""
    return [zlib.crc32(str(p).encode()) for p in parts]


def weighted_mean_std(values: np.ndarray, weights: np.ndarray) -> tuple[float, float]:
    """Weighted mean and standard deviation; a constant column gets std 1 so it stays finite."""
    total = weights.sum()
    mean = float(np.sum(weights * values) / total)
    std = float(np.sqrt(np.sum(weights * (values - mean) ** 2) / total))
    return mean, (std if std > 0 else 1.0)


def effective_events(weights: np.ndarray) -> float:
    """Kish's effective sample size (Σw)²/Σw²: the size of an unweighted sample as precise."""
    sw2 = float(np.sum(weights**2))
    return float(np.sum(weights) ** 2 / sw2) if sw2 > 0 else 0.0


def matches(frame: pd.DataFrame, point: Mapping[str, float], columns: Sequence[str]) -> np.ndarray:
    """Rows whose parameter columns equal a point (within a float tolerance)."""
    mask = np.ones(len(frame), dtype=bool)
    for col in columns:
        mask &= np.abs(frame[col].to_numpy() - point[col]) < POINT_TOLERANCE
    return mask


def assign_splits(
    frame: pd.DataFrame,
    fractions: Sequence[float],
    validation_mask: np.ndarray,
    drop_mask: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Split code per event (train 0, test 1, val 2, discarded −1), INNFER's rules.

    Validation candidates (events at a validation point) send a fraction `val` to the
    validation split; candidates dropped from training go there entirely; the rest, minus the
    dropped events, is split into train and test with the ratio train:test.
    """
    f_train, f_test, f_val = fractions
    u_val = rng.random(len(frame))
    u_test = rng.random(len(frame))
    codes = np.full(len(frame), DISCARDED, dtype=np.int8)
    to_val = validation_mask & ((u_val < f_val) | drop_mask)
    pool = ~to_val & ~drop_mask
    test_fraction = f_test / (f_train + f_test) if f_train + f_test > 0 else 0.0
    codes[pool] = np.where(u_test[pool] < test_fraction, SPLIT_CODE["test"], SPLIT_CODE["train"])
    codes[to_val] = SPLIT_CODE["val"]
    return codes


def sim_type_mask(split_codes: np.ndarray, sim_type: str) -> np.ndarray:
    """Rows of a validation set that form one INNFER "sim type" (val/train_inf/test_inf/full)."""
    if sim_type == "full":
        return np.ones(len(split_codes), dtype=bool)
    name = {"val": "val", "train_inf": "train", "test_inf": "test"}[sim_type]
    return split_codes == SPLIT_CODE[name]


@dataclass
class PreprocessResult:
    """Everything one preprocess job writes."""

    train: pd.DataFrame
    test: pd.DataFrame
    validation: dict[int, pd.DataFrame]
    parameters: dict[str, Any]


class _Builder:
    """Shared state of one (process, category) preprocessing."""

    def __init__(self, analysis: Analysis, process: str, category: str, seed: int):
        self.analysis = analysis
        self.process = process
        self.category = category
        self.seed = seed
        self.y_columns = analysis.model_parameters(process, category)
        self.rate = rate_parameter(process) if process in analysis.rate_processes else None

    def events(self, base: str, frame: pd.DataFrame) -> pd.DataFrame:
        """Category selection and the weight expression applied to one loaded file."""
        spec = self.analysis.raw["files"][base]
        frame = select(
            frame, self.analysis.categories[self.category], f"categories.{self.category}"
        )
        out = frame.copy()
        out[WEIGHT] = evaluate(frame, spec.get("weight", WEIGHT), f"files.{base}.weight")
        out = out.reset_index(drop=True)
        if out.empty:
            raise DataError(f"files.{base}: no events in category '{self.category}'")
        return out

    def file_params(self, base: str) -> list[str]:
        return [p for p in self.y_columns if p in self.analysis.file_parameters(base)]

    def with_parameters(self, frame: pd.DataFrame, base: str, point: Mapping[str, float]):
        """Add the model's parameters that are not file columns, at the given point."""
        for p in self.y_columns:
            if p not in self.analysis.file_parameters(base):
                frame[p] = float(point[p])
        return frame

    def splits(self, base: str, frame: pd.DataFrame) -> np.ndarray:
        params = self.file_params(base)
        val_mask = np.zeros(len(frame), dtype=bool)
        for point in self.analysis.validation_points:
            val_mask |= matches(frame, point, params)
        drop_mask = np.zeros(len(frame), dtype=bool)
        for col, values in self.analysis.drop_from_training(self.process).items():
            if col not in frame.columns:
                raise DataError(
                    f"preprocess.drop_from_training.{self.process}: '{col}' is not a column of "
                    f"files.{base}"
                )
            for v in values:
                drop_mask |= np.abs(frame[col].to_numpy() - v) < POINT_TOLERANCE
        rng = np.random.default_rng(stable_seed(self.seed, self.process, self.category, base))
        return assign_splits(frame, self.analysis.split_fractions, val_mask, drop_mask, rng)

    def nominal_yield(self, base: str, frame: pd.DataFrame) -> float:
        mask = matches(frame, self.analysis.defaults, self.file_params(base))
        nominal = float(frame.loc[mask, WEIGHT].sum())
        if not nominal > 0:
            raise DataError(
                f"files.{base}: total weight at the default point {self.analysis.defaults} in "
                f"category '{self.category}' is {nominal}; the yield must be positive"
            )
        return nominal


def preprocess(
    analysis: Analysis,
    process: str,
    category: str,
    loaded: Mapping[str, pd.DataFrame],
    seed: int,
) -> PreprocessResult:
    """Build the training, test and validation sets and `parameters.yaml` of one process.

    Args:
        analysis: the analysis config.
        process: the model (process) name.
        category: the category name.
        loaded: LoadData outputs keyed by `files` name.
        seed: the workflow seed; combined with the names so every job has its own stream.
    """
    b = _Builder(analysis, process, category, seed)
    frames = {base: b.events(base, loaded[base]) for base in analysis.files_of_process(process)}
    codes = {base: b.splits(base, frame) for base, frame in frames.items()}
    x_cols, y_cols = analysis.variables, b.y_columns

    nominal = b.nominal_yield(
        analysis.yields_file(process, category), frames[analysis.yields_file(process, category)]
    )

    model_base = analysis.model_file(process, category)
    model = b.with_parameters(frames[model_base].copy(), model_base, analysis.defaults)
    model_codes = codes[model_base]
    train = model.loc[model_codes == SPLIT_CODE["train"], x_cols + y_cols + [WEIGHT]]
    test = model.loc[model_codes == SPLIT_CODE["test"], x_cols + y_cols + [WEIGHT]]
    if len(train) == 0 or len(test) == 0:
        raise DataError(
            f"models.{process} (files.{model_base}, category '{category}'): the train/test split "
            f"left {len(train)} training and {len(test)} test events"
        )
    # Training weights only set the relative importance of events: scale them to mean 1 so
    # the loss is O(1) whatever the physical normalisation of the sample.
    scale = len(train) / float(train[WEIGHT].sum())
    train = train.assign(**{WEIGHT: train[WEIGHT] * scale})
    test = test.assign(**{WEIGHT: test[WEIGHT] * scale})

    w = train[WEIGHT].to_numpy()
    standardisation = {}
    for col in x_cols + y_cols:
        mean, std = weighted_mean_std(train[col].to_numpy(), w)
        standardisation[col] = {"mean": mean, "std": std}
    initial_minmax = {
        c: {"min": float(train[c].min()), "max": float(train[c].max())}
        for c in x_cols + y_cols + [WEIGHT]
    }

    def standardise(frame: pd.DataFrame) -> pd.DataFrame:
        out = frame.copy()
        for col, s in standardisation.items():
            out[col] = (out[col] - s["mean"]) / s["std"]
        return out

    rng = np.random.default_rng(stable_seed(seed, process, category, "shuffle"))
    train = standardise(train).iloc[rng.permutation(len(train))].reset_index(drop=True)
    test = standardise(test).iloc[rng.permutation(len(test))].reset_index(drop=True)
    minmax = {
        c: {"min": float(train[c].min()), "max": float(train[c].max())} for c in x_cols + y_cols
    }

    val_base = analysis.validation_file(process, category)
    val_frame = frames[val_base]
    val_params = b.file_params(val_base)
    validation: dict[int, pd.DataFrame] = {}
    eff: dict[str, dict[int, float]] = {t: {} for t in SIM_TYPES}
    for index, point in enumerate(analysis.validation_points):
        mask = matches(val_frame, point, val_params)
        subset = b.with_parameters(val_frame.loc[mask].copy(), val_base, point)
        subset = subset[x_cols + y_cols + [WEIGHT]].reset_index(drop=True)
        subset["split"] = codes[val_base][mask]
        subset = subset[subset["split"] != DISCARDED].reset_index(drop=True)
        validation[index] = subset
        for sim_type in SIM_TYPES:
            sel = sim_type_mask(subset["split"].to_numpy(), sim_type)
            eff[sim_type][index] = effective_events(subset.loc[sel, WEIGHT].to_numpy())

    parameters = {
        "file_name": process,
        "category": category,
        "yields": {"nominal": nominal, "lnN": {}},
        "rate_parameter": b.rate,
        "eff_events": eff,
        "density": {
            "X_columns": list(x_cols),
            "Y_columns": list(y_cols),
            "standardisation": standardisation,
            "initial_minmax": initial_minmax,
            "minmax": minmax,
        },
        "validation_points": {
            i: {k: point[k] for k in analysis.process_parameters(process)}
            for i, point in enumerate(analysis.validation_points)
        },
        "events": {"train": len(train), "test": len(test)},
    }
    return PreprocessResult(train=train, test=test, validation=validation, parameters=parameters)


def validation_sample(
    frame: pd.DataFrame,
    parameters: Mapping[str, Any],
    point: Mapping[str, float],
    sim_type: str = "val",
) -> tuple[np.ndarray, np.ndarray]:
    """X and weights of one validation set, normalised to the process yield at `point`.

    Each sim type (val, train_inf, ...) is normalised separately so that any of them is a
    stand-in for the full expected dataset.
    """
    sel = sim_type_mask(frame["split"].to_numpy(), sim_type)
    x = frame.loc[sel, parameters["density"]["X_columns"]].to_numpy(np.float64)
    w = frame.loc[sel, WEIGHT].to_numpy(np.float64)
    total = w.sum()
    expected = process_yield(parameters["yields"], point, parameters.get("rate_parameter"))
    if len(w) and total != 0:
        w = w * (expected / total)
    return x, w
