"""Assemble a fit problem from the workflow's files: events, densities, yields, truth, limits.

`initial_fit` and `hessian` build exactly the same likelihood, so both go through here. A fit
set chooses what is fitted (`data_type`, spec §1.4) and how (`likelihood`, §1.3):

* `sim`: the simulated validation events of the point, from one split, each process
  normalised to its expected yield at the truth;
* `asimov`: per (process, category) an Asimov file (X columns and `wt`, Σwt = the yield);
* `data`: per category the observed events, unweighted unless the file has a `wt` column.

Unbinned kinds (`unbinned_extended`, `unbinned`, `poisson`) see the events; binned kinds
(`binned_extended`, `binned`) see per-bin counts and PreProcess's per-bin yields. The truth
row is the validation point for sim and Asimov fits and the defaults for data (there is no
truth; INNFER's row is then the defaults), and constraints are centred on it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from innfer_lib.core.analysis import Analysis, rate_parameter
from innfer_lib.core.constraints import constrained_parameters
from innfer_lib.core.errors import ConfigError, DataError
from innfer_lib.core.io import read_parquet, read_yaml
from innfer_lib.core.paths import INPUT_KEY_SEPARATOR
from innfer_lib.data.preprocess import effective_events, validation_sample
from innfer_lib.data.yields import process_yield
from innfer_lib.inference.freeze import resolve_freeze
from innfer_lib.results.intervals import TRUTH_FROM_DEFAULTS

SIM, ASIMOV, DATA = "sim", "asimov", "data"
DATA_TYPES = (SIM, ASIMOV, DATA)
UNBINNED_KINDS = ("unbinned_extended", "unbinned", "poisson")
BINNED_KINDS = ("binned_extended", "binned")
LIKELIHOOD_KINDS = UNBINNED_KINDS + BINNED_KINDS
EVENT_WEIGHT = "wt"
ALL_VALUES = "all"
PROCESS_INPUT_KINDS = ("parameters", "validation", "architecture", "asimov")


@dataclass
class ProcessInputs:
    """The files one process contributes to a fit in one category.

    Only `parameters` is always needed: a binned fit needs no density, and Asimov and data
    fits read no validation events.
    """

    parameters: str
    validation: str | None = None
    architecture: str | None = None
    asimov: str | None = None


class FitInputs(dict):
    """Files per (process, category) plus the observed data file per category.

    A dict of `ProcessInputs`, so code written for the plain mapping keeps working; `data`
    holds what belongs to a category rather than a process.
    """

    def __init__(
        self,
        processes: Mapping[tuple[str, str], ProcessInputs] | None = None,
        data: Mapping[str, str] | None = None,
    ):
        super().__init__(processes or {})
        self.data: dict[str, str] = dict(data or {})


@dataclass
class FitProblem:
    """Everything a fit needs: −ln L, parameter names, truth, physical limits, frozen values."""

    likelihood: Any
    columns: list[str]
    truth: dict[str, float]
    limits: dict[str, tuple[float | None, float | None]]
    info: dict[str, Any]
    fixed: dict[str, float] = field(default_factory=dict)


@dataclass
class BinnedInputs:
    """PreProcess's per-bin yields of one (process, category) as arrays.

    Attributes:
        variable: the binned variable.
        edges: bin edges.
        poi: the shape POI the yields are tabulated in (None: one row for all values).
        grid: the sorted POI values of the rows (empty when `poi` is None).
        nominal: (n_grid, n_bins) expected events per bin.
        lnN: nuisance -> (n_grid, 2, n_bins) [κ_down, κ_up] per bin.
    """

    variable: str
    edges: np.ndarray
    poi: str | None
    grid: list[float]
    nominal: np.ndarray
    lnN: dict[str, np.ndarray]


@dataclass
class _Build:
    """What every part of one `build_problem` call reads."""

    analysis: Analysis
    val_index: int
    inputs: Mapping[tuple[str, str], ProcessInputs]
    parameters: dict[tuple[str, str], dict[str, Any]]
    data: dict[str, str]
    data_type: str
    split: str
    truth: dict[str, float]
    scale: bool
    info: dict[str, Any]


def truth_row(analysis: Analysis, val_index: int, data_type: str = SIM) -> dict[str, float]:
    """The row a fit is compared with, freezes at, and centres its constraints on.

    Observed data has no truth; INNFER fitted it only at the default point, so the defaults
    are its row. Callers resolving a freeze spec use this too, so they freeze at the same
    values the problem reports.
    """
    if data_type == DATA:
        return dict(analysis.defaults)
    return dict(analysis.validation_points[val_index])


def _key_value(key: Any) -> float | None:
    try:
        return float(key)
    except (TypeError, ValueError):
        return None


def binned_inputs(
    parameters: Mapping[str, Any], pois: Sequence[str], where: str = "parameters.yaml"
) -> BinnedInputs:
    """Arrays of `binned_fit_input`: rows are the sorted numeric POI keys (or the 'all' row).

    Raises:
        ConfigError: the file has no binned-fit inputs (`inference.binned_fit` not set up), or
            its keys are inconsistent.
    """
    bins = parameters.get("binned_fit_input")
    if not bins or "binned_fit_edges" not in parameters or "binned_fit_variable" not in parameters:
        raise ConfigError(
            f"{where}: no binned-fit inputs (binned_fit_input, binned_fit_edges, "
            "binned_fit_variable); a binned likelihood needs `inference.binned_fit` to be "
            "configured in the analysis config, and PreProcess to be rerun"
        )
    edges = np.asarray(parameters["binned_fit_edges"], np.float64)
    bins = sorted(bins, key=lambda b: int(b.get("bin_ind", 0)))
    if len(bins) != len(edges) - 1:
        raise ConfigError(f"{where}: {len(bins)} binned_fit_input bins for {len(edges)} edges")
    per_bin = []
    for b in bins:
        rows: dict[float | str, Mapping[str, Any]] = {}
        for key, entry in b["yields"].items():
            value = _key_value(key)
            rows[ALL_VALUES if value is None else value] = entry
        per_bin.append(rows)
    keys = set(per_bin[0])
    if any(set(rows) != keys for rows in per_bin):
        raise ConfigError(f"{where}: binned_fit_input bins have different yield keys")
    numeric = sorted(k for k in keys if not isinstance(k, str))
    if numeric and len(numeric) != len(keys):
        raise ConfigError(f"{where}: binned_fit_input mixes POI values and '{ALL_VALUES}'")
    if not numeric and keys != {ALL_VALUES}:
        raise ConfigError(
            f"{where}: binned_fit_input keys {sorted(map(str, keys))} are not POI values"
        )
    poi = None
    if numeric:
        y_columns = (parameters.get("density") or {}).get("Y_columns")
        shape = [p for p in pois if y_columns is None or p in y_columns]
        if len(shape) != 1:
            raise ConfigError(
                f"{where}: binned yields are tabulated in a POI, but the shape POI is "
                f"ambiguous ({shape}); one shape POI is supported"
            )
        poi = shape[0]
    row_keys: list[float | str] = list(numeric) if numeric else [ALL_VALUES]
    nominal = np.array(
        [[float(rows[k]["nominal"]) for rows in per_bin] for k in row_keys], np.float64
    )
    names = sorted({n for rows in per_bin for entry in rows.values() for n in entry.get("lnN", {})})
    lnn = {}
    for name in names:
        arr = np.ones((len(row_keys), 2, len(bins)))
        for g, k in enumerate(row_keys):
            for b, rows in enumerate(per_bin):
                pair = (rows[k].get("lnN") or {}).get(name)
                if pair is not None:
                    arr[g, :, b] = [float(pair[0]), float(pair[1])]
        lnn[name] = arr
    return BinnedInputs(
        variable=str(parameters["binned_fit_variable"]),
        edges=edges,
        poi=poi,
        grid=[float(v) for v in numeric],
        nominal=nominal,
        lnN=lnn,
    )


def parameter_limits(
    analysis: Analysis,
    parameters: Mapping[tuple[str, str], Mapping[str, Any]],
    grids: Mapping[str, Sequence[float]] | None = None,
) -> dict[str, tuple[float | None, float | None]]:
    """Physical ranges: shape parameters within the trained range, rates non-negative.

    A flow is only meaningful inside the parameter range it was trained on, so a fit that
    wants to leave it hits a limit instead of extrapolating (and is flagged at_limit). The
    training range (which for shifted nuisances is the shift's support) is preferred over
    the min/max of the training events. A binned fit interpolates its yields over a POI grid
    and cannot leave it either, so `grids` narrows those ranges.
    """
    limits: dict[str, tuple[float | None, float | None]] = {}
    for params in parameters.values():
        density = params.get("density") or {}
        ranges = density.get("training_range") or {}
        for col in density.get("Y_columns", []):
            if col in ranges:
                low, high = (float(v) for v in ranges[col])
            else:
                mm = density["initial_minmax"][col]
                low, high = float(mm["min"]), float(mm["max"])
            lo, hi = limits.get(col, (low, high))
            limits[col] = (min(lo, low), max(hi, high))
    for col, grid in (grids or {}).items():
        if len(grid) == 0:
            continue
        low, high = float(min(grid)), float(max(grid))
        lo, hi = limits.get(col, (low, high))
        limits[col] = (max(lo, low), min(hi, high))
    for process in analysis.rate_processes:
        limits[rate_parameter(process)] = (0.0, None)
    return limits


def _x_columns(analysis: Analysis, parameters: Mapping[str, Any]) -> list[str]:
    return list((parameters.get("density") or {}).get("X_columns") or analysis.variables)


def _frame_events(
    path: str, columns: Sequence[str], where: str, weight_required: bool
) -> tuple[np.ndarray, np.ndarray]:
    frame = read_parquet(path)
    missing = [c for c in columns if c not in frame.columns]
    if weight_required and EVENT_WEIGHT not in frame.columns:
        missing.append(EVENT_WEIGHT)
    if missing:
        raise DataError(f"{where} ({path}): missing column(s) {missing}")
    x = frame[list(columns)].to_numpy(np.float64)
    if EVENT_WEIGHT in frame.columns:
        w = frame[EVENT_WEIGHT].to_numpy(np.float64)
    else:
        w = np.ones(len(frame))
    return x, w


def _category_events(
    b: _Build, category: str, columns: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """The fitted events of one category over `columns`, with their weights."""
    analysis = b.analysis
    if b.data_type == DATA:
        if category not in b.data:
            raise ConfigError(
                f"data fit: no observed data file for category '{category}' (named input "
                f"'data{INPUT_KEY_SEPARATOR}{category}')"
            )
        return _frame_events(b.data[category], columns, f"data, category '{category}'", False)
    xs, ws = [], []
    for process in analysis.processes:
        files, params = b.inputs[(process, category)], b.parameters[(process, category)]
        where = f"{b.data_type} fit, process '{process}', category '{category}'"
        if b.data_type == SIM:
            if not files.validation:
                raise ConfigError(f"{where}: no validation events input")
            frame = read_parquet(files.validation)
            if list(columns) != _x_columns(analysis, params):
                raise DataError(
                    f"{where}: X columns {_x_columns(analysis, params)} differ from the "
                    f"category's {list(columns)}"
                )
            x, w = validation_sample(frame, params, b.truth, b.split)
        else:
            if not files.asimov:
                raise ConfigError(
                    f"{where}: no Asimov input (named input 'asimov{INPUT_KEY_SEPARATOR}"
                    f"{process}{INPUT_KEY_SEPARATOR}{category}')"
                )
            x, w = _frame_events(files.asimov, columns, where, True)
        xs.append(x)
        ws.append(w)
    return np.concatenate(xs), np.concatenate(ws)


def _eff_events(params: Mapping[str, Any], split: str, val_index: int, where: str) -> float:
    table = (params.get("eff_events") or {}).get(split) or {}
    value = table.get(val_index, table.get(str(val_index)))
    if value is None:
        raise DataError(f"{where}: no eff_events[{split}][{val_index}] in parameters.yaml")
    return float(value)


def _sim_counts(params: Mapping[str, Any], split: str, val_index: int, where: str) -> np.ndarray:
    table = (params.get("validation_binned_fit") or {}).get(split) or {}
    counts = table.get(val_index, table.get(str(val_index)))
    if counts is None:
        raise ConfigError(
            f"{where}: no validation_binned_fit[{split}][{val_index}] in parameters.yaml; a "
            "binned fit needs `inference.binned_fit` to be configured (and PreProcess rerun)"
        )
    return np.asarray(counts, np.float64)


def _resolve_fixed(freeze: Any, analysis: Analysis, truth: Mapping[str, float]) -> dict[str, float]:
    """The fit set's freeze as {param: value}: a resolved mapping or a single-fit spec string."""
    if freeze is None or freeze == "" or freeze == {}:
        return {}
    return resolve_freeze(freeze, analysis, truth)


def _check_kind(kind: str) -> None:
    if kind not in LIKELIHOOD_KINDS:
        raise ConfigError(f"fit set: likelihood {kind!r} is not one of {LIKELIHOOD_KINDS}")
    from innfer_lib.inference import likelihood

    supported = getattr(likelihood, "KINDS", LIKELIHOOD_KINDS)
    if kind not in supported:
        raise ConfigError(
            f"fit set: likelihood {kind!r} is not supported by innfer_lib.inference.likelihood "
            f"(supported: {tuple(supported)})"
        )


def build_problem(
    analysis: Analysis,
    val_index: int,
    inputs: Mapping[tuple[str, str], ProcessInputs],
    fit_options: Mapping[str, Any],
    data: Mapping[str, str] | None = None,
) -> FitProblem:
    """Build the likelihood of one validation point for one fit set.

    Args:
        analysis: the analysis config.
        val_index: index into the canonical validation loop.
        inputs: files per (process, category); a `FitInputs` also carries the data files.
        fit_options: a filled fit-set block of the workflow config: `data_type` (sim, asimov,
            data), `split`, `likelihood`, `scale_to_eff_events`, and optionally `freeze` (a
            resolved {param: value} mapping or a single-fit spec) and `constraints` (False
            drops the nuisance constraints, INNFER's --no-constraint).
        data: observed data file per category (default: `inputs.data` if present).

    Raises:
        ConfigError: an unknown data type or likelihood, missing inputs for the data type, or
            a binned likelihood without binned-fit inputs.
        DataError: an empty category or a file lacking columns.
    """
    data_type = fit_options.get("data_type", SIM)
    if data_type not in DATA_TYPES:
        raise ConfigError(f"fit set: data_type {data_type!r} is not one of {DATA_TYPES}")
    kind = fit_options.get("likelihood", UNBINNED_KINDS[0])
    if kind not in LIKELIHOOD_KINDS:
        raise ConfigError(f"fit set: likelihood {kind!r} is not one of {LIKELIHOOD_KINDS}")
    binned = kind in BINNED_KINDS
    split = fit_options.get("split", "val")
    # Asimov weights already sum to the yield and data are counts: only sim is rescaled.
    scale = bool(fit_options.get("scale_to_eff_events", True)) and data_type == SIM
    data = dict(data if data is not None else getattr(inputs, "data", {}) or {})
    truth = truth_row(analysis, val_index, data_type)
    columns = analysis.fit_parameters
    for key in ((p, c) for c in analysis.categories for p in analysis.processes):
        if key not in inputs:
            raise ConfigError(f"fit inputs: no files for process '{key[0]}', category '{key[1]}'")
    parameters = {key: read_yaml(f.parameters) for key, f in inputs.items()}
    info: dict[str, Any] = {"data_type": data_type, "likelihood": kind, "categories": {}}
    if data_type == DATA:
        info["truth"] = TRUTH_FROM_DEFAULTS
    grids: dict[str, list[float]] = {}
    build = _Build(
        analysis, val_index, inputs, parameters, data, data_type, split, truth, scale, info
    )
    if binned:
        categories = _binned_categories(build, grids)
    else:
        _check_kind(kind)
        categories = _unbinned_categories(build)
    from innfer_lib.inference.likelihood import Likelihood

    constrained = constrained_parameters(
        analysis.nuisance_constraints, columns, fit_options.get("constraints", True)
    )
    likelihood = Likelihood(
        columns, categories, kind=kind, constrained=constrained, constraint_centres=truth
    )
    return FitProblem(
        likelihood=likelihood,
        columns=columns,
        truth={c: truth[c] for c in columns},
        limits=parameter_limits(analysis, parameters, grids),
        info=info,
        fixed=_resolve_fixed(fit_options.get("freeze"), analysis, truth),
    )


def _unbinned_categories(b: _Build) -> list[Any]:
    from innfer_lib.density.models import load_density
    from innfer_lib.inference.likelihood import Category, Process

    analysis = b.analysis
    categories = []
    for category in analysis.categories:
        procs = []
        for process in analysis.processes:
            files, params = b.inputs[(process, category)], b.parameters[(process, category)]
            if not files.architecture:
                raise ConfigError(
                    f"unbinned fit: no density (architecture input) for process '{process}', "
                    f"category '{category}'"
                )
            procs.append(
                Process(
                    name=process,
                    density=load_density(files.architecture, params),
                    nominal=float(params["yields"]["nominal"]),
                    rate_parameter=params.get("rate_parameter"),
                    lnN=params["yields"].get("lnN") or {},
                )
            )
        x_columns = _x_columns(analysis, b.parameters[(analysis.processes[0], category)])
        x, w = _category_events(b, category, x_columns)
        if len(w) == 0:
            raise DataError(
                f"validation point {b.val_index}, category '{category}': no events to fit "
                f"(data type '{b.data_type}', split '{b.split}')"
            )
        scale = 1.0
        if b.scale:
            # One common factor for events and yields keeps the process proportions and the
            # extended term consistent, and makes Σw equal Kish's effective event count.
            scale = effective_events(w) / float(w.sum())
            w = w * scale
            for p in procs:
                p.nominal *= scale
        categories.append(Category(name=category, x=x, weights=w, processes=procs))
        b.info["categories"][category] = {
            "events": len(w),
            "sum_weights": float(w.sum()),
            "effective_events": effective_events(w),
            "weight_scale": scale,
        }
    return categories


def _binned_categories(b: _Build, grids: dict[str, list[float]]) -> list[Any]:
    """Per category: observed counts and per-process bin yields.

    Observed counts are PreProcess's validation histograms for sim (each process normalised
    to its yield at the truth, like the unbinned events) and histograms of the fitted events
    otherwise. With `scale_to_eff_events` counts and yields share one factor, the Kish ratio
    Σ_p N_p / Σ_p (N_p²/n_eff,p) of the combined validation sample, which is what the
    unbinned path computes from the events themselves.
    """
    analysis, parameters = b.analysis, b.parameters
    tables = {}
    for (process, category), params in parameters.items():
        where = f"binned fit, process '{process}', category '{category}'"
        tables[(process, category)] = binned_inputs(params, analysis.pois, where)
    _check_kind(b.info["likelihood"])
    try:
        from innfer_lib.inference.likelihood import BinnedCategory, BinnedProcess
    except ImportError as err:
        raise ConfigError(
            "binned likelihoods need innfer_lib.inference.likelihood.BinnedCategory/BinnedProcess, "
            "which this build does not provide"
        ) from err
    categories = []
    for category in analysis.categories:
        ref = tables[(analysis.processes[0], category)]
        for process in analysis.processes:
            t = tables[(process, category)]
            if t.variable != ref.variable or not np.array_equal(t.edges, ref.edges):
                raise ConfigError(
                    f"binned fit, category '{category}': processes '{analysis.processes[0]}' "
                    f"and '{process}' are binned differently"
                )
        if b.data_type == SIM:
            counts = sum(
                _sim_counts(
                    parameters[(p, category)], b.split, b.val_index, f"process '{p}', '{category}'"
                )
                for p in analysis.processes
            )
        else:
            x, w = _category_events(b, category, [ref.variable])
            counts = np.histogram(x[:, 0], bins=ref.edges, weights=w)[0].astype(np.float64)
        scale = 1.0
        if b.scale:
            yields, squares = 0.0, 0.0
            for p in analysis.processes:
                params = parameters[(p, category)]
                n_p = process_yield(params["yields"], b.truth, params.get("rate_parameter"))
                yields += n_p
                squares += n_p**2 / _eff_events(
                    params, b.split, b.val_index, f"'{p}', '{category}'"
                )
            scale = yields / squares if squares > 0 else 1.0
        procs = []
        for process in analysis.processes:
            t, params = tables[(process, category)], parameters[(process, category)]
            if t.poi is not None and t.grid:
                # Every process's template is trusted only inside its own grid.
                low, high = grids.get(t.poi, (min(t.grid), max(t.grid)))
                grids[t.poi] = [max(low, min(t.grid)), min(high, max(t.grid))]
            procs.append(
                BinnedProcess(
                    name=process,
                    nominal=t.nominal * scale,
                    lnN=t.lnN,
                    poi=t.poi,
                    grid=t.grid if t.poi is not None else (),
                    rate_parameter=params.get("rate_parameter"),
                )
            )
        counts = np.asarray(counts, np.float64) * scale
        categories.append(BinnedCategory(name=category, counts=counts, processes=procs))
        b.info["categories"][category] = {
            "bins": len(counts),
            "variable": ref.variable,
            "observed": float(counts.sum()),
            "weight_scale": scale,
        }
    return categories


def inputs_from_snakemake(named_inputs: Mapping[str, Any]) -> FitInputs:
    """Group a fit's named inputs into files per (process, category) and data per category.

    Names are `<kind>__<process>__<category>[__...]` for kind in parameters, validation,
    architecture and asimov, and `data__<category>` (or `data__all__<category>`, the
    `input_key` form with "all" as the process) for observed data. A fit has one
    validation point and one density source, so the optional last part (the point or the
    density) is not needed to tell files apart.
    """
    grouped: dict[tuple[str, str], dict[str, str]] = {}
    data: dict[str, str] = {}
    for key, value in named_inputs.items():
        parts = str(key).split(INPUT_KEY_SEPARATOR)
        if parts[0] == DATA and len(parts) >= 2:
            # `data__<category>`, or `data__all__<category>` from input_key("data", "all", c).
            category = parts[2] if len(parts) >= 3 and parts[1] == ALL_VALUES else parts[1]
            data[category] = str(value)
        elif len(parts) >= 3 and parts[0] in PROCESS_INPUT_KINDS:
            grouped.setdefault((parts[1], parts[2]), {})[parts[0]] = str(value)
    for (process, category), files in grouped.items():
        if "parameters" not in files:
            raise ConfigError(
                f"fit inputs: no 'parameters{INPUT_KEY_SEPARATOR}{process}"
                f"{INPUT_KEY_SEPARATOR}{category}' among the named inputs"
            )
    return FitInputs({key: ProcessInputs(**files) for key, files in grouped.items()}, data)
