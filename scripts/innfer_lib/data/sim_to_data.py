"""Simulation-to-data normalisation: INNFER's SimToDataFactors and `--sim-to-data-norm`.

A process whose cross section is poorly known (a background from a control region, say) can be
normalised to the data: per group of categories, the chosen processes get one factor

    f = (Σ data − Σ nominal of the other processes) / Σ nominal of the chosen processes,

so that the simulation's total over the group's categories equals the data's. The factors are
always written (a diagnostic of how far the simulation is from the data); with `apply`, the
factor multiplies the yields of the chosen processes in `parameters.yaml` (`apply_factor`). That
file is the one every consumer of yields reads (fits, Asimov samples, pseudo-data, plots), so the
factor is applied once and every step sees the same normalisation, as INNFER's YieldsCollect
did by writing it into the merged parameters.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from innfer_lib.core.config_files import ConfigKeyError, unknown_name_message
from innfer_lib.core.errors import DataError
from innfer_lib.core.io import read_parquet, read_yaml
from innfer_lib.data.data_events import event_weights

#: `processes: all`: every process gets the factor.
ALL_PROCESSES = "all"
#: Joins the categories of a group into its name (the `{group}` wildcard, the file name).
GROUP_SEPARATOR = "+"
#: The workflow-config key of the block.
BLOCK = "sim_to_data"


def group_name(group: Sequence[str]) -> str:
    """The name of a group of categories: its categories joined by `+` (a lone category's own
    name, INNFER's `normalisation_factors_<category>.yaml`)."""
    return GROUP_SEPARATOR.join(group)


@dataclass(frozen=True)
class SimToDataOptions:
    """The checked `sim_to_data` block of the workflow config."""

    groups: tuple[tuple[str, ...], ...]
    processes: tuple[str, ...]
    apply: bool

    @property
    def names(self) -> dict[str, tuple[str, ...]]:
        """{group name: its categories}, in config order."""
        return {group_name(g): g for g in self.groups}

    def group_of(self, category: str) -> str | None:
        """The name of the group holding `category`, or None when it is normalised in none."""
        for group in self.groups:
            if category in group:
                return group_name(group)
        return None


def sim_to_data_options(
    block: Mapping[str, Any], categories: Sequence[str], processes: Sequence[str]
) -> SimToDataOptions:
    """Check the `sim_to_data` block against the analysis and fill its defaults.

    `groups` left out (or null) puts each category in its own group; `processes: all` selects
    every process.

    Raises:
        ConfigKeyError: at the key, naming an unknown category or process, a category listed
            twice, or a selection that leaves no process to normalise.
    """
    groups = block.get("groups")
    if groups is None:
        groups = [[c] for c in categories]
    seen: dict[str, int] = {}
    for i, group in enumerate(groups):
        for category in group:
            path = (BLOCK, "groups", i)
            if category not in categories:
                raise ConfigKeyError(path, unknown_name_message(category, "category", categories))
            if category in seen:
                raise ConfigKeyError(
                    path,
                    f"category '{category}' is already in group {seen[category]}; a category "
                    "is normalised in at most one group",
                )
            seen[category] = i
    chosen = block.get("processes", ALL_PROCESSES)
    if chosen == ALL_PROCESSES:
        chosen = list(processes)
    for process in chosen:
        if process not in processes:
            raise ConfigKeyError(
                (BLOCK, "processes"), unknown_name_message(process, "process", processes)
            )
    return SimToDataOptions(
        groups=tuple(tuple(g) for g in groups),
        processes=tuple(p for p in processes if p in chosen),
        apply=bool(block.get("apply", False)),
    )


def normalisation_factors(
    group: Sequence[str],
    chosen: Sequence[str],
    data_sums: Mapping[str, float],
    nominal: Mapping[str, Mapping[str, float]],
) -> dict[str, Any]:
    """The factor of one group of categories, with the sums it comes from.

    Args:
        group: the group's categories.
        chosen: the processes that get the factor; the others keep 1.
        data_sums: Σ data event weights per category (the event count for unweighted data).
        nominal: {category: {process: nominal yield}} from each `parameters.yaml`.

    Returns:
        `{group, processes, factor, sums: {data, normalised, others}, categories: {category:
        {data, processes: {process: {factor, sum}}}}}`: INNFER's `{cat: {process: {factor,
        sum}}}` under `categories`, and the group's totals.

    Raises:
        DataError: the chosen processes have no nominal yield in the group, or the data do not
            exceed the other processes' yield (the factor would be ≤ 0), naming the categories
            and the numbers.
    """
    where = f"sim_to_data group {list(group)}"
    for category in group:
        if category not in data_sums or category not in nominal:
            raise DataError(f"{where}: no data sum or nominal yields for category '{category}'")
    data = sum(float(data_sums[c]) for c in group)
    normalised = sum(float(y) for c in group for p, y in nominal[c].items() if p in chosen)
    others = sum(float(y) for c in group for p, y in nominal[c].items() if p not in chosen)
    if not normalised > 0:
        raise DataError(
            f"{where}: the processes to normalise {list(chosen)} have a total nominal yield of "
            f"{normalised:g}; the factor (data − others)/normalised is undefined"
        )
    factor = (data - others) / normalised
    if not factor > 0:
        raise DataError(
            f"{where}: the data sum {data:g} does not exceed the nominal yield {others:g} of "
            f"the processes that are not normalised; the factor ({data:g} − {others:g}) / "
            f"{normalised:g} = {factor:g} would be ≤ 0 (normalise more processes, or check "
            "the data selection)"
        )
    categories = {
        c: {
            "data": float(data_sums[c]),
            "processes": {
                p: {"factor": factor if p in chosen else 1.0, "sum": float(y)}
                for p, y in nominal[c].items()
            },
        }
        for c in group
    }
    return {
        "group": list(group),
        "processes": list(chosen),
        "factor": factor,
        "sums": {"data": data, "normalised": normalised, "others": others},
        "categories": categories,
    }


def nominal_yield(path: str, where: str) -> float:
    """`yields.nominal` of a `parameters.yaml`, or an error naming the file."""
    try:
        return float(read_yaml(path)["yields"]["nominal"])
    except (KeyError, TypeError) as err:
        raise DataError(f"{where}: {path} has no yields.nominal") from err


def group_factors(
    group: Sequence[str],
    chosen: Sequence[str],
    data_files: Mapping[str, str],
    parameter_files: Mapping[str, Mapping[str, str]],
) -> dict[str, Any]:
    """`normalisation_factors` of one group from its files.

    Args:
        group: the group's categories.
        chosen: the processes that get the factor.
        data_files: the observed data (DataCategories) per category; Σ of `event_weights`.
        parameter_files: {category: {process: PreProcess's parameters.yaml}}.
    """
    data_sums = {c: float(event_weights(read_parquet(data_files[c])).sum()) for c in group}
    nominal = {
        c: {
            p: nominal_yield(f, f"process '{p}', category '{c}'")
            for p, f in parameter_files[c].items()
        }
        for c in group
    }
    return normalisation_factors(group, chosen, data_sums, nominal)


def process_factor(record: Mapping[str, Any], process: str, category: str, where: str) -> float:
    """The factor of one process in one category from a group's factors record.

    Raises:
        DataError: the record has no entry for the process in the category.
    """
    entry = (record.get("categories") or {}).get(category, {}).get("processes", {}).get(process)
    if entry is None:
        raise DataError(f"{where}: no factor for process '{process}' in category '{category}'")
    return float(entry["factor"])


def apply_factor(parameters: Mapping[str, Any], factor: float, group: str | None) -> dict[str, Any]:
    """A `parameters.yaml` whose yields are multiplied by `factor`.

    Everything that is a yield scales: the nominal yield, the per-bin nominal yields of a binned
    fit and the per-bin validation counts (normalised to the yield); the lnN ratios and the
    effective event counts do not change. The record `sim_to_data: {factor, group}` says what
    was done (group None: the category is in no group, factor 1).
    """
    out = copy.deepcopy(dict(parameters))
    out["yields"]["nominal"] = float(out["yields"]["nominal"]) * factor
    for b in out.get("binned_fit_input") or []:
        for entry in b["yields"].values():
            entry["nominal"] = float(entry["nominal"]) * factor
    for per_index in (out.get("validation_binned_fit") or {}).values():
        for index, counts in per_index.items():
            per_index[index] = [float(n) * factor for n in counts]
    out["sim_to_data"] = {"factor": float(factor), "group": group}
    return out
