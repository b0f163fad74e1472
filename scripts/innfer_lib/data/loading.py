"""LoadData: one `files` entry of simulation → one float64 table of the columns later stages need.

Per input file: read only the required columns (parquet or ROOT, `tables`), apply the
selections and `add_columns`, keep the required columns as float64, reject NaN/inf, run
`pre_calculate`; then concatenate the inputs and add the `add_summed_columns`. Which columns
are required is derived from the whole analysis config (`required_columns`), because the files of
a real analysis hold hundreds of columns and a later stage may read any of them.

What INNFER did silently, this module reports: rows with NaN or inf (it dropped them, biasing
yields), a selection that empties a file, a typo in a column name (pandas' KeyError). Every error
names the config key, the file and the column, because that is what an analyst has to edit.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from innfer_lib.core.analysis import Analysis, rate_parameter
from innfer_lib.core.errors import ConfigError, DataError
from innfer_lib.core.expressions import evaluate, identifiers, mask, select
from innfer_lib.data.columns import as_float, calculate, check_finite, per_input_values
from innfer_lib.data.functions import function_columns
from innfer_lib.data.schema import WEIGHT
from innfer_lib.data.tables import describe_columns, read_table

LOG = logging.getLogger("innfer")

_MODEL_TYPES = ("density_models", "regression_models", "classifier_models")
_SUMMED_KEYS = frozenset({"name", "column", "selection"})


def _unique(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(names))


def _ids(expression: str | None, source: str) -> list[str]:
    return identifiers(expression, source) if expression else []


def _check_names(
    expression: str | None, present: Iterable[str], source: str, path: Path | str
) -> None:
    """Report unknown columns of a selection against the file's columns, not the read subset."""
    present = set(present)
    unknown = [c for c in _ids(expression, source) if c not in present]
    if unknown:
        raise DataError(
            f"{source}: {expression!r} uses unknown column(s) {unknown}; {path} has "
            f"{describe_columns(present)}"
        )


# --------------------------------------------------------------------------------------------
# Required columns: what any later stage reads from this file
# --------------------------------------------------------------------------------------------


def _file_spec(analysis: Analysis, base: str) -> Mapping[str, Any]:
    files = analysis.raw.get("files") or {}
    if base not in files:
        raise ConfigError(f"{analysis.source}: files: no entry '{base}' (known: {sorted(files)})")
    return files[base]


def _entry_io(name: str, entry: Any, source: str) -> tuple[list[str], list[str]]:
    """Columns an entry of pre_calculate/calculate/weight_shifts reads and the names it defines."""
    key = f"{source}.{name}"
    if isinstance(entry, str):
        return identifiers(entry, key), [name]
    inputs, outputs = function_columns(entry, key)
    return inputs, _unique([name, *outputs])


def _sequential_inputs(entries: Any, source: str) -> tuple[list[str], list[str]]:
    """Inputs of ordered entries that no earlier entry defines, and every name they define.

    An entry may read a column that a later entry (or itself) overwrites, e.g. `x: "2*x"`, so
    a name only stops being an input once an earlier entry has defined it.
    """
    if not entries:
        return [], []
    if not isinstance(entries, Mapping):
        raise ConfigError(f"{source}: expected a mapping {{name: expression or function dict}}")
    inputs: list[str] = []
    defined: list[str] = []
    for name, entry in entries.items():
        reads, writes = _entry_io(name, entry, source)
        inputs += [c for c in reads if c not in defined]
        defined += writes
    return _unique(inputs), _unique(defined)


def _model_parameters(analysis: Analysis) -> set[str]:
    """Every parameter name of the analysis: POIs, nuisances, rates, shifts and lnN parameters.

    These are set by PreProcess (as shifts or defaults), so unless a file stores one as a column
    (its `parameters`), none of them should be read from disk.
    """
    raw = analysis.raw
    names = set(analysis.pois) | set(analysis.nuisances)
    names |= {rate_parameter(p) for p in analysis.rate_processes}
    for model in (raw.get("models") or {}).values():
        for kind in _MODEL_TYPES:
            for entry in model.get(kind) or []:
                names.update(entry.get("parameters") or [])
                if entry.get("parameter"):
                    names.add(entry["parameter"])
                names.update(entry.get("shifts") or {})
                names.update(entry.get("post_shifts") or {})
    for entries in ((raw.get("inference") or {}).get("lnN") or {}).values():
        names.update(e["parameter"] for e in entries)
    return names


def _extra_columns(analysis: Analysis, base: str) -> list[str]:
    """`preprocess.save_extra_columns` of the models that train on this file (absent = none)."""
    extra = (analysis.raw.get("preprocess") or {}).get("save_extra_columns") or {}
    columns: list[str] = []
    for name, model in (analysis.raw.get("models") or {}).items():
        uses = any(e.get("file") == base for k in _MODEL_TYPES for e in model.get(k) or [])
        if uses:
            columns += list(extra.get(name) or [])
    return columns


def _summed_entries(spec: Mapping[str, Any], source: str) -> list[Mapping[str, Any]]:
    entries = spec.get("add_summed_columns") or []
    if not isinstance(entries, list):
        raise ConfigError(f"{source}: expected a list of {{name, column, selection}}")
    for k, entry in enumerate(entries):
        key = f"{source}[{k}]"
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
            raise ConfigError(
                f"{key}: expected {{name: str, column: expr|None, selection: expr|None}}"
            )
        unknown = sorted(set(entry) - _SUMMED_KEYS)
        if unknown:
            raise ConfigError(f"{key}: unknown key(s) {unknown}; allowed: {sorted(_SUMMED_KEYS)}")
    return entries


def required_columns(analysis: Analysis, base: str) -> list[str]:
    """Columns of a `files` entry that LoadData keeps: everything a later stage reads.

    See `required_column_sources`, which also says which key asks for each column.
    """
    return list(required_column_sources(analysis, base))


def required_column_sources(analysis: Analysis, base: str) -> dict[str, str]:
    """Columns of a `files` entry that LoadData keeps, each with the first key that reads it.

    Union, in first-seen order, of the file's `parameters`, the `add_columns` keys, the
    `save_extra_columns` of the models trained on it, the variables, and the columns read by
    `weight`, `pre_calculate`, `calculate`, `weight_shifts`, `post_calculate_selection`, the
    category selections and `add_summed_columns`. The key is what a message about a column the
    file lacks names: the user either fixes the file or that key.

    Names that are produced rather than stored are left out, each relative to when it exists:
    what `pre_calculate` and `add_summed_columns` define (at load time), what `calculate`
    defines, the analysis parameters that PreProcess sets (unless the file stores them as
    `parameters`), and `wt`, which PreProcess computes from `weight`. The load-time steps
    themselves (`pre_calculate`, `add_summed_columns`) run before any of that, so their own
    inputs are only reduced by what earlier load-time entries define; likewise `wt` inside the
    `weight` expression is the stored column.
    """
    spec = _file_spec(analysis, base)
    src = f"files.{base}"
    file_params = list(spec.get("parameters") or [])
    add_keys = list(spec.get("add_columns") or {})

    pre_inputs, pre_defined = _sequential_inputs(spec.get("pre_calculate"), f"{src}.pre_calculate")
    summed_inputs: list[str] = []
    summed_names: list[str] = []
    for k, entry in enumerate(_summed_entries(spec, f"{src}.add_summed_columns")):
        key = f"{src}.add_summed_columns[{k}]"
        reads = _ids(entry.get("column"), f"{key}.column") + _ids(
            entry.get("selection"), f"{key}.selection"
        )
        summed_inputs += [c for c in reads if c not in pre_defined and c not in summed_names]
        summed_names.append(entry["name"])
    load_defined = set(pre_defined) | set(summed_names)

    calc_inputs, calc_defined = _sequential_inputs(spec.get("calculate"), f"{src}.calculate")
    parameters = _model_parameters(analysis) - set(file_params)
    set_later = load_defined | set(calc_defined) | parameters
    calculated = set_later | {WEIGHT}

    weight_shifts = spec.get("weight_shifts") or {}
    if not isinstance(weight_shifts, Mapping):
        raise ConfigError(f"{src}.weight_shifts: expected a mapping {{name: expr or function}}")
    shift_inputs = [
        (c, f"{src}.weight_shifts.{name}")
        for name, entry in weight_shifts.items()
        for c in _entry_io(name, entry, f"{src}.weight_shifts")[0]
    ]
    late = [
        (c, f"{src}.post_calculate_selection")
        for c in _ids(spec.get("post_calculate_selection"), f"{src}.post_calculate_selection")
    ]
    for name, selection in analysis.categories.items():
        late += [(c, f"categories.{name}") for c in _ids(selection, f"categories.{name}")]

    sources: dict[str, str] = {}

    def add(columns: Iterable[str], key: str, skip: Iterable[str] = ()) -> None:
        skipped = set(skip)
        for c in columns:
            if c not in skipped:
                sources.setdefault(c, key)

    add(file_params, f"{src}.parameters")
    add(add_keys, f"{src}.add_columns")
    add(_extra_columns(analysis, base), "preprocess.save_extra_columns", calculated)
    add(analysis.variables, "variables", calculated)
    add(_ids(spec.get("weight", WEIGHT), f"{src}.weight"), f"{src}.weight", set_later)
    add(pre_inputs, f"{src}.pre_calculate")
    add(calc_inputs, f"{src}.calculate", load_defined | parameters | {WEIGHT})
    for column, key in shift_inputs + late:
        add([column], key, calculated)
    add(summed_inputs, f"{src}.add_summed_columns")
    return sources


# --------------------------------------------------------------------------------------------
# Reading, selecting and concatenating the inputs
# --------------------------------------------------------------------------------------------


def _per_file_selection(spec: Mapping[str, Any], n_inputs: int, src: str) -> list[str | None]:
    selections = spec.get("per_file_selection")
    if selections is None:
        return [None] * n_inputs
    if not isinstance(selections, list) or len(selections) != n_inputs:
        size = len(selections) if isinstance(selections, list) else "not a list"
        raise ConfigError(
            f"{src}.per_file_selection: needs one selection (or null) per input file; "
            f"{n_inputs} input(s), got {size}"
        )
    for i, s in enumerate(selections):
        if s is not None and not isinstance(s, str):
            raise ConfigError(f"{src}.per_file_selection[{i}]: expected a string or null")
    return selections


def _load_input(
    analysis: Analysis,
    base: str,
    index: int,
    path: str,
    required: Mapping[str, str],
    add_values: dict[str, Any],
    per_file: str | None,
    base_dir: str | Path | None,
) -> pd.DataFrame | None:
    """One input of a `files` entry, selected, trimmed and pre-calculated (None when empty)."""
    spec = _file_spec(analysis, base)
    src = f"files.{base}"
    selection = spec.get("selection")
    post = spec.get("post_add_column_selection")
    after_add = _ids(post, f"{src}.post_add_column_selection") + _ids(
        per_file, f"{src}.per_file_selection[{index}]"
    )
    wanted = _unique(
        [c for c in required if c not in add_values]
        + _ids(selection, f"{src}.selection")
        + [c for c in after_add if c not in add_values]
    )
    frame, available = read_table(
        path, wanted, spec.get("tree_name"), f"{src}.tree_name", f"{src}.inputs[{index}]"
    )
    present = set(available) | set(add_values)
    missing = [c for c in required if c not in present]
    if missing:
        asked = "; ".join(f"'{c}' (read by {required[c]})" for c in missing)
        raise DataError(
            f"{path} ({src}.inputs[{index}]): missing column(s) {asked}; the file has "
            f"{describe_columns(available)}"
        )
    _check_names(selection, available, f"{src}.selection", path)
    _check_names(post, present, f"{src}.post_add_column_selection", path)
    _check_names(per_file, present, f"{src}.per_file_selection[{index}]", path)

    frame = select(frame, selection, f"{src}.selection ({path})")
    frame = frame.copy(deep=False)
    for column, value in add_values.items():
        frame[column] = value
    frame = select(frame, post, f"{src}.post_add_column_selection ({path})")
    frame = select(frame, per_file, f"{src}.per_file_selection[{index}] ({path})")
    if frame.empty:
        LOG.info("%s (%s): no events pass the selections", path, src)
        return None
    where = f"{path} ({src}.inputs[{index}])"
    frame = as_float(frame, list(required), where)
    check_finite(frame, list(required), where)

    frame, outputs = calculate(frame, spec.get("pre_calculate"), f"{src}.pre_calculate", base_dir)
    absent = [c for c in required if c not in frame.columns]
    if absent:
        raise DataError(f"{where}: pre_calculate removed required column(s) {absent}")
    if not outputs:
        return frame
    columns = list(required) + [c for c in outputs if c not in required]
    frame = as_float(frame, columns, f"{where} pre_calculate")
    check_finite(frame, outputs, f"{where} pre_calculate")
    return frame


def _add_summed_columns(
    frame: pd.DataFrame, entries: Sequence[Mapping[str, Any]], source: str
) -> pd.DataFrame:
    """Constant columns holding a sum over the whole file inside a selection (0 outside).

    They serve as per-event normalisations (e.g. the sum of weights of a generator sample) that
    must be computed over all inputs, so this runs after concatenation.
    """
    for k, entry in enumerate(entries):
        key = f"{source}[{k}]"
        if entry.get("selection"):
            inside = mask(frame, entry["selection"], f"{key}.selection")
        else:
            inside = np.ones(len(frame), dtype=bool)
        if entry.get("column"):
            values = evaluate(frame, entry["column"], f"{key}.column").to_numpy(dtype=np.float64)
            total = float(values[inside].sum())
        else:
            total = float(inside.sum())
        frame[entry["name"]] = np.where(inside, total, 0.0)
    return frame


def load_file(analysis: Analysis, base: str, base_dir: str | Path | None = None) -> pd.DataFrame:
    """LoadData for `files.<base>`: read, select, trim and pre-calculate every input.

    Per input: `selection`, `add_columns`, `post_add_column_selection`, `per_file_selection[i]`,
    keep the required columns as float64, reject NaN/inf, run `pre_calculate`. Then the inputs
    are concatenated and `add_summed_columns` are added. An input that its selections empty is
    fine (one sample may not reach a category); a file that ends up empty is an error, since no
    later stage can do anything with it.

    Args:
        analysis: the analysis config.
        base: key of `files`.
        base_dir: directory relative paths of function-dict `file`s are resolved against.

    Returns:
        Columns: the required columns, then the pre_calculate outputs, then the summed columns,
        all float64. Negative weights are kept (PreProcess decides what to do with them).
    """
    spec = _file_spec(analysis, base)
    src = f"files.{base}"
    inputs = list(spec.get("inputs") or [])
    if not inputs:
        raise ConfigError(f"{src}.inputs: at least one input file is required")
    required = required_column_sources(analysis, base)
    add_values = per_input_values(spec.get("add_columns"), len(inputs), f"{src}.add_columns")
    per_file = _per_file_selection(spec, len(inputs), src)
    summed = _summed_entries(spec, f"{src}.add_summed_columns")

    frames: list[pd.DataFrame] = []
    for i, path in enumerate(inputs):
        frame = _load_input(analysis, base, i, path, required, add_values[i], per_file[i], base_dir)
        if frame is None:
            continue
        if frames and list(frame.columns) != list(frames[0].columns):
            raise DataError(
                f"{path} ({src}): pre_calculate produced columns {list(frame.columns)}, but "
                f"{inputs[0]} gave {list(frames[0].columns)}; declare the function `outputs`"
            )
        frames.append(frame)
    if not frames:
        keys = ("selection", "post_add_column_selection", "per_file_selection")
        cuts = "; ".join(f"{src}.{k}: {spec[k]!r}" for k in keys if spec.get(k))
        raise DataError(
            f"{src}.inputs {inputs}: no event passes the selections ({cuts or 'none set'})"
        )
    out = pd.concat(frames, ignore_index=True)
    return _add_summed_columns(out, summed, f"{src}.add_summed_columns")


def _varied_on_file(analysis: Analysis, base: str) -> set[str]:
    """Parameters some model moves the events of `base` with: its processes' shape parameters.

    A process's shape parameters (density parameters and shifts, regression and classifier
    models) are the ones PreProcess builds its files' events at ±1 σ of, for the training sets
    and for the yield effect; any other parameter stays at its default on those events.
    """
    varied: set[str] = set()
    for process in analysis.processes:
        for cat in analysis.categories:
            files = (
                *analysis.model_files(process, cat),
                analysis.yields_file(process, cat),
                analysis.validation_file(process, cat),
            )
            if base in files:
                varied.update(analysis.shape_parameters(process, cat))
    return varied


def check_weight_shifts_modelled(analysis: Analysis) -> None:
    """A `weight_shifts` entry must change events some model learns from.

    The entry multiplies a file's weights by a factor of parameters (e.g. isr). If none of them
    is a shape parameter of a process reading the file (a density parameter or shift, or the
    parameter of a regression or classifier model), no training set and no yield is ever
    built away from their defaults, so the factor is always 1 there: the fit's nuisance would
    move nothing on that file, neither its shape nor its yield, while the config looks as if it
    did. Validation points that vary the parameter do not count: they would show the missing
    model, not make one.

    Raises:
        ConfigError: naming the entry, the parameters it reads and how to model them.
    """
    parameters = set(analysis.fit_parameters)
    for base, spec in (analysis.raw.get("files") or {}).items():
        entries = (spec or {}).get("weight_shifts") or {}
        if not isinstance(entries, Mapping):
            continue
        varied = _varied_on_file(analysis, base)
        for name, entry in entries.items():
            source = f"files.{base}.weight_shifts"
            reads = [c for c in _entry_io(name, entry, source)[0] if c in parameters]
            if reads and not set(reads) & varied:
                raise ConfigError(
                    f"{analysis.source}: {source}.{name}: varies the weights with "
                    f"{', '.join(repr(p) for p in reads)}, but no model of a process reading "
                    f"file '{base}' learns that (a density_models parameter or shift, or a "
                    "regression_models / classifier_models entry with that parameter), so the "
                    "fit would ignore it on these events; add such a model or remove the entry"
                )
