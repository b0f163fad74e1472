"""PreProcess's binned-fit yields of one (process, category) as arrays for a binned likelihood.

`parameters.yaml` tabulates, per bin, the expected events and the log-normal κ of each
nuisance, either once (`all`) or at each value of one shape POI; `binned_inputs` turns that
into the (n_grid, n_bins) tables of a `model.BinnedProcess`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from innfer_lib.core.errors import ConfigError

#: The yields key of a table that does not depend on any POI.
ALL_VALUES = "all"


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
