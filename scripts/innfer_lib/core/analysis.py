"""The analysis model: an INNFER analysis config, validated, with what every stage derives.

INNFER configs are YAML (or `.py` files defining a dict called `config`). Everything the workflow
needs at DAG-construction time (processes, categories, parameters, the canonical validation
loop) is derived here once, so rules, scripts and tests agree on names and indices.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from innfer_lib.core.analysis_checks import check_analysis
from innfer_lib.core.analysis_expressions import check_analysis_expressions
from innfer_lib.core.config_files import ANALYSIS_SCHEMA, read_config_file, validate_schema
from innfer_lib.core.errors import ConfigError
from innfer_lib.core.run_config import normalise_analysis_config

INCLUSIVE = "inclusive"
AUX_KINDS = ("regression", "classifier")


def parse_split(text: str, source: str = "preprocess.train_test_val_split") -> tuple[float, ...]:
    """Turn INNFER's "train:test:val" ratio string into fractions that sum to one."""
    parts = [float(p) for p in text.split(":")]
    total = sum(parts)
    if len(parts) != 3 or total <= 0 or any(p < 0 for p in parts):
        raise ConfigError(f"{source}: expected three non-negative ratios 'a:b:c', got {text!r}")
    return tuple(p / total for p in parts)


def rate_parameter(process: str) -> str:
    """Name of the rate parameter that scales one process's yield."""
    return f"mu_{process}"


def same_point(a: Mapping[str, float], b: Mapping[str, float], keys: Sequence[str]) -> bool:
    """Compare parameter points on `keys` with a tolerance (the values come from YAML floats)."""
    return all(math.isclose(a[k], b[k], rel_tol=0, abs_tol=1e-7) for k in keys)


@dataclass(frozen=True)
class Analysis:
    """A validated INNFER analysis config with the quantities derived from it."""

    raw: dict[str, Any]
    source: str = field(default="<analysis config>")

    @property
    def name(self) -> str:
        return self.raw["name"]

    @property
    def variables(self) -> list[str]:
        return list(self.raw["variables"])

    @property
    def pois(self) -> list[str]:
        return list(self.raw["pois"])

    @property
    def nuisances(self) -> list[str]:
        return list(self.raw.get("nuisances", []))

    @property
    def processes(self) -> list[str]:
        return list(self.raw["models"])

    @property
    def categories(self) -> dict[str, str | None]:
        """Category name -> selection; INNFER's value "inclusive" means no selection."""
        cats = self.raw.get("categories") or {INCLUSIVE: INCLUSIVE}
        return {k: (None if v == INCLUSIVE else v) for k, v in cats.items()}

    @property
    def rate_processes(self) -> list[str]:
        return list(self.raw.get("inference", {}).get("rate_parameters", []))

    @property
    def split_fractions(self) -> tuple[float, ...]:
        return parse_split(self.raw["preprocess"]["train_test_val_split"])

    @cached_property
    def defaults(self) -> dict[str, float]:
        """Default of every parameter: POIs from the config, nuisances 0, rates 1."""
        values = {p: float(self.raw["default_values"][p]) for p in self.pois}
        for n in self.nuisances:
            values[n] = float(self.raw["default_values"].get(n, 0.0))
        for p in self.rate_processes:
            values[rate_parameter(p)] = 1.0
        return values

    @property
    def fit_parameters(self) -> list[str]:
        """All parameters of the combined likelihood, sorted as INNFER's `Y_columns`."""
        return sorted(self.defaults)

    def density_entry(self, process: str, category: str) -> dict[str, Any]:
        """The density model entry that applies to a (process, category) pair."""
        entries = [
            e
            for e in self.raw["models"][process]["density_models"]
            if category in e.get("categories", [category])
        ]
        if len(entries) != 1:
            raise ConfigError(
                f"{self.source}: models.{process}.density_models: expected exactly one entry for "
                f"category '{category}', found {len(entries)} (split density mode is not supported)"
            )
        return entries[0]

    def model_parameters(self, process: str, category: str | None = None) -> list[str]:
        """Shape parameters the density of a process is conditioned on (sorted)."""
        category = category or next(iter(self.categories))
        return sorted(self.density_entry(process, category).get("parameters", []))

    def aux_entries(self, process: str, kind: str, category: str) -> dict[str, dict[str, Any]]:
        """Regression or classifier model entries of a process in a category, by parameter."""
        entries: dict[str, dict[str, Any]] = {}
        for i, entry in enumerate(self.raw["models"][process].get(f"{kind}_models", [])):
            if category not in entry.get("categories", [category]):
                continue
            if "parameter" not in entry:
                raise ConfigError(
                    f"{self.source}: models.{process}.{kind}_models[{i}]: no 'parameter'"
                )
            if entry["parameter"] in entries:
                raise ConfigError(
                    f"{self.source}: models.{process}.{kind}_models: two entries for parameter "
                    f"'{entry['parameter']}' in category '{category}'"
                )
            entries[entry["parameter"]] = entry
        return entries

    def shape_parameters(self, process: str, category: str | None = None) -> list[str]:
        """Parameters that change a process's shape: density, regression and classifier ones.

        These are INNFER's `ParametersInModel` without rate and lnN parameters; a nuisance among
        them gets its yield effect measured by PreProcess.
        """
        category = category or next(iter(self.categories))
        params = set(self.model_parameters(process, category))
        for kind in AUX_KINDS:
            params.update(self.aux_entries(process, kind, category))
        return sorted(params)

    def lnn_entries(self, process: str, category: str) -> dict[str, list[float]]:
        """Config lnN uncertainties of a process in a category as {parameter: [κ_down, κ_up]}.

        A single rate r means the symmetric [1/r, r]; a pair is [κ_down, κ_up] as written.
        """
        out: dict[str, list[float]] = {}
        for entry in self.raw.get("inference", {}).get("lnN", {}).get(process, []):
            if category not in entry.get("categories", [category]):
                continue
            rate = entry["rate"]
            kappas = (
                [float(rate[0]), float(rate[1])]
                if isinstance(rate, list)
                else [
                    1.0 / float(rate),
                    float(rate),
                ]
            )
            out[entry["parameter"]] = kappas
        return out

    @property
    def data_files(self) -> list[str]:
        """The observed data file(s); INNFER accepts one path or a list."""
        value = self.raw.get("data_file")
        if not value:
            return []
        return [value] if isinstance(value, str) else list(value)

    def input_files(self) -> dict[str, str]:
        """Every event file the config names, keyed by where it is named (for messages)."""
        files = {
            f"files.{base}.inputs[{i}]": path
            for base, spec in self.raw["files"].items()
            for i, path in enumerate(spec.get("inputs") or [])
        }
        return {**files, **self.data_file_keys()}

    def data_file_keys(self) -> dict[str, str]:
        """The observed data file(s) keyed as the config names them (`data_file[i]` for a list)."""
        if isinstance(self.raw.get("data_file"), str):
            return {"data_file": self.data_files[0]}
        return {f"data_file[{i}]": path for i, path in enumerate(self.data_files)}

    def varied_alone(self, process: str) -> list[str]:
        """Parameters of a process that some validation point varies with all others at default.

        Only listed when the process has more than one such parameter: with one, the plot of
        every point already shows it.
        """
        params = self.process_parameters(process)
        varied = []
        for p in params:
            for point in self.validation_points:
                others = [q for q in params if q != p]
                if not same_point(point, self.defaults, [p]) and same_point(
                    point, self.defaults, others
                ):
                    varied.append(p)
                    break
        return varied if len(varied) > 1 else []

    @property
    def nuisance_constraints(self) -> list[str]:
        return list(self.raw.get("inference", {}).get("nuisance_constraints", []))

    @property
    def plot_labels(self) -> dict[str, str]:
        """Axis labels (with units) per column; the column name when none is given."""
        return dict(self.raw.get("plot_labels", {}))

    def label(self, column: str) -> str:
        return self.plot_labels.get(column, column)

    def process_parameters(self, process: str) -> list[str]:
        """Every parameter that changes a process: its shape parameters and its rate.

        The shape parameters include the nuisances of its regression and classifier models
        (in any category), which change it as much as the flow's own parameters do: the
        validation and generator plots must show and label them.
        """
        params = {p for c in self.categories for p in self.shape_parameters(process, c)}
        if process in self.rate_processes:
            params.add(rate_parameter(process))
        return sorted(params)

    def _first_matching(self, entries: Sequence[Mapping[str, Any]], category: str, key: str) -> str:
        for entry in entries:
            if category in entry.get("categories", [category]):
                return entry["file"]
        raise ConfigError(f"{self.source}: {key}: no entry applies to category '{category}'")

    def yields_file(self, process: str, category: str) -> str:
        return self._first_matching(
            self.raw["models"][process]["yields"], category, f"models.{process}.yields"
        )

    def validation_file(self, process: str, category: str) -> str:
        return self._first_matching(
            self.raw["validation"]["files"][process], category, f"validation.files.{process}"
        )

    def model_file(self, process: str, category: str) -> str:
        return self.density_entry(process, category)["file"]

    def model_files(self, process: str, category: str) -> list[str]:
        """Files whose events train a model of the process (density and auxiliary models)."""
        names = [self.model_file(process, category)]
        for kind in AUX_KINDS:
            for entry in self.aux_entries(process, kind, category).values():
                if entry["file"] not in names:
                    names.append(entry["file"])
        return names

    def files_of_process(self, process: str) -> list[str]:
        """Every base file a process's preprocessing reads, in a stable order."""
        names = []
        for cat in self.categories:
            for f in (
                *self.model_files(process, cat),
                self.yields_file(process, cat),
                self.validation_file(process, cat),
                *self.binned_fit_files(process, cat),
            ):
                if f not in names:
                    names.append(f)
        return names

    @property
    def binned_fit(self) -> dict[str, Any]:
        return dict(self.raw.get("inference", {}).get("binned_fit") or {})

    def binned_fit_files(self, process: str, category: str) -> list[str]:
        """The file the binned-fit yields of a process come from, if a binned fit is set up."""
        files = self.binned_fit.get("files", {}).get(process)
        if not self.binned_fit or not files:
            return []
        return [self._first_matching(files, category, f"inference.binned_fit.files.{process}")]

    def file_parameters(self, base: str) -> list[str]:
        return list(self.raw["files"][base].get("parameters", []))

    @cached_property
    def validation_points(self) -> list[dict[str, float]]:
        """The canonical validation loop: each entry is a full parameter point.

        INNFER numbered the loop in two different ways (with and without rate parameters) and
        mixed them up; here there is one list, indexed by `{val}` everywhere.
        """
        points = []
        for entry in self.raw["validation"]["loop"]:
            point = dict(self.defaults)
            point.update({k: float(v) for k, v in entry.items()})
            points.append(point)
        return points

    @cached_property
    def default_index(self) -> int:
        for i, point in enumerate(self.validation_points):
            if same_point(point, self.defaults, self.fit_parameters):
                return i
        raise ConfigError(
            f"{self.source}: validation.loop: the default point {self.defaults} must be one of the "
            "validation points (it fixes the nominal yields and the default datasets)"
        )

    def drop_from_training(self, process: str) -> dict[str, list[float]]:
        return dict(self.raw["preprocess"].get("drop_from_training", {}).get(process, {}))

    def check(self) -> None:
        """Cross-key checks a JSON schema cannot express (`core.analysis_checks`)."""
        check_analysis(self)
        check_analysis_expressions(self.raw, self.source)


def load_analysis(source: str | Path | Mapping[str, Any]) -> Analysis:
    """Load, schema-validate and cross-check an analysis config from a file or a dict."""
    if isinstance(source, Mapping):
        raw, name = dict(source), "<analysis config>"
    else:
        raw, name = read_config_file(source), str(source)
    validate_schema(raw, ANALYSIS_SCHEMA, name)
    raw = normalise_analysis_config(raw, name)
    analysis = Analysis(raw=raw, source=name)
    analysis.check()
    return analysis
