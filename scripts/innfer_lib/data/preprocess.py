"""PreProcess for one (process, category): yields, splits, training sets, validation sets.

Differences from INNFER, on purpose:
* the split uses one seeded generator over the whole file (INNFER split per batch with the
  global RNG, so its outputs depended on the batch size and therefore on CPU vs GPU);
* X, Y and the weight of an event are stored in one file, so they cannot fall out of step;
* there is one validation index, the position in the canonical loop (`Analysis.validation_points`);
* the yield interpolation is continuous (see `yields`), nuisances stored as file columns get
  their lnN effect, and shift reweighting normalises the weights instead of multiplying them
  by the effective event count;
* model datasets keep parameters that are file columns at their file values (INNFER relabelled
  them to the defaults), and a model-only file drops, not keeps, the `drop_from_training` rows.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from innfer_lib.core.analysis import Analysis, rate_parameter
from innfer_lib.core.errors import ConfigError, DataError
from innfer_lib.data import shifts as shift_specs
from innfer_lib.data.datasets import NOMINAL_WEIGHT, WEIGHT, WEIGHT_SHIFT, build_dataset
from innfer_lib.data.yields import lnn_factor, process_yield

SPLITS = ("train", "test", "val")
SPLIT_CODE = {name: code for code, name in enumerate(SPLITS)}
DISCARDED = -1
SIM_TYPES = ("val", "train_inf", "test_inf", "full")
POINT_TOLERANCE = 1e-7
SPLIT_COLUMN = "split"
CLASSIFIER_TRUTH = "classifier_truth"
REWEIGHT_BINS = 40
STRATA = 20
_ROW = "_split_code"


def stable_seed(*parts: object) -> list[int]:
    """A seed sequence that depends on names, stable across processes and Python versions."""
    return [zlib.crc32(str(p).encode()) for p in parts]


def weighted_mean_std(values: np.ndarray, weights: np.ndarray) -> tuple[float, float]:
    """Weighted mean and standard deviation; a constant column gets std 1 so it stays finite."""
    total = weights.sum()
    mean = float(np.sum(weights * values) / total)
    std = float(np.sqrt(max(np.sum(weights * (values - mean) ** 2) / total, 0.0)))
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


def reweight_to_shift(
    values: np.ndarray, weights: np.ndarray, spec: Mapping[str, Any], source: str
) -> np.ndarray:
    """Weights whose weighted distribution of a shifted parameter follows the shift's density.

    Weight-based nuisances tilt the weighted ν distribution away from what was drawn; a density
    trained on it would see some ν values more than others. The correction is the ratio of
    the target to the weighted histogram, interpolated between bin centres.
    """
    if len(values) == 0:
        return weights
    low, high = float(values.min()), float(values.max())
    if high <= low:
        return weights
    hist, edges = np.histogram(values, bins=REWEIGHT_BINS, range=(low, high), weights=weights)
    centres = 0.5 * (edges[1:] + edges[:-1])
    target = shift_specs.density(spec, centres, source) * np.diff(edges)
    target *= hist.sum() / target.sum()
    ratio = np.where(hist > 0, target / np.where(hist > 0, hist, 1.0), 1.0)
    return weights * np.interp(values, centres, ratio)


def standardisation_of(
    frame: pd.DataFrame, columns: Sequence[str], overrides: Mapping[str, Any] | None = None
) -> dict[str, dict[str, float]]:
    """Weighted mean and std of the training columns; config values take precedence."""
    w = frame[WEIGHT].to_numpy()
    out = {}
    for col in columns:
        if overrides and col in overrides:
            out[col] = {"mean": float(overrides[col]["mean"]), "std": float(overrides[col]["std"])}
        else:
            mean, std = weighted_mean_std(frame[col].to_numpy(), w)
            out[col] = {"mean": mean, "std": std}
    return out


def standardise(frame: pd.DataFrame, standardisation: Mapping[str, Mapping[str, float]]):
    out = frame.copy()
    for col, s in standardisation.items():
        out[col] = (out[col] - s["mean"]) / s["std"]
    return out


def minmax(frame: pd.DataFrame, columns: Sequence[str]) -> dict[str, dict[str, float]]:
    return {c: {"min": float(frame[c].min()), "max": float(frame[c].max())} for c in columns}


@dataclass
class TrainingSets:
    """Shuffled, standardised train and test sets of one model and their bookkeeping."""

    train: pd.DataFrame
    test: pd.DataFrame
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class PreprocessResult:
    """Everything the density preprocess job writes."""

    train: pd.DataFrame
    test: pd.DataFrame
    validation: dict[int, pd.DataFrame]
    parameters: dict[str, Any]


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

    # --- helpers -------------------------------------------------------------------------
    def rng(self, *parts: object) -> np.random.Generator:
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
        post_shifts: Mapping[str, Mapping[str, Any]] | None = None,
        rng_key: str = "build",
        learned: Sequence[str] = (),
    ) -> pd.DataFrame:
        """Events of `base` at a parameter point (file columns selected, the rest set).

        File-column parameters in `learned` keep all their values: a model learns them.
        """
        frame = self.loaded[base]
        mask = matches(frame, point, [p for p in self.file_params(base) if p not in learned])
        frame = frame.loc[mask].assign(**{_ROW: self.split_codes(base)[mask]})
        if splits is not None:
            frame = frame.loc[frame[_ROW].isin(list(splits))]
        all_shifts = self.fixed_shifts(base, point)
        all_shifts.update(shifts or {})
        return build_dataset(
            self.analysis,
            base,
            frame,
            self.category,
            all_shifts,
            self.rng(rng_key, base),
            n_copies=n_copies,
            post_shifts=post_shifts,
            base_dir=self.base_dir,
        )

    # --- yields --------------------------------------------------------------------------
    def yield_effect_nuisances(self) -> list[str]:
        skip = set(self.analysis.raw["preprocess"].get("no_nuisance_yield_effect", []))
        shape = self.analysis.shape_parameters(self.process, self.category)
        return [p for p in shape if p in self.analysis.nuisances and p not in skip]

    def _yield_sums(self, base: str, bins: tuple[str, np.ndarray] | None, **changes: float):
        point = dict(self.analysis.defaults)
        point.update(changes)
        events = self.build(base, point, rng_key="yields")
        if bins is None:
            return float(events[WEIGHT].sum())
        variable, edges = bins
        return np.histogram(events[variable], bins=edges, weights=events[WEIGHT])[0]

    def yields(self, base: str | None = None, bins=None, **changes: float) -> dict[str, Any]:
        """Nominal yield and the ±1σ yield ratio of every shape nuisance, plus config lnN.

        With `bins=(variable, edges)` the same per bin (for the binned fit).
        """
        base = base or self.analysis.yields_file(self.process, self.category)
        where = f"models.{self.process}.yields (files.{base}, category '{self.category}')"
        nominal = self._yield_sums(base, bins, **changes)
        if bins is None and not nominal > 0:
            raise DataError(
                f"{where}: total weight at the default point is {nominal}; the yield of a "
                "process must be positive"
            )
        lnn: dict[str, Any] = {}
        for nui in self.yield_effect_nuisances():
            down = self._yield_sums(base, bins, **{**changes, nui: -1.0})
            up = self._yield_sums(base, bins, **{**changes, nui: 1.0})
            with np.errstate(divide="ignore", invalid="ignore"):
                ratios = [
                    np.where(nominal > 0, down / np.where(nominal > 0, nominal, 1), 1.0),
                    np.where(nominal > 0, up / np.where(nominal > 0, nominal, 1), 1.0),
                ]
            if bins is None and not (ratios[0] > 0 and ratios[1] > 0):
                raise DataError(
                    f"{where}: the yield at {nui} = ±1 is {down} / {up}; it must be positive "
                    "to define a log-normal effect"
                )
            lnn[nui] = (
                [ratios[0].tolist(), ratios[1].tolist()]
                if bins
                else [
                    float(ratios[0]),
                    float(ratios[1]),
                ]
            )
        for param, kappas in self.analysis.lnn_entries(self.process, self.category).items():
            if param in lnn:
                raise ConfigError(
                    f"inference.lnN.{self.process}: '{param}' already has a yield effect "
                    "measured from the simulation; list it in "
                    "preprocess.no_nuisance_yield_effect to use the config value instead"
                )
            lnn[param] = [[k] * len(nominal) for k in kappas] if bins else kappas
        return {"nominal": nominal.tolist() if bins else nominal, "lnN": lnn}

    # --- density training sets -----------------------------------------------------------
    def learned_shifts(self, entry: Mapping[str, Any], learned: Sequence[str], where: str):
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

    def training_range(self, entry: Mapping[str, Any], learned: Sequence[str], where: str):
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

    def _flatten_by_yields(self, frame: pd.DataFrame, yields: Mapping[str, Any]) -> np.ndarray:
        """Divide out the yield's parameter dependence so the density learns only the shape."""
        factor = np.full(len(frame), float(yields["nominal"]))
        for nui, (down, up) in yields["lnN"].items():
            if nui in self.y_columns and nui in frame.columns:
                factor *= lnn_factor(frame[nui].to_numpy(np.float64), down, up)
        return frame[WEIGHT].to_numpy() / factor

    def _normalise_in(self, train: pd.DataFrame, test: pd.DataFrame, where: str):
        selections = (self.analysis.raw["preprocess"].get("normalise_training_in") or {}).get(
            self.process, []
        )
        from innfer_lib.core.expressions import evaluate

        for i, sel in enumerate(selections):
            source = f"preprocess.normalise_training_in.{self.process}[{i}]"
            mask_train = evaluate(train, sel, source).to_numpy(bool)
            mask_test = evaluate(test, sel, source).to_numpy(bool)
            total = float(train.loc[mask_train, WEIGHT].sum())
            if not total > 0:
                raise DataError(f"{where}: {source} selects training weight {total}")
            train.loc[mask_train, WEIGHT] /= total
            test.loc[mask_test, WEIGHT] /= total

    def _finish(
        self,
        train: pd.DataFrame,
        test: pd.DataFrame,
        columns: Sequence[str],
        standardised: Sequence[str],
        overrides: Mapping[str, Any] | None,
        where: str,
        key: str,
    ) -> TrainingSets:
        """Common tail: mean-one weights, standardisation, min/max and a seeded shuffle."""
        if len(train) == 0 or len(test) == 0:
            raise DataError(
                f"{where}: the train/test split left {len(train)} training and {len(test)} test "
                "events"
            )
        total = float(train[WEIGHT].sum())
        if not total > 0:
            raise DataError(f"{where}: the training events have total weight {total}")
        # Training weights only set the relative importance of events: scale them to mean 1 so
        # the loss is O(1) whatever the physical normalisation of the sample.
        scale = len(train) / total
        keep = [*columns, WEIGHT, *self.extra_columns]
        train = train[keep].assign(**{WEIGHT: train[WEIGHT] * scale})
        test = test[keep].assign(**{WEIGHT: test[WEIGHT] * scale})
        initial = minmax(train, [*columns, WEIGHT])
        stand = standardisation_of(train, standardised, overrides)
        rng = self.rng("shuffle", key)
        train = standardise(train, stand).iloc[rng.permutation(len(train))]
        test = standardise(test, stand).iloc[rng.permutation(len(test))]
        info = {
            "standardisation": stand,
            "initial_minmax": initial,
            "minmax": minmax(train, columns),
            "events": {"train": len(train), "test": len(test)},
            "effective_events": {
                "train": effective_events(train[WEIGHT].to_numpy()),
                "test": effective_events(test[WEIGHT].to_numpy()),
            },
        }
        return TrainingSets(train.reset_index(drop=True), test.reset_index(drop=True), info)

    def _standardisation_overrides(self, kind: str, parameter: str | None = None):
        values = (
            (self.analysis.raw["preprocess"].get("standardisation") or {})
            .get(self.process, {})
            .get(self.category, {})
            .get(kind, {})
        )
        return values.get(parameter, {}) if parameter else values

    def density_sets(self, yields: Mapping[str, Any]) -> TrainingSets:
        """Training and test events of the density model, weighted for shape learning."""
        entry = self.analysis.density_entry(self.process, self.category)
        where = f"models.{self.process}.density_models (category '{self.category}')"
        specs = self.learned_shifts(entry, self.y_columns, where)
        sets = {}
        for name in ("train", "test"):
            events = self.build(
                entry["file"],
                self.analysis.defaults,
                shifts=specs,
                splits=[SPLIT_CODE[name]],
                n_copies=int(entry.get("n_copies", 1)),
                rng_key=f"density_{name}",
                learned=self.y_columns,
            )
            events[WEIGHT] = self._flatten_by_yields(events, yields)
            for p, spec in specs.items():
                if p in self.y_columns and spec["type"] in shift_specs.RANDOM_TYPES:
                    events[WEIGHT] = reweight_to_shift(
                        events[p].to_numpy(), events[WEIGHT].to_numpy(), spec, f"{where}.{p}"
                    )
            sets[name] = events
        self._normalise_in(sets["train"], sets["test"], where)
        columns = [*self.analysis.variables, *self.y_columns]
        result = self._finish(
            sets["train"],
            sets["test"],
            columns,
            columns,
            self._standardisation_overrides("density"),
            where,
            "density",
        )
        result.info.update(
            {
                "X_columns": list(self.analysis.variables),
                "Y_columns": list(self.y_columns),
                "extra_columns": list(self.extra_columns),
                "shifts": specs,
                "training_range": self.training_range(entry, self.y_columns, where),
            }
        )
        return result

    # --- regression and classifier training sets ------------------------------------------
    def aux_sets(self, kind: str, parameter: str) -> TrainingSets:
        """Training sets of a regression (weight ratio) or classifier (shifted vs nominal) model.

        Regression: X = variables + ν, target `wt_shift` = w(ν)/w(nominal), weight = nominal
        weight. Classifier: class 1 has ν drawn from its spec with the shifted weights, class 0
        the nominal events with ν re-drawn from the same spec, classes balanced in weight.
        """
        entries = self.analysis.aux_entries(self.process, kind, self.category)
        if parameter not in entries:
            raise ConfigError(
                f"models.{self.process}.{kind}_models: no entry for parameter '{parameter}' in "
                f"category '{self.category}'"
            )
        entry = entries[parameter]
        where = f"models.{self.process}.{kind}_models[{parameter}] (category '{self.category}')"
        specs = self.learned_shifts(entry, [parameter], where)
        if parameter not in specs:
            raise ConfigError(f"{where}: '{parameter}' needs a `shifts` entry to be varied")
        n_copies = int(entry.get("n_copies", 1))
        columns = [*self.analysis.variables, parameter]
        sets = {}
        for name in ("train", "test"):
            common = dict(splits=[SPLIT_CODE[name]], n_copies=n_copies, learned=[parameter])
            if kind == "regression":
                events = self.build(
                    entry["file"],
                    self.analysis.defaults,
                    shifts=specs,
                    rng_key=f"reg_{name}",
                    **common,
                )
                events[WEIGHT] = events[NOMINAL_WEIGHT]
            else:
                shifted = self.build(
                    entry["file"],
                    self.analysis.defaults,
                    shifts=specs,
                    rng_key=f"clf1_{name}",
                    **common,
                )
                nominal = self.build(
                    entry["file"],
                    self.analysis.defaults,
                    post_shifts={parameter: specs[parameter]},
                    rng_key=f"clf0_{name}",
                    **common,
                )
                parts = []
                for truth, events in ((1.0, shifted), (0.0, nominal)):
                    if specs[parameter]["type"] in shift_specs.RANDOM_TYPES:
                        events[WEIGHT] = reweight_to_shift(
                            events[parameter].to_numpy(),
                            events[WEIGHT].to_numpy(),
                            specs[parameter],
                            where,
                        )
                    parts.append(events.assign(**{CLASSIFIER_TRUTH: truth}))
                events = pd.concat(parts, ignore_index=True)
            sets[name] = events
        if kind == "classifier":
            truth = sets["train"][CLASSIFIER_TRUTH].to_numpy()
            sums = [float(sets["train"].loc[truth == c, WEIGHT].sum()) for c in (0.0, 1.0)]
            if min(sums) <= 0:
                raise DataError(f"{where}: a class has total training weight {sums}")
            for frame in sets.values():
                for c, total in zip((0.0, 1.0), sums, strict=True):
                    frame.loc[frame[CLASSIFIER_TRUTH] == c, WEIGHT] *= max(sums) / total
            target, standardised = CLASSIFIER_TRUTH, columns
        else:
            target, standardised = WEIGHT_SHIFT, [*columns, WEIGHT_SHIFT]
        result = self._finish(
            sets["train"],
            sets["test"],
            [*columns, target],
            standardised,
            self._standardisation_overrides(kind, parameter),
            where,
            f"{kind}_{parameter}",
        )
        result.info.update(
            {
                "kind": kind,
                "conditional_variable": parameter,
                "X_columns": columns,
                "y_columns": [target],
                "shifts": specs,
                "training_range": self.training_range(entry, [parameter], where),
            }
        )
        return result

    # --- validation sets -----------------------------------------------------------------
    def check_point_in_range(self, index: int, point: Mapping[str, float], ranges) -> None:
        for p, (low, high) in ranges.items():
            value = point[p]
            if value < low - POINT_TOLERANCE or value > high + POINT_TOLERANCE:
                raise DataError(
                    f"validation.loop[{index}]: {p} = {value:g} is outside the range the density "
                    f"of '{self.process}' is trained on ([{low:g}, {high:g}] in category "
                    f"'{self.category}'); a fit there would extrapolate the model"
                )

    def validation_sets(self, ranges: Mapping[str, Sequence[float]]):
        """One event set per validation point, raw X, with the split each event belongs to."""
        base = self.analysis.validation_file(self.process, self.category)
        columns = [*self.analysis.variables, *self.y_columns]
        sets: dict[int, pd.DataFrame] = {}
        eff: dict[str, dict[int, float]] = {t: {} for t in SIM_TYPES}
        for index, point in enumerate(self.analysis.validation_points):
            self.check_point_in_range(index, point, ranges)
            events = self.build(base, point, rng_key=f"val_{index}")
            events = events.loc[events[_ROW] != DISCARDED]
            frame = events[[*columns, WEIGHT, *self.extra_columns]].reset_index(drop=True)
            frame[SPLIT_COLUMN] = events[_ROW].to_numpy()
            sets[index] = frame
            for sim_type in SIM_TYPES:
                sel = sim_type_mask(frame[SPLIT_COLUMN].to_numpy(), sim_type)
                eff[sim_type][index] = effective_events(frame.loc[sel, WEIGHT].to_numpy())
        return sets, eff

    # --- binned fit ----------------------------------------------------------------------
    def binned_fit(self, validation: Mapping[int, pd.DataFrame], yields) -> dict[str, Any]:
        """Per-bin yields (with lnN) and per-bin validation counts for a binned likelihood."""
        spec = self.analysis.binned_fit
        if not spec or not self.analysis.binned_fit_files(self.process, self.category):
            return {}
        base = self.analysis.binned_fit_files(self.process, self.category)[0]
        binning = spec["input"][self.category]
        variable, edges = binning["variable"], np.asarray(binning["binning"], dtype=np.float64)
        pois = [p for p in self.analysis.pois if p in self.y_columns]
        values = spec.get("shape_poi_values") or []
        if len(pois) > 1:
            raise ConfigError("inference.binned_fit: only one shape POI is supported")
        per_value = {}
        if pois and values:
            for v in values:
                per_value[float(v)] = self.yields(base, bins=(variable, edges), **{pois[0]: v})
        else:
            per_value["all"] = self.yields(base, bins=(variable, edges))
        bins = []
        for i in range(len(edges) - 1):
            bins.append(
                {
                    "bin_ind": i,
                    "selection": f"({variable} >= {edges[i]!r}) & ({variable} < {edges[i + 1]!r})",
                    "yields": {
                        key: {
                            "nominal": y["nominal"][i],
                            "lnN": {n: [k[0][i], k[1][i]] for n, k in y["lnN"].items()},
                        }
                        for key, y in per_value.items()
                    },
                }
            )
        counts: dict[str, dict[int, list[float]]] = {t: {} for t in SIM_TYPES}
        for index, frame in validation.items():
            point = self.analysis.validation_points[index]
            for sim_type in SIM_TYPES:
                sel = sim_type_mask(frame[SPLIT_COLUMN].to_numpy(), sim_type)
                w = frame.loc[sel, WEIGHT].to_numpy()
                total = w.sum()
                expected = process_yield(yields, point, self.rate)
                w = w * (expected / total) if total != 0 else w
                hist = np.histogram(frame.loc[sel, variable], bins=edges, weights=w)[0]
                counts[sim_type][index] = hist.tolist()
        return {
            "binned_fit_input": bins,
            "binned_fit_variable": variable,
            "binned_fit_edges": edges.tolist(),
            "validation_binned_fit": counts,
        }


def preprocess(
    analysis: Analysis,
    process: str,
    category: str,
    loaded: Mapping[str, pd.DataFrame],
    seed: int,
    base_dir: str | None = None,
) -> PreprocessResult:
    """Build the density training, test and validation sets and `parameters.yaml`.

    Args:
        analysis: the analysis config.
        process: the model (process) name.
        category: the category name.
        loaded: LoadData outputs keyed by `files` name.
        seed: the workflow seed; combined with the names so every job has its own stream.
        base_dir: directory that relative function-module paths are resolved against.
    """
    pre = Preprocessor(analysis, process, category, loaded, seed, base_dir)
    yields = pre.yields()
    density = pre.density_sets(yields)
    validation, eff = pre.validation_sets(density.info["training_range"])
    parameters = {
        "file_name": process,
        "category": category,
        "yields": yields,
        "rate_parameter": pre.rate,
        "eff_events": eff,
        "density": density.info,
        "regression_models": sorted(analysis.aux_entries(process, "regression", category)),
        "classifier_models": sorted(analysis.aux_entries(process, "classifier", category)),
        "validation_points": {
            i: {k: point[k] for k in analysis.process_parameters(process)}
            for i, point in enumerate(analysis.validation_points)
        },
        "events": density.info["events"],
    }
    parameters.update(pre.binned_fit(validation, yields))
    return PreprocessResult(
        train=density.train, test=density.test, validation=validation, parameters=parameters
    )


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
    sel = sim_type_mask(frame[SPLIT_COLUMN].to_numpy(), sim_type)
    x = frame.loc[sel, parameters["density"]["X_columns"]].to_numpy(np.float64)
    w = frame.loc[sel, WEIGHT].to_numpy(np.float64)
    total = w.sum()
    expected = process_yield(parameters["yields"], point, parameters.get("rate_parameter"))
    if len(w) and total != 0:
        w = w * (expected / total)
    return x, w
