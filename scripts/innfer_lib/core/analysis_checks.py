"""Cross-key checks of an analysis config: every name it uses is one it defines.

The JSON schema fixes the keys and value types of each section; it cannot say that a process
named under `preprocess.drop_from_training` is one of `models`, or that a category listed in a
yields entry exists. Such a name, misspelt, would silently select nothing (no events dropped,
no entry applying), so each one is checked here, at parse time, naming the file, the key path
and the closest defined name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, NoReturn

from innfer_lib.core.config_files import format_path, unknown_name_message
from innfer_lib.core.errors import ConfigError

if TYPE_CHECKING:
    from innfer_lib.core.analysis import Analysis

#: Keys each shift type reads (besides `type`); another key would be accepted and ignored.
SHIFT_KEYS = {
    "fixed": ("value",),
    "continuous": ("range",),
    "discrete": ("values",),
    "flat_top": ("range", "other"),
}
#: `preprocess` blocks keyed by process name.
PER_PROCESS_PREPROCESS = (
    "drop_from_training",
    "save_extra_columns",
    "standardisation",
    "normalise_training_in",
)
MODEL_KINDS = ("density", "regression", "classifier")


class _Checker:
    """Raises the first problem found, as `<file>: <key path>: <what is wrong>`."""

    def __init__(self, analysis: Analysis) -> None:
        self.analysis = analysis
        self.raw = analysis.raw

    def fail(self, path: Sequence[str | int], message: str) -> NoReturn:
        raise ConfigError(f"{self.analysis.source}: {format_path(path)}: {message}")

    def names(
        self, path: Sequence[str | int], given: Iterable[str], kind: str, known: Sequence[str]
    ) -> None:
        """Every name in `given` (a list's items or a mapping's keys) is one of `known`."""
        for name in given:
            if name not in known:
                self.fail(path, unknown_name_message(name, kind, known))

    def categories_of(self, path: Sequence[str | int], entries: Sequence[Mapping]) -> None:
        for i, entry in enumerate(entries):
            self.names(
                (*path, i, "categories"),
                entry.get("categories", []),
                "category",
                list(self.analysis.categories),
            )


def check_analysis(analysis: Analysis) -> None:
    """Cross-key checks a JSON schema cannot express.

    Raises:
        ConfigError: the first inconsistency, naming the config file and the key path.
    """
    check = _Checker(analysis)
    _check_parameters(check)
    _check_models(check)
    _check_sections(check)
    _check_inference(check)
    _ = analysis.default_index


def _check_parameters(check: _Checker) -> None:
    a, raw = check.analysis, check.raw
    for poi in a.pois:
        if poi not in raw["default_values"]:
            check.fail(("default_values",), f"missing the POI '{poi}'")
    check.names(("default_values",), raw["default_values"], "POI or nuisance", a.pois + a.nuisances)
    params = a.fit_parameters
    for i, entry in enumerate(raw["validation"]["loop"]):
        check.names(("validation", "loop", i), entry, "parameter", params)


def _check_shifts(check: _Checker, path: tuple[str | int, ...], shifts: Mapping) -> None:
    for name, spec in shifts.items():
        wanted = SHIFT_KEYS[spec["type"]]
        for key in wanted:
            if key not in spec and key != "other":
                check.fail((*path, name), f"a '{spec['type']}' shift needs the key '{key}'")
        for key in spec:
            if key != "type" and key not in wanted:
                check.fail(
                    (*path, name, key),
                    f"not read by a '{spec['type']}' shift (it takes {', '.join(wanted)})",
                )


def check_weight_variations(analysis: Analysis) -> None:
    """A ratio model learns how its file's weight varies with ν: the file must say how.

    Without a `weight_shifts` entry for ν every shifted weight equals the nominal one, and the
    model would learn r = 1: a nuisance with no shape effect that looks modelled. Checked on
    the whole config only (the workflow's), since the slices rules read drop `weight_shifts`
    of the files they do not load.

    Raises:
        ConfigError: naming the model entry, the file and the parameter.
    """
    for process in analysis.processes:
        model = analysis.raw["models"][process]
        for kind in ("regression", "classifier"):
            for i, entry in enumerate(model.get(f"{kind}_models", [])):
                parameter, base = entry.get("parameter"), entry.get("file")
                spec = analysis.raw["files"].get(base) or {}
                if parameter not in (spec.get("weight_shifts") or {}):
                    raise ConfigError(
                        f"{analysis.source}: models.{process}.{kind}_models[{i}].parameter: "
                        f"files.{base}.weight_shifts has no entry for '{parameter}', so the "
                        "weights of the events it learns from do not vary with it"
                    )


def _check_models(check: _Checker) -> None:
    a, raw = check.analysis, check.raw
    params = a.fit_parameters
    for process in a.processes:
        model = raw["models"][process]
        for kind in MODEL_KINDS:
            for i, entry in enumerate(model.get(f"{kind}_models", [])):
                path = ("models", process, f"{kind}_models", i)
                named = list(entry.get("parameters", [])) + (
                    [entry["parameter"]] if "parameter" in entry else []
                )
                check.names(path, named + list(entry.get("shifts", {})), "parameter", params)
                check.categories_of(path[:-1], [entry])
                check.names(path, [entry["file"]], "key of `files`", list(raw["files"]))
                _check_shifts(check, (*path, "shifts"), entry.get("shifts", {}))
        check.categories_of(("models", process, "yields"), model["yields"])
        if process not in raw["validation"]["files"]:
            check.fail(("validation", "files"), f"no entry for model '{process}'")
        for cat in a.categories:
            for base in (
                a.model_file(process, cat),
                a.yields_file(process, cat),
                a.validation_file(process, cat),
            ):
                if base not in raw["files"]:
                    check.fail(("models", process), f"file '{base}' is not a key of `files`")
    files = raw["validation"]["files"]
    check.names(("validation", "files"), files, "model", a.processes)
    for process, entries in files.items():
        check.categories_of(("validation", "files", process), entries)


def _check_sections(check: _Checker) -> None:
    """Per-process `preprocess` blocks and `plot_labels`-like name lists."""
    a, raw = check.analysis, check.raw
    pre = raw["preprocess"]
    for block in PER_PROCESS_PREPROCESS:
        check.names(("preprocess", block), pre.get(block) or {}, "model", a.processes)
    for process, per_category in (pre.get("standardisation") or {}).items():
        path = ("preprocess", "standardisation", process)
        check.names(path, per_category, "category", list(a.categories))
        for cat, kinds in per_category.items():
            for kind in ("regression", "classifier"):
                known = list(a.aux_entries(process, kind, cat))
                check.names((*path, cat, kind), kinds.get(kind) or {}, f"{kind} parameter", known)
    check.names(
        ("preprocess", "no_nuisance_yield_effect"),
        pre.get("no_nuisance_yield_effect", []),
        "nuisance",
        a.nuisances,
    )


def _check_inference(check: _Checker) -> None:
    a, raw = check.analysis, check.raw
    inference = raw.get("inference") or {}
    check.names(("inference", "rate_parameters"), a.rate_processes, "model", a.processes)
    check.names(
        ("inference", "nuisance_constraints"), a.nuisance_constraints, "nuisance", a.nuisances
    )
    lnn = inference.get("lnN") or {}
    check.names(("inference", "lnN"), lnn, "model", a.processes)
    for process, entries in lnn.items():
        for i, entry in enumerate(entries):
            if entry["parameter"] not in a.nuisances:
                check.fail(
                    ("inference", "lnN", process, i, "parameter"),
                    f"'{entry['parameter']}' must be listed in `nuisances` (it is constrained "
                    "like one)",
                )
        check.categories_of(("inference", "lnN", process), entries)
    binned = a.binned_fit
    if not binned:
        return
    inputs = binned.get("input", {})
    check.names(("inference", "binned_fit", "input"), inputs, "category", list(a.categories))
    for cat in a.categories:
        path = ("inference", "binned_fit", "input", cat)
        if cat not in inputs:
            check.fail(path[:-1], f"no entry for the category '{cat}'")
        if inputs[cat]["variable"] not in a.variables:
            check.fail((*path, "variable"), f"must be one of {a.variables}")
        edges = inputs[cat]["binning"]
        if len(edges) < 2 or any(hi <= lo for lo, hi in zip(edges, edges[1:], strict=False)):
            check.fail((*path, "binning"), "must be increasing bin edges")
    files = binned.get("files", {})
    check.names(("inference", "binned_fit", "files"), files, "model", a.processes)
    for process, entries in files.items():
        check.categories_of(("inference", "binned_fit", "files", process), entries)
