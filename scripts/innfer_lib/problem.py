"""Assemble a fit problem from the workflow's files: events, densities, yields, truth, limits.

`initial_fit` and `hessian` build exactly the same likelihood, so both go through here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from innfer_lib.config import Analysis, rate_parameter
from innfer_lib.errors import DataError
from innfer_lib.io import read_parquet, read_yaml
from innfer_lib.paths import INPUT_KEY_SEPARATOR
from innfer_lib.preprocess import effective_events, validation_sample


@dataclass
class ProcessInputs:
    """The files one process contributes to a fit in one category."""

    parameters: str
    validation: str
    architecture: str


@dataclass
class FitProblem:
    likelihood: Any
    columns: list[str]
    truth: dict[str, float]
    limits: dict[str, tuple[float | None, float | None]]
    info: dict[str, Any]


def parameter_limits(
    analysis: Analysis, parameters: Mapping[tuple[str, str], Mapping[str, Any]]
) -> dict[str, tuple[float | None, float | None]]:
    """Physical ranges: shape parameters within the trained range, rates non-negative.

    A flow is only meaningful inside the parameter range it was trained on, so a fit that
    wants to leave it hits a Minuit limit instead of extrapolating (and is flagged at_limit).
    """
    limits: dict[str, tuple[float | None, float | None]] = {}
    for params in parameters.values():
        for col in params["density"]["Y_columns"]:
            mm = params["density"]["initial_minmax"][col]
            lo, hi = limits.get(col, (mm["min"], mm["max"]))
            limits[col] = (min(lo, mm["min"]), max(hi, mm["max"]))
    for process in analysis.rate_processes:
        limits[rate_parameter(process)] = (0.0, None)
    return limits


def build_problem(
    analysis: Analysis,
    val_index: int,
    inputs: Mapping[tuple[str, str], ProcessInputs],
    fit_options: Mapping[str, Any],
) -> FitProblem:
    """Build the likelihood of one validation point for one fit set.

    Args:
        analysis: the analysis config.
        val_index: index into the canonical validation loop.
        inputs: files per (process, category).
        fit_options: a filled fit-set block of the workflow config.
    """
    from innfer_lib.density import load_density
    from innfer_lib.likelihood import Category, Likelihood, Process

    truth = dict(analysis.validation_points[val_index])
    columns = analysis.fit_parameters
    parameters = {key: read_yaml(f.parameters) for key, f in inputs.items()}
    categories = []
    info: dict[str, Any] = {"categories": {}}
    for category in analysis.categories:
        xs, ws, procs = [], [], []
        for process in analysis.processes:
            files, params = inputs[(process, category)], parameters[(process, category)]
            frame = read_parquet(files.validation)
            x, w = validation_sample(frame, params, truth, fit_options["split"])
            xs.append(x)
            ws.append(w)
            procs.append(
                Process(
                    name=process,
                    density=load_density(files.architecture, params),
                    nominal=float(params["yields"]["nominal"]),
                    rate_parameter=params.get("rate_parameter"),
                    lnN=params["yields"].get("lnN") or {},
                )
            )
        x = np.concatenate(xs)
        w = np.concatenate(ws)
        if len(w) == 0:
            raise DataError(
                f"validation point {val_index}, category '{category}': no events in split "
                f"'{fit_options['split']}'"
            )
        scale = 1.0
        if fit_options["scale_to_eff_events"]:
            # One common factor for events and yields keeps the process proportions and the
            # extended term consistent, and makes Σw equal Kish's effective event count.
            scale = effective_events(w) / float(w.sum())
            w = w * scale
            for p in procs:
                p.nominal *= scale
        categories.append(Category(name=category, x=x, weights=w, processes=procs))
        info["categories"][category] = {
            "events": len(w),
            "sum_weights": float(w.sum()),
            "effective_events": effective_events(w),
            "weight_scale": scale,
        }
    likelihood = Likelihood(
        columns,
        categories,
        kind=fit_options["likelihood"],
        constrained=[
            n
            for n in analysis.raw.get("inference", {}).get("nuisance_constraints", [])
            if n in columns
        ],
        constraint_centres=truth,
    )
    return FitProblem(
        likelihood=likelihood,
        columns=columns,
        truth={c: truth[c] for c in columns},
        limits=parameter_limits(analysis, parameters),
        info=info,
    )


def inputs_from_snakemake(named_inputs: Mapping[str, Any]) -> dict[tuple[str, str], ProcessInputs]:
    """Group a fit's named inputs `<kind>__<process>__<category>[__...]` per (process, category).

    A fit has one validation point and one density source, so the optional last part
    (the point or the density) is not needed to tell files apart.
    """
    grouped: dict[tuple[str, str], dict[str, str]] = {}
    for key, value in named_inputs.items():
        parts = key.split(INPUT_KEY_SEPARATOR)
        if len(parts) >= 3 and parts[0] in ("parameters", "validation", "architecture"):
            grouped.setdefault((parts[1], parts[2]), {})[parts[0]] = str(value)
    return {key: ProcessInputs(**files) for key, files in grouped.items()}
