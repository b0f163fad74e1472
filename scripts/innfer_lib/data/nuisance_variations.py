"""Nuisance variations: the validation events of a process with nuisances at ±1σ.

INNFER's PreProcess wrote, for every nuisance ν of a process, the default point's validation
events with ν = +1 and ν = −1 (`<ν>_up`, `<ν>_down`), each normalised to the yield at that
point, and optionally every pair of nuisances at (±1, ±1) (`<ν1>_<s1>_<ν2>_<s2>`, names
sorted). They show what each systematic does to the simulation, and are what the model's
Asimov sample at the same point (MakeAsimovNuisanceVariations) is compared with.

Here a variation is a parameter point like a validation point, built by the same code
(`validation_sets.point_set`): every parameter at its default except the varied nuisances. A
nuisance stored as a file column is therefore *selected* at ±1, as the yields are measured.
The sets of one process, category and order (`single` or `double`) go to one file with a
`variation` column, because the Asimov job that mirrors them samples one learned model for
all of them. The weights are stored unnormalised, like a validation set's, and normalised per
sim type when read (`variation_sample`), so `full`, `val`, `train_inf` and `test_inf` each
sum to Yield(ν = ±1) with the correct (continuous) asymmetric log-normal interpolation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations, product
from typing import Any

import numpy as np
import pandas as pd

from innfer_lib.core.analysis import Analysis
from innfer_lib.core.errors import ConfigError, DataError
from innfer_lib.data.preprocessor import Preprocessor
from innfer_lib.data.validation_sets import point_set, validation_sample

#: Direction name -> nuisance value.
DIRECTIONS = {"up": 1.0, "down": -1.0}
SINGLE = "single"
DOUBLE = "double"
#: The `{order}` of a variation file: one nuisance at a time, or pairs of nuisances.
ORDERS = (SINGLE, DOUBLE)
#: Column of a variation file (data or Asimov) that names the variation of each event.
VARIATION_COLUMN = "variation"


@dataclass(frozen=True)
class Variation:
    """Nuisances moved to ±1σ together, all else at the defaults.

    Attributes:
        shifts: (nuisance, direction) pairs, sorted by nuisance; direction is a key of
            `DIRECTIONS`.
    """

    shifts: tuple[tuple[str, str], ...]

    def __post_init__(self) -> None:
        names = [n for n, _ in self.shifts]
        if names != sorted(set(names)):
            raise ValueError(f"variation {self.shifts}: nuisances must be distinct and sorted")
        for name, direction in self.shifts:
            if direction not in DIRECTIONS:
                raise ValueError(f"variation of '{name}': direction {direction!r} not in up/down")

    @property
    def tag(self) -> str:
        """The variation's name: `jes_up`, or `isr_down_jes_up` for a pair (INNFER's names)."""
        return "_".join(f"{name}_{direction}" for name, direction in self.shifts)

    @property
    def order(self) -> str:
        return SINGLE if len(self.shifts) == 1 else DOUBLE

    @property
    def values(self) -> dict[str, float]:
        """{nuisance: ±1.0}: what the variation sets."""
        return {name: DIRECTIONS[direction] for name, direction in self.shifts}


def process_nuisances(analysis: Analysis, process: str, category: str) -> list[str]:
    """Nuisances that change a process in a category: its shape nuisances and its lnN ones.

    A shape nuisance moves the process's distribution (a density parameter, or the parameter
    of a regression or classifier model); an `inference.lnN` nuisance only scales its yield,
    which the variation sets still show (their normalisation). Others do not touch it.
    """
    shape = set(analysis.shape_parameters(process, category)) & set(analysis.nuisances)
    rate = set(analysis.lnn_entries(process, category))
    return sorted(shape | rate)


def single_variations(nuisances: Sequence[str]) -> list[Variation]:
    """Each nuisance up, then down."""
    return [Variation(((n, d),)) for n in sorted(nuisances) for d in DIRECTIONS]


def double_variations(nuisances: Sequence[str]) -> list[Variation]:
    """Every pair of nuisances (names sorted) in its four directions.

    INNFER's MakeAsimovNuisanceDoubleVariations moved the first two nuisances of the config
    whatever the pair it was looping over; here each variation carries its own pair.
    """
    return [
        Variation(((a, da), (b, db)))
        for a, b in combinations(sorted(nuisances), 2)
        for da, db in product(DIRECTIONS, DIRECTIONS)
    ]


def variations(analysis: Analysis, process: str, category: str, order: str) -> list[Variation]:
    """The variations of one order of a process in a category (none without nuisances).

    Raises:
        ValueError: an order that is not one of `ORDERS`.
        ConfigError: two variations with the same name (a nuisance named like `<ν>_up_<ν2>`),
            which would share their files.
    """
    if order not in ORDERS:
        raise ValueError(f"nuisance variation order {order!r} is not one of {ORDERS}")
    nuisances = process_nuisances(analysis, process, category)
    found = single_variations(nuisances) if order == SINGLE else double_variations(nuisances)
    tags: dict[str, Variation] = {}
    for variation in [*single_variations(nuisances), *double_variations(nuisances)]:
        other = tags.setdefault(variation.tag, variation)
        if other != variation:
            raise ConfigError(
                f"{analysis.source}: nuisances: the variations {other.shifts} and "
                f"{variation.shifts} of process '{process}' are both named '{variation.tag}'; "
                "rename a nuisance"
            )
    return found


def variation_specs(variations_: Sequence[Variation]) -> dict[str, dict[str, float]]:
    """{tag: {nuisance: ±1}}: the variations as a job receives them (plain, comparable data)."""
    return {v.tag: v.values for v in variations_}


def variation_point(defaults: Mapping[str, float], values: Mapping[str, float]) -> dict[str, float]:
    """The full parameter point of a variation: the defaults with its nuisances set."""
    unknown = sorted(set(values) - set(defaults))
    if unknown:
        raise ConfigError(f"nuisance variation: {unknown} are not parameters of the analysis")
    return {**defaults, **values}


def variation_sets(pre: Preprocessor, specs: Mapping[str, Mapping[str, float]]) -> pd.DataFrame:
    """The validation events of the job's process at every variation, in one table.

    Args:
        pre: the PreProcess job (process, category, loaded files, seed); its splits are the
            validation sets' own, so `val` events were never trained on.
        specs: {tag: {nuisance: ±1}} (`variation_specs`).

    Returns:
        The rows of every variation (`validation_sets.point_set` columns) with the
        `VARIATION_COLUMN`, in the order of `specs`; the weights are not normalised.
    """
    if not specs:
        raise ConfigError(
            f"process '{pre.process}', category '{pre.category}': no nuisance variations to build"
        )
    frames = {
        tag: point_set(
            pre, variation_point(pre.analysis.defaults, values), rng_key=f"variation_{tag}"
        )
        for tag, values in specs.items()
    }
    return stack_variations(frames)


def stack_variations(frames: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """One table of the events of every variation, {tag: events}, tagged by `VARIATION_COLUMN`.

    The column is a categorical of every tag, so the file records which variations it holds
    even when one of them has no events. The data and the Asimov files are both written so.
    """
    tags = list(frames)
    if not tags:
        raise ValueError("stack_variations: no variations")
    stacked = pd.concat(
        [frame.assign(**{VARIATION_COLUMN: tag}) for tag, frame in frames.items()],
        ignore_index=True,
    )
    stacked[VARIATION_COLUMN] = pd.Categorical(stacked[VARIATION_COLUMN], categories=tags)
    return stacked


def variation_rows(frame: pd.DataFrame, tag: str, where: str) -> pd.DataFrame:
    """The rows of one variation of a variation file (data or Asimov); none if it is empty.

    Raises:
        DataError: the file has no `VARIATION_COLUMN`, or was written for other variations.
    """
    if VARIATION_COLUMN not in frame.columns:
        raise DataError(f"{where}: no '{VARIATION_COLUMN}' column; not a nuisance variation file")
    column = frame[VARIATION_COLUMN]
    # A file with no events at all keeps no names (parquet drops an empty dictionary).
    known = list(column.cat.categories) if isinstance(column.dtype, pd.CategoricalDtype) else []
    if len(frame) and tag not in known:
        raise DataError(f"{where}: no variation '{tag}' (the file has {known})")
    return frame.loc[(column == tag).to_numpy()].reset_index(drop=True)


def variation_sample(
    frame: pd.DataFrame,
    parameters: Mapping,
    defaults: Mapping[str, float],
    tag: str,
    values: Mapping[str, float],
    sim_type: str = "val",
    where: str = "nuisance variations",
) -> tuple[np.ndarray, np.ndarray]:
    """X and weights of one variation's sim type, normalised to the yield at the variation.

    Args:
        frame: a variation file (`variation_sets`).
        parameters: the process's `parameters.yaml` (X columns, yields, rate parameter).
        defaults: the analysis's default point.
        tag: the variation.
        values: its nuisance values {nuisance: ±1}.
        sim_type: val, train_inf, test_inf or full.
        where: the file, for messages.
    """
    rows = variation_rows(frame, tag, where)
    return validation_sample(rows, parameters, variation_point(defaults, values), sim_type)


def variation_label(values: Mapping[str, float], label: Callable[[str], str] = str) -> str:
    """Legend text of a variation, e.g. `JES shift [σ] = +1, isr = -1` (`label` names a column)."""
    return ", ".join(f"{label(name)} = {value:+g}" for name, value in values.items())


def variation_samples(
    frame: pd.DataFrame,
    parameters: Mapping,
    defaults: Mapping[str, float],
    specs: Mapping[str, Mapping[str, float]],
    label: Callable[[str], str] = str,
    sim_type: str = "val",
    where: str = "nuisance variations",
) -> list[dict[str, Any]]:
    """`{"label", "x", "w"}` per variation of `specs`, each normalised to its yield, in order.

    What the input plots (`plots.inputs.validation_distribution_plot`) draw beside the
    nominal events.
    """
    samples = []
    for tag, values in specs.items():
        x, w = variation_sample(frame, parameters, defaults, tag, values, sim_type, where)
        samples.append({"label": variation_label(values, label), "x": x, "w": w})
    return samples
