"""Example custom step: effective events and combination fractions per simulated mass point.

A small-scale version of the idea behind INNFER's `top_bw_fractioning` module: a density is
trained on samples simulated at a few discrete masses, and how much each sample can contribute
is set by its effective number of events N_eff = (Σw)²/Σw², not by its raw size. For every
process and category this reads the PreProcess training set and `parameters.yaml`, and for each
value of the mass column (INNFER's `mass_name`) writes

- `sum_w`, `eff_events`, and `eff_fraction`: the point's share of the summed N_eff;
- `fraction`: the factor that, multiplied into the weights of that point, combines the points
  with inverse-variance weights (∝ Σw/Σw²), normalised so the total weight is unchanged;
- with `quantiles_of`, weighted quantiles of that variable at the point.

Run it with `snakemake --cores 2 --configfile config/examples/custom/workflow.yaml custom`.

Options: `column` (required: the mass column), `quantiles_of` (a variable, optional),
`quantiles` (default [0.16, 0.5, 0.84]), `max_points` (default 50: more distinct values than this
means the column is not a set of simulated masses).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from innfer_lib.core.io import read_parquet, read_yaml, write_yaml
from innfer_lib.data.schema import WEIGHT

DEFAULT_QUANTILES = (0.16, 0.5, 0.84)
DEFAULT_MAX_POINTS = 50


def _unstandardised(values: np.ndarray, parameters: Mapping[str, Any], column: str) -> np.ndarray:
    """A column of a training set in its own units (PreProcess stores it standardised)."""
    scale = parameters["density"]["standardisation"].get(column)
    if scale is None:
        return values
    return values * scale["std"] + scale["mean"]


def point_summary(
    masses: np.ndarray,
    weights: np.ndarray,
    variable: np.ndarray | None,
    quantiles: list[float],
) -> dict[float, dict[str, Any]]:
    """Per distinct mass: Σw, N_eff, its share of ΣN_eff, the fraction and the quantiles.

    Masses are compared after rounding to 6 decimals, so a value standardised and restored
    by floating point still falls into its own point.
    """
    keys = np.round(masses, 6)
    points = np.unique(keys)
    summary: dict[float, dict[str, Any]] = {}
    for point in points:
        w = weights[keys == point].astype(np.float64)
        sum_w, sum_w2 = float(w.sum()), float(np.sum(w**2))
        entry: dict[str, Any] = {
            "events": int(w.size),
            "sum_w": sum_w,
            "eff_events": sum_w**2 / sum_w2 if sum_w2 > 0 else 0.0,
            "inverse_variance": sum_w / sum_w2 if sum_w2 > 0 else 0.0,
        }
        if variable is not None:
            values = variable[keys == point]
            entry["quantiles"] = dict(
                zip(
                    quantiles,
                    np.quantile(values, quantiles, weights=w, method="inverted_cdf").tolist(),
                    strict=True,
                )
            )
        summary[float(point)] = entry
    total_eff = sum(e["eff_events"] for e in summary.values())
    total_w = sum(e["sum_w"] for e in summary.values())
    combined_w = sum(e["inverse_variance"] * e["sum_w"] for e in summary.values())
    for entry in summary.values():
        entry["eff_fraction"] = entry["eff_events"] / total_eff if total_eff > 0 else 0.0
        scale = total_w / combined_w if combined_w > 0 else 0.0
        entry["fraction"] = entry.pop("inverse_variance") * scale
    return summary


def run(
    inputs: Mapping[str, Any],
    outputs: Mapping[str, Path],
    options: Mapping[str, Any],
    log: logging.Logger,
) -> None:
    """The custom-step API: read every training set, write `fractions.yaml`."""
    if "column" not in options:
        raise ValueError(
            "option 'column' (the simulated-mass column, INNFER's mass_name) is required"
        )
    column = options["column"]
    variable = options.get("quantiles_of")
    quantiles = [float(q) for q in options.get("quantiles", DEFAULT_QUANTILES)]
    max_points = int(options.get("max_points", DEFAULT_MAX_POINTS))
    result: dict[str, Any] = {"column": column, "weight": WEIGHT, "processes": {}}
    for (model, category), train_file in sorted(inputs["train"].items()):
        parameters = read_yaml(inputs["parameters"][(model, category)])
        columns = [column, WEIGHT] + ([variable] if variable else [])
        frame = read_parquet(train_file, columns=columns)
        masses = _unstandardised(frame[column].to_numpy(), parameters, column)
        n_points = len(np.unique(np.round(masses, 6)))
        if n_points > max_points:
            raise ValueError(
                f"{train_file}: column {column!r} has {n_points} distinct values (more than "
                f"max_points = {max_points}); is it a column of simulated masses?"
            )
        values = (
            _unstandardised(frame[variable].to_numpy(), parameters, variable) if variable else None
        )
        summary = point_summary(masses, frame[WEIGHT].to_numpy(), values, quantiles)
        result["processes"].setdefault(model, {})[category] = summary
        log.info("%s, %s: %d mass points", model, category, len(summary))
    write_yaml(outputs["fractions.yaml"], result)
