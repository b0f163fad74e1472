"""Assemble a fit problem from the workflow's files: events, densities, yields, truth, limits.

`initial_fit` and `hessian` build exactly the same likelihood, so both go through here. A fit
set chooses what is fitted (`data_type`, spec §1.4) and how (`likelihood`, §1.3):

* `sim`: the simulated validation events of the point, from one split, each process
  normalised to its expected yield at the truth;
* `asimov`: per (process, category) an Asimov file (X columns and `wt`, Σwt = the yield);
* `data`: per category the observed events, unweighted unless the file has a `wt` column;
* `resampled`: per category unweighted pseudo-data drawn from the validation events of the
  point (`resample_validation_for_data`), fitted exactly like observed data.

Unbinned kinds (`unbinned_extended`, `unbinned`, `poisson`) see the events; binned kinds
(`binned_extended`, `binned`) see per-bin counts and PreProcess's per-bin yields. The truth
row is the validation point for sim, Asimov and pseudo-data fits and the defaults for data
(there is no truth; INNFER's row is then the defaults), and constraints are centred on it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from innfer_lib.core.analysis import Analysis, rate_parameter
from innfer_lib.core.constraints import constrained_parameters
from innfer_lib.core.errors import ConfigError, DataError
from innfer_lib.core.fit_sets import processes_frozen
from innfer_lib.core.io import read_parquet, read_yaml
from innfer_lib.core.paths import INPUT_KEY_SEPARATOR
from innfer_lib.data.data_events import event_weights
from innfer_lib.data.schema import WEIGHT
from innfer_lib.data.validation_sets import validation_sample
from innfer_lib.data.weighted_stats import effective_events
from innfer_lib.data.yields import expected_yield
from innfer_lib.density.models import load_density
from innfer_lib.density.sampling import parameter_ranges
from innfer_lib.inference.binned_inputs import binned_inputs
from innfer_lib.inference.fit_inputs import DATA_INPUT, FitInputs, ProcessInputs
from innfer_lib.inference.freeze import resolve_freeze
from innfer_lib.inference.likelihood import BINNED_KINDS, EXTENDED, KINDS, Likelihood
from innfer_lib.inference.model import BinnedCategory, BinnedProcess, Category, Process
from innfer_lib.ratios.loading import reweight
from innfer_lib.ratios.reweighted import ReweightedDensity
from innfer_lib.results.intervals import TRUTH_FROM_DEFAULTS

SIM, ASIMOV, DATA, RESAMPLED = "sim", "asimov", "data", "resampled"
DATA_TYPES = (SIM, ASIMOV, DATA, RESAMPLED)
#: Data types whose events are one file per category (the named input `data__<category>`),
#: unweighted unless the file has a `wt` column: observed data and pseudo-data.
EVENT_FILE_TYPES = (DATA, RESAMPLED)


@dataclass
class FitProblem:
    """Everything a fit needs: −ln L, parameter names, truth, physical limits, frozen values."""

    likelihood: Likelihood
    columns: list[str]
    truth: dict[str, float]
    limits: dict[str, tuple[float | None, float | None]]
    info: dict[str, Any]
    fixed: dict[str, float] = field(default_factory=dict)


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
    #: The processes fitted: every one, or a fit set's `processes` (fitted alone).
    processes: list[str] = field(default_factory=list)
    #: Fit limits of weight-only nuisances: the ranges their ratio models were trained on.
    ratio_ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    #: Events given in memory per category (x, weights), used instead of any file: a toy.
    events: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None


def truth_row(analysis: Analysis, val_index: int, data_type: str = SIM) -> dict[str, float]:
    """The row a fit is compared with, freezes at, and centres its constraints on.

    Observed data has no truth; INNFER fitted it only at the default point, so the defaults
    are its row. Pseudo-data are drawn at the validation point, which is their truth. Callers
    resolving a freeze spec use this too, so they freeze at the same values the problem
    reports.
    """
    if data_type == DATA:
        return dict(analysis.defaults)
    return dict(analysis.validation_points[val_index])


def parameter_limits(
    analysis: Analysis,
    parameters: Mapping[tuple[str, str], Mapping[str, Any]],
    grids: Mapping[str, Sequence[float]] | None = None,
    ratio_ranges: Mapping[str, tuple[float, float]] | None = None,
) -> dict[str, tuple[float | None, float | None]]:
    """Physical ranges: shape parameters within the trained range, rates non-negative.

    A flow is only meaningful inside the parameter range it was trained on, so a fit that
    wants to leave it hits a limit instead of extrapolating (and is flagged at_limit). The
    training range (which for shifted nuisances is the shift's support) is preferred over
    the min/max of the training events. A binned fit interpolates its yields over a POI grid
    and cannot leave it either, so `grids` narrows those ranges. A weight-only nuisance is
    bounded by the range its ratio models were trained on (`ratio_ranges`, the narrowest over
    processes and categories), where their normalisation splines are defined.
    """
    bounded: dict[str, tuple[float, float]] = {}
    for params in parameters.values():
        for col, (low, high) in parameter_ranges(params).items():
            lo, hi = bounded.get(col, (low, high))
            bounded[col] = (min(lo, low), max(hi, high))
    narrowing = {col: (min(g), max(g)) for col, g in (grids or {}).items() if len(g)}
    for col, (low, high) in [*narrowing.items(), *(ratio_ranges or {}).items()]:
        lo, hi = bounded.get(col, (float(low), float(high)))
        bounded[col] = (max(lo, float(low)), min(hi, float(high)))
    limits: dict[str, tuple[float | None, float | None]] = dict(bounded)
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
    if weight_required and WEIGHT not in frame.columns:
        missing.append(WEIGHT)
    if missing:
        raise DataError(f"{where} ({path}): missing column(s) {missing}")
    return frame[list(columns)].to_numpy(np.float64), event_weights(frame)


def _category_events(
    b: _Build, category: str, columns: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """The fitted events of one category over `columns`, with their weights."""
    analysis = b.analysis
    if b.events is not None:
        if category not in b.events:
            raise ConfigError(f"{b.data_type} fit: no events given for category '{category}'")
        return b.events[category]
    if b.data_type in EVENT_FILE_TYPES:
        if category not in b.data:
            raise ConfigError(
                f"{b.data_type} fit: no events file for category '{category}' (named input "
                f"'{DATA_INPUT}{INPUT_KEY_SEPARATOR}{category}')"
            )
        where = f"{b.data_type}, category '{category}'"
        return _frame_events(b.data[category], columns, where, False)
    xs, ws = [], []
    for process in b.processes:
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


def build_problem(
    analysis: Analysis,
    val_index: int,
    inputs: FitInputs,
    fit_options: Mapping[str, Any],
    data: Mapping[str, str] | None = None,
    events: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
) -> FitProblem:
    """Build the likelihood of one validation point for one fit set.

    Args:
        analysis: the analysis config.
        val_index: index into the canonical validation loop.
        inputs: files per (process, category), and the observed data files.
        fit_options: a filled fit-set block of the workflow config: `data_type` (sim, asimov,
            data, resampled), `split`, `likelihood`, `scale_to_eff_events`, and optionally
            `freeze` (a resolved {param: value} mapping or a single-fit spec) and
            `constraints` (False drops the nuisance constraints, INNFER's --no-constraint)
            and `processes` (fit those processes' densities to their own events alone,
            holding the parameters not theirs at the truth; `core.fit_sets`).
        data: observed data (or pseudo-data) file per category (default: `inputs.data`).
        events: (x, weights) per category in memory, instead of files: a toy, fitted like
            pseudo-data (`data_type` must then be `resampled`, whose truth is the point).

    Raises:
        ConfigError: an unknown data type or likelihood, missing inputs for the data type, or
            a binned likelihood without binned-fit inputs.
        DataError: an empty category or a file lacking columns.
    """
    data_type = fit_options.get("data_type", SIM)
    if data_type not in DATA_TYPES:
        raise ConfigError(f"fit set: data_type {data_type!r} is not one of {DATA_TYPES}")
    kind = fit_options.get("likelihood", EXTENDED)
    if kind not in KINDS:
        raise ConfigError(f"fit set: likelihood {kind!r} is not one of {KINDS}")
    binned = kind in BINNED_KINDS
    split = fit_options.get("split", "val")
    # Asimov weights already sum to the yield and (pseudo-)data are counts: only sim is rescaled.
    scale = bool(fit_options.get("scale_to_eff_events", True)) and data_type == SIM
    data = dict(data if data is not None else inputs.data)
    truth = truth_row(analysis, val_index, data_type)
    columns = analysis.fit_parameters
    processes = list(fit_options.get("processes") or analysis.processes)
    unknown = [p for p in processes if p not in analysis.processes]
    if unknown:
        raise ConfigError(f"fit set: processes {unknown} are not among {analysis.processes}")
    for key in ((p, c) for c in analysis.categories for p in processes):
        if key not in inputs:
            raise ConfigError(f"fit inputs: no files for process '{key[0]}', category '{key[1]}'")
    parameters = {key: read_yaml(f.parameters) for key, f in inputs.items() if key[0] in processes}
    info: dict[str, Any] = {"data_type": data_type, "likelihood": kind, "categories": {}}
    if processes != analysis.processes:
        info["processes"] = processes
    if data_type == DATA:
        info["truth"] = TRUTH_FROM_DEFAULTS
    grids: dict[str, list[float]] = {}
    if events is not None and data_type != RESAMPLED:
        raise ConfigError(f"fit set: in-memory events are pseudo-data, not data_type {data_type}")
    build = _Build(
        analysis,
        val_index,
        inputs,
        parameters,
        data,
        data_type,
        split,
        truth,
        scale,
        info,
        processes=processes,
        events=events,
    )
    categories: list[Category | BinnedCategory] = []
    if binned:
        categories += _binned_categories(build, grids)
    else:
        categories += _unbinned_categories(build)
    fixed = {p: truth[p] for p in processes_frozen(analysis, fit_options.get("processes"))}
    fixed |= _resolve_fixed(fit_options.get("freeze"), analysis, truth)
    _check_ratio_points(categories, truth, fixed)
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
        limits=parameter_limits(analysis, parameters, grids, build.ratio_ranges),
        info=info,
        fixed=fixed,
    )


def _check_ratio_points(
    categories: Sequence[Category | BinnedCategory],
    truth: Mapping[str, float],
    fixed: Mapping[str, float],
) -> None:
    """Refuse a validation point or a frozen value outside a ratio model's range.

    The fitter itself is kept inside by the limits; these are the values it does not choose.
    """
    for cat in categories:
        for proc in cat.processes:
            density = getattr(proc, "density", None)
            if isinstance(density, ReweightedDensity):
                density.check_point({**truth, **fixed})


def _unbinned_categories(b: _Build) -> list[Category]:
    analysis = b.analysis
    categories = []
    for category in analysis.categories:
        procs = []
        for process in b.processes:
            files, params = b.inputs[(process, category)], b.parameters[(process, category)]
            if not files.architecture:
                raise ConfigError(
                    f"unbinned fit: no density (architecture input) for process '{process}', "
                    f"category '{category}'"
                )
            where = f"process '{process}', category '{category}'"
            density = reweight(load_density(files.architecture, params), files.ratios, where)
            if isinstance(density, ReweightedDensity):
                for nu, (low, high) in density.ratio_limits().items():
                    lo, hi = b.ratio_ranges.get(nu, (low, high))
                    b.ratio_ranges[nu] = (max(lo, low), min(hi, high))
            procs.append(
                Process(
                    name=process,
                    density=density,
                    nominal=float(params["yields"]["nominal"]),
                    rate_parameter=params.get("rate_parameter"),
                    lnN=params["yields"].get("lnN") or {},
                )
            )
        x_columns = _x_columns(analysis, b.parameters[(b.processes[0], category)])
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


def _binned_categories(b: _Build, grids: dict[str, list[float]]) -> list[BinnedCategory]:
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
    categories = []
    for category in analysis.categories:
        ref = tables[(b.processes[0], category)]
        for process in b.processes:
            t = tables[(process, category)]
            if t.variable != ref.variable or not np.array_equal(t.edges, ref.edges):
                raise ConfigError(
                    f"binned fit, category '{category}': processes '{b.processes[0]}' "
                    f"and '{process}' are binned differently"
                )
        if b.data_type == SIM:
            counts = sum(
                _sim_counts(
                    parameters[(p, category)], b.split, b.val_index, f"process '{p}', '{category}'"
                )
                for p in b.processes
            )
        else:
            x, w = _category_events(b, category, [ref.variable])
            counts = np.histogram(x[:, 0], bins=ref.edges, weights=w)[0].astype(np.float64)
        scale = 1.0
        if b.scale:
            yields, squares = 0.0, 0.0
            for p in b.processes:
                params = parameters[(p, category)]
                n_p = expected_yield(params, b.truth)
                yields += n_p
                squares += n_p**2 / _eff_events(
                    params, b.split, b.val_index, f"'{p}', '{category}'"
                )
            scale = yields / squares if squares > 0 else 1.0
        procs = []
        for process in b.processes:
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
