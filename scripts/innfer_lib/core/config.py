"""The analysis config: load, validate and derive what every stage loops over.

INNFER configs are YAML (or `.py` files defining a dict called `config`). Everything the workflow
needs at DAG-construction time (processes, categories, parameters, the canonical validation
loop) is derived here once, so rules, scripts and tests agree on names and indices.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from innfer_lib.core.errors import ConfigError

SCHEMA_DIR = Path(__file__).resolve().parents[3] / "workflow" / "schemas"
ANALYSIS_SCHEMA = SCHEMA_DIR / "analysis_config.schema.yaml"
WORKFLOW_SCHEMA = SCHEMA_DIR / "workflow_config.schema.yaml"
INCLUSIVE = "inclusive"
AUX_KINDS = ("regression", "classifier")


def _format_path(path: Sequence[Any]) -> str:
    return ".".join(str(p) for p in path) or "<top level>"


def validate_schema(data: Mapping[str, Any], schema_path: Path, source: str) -> None:
    """Check `data` against a JSON schema and raise one readable error.

    jsonschema's own messages do not say which file was wrong; analysts mostly edit several
    configs at once, so the message names the file, the key path and what was expected.
    """
    import jsonschema

    schema = yaml.safe_load(schema_path.read_text())
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"{source}: at '{_format_path(e.absolute_path)}': {e.message}" for e in errors]
        raise ConfigError("invalid config\n  " + "\n  ".join(lines[:10]))


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Read a YAML config, or a `.py` file that assigns a literal dict to `config`.

    The `.py` form is parsed with `ast.literal_eval`, never executed: config files travel
    between users and must not run code.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    text = path.read_text()
    if path.suffix == ".py":
        tree = ast.parse(text, filename=str(path))
        for node in tree.body:
            if (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id == "config"
            ):
                try:
                    value = ast.literal_eval(node.value)
                except ValueError as err:
                    raise ConfigError(f"{path}: `config` must be a literal dict ({err})") from err
                if not isinstance(value, dict):
                    raise ConfigError(f"{path}: `config` must be a dict")
                return value
        raise ConfigError(f"{path}: no top-level assignment `config = {{...}}` found")
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from err
    if not isinstance(value, dict):
        raise ConfigError(
            f"{path}: expected a mapping at the top level, got {type(value).__name__}"
        )
    return value


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
        """Every parameter that changes a process: its shape parameters and its rate."""
        params = set(self.model_parameters(process))
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
        """Cross-key checks a JSON schema cannot express."""
        src = self.source
        params = set(self.fit_parameters)
        for poi in self.pois:
            if poi not in self.raw["default_values"]:
                raise ConfigError(f"{src}: default_values: missing the POI '{poi}'")
        for process in self.processes:
            if process not in self.raw["validation"]["files"]:
                raise ConfigError(f"{src}: validation.files: no entry for model '{process}'")
            for cat in self.categories:
                for base in (
                    self.model_file(process, cat),
                    self.yields_file(process, cat),
                    self.validation_file(process, cat),
                ):
                    if base not in self.raw["files"]:
                        raise ConfigError(
                            f"{src}: models.{process}: file '{base}' is not a key of `files`"
                        )
            for kind in ("density", *AUX_KINDS):
                for i, entry in enumerate(self.raw["models"][process].get(f"{kind}_models", [])):
                    where = f"{src}: models.{process}.{kind}_models[{i}]"
                    named = list(entry.get("parameters", [])) + (
                        [entry["parameter"]] if "parameter" in entry else []
                    )
                    for p in named + list(entry.get("shifts", {})):
                        if p not in params:
                            raise ConfigError(
                                f"{where}: parameter '{p}' is neither a POI nor a nuisance "
                                f"(known: {sorted(params)})"
                            )
                    for cat in entry.get("categories", []):
                        if cat not in self.categories:
                            raise ConfigError(
                                f"{where}: unknown category '{cat}' "
                                f"(known: {list(self.categories)})"
                            )
                    if entry["file"] not in self.raw["files"]:
                        raise ConfigError(
                            f"{where}: file '{entry['file']}' is not a key of `files`"
                        )
            for i, entry in enumerate(
                self.raw.get("inference", {}).get("lnN", {}).get(process, [])
            ):
                if entry["parameter"] not in self.nuisances:
                    raise ConfigError(
                        f"{src}: inference.lnN.{process}[{i}]: parameter '{entry['parameter']}' "
                        f"must be listed in `nuisances` (it is constrained like one)"
                    )
        for p in self.nuisance_constraints:
            if p not in self.nuisances:
                raise ConfigError(
                    f"{src}: inference.nuisance_constraints: '{p}' is not a nuisance "
                    f"(known: {self.nuisances})"
                )
        for process in self.raw.get("inference", {}).get("lnN", {}):
            if process not in self.processes:
                raise ConfigError(f"{src}: inference.lnN: '{process}' is not a model")
        if self.binned_fit:
            inputs = self.binned_fit.get("input", {})
            for cat in self.categories:
                if cat not in inputs:
                    raise ConfigError(f"{src}: inference.binned_fit.input: no entry for '{cat}'")
                if inputs[cat].get("variable") not in self.variables:
                    raise ConfigError(
                        f"{src}: inference.binned_fit.input.{cat}.variable must be one of "
                        f"{self.variables}"
                    )
                edges = inputs[cat].get("binning", [])
                if len(edges) < 2 or any(b <= a for a, b in zip(edges, edges[1:], strict=False)):
                    raise ConfigError(
                        f"{src}: inference.binned_fit.input.{cat}.binning must be increasing "
                        "bin edges"
                    )
        for p in self.rate_processes:
            if p not in self.processes:
                raise ConfigError(
                    f"{src}: inference.rate_parameters: '{p}' is not a model (known: "
                    f"{self.processes})"
                )
        for i, entry in enumerate(self.raw["validation"]["loop"]):
            unknown = set(entry) - params
            if unknown:
                raise ConfigError(
                    f"{src}: validation.loop[{i}]: unknown parameter(s) {sorted(unknown)}; "
                    f"known: {sorted(params)}"
                )
        _ = self.default_index


def load_analysis(source: str | Path | Mapping[str, Any]) -> Analysis:
    """Load, schema-validate and cross-check an analysis config from a file or a dict."""
    if isinstance(source, Mapping):
        raw, name = dict(source), "<analysis config>"
    else:
        raw, name = read_config_file(source), str(source)
    validate_schema(raw, ANALYSIS_SCHEMA, name)
    analysis = Analysis(raw=raw, source=name)
    analysis.check()
    return analysis


def workflow_defaults() -> dict[str, Any]:
    """Defaults of the workflow config, read from its schema (one source of truth)."""
    schema = yaml.safe_load(WORKFLOW_SCHEMA.read_text())
    return {k: v["default"] for k, v in schema["properties"].items() if "default" in v}


def _fill_defaults(properties: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """Schema defaults under the given values, recursing into option blocks."""
    filled: dict[str, Any] = {}
    for key, spec in properties.items():
        if spec.get("type") == "object" and "properties" in spec:
            filled[key] = _fill_defaults(spec["properties"], given.get(key) or {})
        elif "default" in spec:
            filled[key] = spec["default"]
    for key, value in given.items():
        if not isinstance(filled.get(key), dict):
            filled[key] = value
    return filled


def fit_set_options(options: Mapping[str, Any] | None) -> dict[str, Any]:
    """Fill a fit set's options with the schema defaults (nested blocks included)."""
    schema = yaml.safe_load(WORKFLOW_SCHEMA.read_text())
    props = schema["properties"]["fits"]["additionalProperties"]["properties"]
    return _fill_defaults(props, dict(options or {}))


ALL_BUT_ONE = "all-but-one"


def expand_fit_sets(
    fits: Mapping[str, Mapping[str, Any] | None], analysis: Analysis
) -> dict[str, dict[str, Any]]:
    """Filled fit sets; `freeze: all-but-one` becomes one set per floating parameter.

    INNFER looped over `_floating_only_<col>` directories inside one step; here each is its own
    fit set (a wildcard value), so every one is a separate, cacheable set of jobs.
    """
    out: dict[str, dict[str, Any]] = {}
    for name, options in fits.items():
        filled = fit_set_options(options)
        scan = filled.get("scan")
        if scan == "pois":
            filled["scan"] = list(analysis.pois)
        for p in filled.get("scan") or []:
            if p not in analysis.fit_parameters:
                raise ConfigError(
                    f"fits.{name}.scan: '{p}' is not a parameter (known: {analysis.fit_parameters})"
                )
        for p in filled["scan_2d"]["parameters"] or []:
            if p not in analysis.fit_parameters:
                raise ConfigError(
                    f"fits.{name}.scan_2d.parameters: '{p}' is not a parameter "
                    f"(known: {analysis.fit_parameters})"
                )
        if filled.get("freeze") == ALL_BUT_ONE:
            for p in analysis.fit_parameters:
                out[f"{name}_floating_only_{p}"] = {
                    **filled,
                    "freeze": f"all-but-{p}",
                    "scan": [q for q in filled.get("scan") or [] if q == p],
                    ALL_BUT_ONE_OF: name,
                }
        else:
            out[name] = filled
    return out


#: Key marking the fit sets `freeze: all-but-one` expanded into, with the name they came from.
ALL_BUT_ONE_OF = "all_but_one_of"


def all_but_one_families(fits: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, str]]:
    """{base name: {parameter: fit set floating only that parameter}}."""
    out: dict[str, dict[str, str]] = {}
    for name, options in fits.items():
        base = options.get(ALL_BUT_ONE_OF)
        if base:
            out.setdefault(base, {})[name.removeprefix(f"{base}_floating_only_")] = name
    return out


def summary_sets(
    summaries: Mapping[str, Mapping[str, Any] | None] | None,
    fits: Mapping[str, Mapping[str, Any]],
    densities: Sequence[str],
) -> dict[str, dict[str, Any]]:
    """Filled summaries: which fit sets (or all-but-one families) each one overlays.

    Without a `summaries` block every fit set gets its own summary, and every all-but-one
    family one summary of its single-parameter fits (INNFER's SummaryAllButOneCollect).

    Raises:
        ConfigError: a summary names an unknown fit set or density, or a name is taken twice.
    """
    families = all_but_one_families(fits)
    entries = [f for f in fits if not fits[f].get(ALL_BUT_ONE_OF)] + list(families)
    if not summaries:
        summaries = {name: {"fits": [name]} for name in entries}
    schema = yaml.safe_load(WORKFLOW_SCHEMA.read_text())
    props = schema["properties"]["summaries"]["additionalProperties"]["properties"]
    out: dict[str, dict[str, Any]] = {}
    for name, options in summaries.items():
        filled = _fill_defaults(props, dict(options or {}))
        if not filled.get("fits"):
            raise ConfigError(f"summaries.{name}.fits: list at least one fit set")
        for entry in filled["fits"]:
            if entry not in entries:
                raise ConfigError(
                    f"summaries.{name}.fits: {entry!r} is not a fit set or all-but-one family "
                    f"(known: {entries})"
                )
        filled["densities"] = list(filled.get("densities") or densities)
        unknown = [d for d in filled["densities"] if d not in densities]
        if unknown:
            raise ConfigError(
                f"summaries.{name}.densities: {unknown} are not among the densities "
                f"{list(densities)}"
            )
        out[name] = filled
    return out


def constrained_parameters(
    nuisance_constraints: Sequence[str], fit_parameters: Sequence[str], constraints: bool = True
) -> list[str]:
    """Parameters with a unit-Gaussian constraint in the fit (the ones that get a pull bar).

    The analysis's `nuisance_constraints` that are fit parameters, unless the fit set drops the
    constraints (INNFER's --no-constraint); the likelihood and the pulls plot both use it.
    """
    if not constraints:
        return []
    return [n for n in nuisance_constraints if n in fit_parameters]
