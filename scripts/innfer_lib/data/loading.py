"""LoadData and DataCategories: read simulation and data files into float64 tables.

Three stages read event files: LoadData (one `files` entry of simulation → one table of the
columns later stages need), DataCategories (observed data, per category) and the resampler that
fakes data from validation samples. They share one reader (parquet or ROOT) so the two formats
behave the same everywhere; INNFER could not read ROOT data at all.

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
from innfer_lib.core.expressions import evaluate, identifiers, select
from innfer_lib.data.functions import apply_function, function_columns

LOG = logging.getLogger("innfer")

WEIGHT = "wt"
FORMATS = (".parquet", ".root")
_MODEL_TYPES = ("density_models", "regression_models", "classifier_models")
_SUMMED_KEYS = frozenset({"name", "column", "selection"})
#: Column lists in error messages are cut here: a ROOT tree can have thousands of branches.
_MAX_NAMES = 60


def _unique(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(names))


def _names(columns: Iterable[str]) -> str:
    """Sorted column names for an error message, shortened when there are very many."""
    names = sorted(columns)
    if len(names) <= _MAX_NAMES:
        return str(names)
    return f"{names[:_MAX_NAMES]} ... ({len(names) - _MAX_NAMES} more)"


def _ids(expression: str | None, source: str) -> list[str]:
    return identifiers(expression, source) if expression else []


# --------------------------------------------------------------------------------------------
# Reading one file
# --------------------------------------------------------------------------------------------


def _read_parquet(path: Path, columns: Sequence[str] | None) -> tuple[pd.DataFrame, list[str]]:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
        available = [n for n in parquet.schema_arrow.names if not n.startswith("__index_level_")]
        wanted = available if columns is None else [c for c in columns if c in available]
        if wanted:
            frame = parquet.read(columns=wanted).to_pandas()
        else:
            frame = pd.DataFrame(index=pd.RangeIndex(parquet.metadata.num_rows))
    except (OSError, ValueError) as err:  # pyarrow's ArrowInvalid is a ValueError
        raise DataError(f"{path}: cannot read as parquet: {err}") from err
    return frame.reset_index(drop=True), available


def _read_root(
    path: Path, columns: Sequence[str] | None, tree_name: str
) -> tuple[pd.DataFrame, list[str]]:
    import uproot

    try:
        with uproot.open(path) as handle:
            try:
                tree = handle[tree_name]
            except KeyError as err:
                raise DataError(
                    f"{path}: no tree '{tree_name}'; the file holds {_names(handle.keys())}"
                ) from err
            if not hasattr(tree, "arrays"):
                raise DataError(f"{path}: '{tree_name}' is a {type(tree).__name__}, not a TTree")
            available = list(tree.keys())
            wanted = available if columns is None else [c for c in columns if c in available]
            if not wanted:
                return pd.DataFrame(index=pd.RangeIndex(tree.num_entries)), available
            arrays = tree.arrays(wanted, library="np")
    except DataError:
        raise
    except Exception as err:  # uproot raises many types for corrupt or non-ROOT files
        raise DataError(f"{path}: cannot read as ROOT: {type(err).__name__}: {err}") from err
    jagged = [name for name, values in arrays.items() if values.dtype == object]
    if jagged:
        raise DataError(
            f"{path}: branch(es) {jagged} of tree '{tree_name}' do not hold one number per event"
        )
    return pd.DataFrame({name: arrays[name] for name in wanted}), available


def read_table(
    path: str | Path,
    columns: Sequence[str] | None,
    tree_name: str | None,
    tree_key: str,
    source: str,
) -> tuple[pd.DataFrame, list[str]]:
    """Read the available subset of `columns` of a parquet or ROOT file.

    Only the requested columns are read (the files of a real analysis hold hundreds); columns the
    file lacks are left for the caller to report, which knows whether they are required or only
    named in a selection, and which config key to blame.

    Args:
        path: a `.parquet` file or a `.root` file holding a flat TTree.
        columns: columns wanted; None reads all.
        tree_name: name of the TTree in a ROOT file.
        tree_key: config key that sets `tree_name`, named when it is missing.
        source: config key of the file list (e.g. `files.base.inputs[0]`), for error messages.

    Returns:
        The frame (RangeIndex) and the names of every column the file holds.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise DataError(f"{source}: {path}: unsupported format; expected one of {list(FORMATS)}")
    if suffix == ".root" and not tree_name:
        raise ConfigError(f"{tree_key}: required to read the ROOT file {path} ({source})")
    if not path.is_file():
        raise DataError(f"{source}: missing file: {path}")
    if suffix == ".parquet":
        return _read_parquet(path, columns)
    return _read_root(path, columns, str(tree_name))


# --------------------------------------------------------------------------------------------
# Shared steps
# --------------------------------------------------------------------------------------------


def _per_input_values(mapping: Any, n_inputs: int, source: str) -> list[dict[str, Any]]:
    """Expand `add_columns` ({col: scalar or one value per input}) to one dict per input."""
    if not mapping:
        return [{} for _ in range(n_inputs)]
    if not isinstance(mapping, Mapping):
        raise ConfigError(f"{source}: expected a mapping {{column: value}}, got {mapping!r}")
    per_input: list[dict[str, Any]] = [{} for _ in range(n_inputs)]
    for column, value in mapping.items():
        if isinstance(value, list | tuple):
            if len(value) != n_inputs:
                raise ConfigError(
                    f"{source}.{column}: {len(value)} value(s) for {n_inputs} input file(s); "
                    "give one scalar or exactly one value per input"
                )
            values = list(value)
        elif isinstance(value, bool | int | float | str):
            values = [value] * n_inputs
        else:
            raise ConfigError(f"{source}.{column}: expected a scalar or a list, got {value!r}")
        for i, v in enumerate(values):
            per_input[i][column] = v
    return per_input


def _check_names(
    expression: str | None, present: Iterable[str], source: str, path: Path | str
) -> None:
    """Report unknown columns of a selection against the file's columns, not the read subset."""
    present = set(present)
    unknown = [c for c in _ids(expression, source) if c not in present]
    if unknown:
        raise DataError(
            f"{source}: {expression!r} uses unknown column(s) {unknown}; {path} has "
            f"{_names(present)}"
        )


def _as_float(frame: pd.DataFrame, columns: Sequence[str], where: str) -> pd.DataFrame:
    """The given columns as one float64 frame; a non-numeric column is named, not a traceback."""
    out = {}
    for column in columns:
        try:
            out[column] = frame[column].to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError) as err:
            raise DataError(
                f"{where}: column '{column}' ({frame[column].dtype}) is not numeric: {err}"
            ) from err
    return pd.DataFrame(out, index=pd.RangeIndex(len(frame)))


def _check_finite(frame: pd.DataFrame, columns: Sequence[str], where: str) -> None:
    """NaN or inf is an error: dropping such rows (as INNFER did) silently biases yields."""
    bad = [c for c in columns if not np.isfinite(frame[c].to_numpy()).all()]
    if bad:
        rows = int((~np.isfinite(frame[bad].to_numpy())).any(axis=1).sum())
        raise DataError(f"{where}: {rows} row(s) with NaN or inf in column(s) {bad}")


def _calculate(
    frame: pd.DataFrame,
    entries: Any,
    source: str,
    base_dir: str | Path | None,
) -> tuple[pd.DataFrame, list[str]]:
    """Apply `pre_calculate`-style entries in order; returns the frame and the new columns.

    A string entry sets column `name` to the expression; a function dict replaces the frame, and
    its outputs are the declared `outputs` (or, undeclared, the columns it added).
    """
    if not entries:
        return frame, []
    if not isinstance(entries, Mapping):
        raise ConfigError(f"{source}: expected a mapping {{name: expression or function dict}}")
    outputs: list[str] = []
    for name, entry in entries.items():
        key = f"{source}.{name}"
        if isinstance(entry, str):
            frame = frame.copy(deep=False)
            frame[name] = evaluate(frame, entry, key).to_numpy(dtype=np.float64)
            new = [name]
        else:
            before = set(frame.columns)
            frame = apply_function(frame, entry, key, base_dir)
            declared = function_columns(entry, key)[1]
            new = declared or [c for c in frame.columns if c not in before]
        outputs += [c for c in new if c not in outputs]
    return frame, outputs


# --------------------------------------------------------------------------------------------
# LoadData
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

    Union, in first-seen order, of the file's `parameters`, the `add_columns` keys, the
    `save_extra_columns` of the models trained on it, the variables, and the columns read by
    `weight`, `pre_calculate`, `calculate`, `weight_shifts`, `post_calculate_selection`, the
    category selections and `add_summed_columns`.

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

    shift_inputs: list[str] = []
    weight_shifts = spec.get("weight_shifts") or {}
    if not isinstance(weight_shifts, Mapping):
        raise ConfigError(f"{src}.weight_shifts: expected a mapping {{name: expr or function}}")
    for name, entry in weight_shifts.items():
        shift_inputs += _entry_io(name, entry, f"{src}.weight_shifts")[0]

    late = _ids(spec.get("post_calculate_selection"), f"{src}.post_calculate_selection")
    for name, selection in analysis.categories.items():
        late += _ids(selection, f"categories.{name}")

    columns = file_params + add_keys
    columns += [c for c in _extra_columns(analysis, base) if c not in calculated]
    columns += [c for c in analysis.variables if c not in calculated]
    columns += [c for c in _ids(spec.get("weight", WEIGHT), f"{src}.weight") if c not in set_later]
    columns += pre_inputs
    columns += [c for c in calc_inputs if c not in load_defined | parameters | {WEIGHT}]
    columns += [c for c in shift_inputs + late if c not in calculated]
    columns += summed_inputs
    return _unique(columns)


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
    required: list[str],
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
        raise DataError(
            f"{path} ({src}): missing column(s) {missing}; present: {_names(available)}"
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
    where = f"{path} ({src})"
    frame = _as_float(frame, required, where)
    _check_finite(frame, required, where)

    frame, outputs = _calculate(frame, spec.get("pre_calculate"), f"{src}.pre_calculate", base_dir)
    absent = [c for c in required if c not in frame.columns]
    if absent:
        raise DataError(f"{where}: pre_calculate removed required column(s) {absent}")
    if not outputs:
        return frame
    columns = required + [c for c in outputs if c not in required]
    frame = _as_float(frame, columns, f"{where} pre_calculate")
    _check_finite(frame, outputs, f"{where} pre_calculate")
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
            mask = evaluate(frame, entry["selection"], f"{key}.selection").to_numpy()
            if mask.dtype != bool:
                raise ConfigError(f"{key}.selection: {entry['selection']!r} is not boolean")
        else:
            mask = np.ones(len(frame), dtype=bool)
        if entry.get("column"):
            values = evaluate(frame, entry["column"], f"{key}.column").to_numpy(dtype=np.float64)
            total = float(values[mask].sum())
        else:
            total = float(mask.sum())
        frame[entry["name"]] = np.where(mask, total, 0.0)
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
    required = required_columns(analysis, base)
    add_values = _per_input_values(spec.get("add_columns"), len(inputs), f"{src}.add_columns")
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
        cuts = {
            "selection": spec.get("selection"),
            "post_add_column_selection": spec.get("post_add_column_selection"),
            "per_file_selection": spec.get("per_file_selection"),
        }
        cuts = {k: v for k, v in cuts.items() if v}
        raise DataError(f"{src}: no events left in any of the {len(inputs)} input(s) after {cuts}")
    out = pd.concat(frames, ignore_index=True)
    return _add_summed_columns(out, summed, f"{src}.add_summed_columns")


# --------------------------------------------------------------------------------------------
# DataCategories
# --------------------------------------------------------------------------------------------


def load_data_events(
    analysis: Analysis, category: str, base_dir: str | Path | None = None
) -> pd.DataFrame:
    """Observed events of one category (INNFER's DataCategories step).

    Per `data_file`: read it (parquet, or ROOT with `data_tree_name`), add `data_add_columns`,
    apply `data_calculate`, then keep the events passing `data_selection` and the category
    selection. All columns are kept (data-vs-simulation plots may want more than the variables);
    the variables are guaranteed present, float64 and finite.

    Args:
        analysis: the analysis config.
        category: a key of `analysis.categories`.
        base_dir: directory relative paths of function-dict `file`s are resolved against.

    Returns:
        The events, variables first; an empty frame (with the variable columns) when the
        category holds no data, which is a legitimate outcome of a tight selection.
    """
    raw = analysis.raw
    data_files = raw.get("data_file")
    if data_files is None:
        raise ConfigError(f"{analysis.source}: data_file is not set; no observed data to load")
    data_files = [data_files] if isinstance(data_files, str) else list(data_files)
    if not data_files:
        raise ConfigError(f"{analysis.source}: data_file is not set (empty list)")
    categories = analysis.categories
    if category not in categories:
        raise ConfigError(
            f"{analysis.source}: unknown category '{category}' (known: {list(categories)})"
        )
    add_values = _per_input_values(raw.get("data_add_columns"), len(data_files), "data_add_columns")
    variables = analysis.variables

    frames: list[pd.DataFrame] = []
    for i, path in enumerate(data_files):
        frame, _ = read_table(
            path, None, raw.get("data_tree_name"), "data_tree_name", f"data_file[{i}]"
        )
        for column, value in add_values[i].items():
            frame[column] = value
        frame, _ = _calculate(frame, raw.get("data_calculate"), "data_calculate", base_dir)
        missing = [v for v in variables if v not in frame.columns]
        if missing:
            raise DataError(
                f"data_file[{i}] {path}: missing variable(s) {missing}; present: "
                f"{_names(frame.columns)}"
            )
        frame = select(frame, raw.get("data_selection"), f"data_selection ({path})")
        frame = select(frame, categories[category], f"categories.{category} ({path})")
        where = f"data_file[{i}] {path}"
        values = _as_float(frame, variables, where)
        _check_finite(values, variables, where)
        others = frame.drop(columns=variables).reset_index(drop=True)
        frames.append(pd.concat([values, others], axis=1))
    out = pd.concat(frames, ignore_index=True)
    if out.empty:
        LOG.warning("category '%s': no data events pass the selections", category)
    return out


# --------------------------------------------------------------------------------------------
# ResampleValidationForData
# --------------------------------------------------------------------------------------------


def resample_for_data(
    samples: Sequence[tuple[np.ndarray, np.ndarray]],
    columns: Sequence[str],
    rng: np.random.Generator,
    poisson: bool = True,
) -> pd.DataFrame:
    """Unweighted pseudo-data drawn from weighted validation samples, one per process.

    Per process, events are drawn with replacement with probability ∝ w (negative weights
    cannot be probabilities and are dropped); the number drawn is Poisson(Σw) so the pseudo-data
    fluctuate like real data (INNFER used int(Σw), so every toy had the same size), or round(Σw)
    with `poisson=False`. Σw is the process's total weight including negative weights: the
    validation samples are normalised so that this total is the predicted yield. The rows are
    shuffled with one permutation so the processes are not in blocks.

    Args:
        samples: (X of shape (n, len(columns)), w of shape (n,)) per process.
        columns: names of the X columns (the analysis variables).
        rng: the generator; the same seed gives the same pseudo-data.
        poisson: fluctuate the number of events.

    Returns:
        The variable columns plus `wt` = 1.0.
    """
    columns = list(columns)
    drawn: list[np.ndarray] = []
    for k, (x, w) in enumerate(samples):
        x = np.asarray(x, dtype=np.float64)
        w = np.asarray(w, dtype=np.float64).reshape(-1)
        if x.ndim == 1:
            x = x.reshape(-1, 1)
        if x.shape != (len(w), len(columns)):
            raise DataError(
                f"resample_for_data: process {k}: X has shape {x.shape}, expected "
                f"({len(w)}, {len(columns)}) for columns {columns}"
            )
        total = float(w.sum())
        positive = np.where(w > 0, w, 0.0)
        if not total > 0 or not positive.sum() > 0:
            raise DataError(
                f"resample_for_data: process {k}: total weight {total} is not positive, "
                "cannot draw events from it"
            )
        n = int(rng.poisson(total)) if poisson else int(round(total))
        picks = rng.choice(len(w), size=n, replace=True, p=positive / positive.sum())
        drawn.append(x[picks])
    if not drawn:
        raise DataError("resample_for_data: no samples given")
    events = np.concatenate(drawn, axis=0)
    events = events[rng.permutation(len(events))]
    out = pd.DataFrame(events, columns=columns)
    out[WEIGHT] = 1.0
    return out
