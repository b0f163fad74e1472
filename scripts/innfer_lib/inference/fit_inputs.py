"""A fit job's input files, grouped: per (process, category) and observed data per category.

Snakemake hands a fit its inputs as named files (`<kind>__<process>__<category>[__...]`, see
`paths.input_key`); `inputs_from_snakemake` groups them into the `FitInputs` that
`problem.build_problem` reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from innfer_lib.core.errors import ConfigError
from innfer_lib.core.paths import INPUT_KEY_SEPARATOR
from innfer_lib.ratios.loading import RATIO_KINDS, RatioFiles

PROCESS_INPUT_KINDS = ("parameters", "validation", "architecture", "asimov")
#: Named inputs of a ratio model, `<kind>_<field>__<process>__<category>__<parameter>` for
#: kind in `ratios.loading.RATIO_KINDS`, and the `RatioFiles` field each fills.
RATIO_INPUT_FIELDS = {
    "model": "model",
    "architecture": "architecture",
    "spline": "normalisation",
    "parameters": "parameters",
}
#: The named input kind of observed data, and the process name it may carry.
DATA_INPUT = "data"
ALL_PROCESSES = "all"


@dataclass
class ProcessInputs:
    """The files one process contributes to a fit in one category.

    Only `parameters` is always needed: a binned fit needs no density, and Asimov and data
    fits read no validation events.
    """

    parameters: str
    validation: str | None = None
    architecture: str | None = None
    asimov: str | None = None
    #: The ratio models (regression or classifier) of its weight-only nuisances, by parameter.
    ratios: dict[str, RatioFiles] = field(default_factory=dict)


class FitInputs(dict):
    """Files per (process, category) plus the observed data file per category.

    A dict of `ProcessInputs`, so code written for the plain mapping keeps working; `data`
    holds what belongs to a category rather than a process.
    """

    def __init__(
        self,
        processes: Mapping[tuple[str, str], ProcessInputs] | None = None,
        data: Mapping[str, str] | None = None,
    ):
        super().__init__(processes or {})
        self.data: dict[str, str] = dict(data or {})


def ratio_inputs(
    named_inputs: Mapping[str, Any],
) -> dict[tuple[str, str], dict[str, RatioFiles]]:
    """The ratio models among a job's named inputs, per (process, category) and ν.

    Names are `<kind>_{model,architecture,spline,parameters}__<process>__<category>__<ν>`
    (`input_key`) for kind `regression` or `classifier`.

    Raises:
        ConfigError: a model that lacks one of its files, or two kinds for one ν.
    """
    found: dict[tuple[str, str], dict[str, dict[str, str]]] = {}
    for key, value in named_inputs.items():
        parts = str(key).split(INPUT_KEY_SEPARATOR)
        kind, _, name = parts[0].partition("_")
        if len(parts) == 4 and kind in RATIO_KINDS and name in RATIO_INPUT_FIELDS:
            files = found.setdefault((parts[1], parts[2]), {}).setdefault(parts[3], {})
            if files.setdefault("kind", kind) != kind:
                raise ConfigError(
                    f"inputs: '{parts[3]}' of process '{parts[1]}', category '{parts[2]}' has "
                    f"both a {files['kind']} and a {kind} model"
                )
            files[RATIO_INPUT_FIELDS[name]] = str(value)
    out: dict[tuple[str, str], dict[str, RatioFiles]] = {}
    for (process, category), per_parameter in found.items():
        for parameter, named in per_parameter.items():
            missing = [
                f"{named['kind']}_{k}" for k, f in RATIO_INPUT_FIELDS.items() if f not in named
            ]
            if missing:
                raise ConfigError(
                    f"inputs: the {named['kind']} model of '{parameter}' (process '{process}', "
                    f"category '{category}') lacks the named input(s) {missing}"
                )
        out[(process, category)] = {p: RatioFiles(**f) for p, f in per_parameter.items()}
    return out


def inputs_from_snakemake(named_inputs: Mapping[str, Any]) -> FitInputs:
    """Group a fit's named inputs into files per (process, category) and data per category.

    Names are `<kind>__<process>__<category>[__...]` for kind in parameters, validation,
    architecture and asimov, the names of `ratio_inputs` for the ratio models of weight-only
    nuisances, and `data__<category>` (or
    `data__all__<category>`, the `input_key` form with "all" as the process) for observed
    data. A fit has one validation point and one density source, so the optional last part
    (the point or the density) is not needed to tell files apart.
    """
    grouped: dict[tuple[str, str], dict[str, Any]] = {}
    data: dict[str, str] = {}
    for key, value in named_inputs.items():
        parts = str(key).split(INPUT_KEY_SEPARATOR)
        if parts[0] == DATA_INPUT and len(parts) >= 2:
            # `data__<category>`, or `data__all__<category>` from input_key("data", "all", c).
            category = parts[2] if len(parts) >= 3 and parts[1] == ALL_PROCESSES else parts[1]
            data[category] = str(value)
        elif len(parts) >= 3 and parts[0] in PROCESS_INPUT_KINDS:
            grouped.setdefault((parts[1], parts[2]), {})[parts[0]] = str(value)
    for where, ratios in ratio_inputs(named_inputs).items():
        grouped.setdefault(where, {})["ratios"] = ratios
    for (process, category), files in grouped.items():
        if "parameters" not in files:
            raise ConfigError(
                f"fit inputs: no 'parameters{INPUT_KEY_SEPARATOR}{process}"
                f"{INPUT_KEY_SEPARATOR}{category}' among the named inputs"
            )
    return FitInputs({key: ProcessInputs(**files) for key, files in grouped.items()}, data)
