"""Load a process's ratio models and put them on its density: one place for every caller.

Fits, Hessians, the D-matrix, scans, post-fit Asimovs and MakeAsimov all load a process's
density; when the process has regression or classifier models in the category, each of them
wraps it with `reweight`, which loads every ratio through `load_ratio`. The learned
implementations live in `ratios.regression` and `ratios.classifier`; they are imported only
when a ratio is loaded. A pruned classifier (its spline file says so) adds nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from innfer_lib.core.errors import ConfigError

if TYPE_CHECKING:
    from innfer_lib.core.analysis import Analysis
    from innfer_lib.core.paths import Paths
    from innfer_lib.density.models import Density
    from innfer_lib.ratios.contract import WeightRatio

REGRESSION = "regression"
CLASSIFIER = "classifier"
RATIO_KINDS = (REGRESSION, CLASSIFIER)
#: Key of a classifier's spline file saying that pruning dropped it (normalisation_spline_
#: classifier decides it from its metrics and `prune_classifier_models`).
PRUNED = "pruned"

LOG = logging.getLogger("innfer")


@dataclass(frozen=True)
class RatioFiles:
    """The files of one trained ratio model of one nuisance (`core.paths`).

    Attributes:
        kind: `regression` or `classifier`.
        model: the network weights (`PATHS.regression_model`).
        architecture: the network's architecture record (`PATHS.regression_architecture`).
        normalisation: its normalisation spline S(ν) (`PATHS.regression_spline`).
        parameters: PreProcess's parameters of its training set (`PATHS.aux_parameters`):
            columns and standardisation.
    """

    kind: str
    model: str
    architecture: str
    normalisation: str
    parameters: str


def ratio_model_files(
    analysis: Analysis, paths: Paths, process: str, category: str
) -> dict[str, RatioFiles]:
    """The files of every ratio model a learned density of (process, category) is reweighted by.

    One per nuisance with a regression or classifier entry in the category, keyed by it; a
    parameter the flow is conditioned on itself needs none (`reweight` skips it too). The
    workflow's fit inputs (`ratio_inputs` in rules/common.smk) and the perf scripts that
    rebuild a fit from a run's files both take the paths from here.
    """
    flow_parameters = analysis.model_parameters(process, category)
    out: dict[str, RatioFiles] = {}
    for kind in RATIO_KINDS:
        for parameter in analysis.aux_entries(process, kind, category):
            if parameter in flow_parameters:
                continue
            where = {"model": process, "category": category, "parameter": parameter}
            out[parameter] = RatioFiles(
                kind=kind,
                model=paths.format(getattr(paths, f"{kind}_model"), **where),
                architecture=paths.format(getattr(paths, f"{kind}_architecture"), **where),
                normalisation=paths.format(getattr(paths, f"{kind}_spline"), **where),
                parameters=paths.format(paths.aux_parameters, kind=kind, **where),
            )
    return out


def load_ratio(files: RatioFiles) -> WeightRatio | None:
    """Load one trained ratio model; None for a classifier that pruning dropped.

    Raises:
        ConfigError: an unknown kind.
    """
    ratio: WeightRatio
    if files.kind == REGRESSION:
        from innfer_lib.ratios.regression import load_regression

        ratio = load_regression(
            files.model, files.architecture, files.parameters, files.normalisation
        )
        return ratio
    if files.kind == CLASSIFIER:
        from innfer_lib.core.io import read_yaml
        from innfer_lib.ratios.classifier import load_classifier

        if read_yaml(files.normalisation).get(PRUNED):
            LOG.warning(
                "%s: the classifier is pruned; its nuisance has no shape effect", files.model
            )
            return None
        ratio = load_classifier(
            files.model, files.architecture, files.parameters, files.normalisation
        )
        return ratio
    raise ConfigError(f"ratio model kind {files.kind!r} is not one of {RATIO_KINDS}")


def reweight(density: Density, ratios: Mapping[str, RatioFiles], where: str) -> Density:
    """The density times the ratio of each nuisance in `ratios` that it does not model itself.

    A benchmark's analytic density already depends on its weight-only nuisances (the truth
    needs no ratio model), so those are skipped; nothing to add returns `density` unchanged.
    """
    from innfer_lib.ratios.reweighted import ReweightedDensity

    wanted = {nu: f for nu, f in ratios.items() if nu not in density.parameters}
    loaded = [load_ratio(f) for _, f in sorted(wanted.items())]
    used = [r for r in loaded if r is not None]
    if not used:
        return density
    return ReweightedDensity(density, used, where)
