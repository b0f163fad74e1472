"""Inputs of a binned likelihood: per-bin yields (with lnN effects) and per-bin validation counts.

`inference.binned_fit` histograms one variable per category. The yields per bin are measured
like the unbinned ones (`measured_yields`), at each `shape_poi_values` entry when a shape POI is
given; the validation counts are the validation sets' weights, normalised to the process yield,
so binned and unbinned closure tests see the same expected events.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from innfer_lib.core.errors import ConfigError
from innfer_lib.data.measured_yields import measure_yields
from innfer_lib.data.preprocessor import Preprocessor
from innfer_lib.data.schema import SPLIT_COLUMN, WEIGHT
from innfer_lib.data.splits import SIM_TYPES, sim_type_mask
from innfer_lib.data.validation_sets import normalised_weights


def binned_fit_inputs(
    pre: Preprocessor, validation: Mapping[int, pd.DataFrame], yields: Mapping[str, Any]
) -> dict[str, Any]:
    """Per-bin yields (with lnN) and per-bin validation counts for a binned likelihood.

    Args:
        pre: the job.
        validation: the validation sets by index (`validation_sets.validation_sets`).
        yields: the process's unbinned yields, which normalise the validation counts.

    Returns:
        The `binned_fit_*` entries of `parameters.yaml`; empty when the process takes no part
        in a binned fit.
    """
    spec = pre.analysis.binned_fit
    if not spec or not pre.analysis.binned_fit_files(pre.process, pre.category):
        return {}
    base = pre.analysis.binned_fit_files(pre.process, pre.category)[0]
    binning = spec["input"][pre.category]
    variable, edges = binning["variable"], np.asarray(binning["binning"], dtype=np.float64)
    pois = [p for p in pre.analysis.pois if p in pre.y_columns]
    values = spec.get("shape_poi_values") or []
    if len(pois) > 1:
        raise ConfigError("inference.binned_fit: only one shape POI is supported")
    per_value: dict[float | str, dict[str, Any]] = {}
    if pois and values:
        for v in values:
            per_value[float(v)] = measure_yields(pre, base, (variable, edges), {pois[0]: v})
    else:
        per_value["all"] = measure_yields(pre, base, (variable, edges))
    bins = []
    for i in range(len(edges) - 1):
        bins.append(
            {
                "bin_ind": i,
                "selection": f"({variable} >= {edges[i]!r}) & ({variable} < {edges[i + 1]!r})",
                "yields": {
                    key: {
                        "nominal": y["nominal"][i],
                        "lnN": {n: [k[0][i], k[1][i]] for n, k in y["lnN"].items()},
                    }
                    for key, y in per_value.items()
                },
            }
        )
    counts: dict[str, dict[int, list[float]]] = {t: {} for t in SIM_TYPES}
    for index, frame in validation.items():
        point = pre.analysis.validation_points[index]
        for sim_type in SIM_TYPES:
            sel = sim_type_mask(frame[SPLIT_COLUMN].to_numpy(), sim_type)
            w = normalised_weights(frame.loc[sel, WEIGHT].to_numpy(), yields, point, pre.rate)
            hist = np.histogram(frame.loc[sel, variable], bins=edges, weights=w)[0]
            counts[sim_type][index] = hist.tolist()
    return {
        "binned_fit_input": bins,
        "binned_fit_variable": variable,
        "binned_fit_edges": edges.tolist(),
        "validation_binned_fit": counts,
    }
