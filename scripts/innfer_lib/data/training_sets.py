"""The train and test sets a model learns from: density, regression and classifier models.

All three are events of the model's file at the default point with the learned parameters
spread by their shifts, on the model's share of the split; they differ in what the weight and
target are. A density learns shape only, so the yield's parameter dependence is divided out and
the weighted distribution of a shifted parameter is made to follow its spec again (INNFER
multiplied by the effective event count instead). Every set ends the same way: mean-one weights,
weighted standardisation, min/max and a seeded shuffle.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from innfer_lib.core.errors import ConfigError, DataError
from innfer_lib.core.expressions import mask
from innfer_lib.data import shifts as shift_specs
from innfer_lib.data.preprocessor import Preprocessor
from innfer_lib.data.pretransforms import fit_pretransform
from innfer_lib.data.schema import CLASSIFIER_TRUTH, NOMINAL_WEIGHT, WEIGHT, WEIGHT_SHIFT
from innfer_lib.data.splits import SPLIT_CODE
from innfer_lib.data.validation_sets import check_validation_points
from innfer_lib.data.weighted_stats import (
    effective_events,
    minmax,
    reweight_to_shift,
    standardisation_of,
    standardise,
)
from innfer_lib.data.yields import lnn_factor


@dataclass
class TrainingSets:
    """Shuffled, standardised train and test sets of one model and their bookkeeping."""

    train: pd.DataFrame
    test: pd.DataFrame
    info: dict[str, Any] = field(default_factory=dict)


def _flatten_by_yields(
    pre: Preprocessor, frame: pd.DataFrame, yields: Mapping[str, Any]
) -> np.ndarray:
    """Divide out the yield's parameter dependence so the density learns only the shape."""
    factor = np.full(len(frame), float(yields["nominal"]))
    for nui, (down, up) in yields["lnN"].items():
        if nui in pre.y_columns and nui in frame.columns:
            factor *= lnn_factor(frame[nui].to_numpy(np.float64), down, up)
    return frame[WEIGHT].to_numpy() / factor


def _normalise_in(pre: Preprocessor, train: pd.DataFrame, test: pd.DataFrame, where: str) -> None:
    """Scale the weights inside each `normalise_training_in` selection to a training sum of 1."""
    selections = (pre.analysis.raw["preprocess"].get("normalise_training_in") or {}).get(
        pre.process, []
    )
    for i, sel in enumerate(selections):
        source = f"preprocess.normalise_training_in.{pre.process}[{i}]"
        mask_train = mask(train, sel, source)
        mask_test = mask(test, sel, source)
        total = float(train.loc[mask_train, WEIGHT].sum())
        if not total > 0:
            raise DataError(f"{where}: {source} selects training weight {total}")
        train.loc[mask_train, WEIGHT] /= total
        test.loc[mask_test, WEIGHT] /= total


def _finish(
    pre: Preprocessor,
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
            f"{where}: the train/test split left {len(train)} training and {len(test)} test events"
        )
    total = float(train[WEIGHT].sum())
    if not total > 0:
        raise DataError(f"{where}: the training events have total weight {total}")
    # Training weights only set the relative importance of events: scale them to mean 1 so
    # the loss is O(1) whatever the physical normalisation of the sample.
    scale = len(train) / total
    keep = [*columns, WEIGHT, *pre.extra_columns]
    train = train[keep].assign(**{WEIGHT: train[WEIGHT] * scale})
    test = test[keep].assign(**{WEIGHT: test[WEIGHT] * scale})
    initial = minmax(train, [*columns, WEIGHT])
    stand = standardisation_of(train, standardised, overrides)
    rng = pre.rng("shuffle", key)
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


def _standardisation_overrides(
    pre: Preprocessor, kind: str, parameter: str | None = None
) -> Mapping[str, Any]:
    """`preprocess.standardisation` values the config fixes for this model."""
    values = (
        (pre.analysis.raw["preprocess"].get("standardisation") or {})
        .get(pre.process, {})
        .get(pre.category, {})
        .get(kind, {})
    )
    return values.get(parameter, {}) if parameter else values


def density_sets(pre: Preprocessor, yields: Mapping[str, Any]) -> TrainingSets:
    """Training and test events of the density model, weighted for shape learning."""
    entry = pre.analysis.density_entry(pre.process, pre.category)
    where = f"models.{pre.process}.density_models (category '{pre.category}')"
    specs = pre.learned_shifts(entry, pre.y_columns, where)
    pooled = pre.pooled(entry, pre.y_columns, where)
    sets = {}
    for name in ("train", "test"):
        events = pre.build(
            entry["file"],
            pre.analysis.defaults,
            shifts=specs,
            splits=[SPLIT_CODE[name]],
            n_copies=int(entry.get("n_copies", 1)),
            rng_key=f"density_{name}",
            learned=[*pre.y_columns, *pooled],
        )
        events[WEIGHT] = _flatten_by_yields(pre, events, yields)
        for p, spec in specs.items():
            if p in pre.y_columns and spec["type"] in shift_specs.RANDOM_TYPES:
                events[WEIGHT] = reweight_to_shift(
                    events[p].to_numpy(), events[WEIGHT].to_numpy(), spec, f"{where}.{p}"
                )
        sets[name] = events
    _normalise_in(pre, sets["train"], sets["test"], where)
    columns = [*pre.analysis.variables, *pre.y_columns]
    result = _finish(
        pre,
        sets["train"],
        sets["test"],
        columns,
        columns,
        _standardisation_overrides(pre, "density"),
        where,
        "density",
    )
    variables = list(pre.analysis.variables)
    options = pre.analysis.raw["preprocess"]
    pretransform = fit_pretransform(
        result.train[variables].to_numpy(np.float64),
        result.train[WEIGHT].to_numpy(np.float64),
        variables,
        gaussianise=bool(options.get("density_pretransform_to_gaussian", False)),
        pca_whitening=bool(options.get("density_pretransform_pca_whitening", False)),
    )
    if pretransform is not None:
        result.info["pretransform"] = pretransform
    result.info.update(
        {
            "X_columns": list(pre.analysis.variables),
            "Y_columns": list(pre.y_columns),
            "extra_columns": list(pre.extra_columns),
            "shifts": specs,
            "training_range": pre.training_range(entry, pre.y_columns, where),
            "pool_over": pooled,
        }
    )
    return result


def aux_sets(pre: Preprocessor, kind: str, parameter: str) -> TrainingSets:
    """Training sets of a regression (weight ratio) or classifier (shifted vs nominal) model.

    Regression: X = variables + ν, target `wt_shift` = w(ν)/w(nominal), weight = nominal
    weight. Classifier: class 1 has ν drawn from its spec with the shifted weights, class 0
    the nominal events, classes balanced in weight.

    Each nominal event carries the ν its own shifted copy was drawn with (before any selection),
    where INNFER drew it again. Both give class 0 the same distribution of (x, ν), so the same
    best classifier, r(x, ν) up to a constant; paired, the two classes differ only by the weight
    ratio at every (x, ν) drawn, which removes the labels' sampling noise from what the network
    learns. On the shape benchmark (60 epochs, 1,300-event fits against the exact ratio) the
    worst ν̂ offset at Y1 = 171 went from −0.33 σ to −0.07 σ and σ_L/σ_T at Y1 = 172.5 from
    1.03–1.06 to 1.00–1.02.
    """
    entries = pre.analysis.aux_entries(pre.process, kind, pre.category)
    if parameter not in entries:
        raise ConfigError(
            f"models.{pre.process}.{kind}_models: no entry for parameter '{parameter}' in "
            f"category '{pre.category}'"
        )
    entry = entries[parameter]
    where = f"models.{pre.process}.{kind}_models[{parameter}] (category '{pre.category}')"
    specs = pre.learned_shifts(entry, [parameter], where)
    if parameter not in specs:
        raise ConfigError(f"{where}: '{parameter}' needs a `shifts` entry to be varied")
    pooled = pre.pooled(entry, [parameter], where)
    training_range = pre.training_range(entry, [parameter], where)
    check_validation_points(pre, training_range, f"{kind} model of '{parameter}'")
    n_copies = int(entry.get("n_copies", 1))
    columns = [*pre.analysis.variables, parameter]
    sets = {}
    for name in ("train", "test"):
        # The model's file at the default point on this split, ν learned: only the shifts and
        # the stream differ between the regression and the two classifier classes.
        draw = functools.partial(
            pre.build,
            entry["file"],
            pre.analysis.defaults,
            splits=[SPLIT_CODE[name]],
            n_copies=n_copies,
            learned=[parameter, *pooled],
        )
        if kind == "regression":
            events = draw(shifts=specs, rng_key=f"reg_{name}")
            events[WEIGHT] = events[NOMINAL_WEIGHT]
        else:
            drawn: dict[str, np.ndarray] = {}
            shifted = draw(shifts=specs, rng_key=f"clf1_{name}", record_draws=drawn)
            nominal = draw(post_values={parameter: drawn[parameter]}, rng_key=f"clf0_{name}")
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
    result = _finish(
        pre,
        sets["train"],
        sets["test"],
        [*columns, target],
        standardised,
        _standardisation_overrides(pre, kind, parameter),
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
            "training_range": training_range,
            "pool_over": pooled,
        }
    )
    return result
