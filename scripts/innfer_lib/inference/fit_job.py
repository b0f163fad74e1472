"""What every fit-stage job does first: build the problem from its Snakemake inputs.

The initial fit, Hessians, D-matrix, scans and debug jobs all need the same likelihood at the
same point with the same frozen parameters; building it in one place keeps them consistent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from innfer_lib.core.analysis import Analysis, load_analysis
from innfer_lib.core.io import read_yaml
from innfer_lib.core.runner import LOG
from innfer_lib.inference.fit_inputs import inputs_from_snakemake
from innfer_lib.inference.hessian import matrix_record
from innfer_lib.inference.minimiser import minimise
from innfer_lib.inference.problem import FitProblem, build_problem, parameter_limits
from innfer_lib.inference.scan_point import MinimiseFn


@dataclass
class FitJob:
    """A fit-stage job: the analysis, the problem and (when available) the best fit."""

    analysis: Analysis
    problem: FitProblem
    options: dict[str, Any]
    val: int
    best_fit: dict[str, Any] | None = None

    @property
    def theta(self) -> np.ndarray:
        """The best-fit vector in `problem.columns` order."""
        assert self.best_fit is not None
        best = dict(zip(self.best_fit["columns"], self.best_fit["best_fit"], strict=True))
        return np.array([best[c] for c in self.problem.columns], np.float64)

    @property
    def free(self) -> list[str]:
        """Floating parameters: the Hessian, D-matrix and covariance cover only these."""
        return [c for c in self.problem.columns if c not in self.problem.fixed]

    @property
    def free_indices(self) -> list[int]:
        return [self.problem.columns.index(c) for c in self.free]

    def minimise(
        self,
        start: Mapping[str, float],
        fixed: Mapping[str, float] | None = None,
        seed: int = 0,
    ) -> dict[str, Any]:
        """Minimise with the fit set's minimiser options, the problem's limits and freezes."""
        m = self.options["minimiser"]
        return minimise(
            self.problem.likelihood.value_and_gradient,
            self.problem.columns,
            start=start,
            limits=self.problem.limits,
            fixed={**self.problem.fixed, **(fixed or {})},
            strategy=int(m["strategy"]),
            tolerance=float(m["tolerance"]),
            retries=int(m["retries"]),
            seed=seed,
            method=m["method"],
            fallback=bool(m["fallback"]),
        )

    def minimise_fn(self, seed: int) -> MinimiseFn:
        """`minimise` as a scan point or an impact refit calls it: (start, fixed) -> result.

        The fit set's frozen parameters stay frozen; `fixed` adds the held ones.
        """

        def fn(start: Mapping[str, float], fixed: Mapping[str, float]) -> dict[str, Any]:
            return self.minimise(start, fixed=fixed, seed=seed)

        return fn

    def matrix_record(self, key: str, matrix: np.ndarray) -> dict[str, Any]:
        """A Hessian/D-matrix file over the floating parameters, with the fit's bookkeeping."""
        assert self.best_fit is not None
        return matrix_record(self.best_fit, self.free, {key: matrix})


def limits_from_inputs(analysis: Analysis, named_inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Physical parameter limits from the `parameters__<process>__<category>` inputs.

    Scan grids are clipped to these, so a scan never asks the density to extrapolate.
    """
    inputs = inputs_from_snakemake(named_inputs)
    parameters = {key: read_yaml(files.parameters) for key, files in inputs.items()}
    return parameter_limits(analysis, parameters)


def visible_gpus() -> str:
    """The GPUs TensorFlow sees in this job ("none" if none), as training's placement line says.

    TensorFlow puts the likelihood on its first GPU when it sees one. A job on a GPU slot
    (`fit_gpu: true`) whose CUDA libraries were not found sees none and runs on the CPU
    without an error; this line in its log tells.
    """
    import tensorflow as tf

    return ", ".join(d.name for d in tf.config.list_logical_devices("GPU")) or "none"


def fit_job(smk: Any) -> FitJob:
    """Build the job's problem from `smk.params.analysis`, `smk.params.fit` and its inputs."""
    analysis = load_analysis(smk.params.analysis)
    val = int(smk.wildcards.val)
    inputs = inputs_from_snakemake(smk.input)
    problem = build_problem(analysis, val, inputs, smk.params.fit)
    LOG.info("GPUs visible to the likelihood: %s", visible_gpus())
    best = read_yaml(smk.input.best_fit) if "best_fit" in smk.input.keys() else None
    return FitJob(analysis, problem, dict(smk.params.fit), val, best)
