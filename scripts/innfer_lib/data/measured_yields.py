"""PreProcess's yields: the nominal yield of a process and its log-normal nuisance effects.

The nominal yield is the total weight at the default point; every shape nuisance gets the
ratios of the yields at ν = ∓1 to it (a nuisance stored as a file column gets one too, which
INNFER skipped), and the config's `inference.lnN` entries are added. `yields.process_yield`
turns the result into λ(θ) with a continuous interpolation. The binned fit asks for the same
per bin of one variable.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from innfer_lib.core.errors import ConfigError, DataError
from innfer_lib.data.preprocessor import Preprocessor
from innfer_lib.data.schema import WEIGHT

#: (variable, bin edges) of a binned yield.
Bins = tuple[str, np.ndarray]


def yield_effect_nuisances(pre: Preprocessor) -> list[str]:
    """Nuisances whose yield effect is measured from the simulation (not listed to skip it)."""
    skip = set(pre.analysis.raw["preprocess"].get("no_nuisance_yield_effect", []))
    shape = pre.analysis.shape_parameters(pre.process, pre.category)
    return [p for p in shape if p in pre.analysis.nuisances and p not in skip]


def _yield_sums(
    pre: Preprocessor, base: str, bins: Bins | None, changes: Mapping[str, float]
) -> float | np.ndarray:
    point = dict(pre.analysis.defaults)
    point.update(changes)
    events = pre.build(base, point, rng_key="yields")
    if bins is None:
        return float(events[WEIGHT].sum())
    variable, edges = bins
    return np.histogram(events[variable], bins=edges, weights=events[WEIGHT])[0]


def measure_yields(
    pre: Preprocessor,
    base: str | None = None,
    bins: Bins | None = None,
    changes: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """Nominal yield and the ±1σ yield ratio of every shape nuisance, plus config lnN.

    Args:
        pre: the job.
        base: the file to sum; default: the process's `yields` file.
        bins: (variable, edges): the same per bin (for the binned fit), as lists.
        changes: parameter values that replace the defaults (the binned fit's POI values).

    Returns:
        {"nominal": yield, "lnN": {parameter: [kappa_down, kappa_up]}}.
    """
    changes = dict(changes or {})
    base = base or pre.analysis.yields_file(pre.process, pre.category)
    where = f"models.{pre.process}.yields (files.{base}, category '{pre.category}')"
    nominal = _yield_sums(pre, base, bins, changes)
    if bins is None and not nominal > 0:
        raise DataError(
            f"{where}: total weight at the default point is {nominal}; the yield of a "
            "process must be positive"
        )
    lnn: dict[str, Any] = {}
    for nui in yield_effect_nuisances(pre):
        down = _yield_sums(pre, base, bins, {**changes, nui: -1.0})
        up = _yield_sums(pre, base, bins, {**changes, nui: 1.0})
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios = [
                np.where(nominal > 0, down / np.where(nominal > 0, nominal, 1), 1.0),
                np.where(nominal > 0, up / np.where(nominal > 0, nominal, 1), 1.0),
            ]
        if bins is None and not (ratios[0] > 0 and ratios[1] > 0):
            raise DataError(
                f"{where}: the yield at {nui} = ±1 is {down} / {up}; it must be positive "
                "to define a log-normal effect"
            )
        lnn[nui] = (
            [ratios[0].tolist(), ratios[1].tolist()]
            if bins
            else [float(ratios[0]), float(ratios[1])]
        )
    for param, kappas in pre.analysis.lnn_entries(pre.process, pre.category).items():
        if param in lnn:
            raise ConfigError(
                f"inference.lnN.{pre.process}: '{param}' already has a yield effect "
                "measured from the simulation; list it in "
                "preprocess.no_nuisance_yield_effect to use the config value instead"
            )
        lnn[param] = [[k] * np.size(nominal) for k in kappas] if bins else kappas
    return {"nominal": np.asarray(nominal).tolist() if bins else nominal, "lnN": lnn}
