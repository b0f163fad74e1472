"""The model an Asimov job samples: one process's density times its ratio models.

MakeAsimov (at the validation points), MakeAsimovNuisanceVariations (at each nuisance at ±1)
and MakePostFitAsimov (at the best fit) all sample the same object, p(x | θ) · r(x, ν) · S(ν)
of one (process, category), from the same named inputs; this module builds it once for them,
so the three can only differ in the point they sample at.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from innfer_lib.density.models import Density, load_density
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
