"""Load a process's ratio models and put them on its density: one place for every caller.

Fits, Hessians, the D-matrix, scans, post-fit Asimovs and MakeAsimov all load a process's
density; when the process has regression models in the category, each of them wraps it with
`reweight`, which loads every ratio through `load_ratio`. The learned implementation lives in
`ratios.regression` (`load_regression`); it is imported only when a ratio is loaded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from innfer_lib.core.errors import ConfigError

if TYPE_CHECKING:
    from innfer_lib.density.models import Density
    from innfer_lib.ratios.contract import WeightRatio

REGRESSION = "regression"
RATIO_KINDS = (REGRESSION,)


@dataclass(frozen=True)
class RatioFiles:
    """The files of one trained ratio model of one nuisance (`core.paths`).

    Attributes:
        model: the network weights (`PATHS.regression_model`).
        architecture: the network's architecture record (`PATHS.regression_architecture`).
        normalisation: its normalisation spline S(ν) (`PATHS.regression_spline`).
        parameters: PreProcess's parameters of its training set (`PATHS.aux_parameters`):
            columns and standardisation.
    """

    model: str
    architecture: str
    normalisation: str
    parameters: str


def load_ratio(kind: str, files: RatioFiles) -> WeightRatio:
    """Load one trained ratio model (regression now; classifier models are not implemented).

    Raises:
        ConfigError: an unknown kind.
    """
    if kind == REGRESSION:
        from innfer_lib.ratios.regression import load_regression

        ratio: WeightRatio = load_regression(
            files.model, files.architecture, files.parameters, files.normalisation
        )
        return ratio
    raise ConfigError(f"ratio model kind {kind!r} is not one of {RATIO_KINDS}")


def reweight(
    density: Density, ratios: Mapping[str, RatioFiles], where: str, kind: str = REGRESSION
) -> Density:
    """The density times the ratio of each nuisance in `ratios` that it does not model itself.

    A benchmark's analytic density already depends on its weight-only nuisances (the truth
    needs no ratio model), so those are skipped; nothing to add returns `density` unchanged.
    """
    from innfer_lib.ratios.reweighted import ReweightedDensity

    wanted = {nu: f for nu, f in ratios.items() if nu not in density.parameters}
    if not wanted:
        return density
    return ReweightedDensity(
        density, [load_ratio(kind, f) for nu, f in sorted(wanted.items())], where
    )
