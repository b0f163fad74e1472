"""The context of one PreProcess job: a (process, category), its loaded files and its seeds.

Every PreProcess step (yields, training sets, validation sets, binned inputs) draws events the
same way: select a file's events at a parameter point, set every other parameter by a shift,
and run the dataset recipe (`datasets.build_dataset`). `Preprocessor` holds what those steps
share, so each split, seed and parameter rule is decided in one place:
* a file's split is computed once per job and reused by every step;
* each step draws from its own stream, seeded by (workflow seed, process, category, step);
* model datasets keep parameters that are file columns at their file values (INNFER relabelled
  them to the defaults), and a model-only file drops, not keeps, the `drop_from_training` rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from innfer_lib.core.analysis import Analysis, rate_parameter
from innfer_lib.core.errors import ConfigError, DataError
from innfer_lib.core.seeds import stable_seed
from innfer_lib.data import shifts as shift_specs
from innfer_lib.data.datasets import build_dataset
from innfer_lib.data.splits import (
    DISCARDED,
    POINT_TOLERANCE,
    SPLIT_CODE,
    assign_splits,
    matches,
    strata_of,
)

#: Column `Preprocessor.build` adds: the split code of each event's row in its file.
ROW_SPLIT = "_split_code"


class Preprocessor:
    """PreProcess of one (process, category) over the loaded files it needs."""

    def __init__(
        self,
        analysis: Analysis,
        process: str,
        category: str,
        loaded: Mapping[str, pd.DataFrame],
        seed: int,
        base_dir: str | None = None,
    ):
        self.analysis = analysis
        self.process = process
        self.category = category
        self.loaded = loaded
        self.seed = seed
        self.base_dir = base_dir
        self.y_columns = analysis.model_parameters(process, category)
        self.rate = rate_parameter(process) if process in analysis.rate_processes else None
        self.extra_columns = list(
            (analysis.raw["preprocess"].get("save_extra_columns") or {}).get(process, [])
        )
        self._codes: dict[str, np.ndarray] = {}
        for base in analysis.files_of_process(process):
            if base not in loaded:
                raise DataError(f"preprocess {process}/{category}: no LoadData output for '{base}'")

    def rng(self, *parts: object) -> np.random.Generator:
        """The stream of one step of this job; the same names give the same numbers."""
        return np.random.default_rng(stable_seed(self.seed, self.process, self.category, *parts))

    def file_params(self, base: str) -> list[str]:
        """Parameters stored as columns of a file (selected on, never shifted)."""
        known = set(self.analysis.fit_parameters)
        return [p for p in self.analysis.file_parameters(base) if p in known]

    def fixed_shifts(self, base: str, point: Mapping[str, float]) -> dict[str, dict[str, Any]]:
        """Every parameter that is not a file column, fixed at its value in `point`."""
        columns = set(self.file_params(base))
        return {
            p: shift_specs.fixed(point[p]) for p in self.analysis.fit_parameters if p not in columns
        }

    def split_codes(self, base: str) -> np.ndarray:
        """Split of a file's events, the same in every job that reads the file for this model."""
        if base in self._codes:
            return self._codes[base]
        frame = self.loaded[base]
        params = self.file_params(base)
        is_model = base in self.analysis.model_files(self.process, self.category)
        is_val = base == self.analysis.validation_file(self.process, self.category)
        val_mask = np.zeros(len(frame), dtype=bool)
        if is_val:
            for point in self.analysis.validation_points:
                val_mask |= matches(frame, point, params)
        drop_mask = np.zeros(len(frame), dtype=bool)
        for col, values in self.analysis.drop_from_training(self.process).items():
            if col not in frame.columns:
                raise DataError(
                    f"preprocess.drop_from_training.{self.process}: '{col}' is not a column of "
                    f"files.{base} (columns: {sorted(frame.columns)})"
                )
            for v in values:
                drop_mask |= np.abs(frame[col].to_numpy() - v) < POINT_TOLERANCE
        if not is_model:
            codes = np.where(val_mask, SPLIT_CODE["val"], DISCARDED).astype(np.int8)
        else:
            strata = None
            stratify = self.analysis.raw["preprocess"].get("stratify_to")
            if stratify:
                if stratify not in frame.columns:
                    raise DataError(
                        f"preprocess.stratify_to: '{stratify}' is not a column of files.{base}"
                    )
                strata = strata_of(frame[stratify].to_numpy())
            codes = assign_splits(
                frame,
                self.analysis.split_fractions,
                val_mask,
                drop_mask,
                self.rng("split", base),
                strata,
            )
        self._codes[base] = codes
        return codes

    def build(
        self,
        base: str,
        point: Mapping[str, float],
        shifts: Mapping[str, Mapping[str, Any]] | None = None,
        splits: Sequence[int] | None = None,
        n_copies: int = 1,
        rng_key: str = "build",
        learned: Sequence[str] = (),
        record_draws: dict[str, np.ndarray] | None = None,
        post_values: Mapping[str, np.ndarray] | None = None,
    ) -> pd.DataFrame:
        """Events of `base` at a parameter point (file columns selected, the rest set).

        File-column parameters in `learned` keep all their values: a model learns them. The
        events carry their split code in `ROW_SPLIT`. `record_draws` and `post_values` pair
        two builds of the same file, point and splits (`datasets.build_dataset`).
        """
        frame = self.loaded[base]
        mask = matches(frame, point, [p for p in self.file_params(base) if p not in learned])
        frame = frame.loc[mask].assign(**{ROW_SPLIT: self.split_codes(base)[mask]})
        if splits is not None:
            frame = frame.loc[frame[ROW_SPLIT].isin(list(splits))]
        all_shifts: dict[str, Mapping[str, Any]] = dict(self.fixed_shifts(base, point))
        all_shifts.update(shifts or {})
        return build_dataset(
            self.analysis,
            base,
            frame,
            self.category,
            all_shifts,
            self.rng(rng_key, base),
            n_copies=n_copies,
            base_dir=self.base_dir,
            record_draws=record_draws,
            post_values=post_values,
        )

    def learned_shifts(
        self, entry: Mapping[str, Any], learned: Sequence[str], where: str
    ) -> dict[str, Any]:
        """Shift specs of the learned parameters that are not file columns."""
        specs = dict(entry.get("shifts") or {})
        for name, spec in specs.items():
            shift_specs.check_shift(spec, f"{where}.shifts.{name}")
        columns = set(self.file_params(entry["file"]))
        for p in learned:
            if p not in columns and p not in specs:
                raise ConfigError(
                    f"{where}: parameter '{p}' is neither a column of files.{entry['file']} nor "
                    "given a `shifts` entry, so the training events carry no values of it"
                )
        return specs

    def pooled(self, entry: Mapping[str, Any], learned: Sequence[str], where: str) -> list[str]:
        """The entry's `pool_over`: file-column parameters whose every value the model learns
        from, without learning their dependence.

        A weight ratio (or a density) that does not depend on a POI can learn from the events
        of every POI value instead of the default point's share; INNFER did this for every
        model by relabelling the POI columns to their defaults. Here it is asked for by name.

        Raises:
            ConfigError: a name that is not a parameter column of the entry's file, or one the
                model learns.
        """
        names = list(entry.get("pool_over") or [])
        columns = self.file_params(entry["file"])
        for name in names:
            if name in learned:
                raise ConfigError(
                    f"{where}.pool_over: '{name}' is a parameter the model learns; pool_over "
                    "lists file-column parameters whose values it ignores"
                )
            if name not in columns:
                raise ConfigError(
                    f"{where}.pool_over: '{name}' is not a parameter column of "
                    f"files.{entry['file']} (its parameter columns: {columns})"
                )
        return names

    def training_range(
        self, entry: Mapping[str, Any], learned: Sequence[str], where: str
    ) -> dict[str, list[float]]:
        """Range of each learned parameter covered by the training events."""
        specs = self.learned_shifts(entry, learned, where)
        base = entry["file"]
        frame = self.loaded[base]
        codes = self.split_codes(base)
        out = {}
        for p in learned:
            if p in specs:
                out[p] = list(shift_specs.support(specs[p], f"{where}.shifts.{p}"))
            else:
                values = frame[p].to_numpy()[codes == SPLIT_CODE["train"]]
                out[p] = [float(values.min()), float(values.max())] if len(values) else [0.0, 0.0]
        return out
