"""Fit sets and summaries: the named sets of the workflow config, filled and expanded.

Each entry of `fits:` becomes one `{fit}` wildcard value (`freeze: all-but-one` becomes one
per floating parameter), and each summary names the fit sets (or all-but-one families) it
overlays. The DAG's loops over fits and summaries come from here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from innfer_lib.core.analysis import Analysis
from innfer_lib.core.config_files import (
    ConfigKeyError,
    fill_defaults,
    unknown_name_message,
    workflow_entry_properties,
)

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


def _check_postfit_likelihood(name: str, filled: Mapping[str, Any]) -> None:
    """A post-fit plot draws the fitted events; a binned likelihood has counts, not events."""
    if filled["postfit"] and filled["likelihood"] in BINNED_LIKELIHOODS:
        raise ConfigKeyError(
            ("fits", name),
            f"postfit: true draws the fitted events, but likelihood: {filled['likelihood']} "
            "fits bin counts; use an unbinned likelihood or postfit: false",
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
        _check_postfit_likelihood(name, filled)
        _check_resampled_split(name, filled)
        _check_toys(name, filled)
        scan = filled.get("scan")
        if scan == "pois":
            filled["scan"] = list(analysis.pois)
        _check_parameters(("fits", name, "scan"), filled.get("scan"), analysis)
        _check_parameters(
            ("fits", name, "scan_2d", "parameters"), filled["scan_2d"]["parameters"], analysis
        )
        _check_scan_ranges(name, filled)
        _check_parameters(
            ("fits", name, TOY_OPTIONS, "parameters"), filled[TOY_OPTIONS]["parameters"], analysis
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
