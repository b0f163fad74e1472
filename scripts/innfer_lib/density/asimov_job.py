"""The model an Asimov job samples: one process's density times its ratio models.

MakeAsimov (at the validation points), MakeAsimovNuisanceVariations (at each nuisance at ±1)
and MakePostFitAsimov (at the best fit) all sample the same object, p(x | θ) · r(x, ν) · S(ν)
of one (process, category), from the same named inputs; this module builds it once for them,
so the three can only differ in the point they sample at.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pandas as pd

from innfer_lib.data.schema import WEIGHT
from innfer_lib.density.models import Density, load_density
from innfer_lib.density.sampling import asimov_event_count_from_options, make_asimov
from innfer_lib.inference.fit_inputs import ratio_inputs
from innfer_lib.ratios.loading import reweight


def process_model(
    named_inputs: Mapping[str, Any], parameters: Mapping[str, Any], process: str, category: str
) -> Density:
    """The density of `architecture` reweighted by the process's ratio models in the inputs.

    Args:
        named_inputs: the job's inputs: `architecture` (the density's record) and the ratio
            models named by `paths.input_key` (`ratio_inputs`), if the process has any.
        parameters: the process's `parameters.yaml`.
        process: the `{model}` of the job.
        category: the `{category}` of the job.
    """
    ratios = ratio_inputs(named_inputs).get((process, category), {})
    where = f"process '{process}', category '{category}'"
    return reweight(load_density(named_inputs["architecture"], parameters), ratios, where)


def asimov_at(
    density: Density,
    parameters: Mapping[str, Any],
    point: Mapping[str, float],
    options: Mapping[str, Any],
    seed: int,
    label: str,
    log: logging.Logger,
) -> pd.DataFrame:
    """The Asimov events of `density` at `point`, sized by the workflow's `asimov` options,
    with one log line saying how many sampled events were kept and their total weight."""
    n = asimov_event_count_from_options(parameters, point, options)
    events = make_asimov(density, parameters, point, n, seed, options["batch_size"])
    log.info(
        "%s: %d of %d sampled events inside the training range, yield %.3f",
        label,
        len(events),
        n,
        events[WEIGHT].sum(),
    )
    return events
