"""Fit sets and summaries: the named sets of the workflow config, filled and expanded.

Each entry of `fits:` becomes one `{fit}` wildcard value (`freeze: all-but-one` becomes one
per floating parameter), and each summary names the fit sets (or all-but-one families) it
overlays. The DAG's loops over fits and summaries come from here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from innfer_lib.core.analysis import Analysis, rate_parameter
from innfer_lib.core.config_files import (
    ConfigKeyError,
    fill_defaults,
    unknown_name_message,
    workflow_entry_properties,
)
from innfer_lib.core.errors import ConfigError
from innfer_lib.inference.scan_input import check_scan_values, read_scan_points

ALL_BUT_ONE = "all-but-one"
#: Key marking the fit sets `freeze: all-but-one` expanded into, with the name they came from.
ALL_BUT_ONE_OF = "all_but_one_of"
#: The `likelihood` kinds that fit bin counts (`inference.likelihood.BINNED_KINDS`): named
#: here, since the fit sets are checked when the workflow is parsed, without TensorFlow.
BINNED_LIKELIHOODS = ("binned_extended", "binned")


def fit_set_options(options: Mapping[str, Any] | None) -> dict[str, Any]:
    """Fill a fit set's options with the schema defaults (nested blocks included)."""
    return fill_defaults(workflow_entry_properties("fits"), dict(options or {}))


def _check_parameters(
    path: Sequence[str], parameters: Sequence[str] | None, analysis: Analysis
) -> None:
    """Fail at parse time, naming the key, when an option lists a parameter the fit lacks."""
    for p in parameters or []:
        if p not in analysis.fit_parameters:
            raise ConfigKeyError(
                path, unknown_name_message(p, "parameter", analysis.fit_parameters)
            )


#: The pseudo-data `data_type` (`inference.problem.RESAMPLED`), named here for the same reason,
#: and the split its events are drawn from: never trained on, like INNFER's X_val.
RESAMPLED = "resampled"
RESAMPLED_SPLIT = "val"


def _check_resampled_split(name: str, filled: Mapping[str, Any]) -> None:
    """Pseudo-data are drawn from the val split only; another split would be silently ignored."""
    if filled["data_type"] == RESAMPLED and filled["split"] != RESAMPLED_SPLIT:
        raise ConfigKeyError(
            ("fits", name, "split"),
            f"data_type: resampled draws its pseudo-data from the '{RESAMPLED_SPLIT}' split "
            f"(events no flow was trained on), not '{filled['split']}'; leave split out",
        )


def _check_scan_ranges(name: str, filled: Mapping[str, Any]) -> None:
    """A fixed scan range is for a scanned parameter, with low < high."""
    scanned = filled.get("scan") or []
    for p, (low, high) in (filled["scan_points"].get("range") or {}).items():
        path = ("fits", name, "scan_points", "range", p)
        if p not in scanned:
            raise ConfigKeyError(path, f"'{p}' is not scanned in this fit set (scan: {scanned})")
        if not low < high:
            raise ConfigKeyError(path, f"needs low < high, got [{low}, {high}]")


#: `scan_points.from` value that takes the analyst's values (INNFER's ScanPointsFromInput).
SCAN_FROM_INPUT = "input"
#: Defaults of the σ-step grid, applied here (the schema leaves them null) so that setting them
#: with `from: input`, which does not use them, can be refused by name.
SCAN_GRID_DEFAULTS = {"n_points": 21, "sigma_step": 0.25}


def _resolve_scan_points(name: str, filled: dict[str, Any]) -> None:
    """Fill `scan_points` so the DAG knows each scan's values count.

    With `from: input` the values come inline (`values`) or from a file (`file`), are checked
    now (a bad file fails before any job runs) and stored under `values`; the σ-step keys do
    not apply and are refused. Otherwise `file` and `values` are refused and the σ-step
    defaults filled.
    """
    options = dict(filled["scan_points"])
    path = ("fits", name, "scan_points")
    scanned = filled.get("scan") or []
    if options["from"] == SCAN_FROM_INPUT:
        for key in (*SCAN_GRID_DEFAULTS, "range"):
            if options.get(key):
                raise ConfigKeyError(
                    (*path, key),
                    f"not used with from: {SCAN_FROM_INPUT} (the values are given); leave it out",
                )
        given = [k for k in ("file", "values") if options.get(k) is not None]
        if len(given) != 1:
            raise ConfigKeyError(
                path,
                f"from: {SCAN_FROM_INPUT} needs exactly one of `file` (a YAML or CSV of the "
                f"values per scanned parameter) or `values`, got {given or 'neither'}",
            )
        if not scanned:
            raise ConfigKeyError(path, f"from: {SCAN_FROM_INPUT} needs `scan` (a list or 'pois')")
        try:
            if options.get("file") is not None:
                options["values"] = read_scan_points(options["file"], scanned)
            else:
                options["values"] = check_scan_values(options["values"], scanned, "values")
        except ConfigError as err:
            raise ConfigKeyError((*path, given[0]), str(err)) from None
    else:
        for key in ("file", "values"):
            if options.pop(key, None) is not None:
                raise ConfigKeyError(
                    (*path, key), f"only used with from: {SCAN_FROM_INPUT}, not '{options['from']}'"
                )
        for key, default in SCAN_GRID_DEFAULTS.items():
            if options.get(key) is None:
                options[key] = default
    filled["scan_points"] = options


def scan_values_count(options: Mapping[str, Any], parameter: str) -> int:
    """How many scan jobs one scanned parameter of a filled fit set gets."""
    scan_points = options["scan_points"]
    if scan_points["from"] == SCAN_FROM_INPUT:
        return len(scan_points["values"][parameter])
    return int(scan_points["n_points"])


def _check_validation_points(name: str, filled: Mapping[str, Any], n_points: int) -> None:
    """A fit set's own points are validation points; a data fit has only the default one."""
    points = filled.get("validation_points")
    if points is None:
        return
    path = ("fits", name, "validation_points")
    if filled["data_type"] == "data":
        raise ConfigKeyError(
            path,
            "data_type: data is fitted once, at the default point (the defaults are its "
            "truth); leave validation_points out",
        )
    for index in points:
        if not 0 <= index < n_points:
            raise ConfigKeyError(
                path,
                f"{index} is not a validation point; the analysis's validation.loop has "
                f"{n_points} (indices 0..{n_points - 1})",
            )


def fit_set_vals(
    options: Mapping[str, Any], workflow_vals: Sequence[int], default_index: int
) -> list[int]:
    """The validation points a filled fit set fits.

    A data fit has one (the defaults are its truth); a fit set's own `validation_points` (the
    run-book fits Asimov at one point) replace the workflow's `validation_indices`; otherwise
    every point of the workflow.
    """
    if options["data_type"] == "data":
        return [default_index]
    own = options.get("validation_points")
    return list(own) if own is not None else list(workflow_vals)


def _check_debug_points(name: str, filled: Mapping[str, Any], analysis: Analysis) -> None:
    """Debug points name fit parameters, and are only evaluated by the debug step."""
    points = filled.get("debug_points") or []
    path = ("fits", name, "debug_points")
    if points and not filled["likelihood_debug"]:
        raise ConfigKeyError(path, "evaluated by the debug step: set likelihood_debug: true")
    for i, point in enumerate(points):
        for p in point:
            if p not in analysis.fit_parameters:
                raise ConfigKeyError(
                    (*path, i), unknown_name_message(p, "parameter", analysis.fit_parameters)
                )


#: Data types whose events hold every process (observed data, pseudo-data drawn from all of
#: them): a fit of some processes alone cannot be told which events are theirs.
ALL_PROCESS_DATA = ("data", RESAMPLED)


def process_fit_parameters(analysis: Analysis, processes: Sequence[str] | None) -> list[str]:
    """The parameters a fit of `processes` alone floats (every one when `processes` is None).

    Each process's own: the shape parameters of its density and ratio models and its rate
    parameter, if the analysis gives it one. Its events are weighted to its yield at the
    truth, so with an extended likelihood the rate closes like a shape parameter, and a
    point that varies the rate is not fitted with the wrong normalisation held fixed.
    INNFER's per-model files dropped rate and lnN parameters unless --include-per-model-rate
    / -lnN; here yield-only (lnN) nuisances are held at the truth: with a single process they
    are degenerate with its rate, or without one measure only their constraint. The rest
    of the analysis's parameters do not enter the likelihood and are held at the truth too.
    """
    if processes is None or set(processes) >= set(analysis.processes):
        return list(analysis.fit_parameters)
    own = {p for process in processes for p in analysis.process_parameters(process)}
    return [p for p in analysis.fit_parameters if p in own]


def processes_frozen(analysis: Analysis, processes: Sequence[str] | None) -> list[str]:
    """Parameters a per-process fit holds at the truth: those not of its processes."""
    own = process_fit_parameters(analysis, processes)
    return [p for p in analysis.fit_parameters if p not in own]


def _check_processes(name: str, filled: Mapping[str, Any], analysis: Analysis) -> None:
    """A per-process fit names processes with parameters, fitted to their own events."""
    processes = filled.get("processes")
    if processes is None:
        return
    path = ("fits", name, "processes")
    for process in processes:
        if process not in analysis.processes:
            raise ConfigKeyError(path, unknown_name_message(process, "process", analysis.processes))
    if filled["data_type"] in ALL_PROCESS_DATA:
        raise ConfigKeyError(
            path,
            f"data_type: {filled['data_type']} fits events of every process; a fit of "
            f"{list(processes)} alone needs their own events (data_type: sim or asimov)",
        )
    if filled["postfit"]:
        raise ConfigKeyError(
            path, "postfit: true draws every process; leave it out of a per-process fit"
        )
    own = process_fit_parameters(analysis, processes)
    if not own:
        raise ConfigKeyError(
            path,
            f"{list(processes)} have no parameters of their own (shape or rate) to fit",
        )
    for key in ("scan",):
        outside = [p for p in filled.get(key) or [] if p not in own]
        if outside:
            raise ConfigKeyError(
                ("fits", name, key),
                f"{outside} are not parameters of {list(processes)} (theirs: {own})",
            )


def all_but_one_columns(analysis: Analysis, loop_over_nuisances: bool = False) -> list[str]:
    """The parameters `freeze: all-but-one` floats one at a time (INNFER's column loop).

    POIs and rate parameters, in fit-parameter order, and the nuisances with
    `all_but_one: {loop_over_nuisances: true}` (INNFER's --loop-over-nuisances): fitting a
    constrained nuisance alone measures mostly its constraint, so it is opt-in.
    """
    loop = set(analysis.pois) | {rate_parameter(p) for p in analysis.rate_processes}
    if loop_over_nuisances:
        loop |= set(analysis.nuisances)
    return [p for p in analysis.fit_parameters if p in loop]


def _all_but_one_options(name: str, filled: Mapping[str, Any]) -> dict[str, Any]:
    """The `all_but_one` block, refused unless the fit set loops (`freeze: all-but-one`)."""
    block = filled.get("all_but_one")
    if block is not None and filled.get("freeze") != ALL_BUT_ONE:
        raise ConfigKeyError(
            ("fits", name, "all_but_one"), f"only used with freeze: {ALL_BUT_ONE}; leave it out"
        )
    return {"loop_over_nuisances": False, **(block or {})}


def _check_bootstrap(name: str, filled: Mapping[str, Any]) -> None:
    """Bootstrap replicas resample events: they need the option, and an unbinned fit."""
    if filled["summary_from"] == "bootstrap" and filled["bootstrap"] is None:
        raise ConfigKeyError(
            ("fits", name, "summary_from"),
            "summary_from: bootstrap needs the `bootstrap` option (bootstrap: {} for 100 replicas)",
        )
    if filled["bootstrap"] is not None and filled["likelihood"] in BINNED_LIKELIHOODS:
        raise ConfigKeyError(
            ("fits", name, "bootstrap"),
            f"a bootstrap resamples the fitted events, but likelihood: {filled['likelihood']} "
            "fits bin counts; use an unbinned likelihood or leave bootstrap out",
        )


#: Key of the toy count of a fit set and of its options block.
TOYS, TOY_OPTIONS = "toys", "toy_options"


def _check_toys(name: str, filled: Mapping[str, Any]) -> None:
    """`toys` is a count of at least one; its options need it, an unbinned likelihood and a
    scan grid that reaches past 2σ with the best fit in the middle."""
    toys = filled.get(TOYS)
    if toys is not None and (isinstance(toys, bool) or not isinstance(toys, int) or toys < 1):
        raise ConfigKeyError(
            ("fits", name, TOYS), f"needs an integer number of toys >= 1, got {toys!r}"
        )
    if toys is None:
        # The workflow fills schema defaults into the config before this check, so options
        # the user set are the ones that differ from the defaults.
        if filled[TOY_OPTIONS] != fit_set_options({})[TOY_OPTIONS]:
            raise ConfigKeyError(
                ("fits", name, TOY_OPTIONS), "toy_options without toys: set `toys: N` too"
            )
        return
    if filled["likelihood"] in BINNED_LIKELIHOODS:
        raise ConfigKeyError(
            ("fits", name, TOYS),
            f"toys are fitted event by event; likelihood: {filled['likelihood']} fits bin "
            "counts (use an unbinned likelihood)",
        )
    options = filled[TOY_OPTIONS]
    n_points, step = int(options["scan_points"]), float(options["scan_sigma_step"])
    if n_points % 2 == 0:
        raise ConfigKeyError(
            ("fits", name, TOY_OPTIONS, "scan_points"), f"must be odd, got {n_points}"
        )
    if "scan" in options["sources"] and (n_points - 1) / 2 * step <= 2.0:
        raise ConfigKeyError(
            ("fits", name, TOY_OPTIONS, "scan_sigma_step"),
            f"{n_points} points in steps of {step}σ reach only ±{(n_points - 1) / 2 * step:g}σ; "
            "the 95.4 % crossings need more than ±2σ",
        )


def toy_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """The options a toy_fit job reads: the `toy_options` block and the count as `n`."""
    return {**options[TOY_OPTIONS], "n": int(options[TOYS])}


def reported_parameters(
    free: Sequence[str], pois: Sequence[str], rate_parameters: Sequence[str], chosen: Any
) -> list[str]:
    """The parameters whose coverage a fit set reports: its `toy_options.parameters`, or
    every floating POI and rate parameter (nuisances add little but cost a scan each)."""
    if chosen:
        return [p for p in free if p in chosen]
    wanted = set(pois) | set(rate_parameters)
    return [p for p in free if p in wanted]


#: Seconds per toy a toy_fit job budgets, per piece of work: generous for a learned spline
#: flow on one cluster core (measured on 2 shared cores: a fit 0.3–1 s, MINOS 0.6–1 s per
#: parameter, a scan point 0.25 s, a bootstrap replica 0.26–0.44 s).
TOY_SECONDS = {"fit": 3.0, "scan_point": 1.0, "minos": 3.0, "bootstrap": 1.5}
#: Minutes a toy_fit job budgets for TensorFlow's import and the likelihood's tracing.
TOY_SETUP_MINUTES = 10


def toy_job_minutes(options: Mapping[str, Any], n_parameters: int) -> int:
    """The runtime (minutes) to request for one toy_fit job of `per_job` toys.

    A batch of 250 toys with scans or bootstraps runs for an hour or more; the 30 minutes
    every other fit job requests would have HTCondor kill it. At least those 30 minutes.

    Args:
        options: the fit set's `toy_options` (sources, per_job, scan_points, bootstraps).
        n_parameters: how many parameters each toy reports (scans and MINOS run per parameter).
    """
    sources = options["sources"]
    per_toy = TOY_SECONDS["fit"]
    if "scan" in sources:
        per_toy += TOY_SECONDS["scan_point"] * int(options["scan_points"]) * n_parameters
    if "minos" in sources:
        per_toy += TOY_SECONDS["minos"] * n_parameters
    if "bootstrap" in sources:
        per_toy += TOY_SECONDS["bootstrap"] * int(options["bootstraps"])
    return max(30, TOY_SETUP_MINUTES + math.ceil(int(options["per_job"]) * per_toy / 60))


def expand_fit_sets(
    fits: Mapping[str, Mapping[str, Any] | None], analysis: Analysis
) -> dict[str, dict[str, Any]]:
    """Filled fit sets; `freeze: all-but-one` becomes one set per looped parameter.

    The loop is over the POIs and rate parameters, and the nuisances too with
    `all_but_one: {loop_over_nuisances: true}` (`all_but_one_columns`).

    INNFER looped over `_floating_only_<col>` directories inside one step; here each is its own
    fit set (a wildcard value), so every one is a separate, cacheable set of jobs.
    """
    out: dict[str, dict[str, Any]] = {}
    for name, options in fits.items():
        filled = fit_set_options(options)
        _check_resampled_split(name, filled)
        _check_bootstrap(name, filled)
        _check_toys(name, filled)
        scan = filled.get("scan")
        if scan == "pois":
            filled["scan"] = list(analysis.pois)
        _check_parameters(("fits", name, "scan"), filled.get("scan"), analysis)
        _check_parameters(
            ("fits", name, "scan_2d", "parameters"), filled["scan_2d"]["parameters"], analysis
        )
        _check_scan_ranges(name, filled)
        _resolve_scan_points(name, filled)
        _check_validation_points(name, filled, len(analysis.validation_points))
        _check_debug_points(name, filled, analysis)
        _check_processes(name, filled, analysis)
        loop = _all_but_one_options(name, filled)
        _check_parameters(
            ("fits", name, TOY_OPTIONS, "parameters"), filled[TOY_OPTIONS]["parameters"], analysis
        )
        if filled.get("freeze") == ALL_BUT_ONE:
            own = process_fit_parameters(analysis, filled.get("processes"))
            looped = [
                q for q in all_but_one_columns(analysis, loop["loop_over_nuisances"]) if q in own
            ]
            if not looped:
                raise ConfigKeyError(
                    ("fits", name, "freeze"),
                    f"{ALL_BUT_ONE} floats the POIs and rate parameters among {own} one at a "
                    "time, and there are none; set all_but_one: {loop_over_nuisances: true}",
                )
            for p in looped:
                out[f"{name}_floating_only_{p}"] = {
                    **filled,
                    "freeze": f"all-but-{p}",
                    "scan": [q for q in filled.get("scan") or [] if q == p],
                    ALL_BUT_ONE_OF: name,
                }
        else:
            out[name] = filled
    return out


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
        ConfigKeyError: a summary names an unknown fit set or density.
    """
    families = all_but_one_families(fits)
    entries = [f for f in fits if not fits[f].get(ALL_BUT_ONE_OF)] + list(families)
    if not summaries:
        summaries = {name: {"fits": [name]} for name in entries}
    props = workflow_entry_properties("summaries")
    out: dict[str, dict[str, Any]] = {}
    for name, options in summaries.items():
        filled = fill_defaults(props, dict(options or {}))
        if not filled.get("fits"):
            raise ConfigKeyError(("summaries", name, "fits"), "list at least one fit set")
        for entry in filled["fits"]:
            if entry not in entries:
                raise ConfigKeyError(
                    ("summaries", name, "fits"),
                    unknown_name_message(entry, "fit set or all-but-one family", entries),
                )
        filled["densities"] = list(filled.get("densities") or densities)
        unknown = [d for d in filled["densities"] if d not in densities]
        if unknown:
            raise ConfigKeyError(
                ("summaries", name, "densities"),
                f"{unknown} are not among the densities {list(densities)} the workflow fits",
            )
        out[name] = filled
    return out


def _scanned_by_all(name: str, filled: Mapping[str, Any], fits: Mapping[str, Any]) -> list[str]:
    """The overlay's parameters: as given (each scanned by every fit set) or all they share."""
    path = ("scan_plots", name)
    scanned = [list(fits[f].get("scan") or []) for f in filled["fits"]]
    shared = [p for p in scanned[0] if all(p in s for s in scanned[1:])]
    if filled.get("parameters") is None:
        if not shared:
            raise ConfigKeyError(
                (*path, "fits"),
                f"the fit sets {filled['fits']} scan no parameter in common (their `scan`: "
                f"{dict(zip(filled['fits'], scanned, strict=True))})",
            )
        return shared
    for p in filled["parameters"]:
        missing = [f for f, s in zip(filled["fits"], scanned, strict=True) if p not in s]
        if missing:
            raise ConfigKeyError(
                (*path, "parameters"), f"'{p}' is not scanned by the fit set(s) {missing}"
            )
    return list(filled["parameters"])


def _check_named_fits(name: str, filled: Mapping[str, Any], key: str) -> None:
    """A per-fit-set map (labels, colours, line styles) names only the overlaid fit sets."""
    for fit in filled.get(key) or {}:
        if fit not in filled["fits"]:
            raise ConfigKeyError(
                ("scan_plots", name, key, fit),
                f"'{fit}' is not one of this overlay's fits {filled['fits']}",
            )


def scan_plot_sets(
    scan_plots: Mapping[str, Mapping[str, Any] | None] | None,
    fits: Mapping[str, Mapping[str, Any]],
    densities: Sequence[str],
) -> dict[str, dict[str, Any]]:
    """Filled `scan_plots` overlays: fit sets, parameters and densities each one draws.

    Raises:
        ConfigKeyError: an unknown fit set, a parameter not every fit set scans, a density the
            workflow does not fit, a stat-only fit set that is not an overlaid one (or is the
            main curve), or a colour matplotlib does not know.
    """
    from matplotlib.colors import is_color_like

    props = workflow_entry_properties("scan_plots")
    out: dict[str, dict[str, Any]] = {}
    for name, options in (scan_plots or {}).items():
        filled = fill_defaults(props, dict(options or {}))
        path = ("scan_plots", name)
        if not filled.get("fits"):
            raise ConfigKeyError((*path, "fits"), "list at least one fit set")
        for fit in filled["fits"]:
            if fit not in fits:
                raise ConfigKeyError((*path, "fits"), unknown_name_message(fit, "fit set", fits))
        filled["parameters"] = _scanned_by_all(name, filled, fits)
        filled["densities"] = list(filled.get("densities") or densities)
        unknown = [d for d in filled["densities"] if d not in densities]
        if unknown:
            raise ConfigKeyError(
                (*path, "densities"),
                f"{unknown} are not among the densities {list(densities)} the workflow fits",
            )
        for key in ("labels", "colours", "linestyles"):
            _check_named_fits(name, filled, key)
        for fit, colour in filled["colours"].items():
            if not is_color_like(colour):
                raise ConfigKeyError(
                    (*path, "colours", fit), f"'{colour}' is not a matplotlib colour"
                )
        stat = filled.get("stat_only")
        if stat is not None and stat not in filled["fits"][1:]:
            raise ConfigKeyError(
                (*path, "stat_only"),
                f"'{stat}' must be one of the overlaid fit sets after the first (the total): "
                f"{filled['fits'][1:]}",
            )
        out[name] = filled
    return out
