"""Analysis slices: the part of the analysis config one job reads, as a config of its own.

Snakemake reruns a job whose params changed. A rule that took the whole analysis config as a
param would rerun on any edit (a plot label, another process's selection), so every rule takes
a slice instead: a complete analysis config that `load_analysis` accepts and that gives the
same derived values (`processes`, `fit_parameters`, `validation_points`, `default_index`,
`model_parameters`, `files_of_process`, ...) as the whole config, because it keeps the
*frame* every stage reads:

- `name`, `variables`, `pois`, `nuisances`, `default_values`, `categories`, `validation`;
- per process, which files feed which model and the parameters each model depends on
  (`file`, `parameters`, `parameter`, `categories` of every model entry; `yields`);
- every `files` key with its `inputs` only (the other keys say how a file is read);
- `preprocess.train_test_val_split` and `inference.rate_parameters`/`binned_fit`.

A slice adds to the frame only the sections its rule's code reads:

=================  ============================================================================
`PLOT_LABELS`      `plot_labels` (plots)
`CONSTRAINTS`      `inference.nuisance_constraints` (fits, fit results)
`OBSERVED_DATA`    `data_file` and the `data_*` keys (DataCategories)
`file=<base>`      LoadData of one file: `files.<base>` in full, every model entry in full (its
                   shifts name parameters the file must not be read for),
                   `preprocess.save_extra_columns` and `inference.lnN`
`process=<name>`   PreProcess of one process: its model entries and the `files` entries it
                   reads in full, its part of the per-process `preprocess` blocks, the rest of
                   `preprocess`, and its `inference.lnN` entries
=================  ============================================================================

Changing a key outside the frame then reruns only the jobs whose slice holds it; keys of the
frame decide the DAG itself (and the files every later job reads), so they reach every job.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from innfer_lib.core.analysis import Analysis

PLOT_LABELS = "plot_labels"
CONSTRAINTS = "constraints"
OBSERVED_DATA = "observed_data"
SECTIONS = (PLOT_LABELS, CONSTRAINTS, OBSERVED_DATA)

_FRAME_KEYS = (
    "name",
    "variables",
    "pois",
    "nuisances",
    "default_values",
    "categories",
    "validation",
)
_MODEL_KINDS = ("density_models", "regression_models", "classifier_models")
_MODEL_ENTRY_KEYS = ("file", "parameters", "parameter", "categories")
_FRAME_INFERENCE_KEYS = ("rate_parameters", "binned_fit")
_OBSERVED_DATA_KEYS = (
    "data_file",
    "data_tree_name",
    "data_add_columns",
    "data_selection",
    "data_calculate",
)
# `preprocess` blocks keyed by process: a PreProcess job reads its own process's entry only.
_PER_PROCESS_PREPROCESS = (
    "drop_from_training",
    "save_extra_columns",
    "normalise_training_in",
    "standardisation",
)


def _model_frame(model: Mapping[str, Any]) -> dict[str, Any]:
    """A process's models reduced to which file trains each and what it is conditioned on."""
    out: dict[str, Any] = {}
    for kind in _MODEL_KINDS:
        if kind in model:
            out[kind] = [
                {k: entry[k] for k in _MODEL_ENTRY_KEYS if k in entry} for entry in model[kind]
            ]
    out["yields"] = model["yields"]
    return out


def analysis_frame(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The frame of an analysis config: what every stage reads (see the module docstring)."""
    out: dict[str, Any] = {k: raw[k] for k in _FRAME_KEYS if k in raw}
    out["models"] = {name: _model_frame(model) for name, model in raw["models"].items()}
    out["files"] = {base: {"inputs": spec["inputs"]} for base, spec in raw["files"].items()}
    out["preprocess"] = {"train_test_val_split": raw["preprocess"]["train_test_val_split"]}
    inference = raw.get("inference") or {}
    kept = {k: inference[k] for k in _FRAME_INFERENCE_KEYS if k in inference}
    if kept:
        out["inference"] = kept
    return out


def _add_inference(out: dict[str, Any], key: str, value: Any) -> None:
    out.setdefault("inference", {})[key] = value


def _add_loading(out: dict[str, Any], raw: Mapping[str, Any], base: str) -> None:
    out["files"][base] = raw["files"][base]
    out["models"] = dict(raw["models"])
    extra = raw["preprocess"].get("save_extra_columns")
    if extra is not None:
        out["preprocess"]["save_extra_columns"] = extra
    lnn = (raw.get("inference") or {}).get("lnN")
    if lnn is not None:
        _add_inference(out, "lnN", lnn)


def _add_preprocessing(
    out: dict[str, Any], raw: Mapping[str, Any], analysis: Analysis, process: str
) -> None:
    out["models"][process] = raw["models"][process]
    for base in analysis.files_of_process(process):
        out["files"][base] = raw["files"][base]
    for key, value in raw["preprocess"].items():
        if key not in _PER_PROCESS_PREPROCESS:
            out["preprocess"][key] = value
        elif value and process in value:
            out["preprocess"][key] = {process: value[process]}
    lnn = (raw.get("inference") or {}).get("lnN") or {}
    if process in lnn:
        _add_inference(out, "lnN", {process: lnn[process]})


def analysis_slice(
    analysis: Analysis,
    *sections: str,
    file: str | None = None,
    process: str | None = None,
) -> dict[str, Any]:
    """The analysis config one rule's jobs read: the frame plus the given sections.

    Args:
        analysis: the loaded analysis.
        sections: any of `PLOT_LABELS`, `CONSTRAINTS`, `OBSERVED_DATA`.
        file: a `files` key, for the LoadData job of that file.
        process: a process, for its PreProcess jobs.

    Returns:
        A new analysis config (no part shared with `analysis.raw`) that `load_analysis`
        accepts, in the key order of the original.

    Raises:
        ValueError: an unknown section, file or process (a bug in the rule, not in a config).
    """
    raw = analysis.raw
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        raise ValueError(f"analysis_slice: unknown section(s) {unknown}; known: {SECTIONS}")
    if file is not None and file not in raw["files"]:
        raise ValueError(f"analysis_slice: '{file}' is not a key of `files`")
    if process is not None and process not in raw["models"]:
        raise ValueError(f"analysis_slice: '{process}' is not a process")
    out = analysis_frame(raw)
    if PLOT_LABELS in sections and "plot_labels" in raw:
        out["plot_labels"] = raw["plot_labels"]
    if CONSTRAINTS in sections and "nuisance_constraints" in (raw.get("inference") or {}):
        _add_inference(out, "nuisance_constraints", raw["inference"]["nuisance_constraints"])
    if OBSERVED_DATA in sections:
        out.update({k: raw[k] for k in _OBSERVED_DATA_KEYS if k in raw})
    if file is not None:
        _add_loading(out, raw, file)
    if process is not None:
        _add_preprocessing(out, raw, analysis, process)
    if "inference" in out:
        out["inference"] = _in_order(out["inference"], raw["inference"])
    return copy.deepcopy(_in_order(out, raw))


def _in_order(part: Mapping[str, Any], whole: Mapping[str, Any]) -> dict[str, Any]:
    """`part`'s keys in the order `whole` has them, so a slice reads like its config."""
    order = list(whole)
    return {k: part[k] for k in sorted(part, key=order.index)}
