"""One `toy_fit` job: a batch of toys of one fit set, density and point, fitted in one process.

Importing TensorFlow and tracing the likelihood cost seconds to minutes; a toy fit costs a
fraction of a second. So a job builds its `FitJob` once, on the first toy, and swaps each
further toy in with `Likelihood.set_events` (no retrace: the tracing count is recorded).
Each toy is minimised from the analysis defaults, as `initial_fit` does, then every interval
source of `toy_options.sources` runs on it. A failed fit or interval is recorded with its
reason and the batch goes on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from innfer_lib.core.analysis import Analysis, load_analysis, rate_parameter
from innfer_lib.core.fit_sets import reported_parameters
from innfer_lib.core.io import read_yaml
from innfer_lib.core.paths import input_key
from innfer_lib.density.models import load_density
from innfer_lib.inference.fit_inputs import FitInputs, inputs_from_snakemake
from innfer_lib.inference.fit_job import FitJob
from innfer_lib.inference.problem import RESAMPLED, build_problem, truth_row
from innfer_lib.inference.toy_intervals import ToyFit, toy_intervals
from innfer_lib.inference.toys import Toy, ToyProcess, draw_toy, toy_indices, toy_seed
from innfer_lib.inference.validity import best_fit_reasons

#: The named input of the generator density of one process and category.
GENERATOR_INPUT = "generator"


@dataclass
class ToyJob:
    """What one batch needs: the analysis, its inputs, the toys' options and their indices."""

    analysis: Analysis
    fit: str
    val: int
    inputs: FitInputs
    generator_files: Mapping[tuple[str, str], str]
    fit_options: Mapping[str, Any]
    toy_options: Mapping[str, Any]
    hessian_method: str
    seed: int
    batch: int

    @classmethod
    def from_snakemake(cls, smk: Any) -> ToyJob:
        analysis = load_analysis(smk.params.analysis)
        generator = {
            (p, c): str(smk.input[input_key(GENERATOR_INPUT, p, c)])
            for p in analysis.processes
            for c in analysis.categories
        }
        return cls(
            analysis=analysis,
            fit=str(smk.wildcards.fit),
            val=int(smk.wildcards.val),
            inputs=inputs_from_snakemake(smk.input),
            generator_files=generator,
            fit_options=dict(smk.params.fit),
            toy_options=dict(smk.params.toys),
            hessian_method=str(smk.params.hessian),
            seed=int(smk.params.seed),
            batch=int(smk.wildcards.batch),
        )

    @property
    def truth(self) -> dict[str, float]:
        return truth_row(self.analysis, self.val, RESAMPLED)

    @property
    def indices(self) -> range:
        return toy_indices(int(self.toy_options["n"]), int(self.toy_options["per_job"]), self.batch)

    def generator(self) -> dict[str, list[ToyProcess]]:
        """The generator density of every process, per category."""
        out: dict[str, list[ToyProcess]] = {}
        for c in self.analysis.categories:
            for p in self.analysis.processes:
                params = read_yaml(self.inputs[(p, c)].parameters)
                density = load_density(self.generator_files[(p, c)], params)
                out.setdefault(c, []).append(ToyProcess(p, density, params))
        return out

    def toys(self) -> list[Toy]:
        """The batch's toys; each seeded by (seed, fit set, point, index) alone."""
        generator, truth = self.generator(), self.truth
        return [
            draw_toy(generator, truth, i, toy_seed(self.seed, self.fit, self.val, i))
            for i in self.indices
        ]

    def fit_job(self, first: Toy) -> FitJob:
        """The fit set's likelihood, built once with the first toy's events."""
        options = {**self.fit_options, "data_type": RESAMPLED}
        events = {c: (first.events[c], first.weights(c)) for c in self.analysis.categories}
        problem = build_problem(self.analysis, self.val, self.inputs, options, events=events)
        return FitJob(self.analysis, problem, options, self.val)

    def run(self, log: logging.Logger) -> dict[str, Any]:
        """Draw, fit and interval every toy of the batch; the `toy_fit` record."""
        toys = self.toys()
        started = time.perf_counter()
        job = self.fit_job(toys[0])
        rates = [rate_parameter(p) for p in self.analysis.rate_processes]
        parameters = reported_parameters(
            job.free, self.analysis.pois, rates, self.toy_options.get("parameters")
        )
        sources = list(self.toy_options["sources"])
        likelihood = job.problem.likelihood
        records = []
        tracing_after_first = None
        setup = None
        for toy in toys:
            for c in self.analysis.categories:
                likelihood.set_events(c, toy.events[c], toy.weights(c))
            records.append(self._fit_toy(job, toy, parameters, sources))
            if setup is None:
                setup = time.perf_counter() - started
                tracing_after_first = likelihood.tracing_count()
            if len(records) % 10 == 0:
                log.info("%d of %d toys fitted", len(records), len(toys))
        tracing = {"after_first_toy": tracing_after_first, "after_all": likelihood.tracing_count()}
        if tracing["after_all"] != tracing_after_first:
            log.warning("the likelihood was retraced between toys: %s", tracing)
        return {
            "fit": self.fit,
            "val": self.val,
            "batch": self.batch,
            "truth": {c: float(self.truth[c]) for c in job.problem.columns},
            "parameters": parameters,
            "sources": sources,
            "toys": records,
            "n_fit_failed": sum(1 for r in records if not r["valid"]),
            "tracing": tracing,
            "setup_seconds": setup,
            "likelihood_calls": dict(likelihood.n_calls),
        }

    def _fit_toy(
        self, job: FitJob, toy: Toy, parameters: Sequence[str], sources: Sequence[str]
    ) -> dict[str, Any]:
        started = time.perf_counter()
        best = job.minimise(self.analysis.defaults, seed=toy.seed)
        seconds = {"fit": time.perf_counter() - started}
        reasons = best_fit_reasons(best)
        values = dict(zip(job.problem.columns, best["best_fit"], strict=True))
        record: dict[str, Any] = {
            "toy": toy.index,
            "seed": toy.seed,
            "counts": toy.counts,
            "valid": not reasons,
            "reasons": reasons,
            "best_fit": {p: float(values[p]) for p in job.problem.columns},
            "best_fit_nll": float(best["best_fit_nll"]),
        }
        record["seconds"] = seconds
        if reasons:
            return record
        fit = ToyFit(job, best, list(parameters), self.toy_options, self.hessian_method, toy.seed)
        record["intervals"] = toy_intervals(fit, sources, seconds)
        return record
