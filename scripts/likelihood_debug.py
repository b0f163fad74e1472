from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

import numpy as np

from innfer_lib.core.io import write_yaml
from innfer_lib.inference.debug import debug_hypotheses, likelihood_debug
from innfer_lib.inference.fit_job import fit_job


def main(smk):
    job = fit_job(smk)
    columns = job.problem.columns
    best = dict(zip(columns, job.theta, strict=True))

    def nll(point):
        value, grad = job.problem.likelihood.value_and_gradient(
            np.array([point[c] for c in columns], np.float64)
        )
        return value, grad

    labelled = debug_hypotheses(
        job.problem.truth, job.analysis.defaults, best, list(smk.params.points)
    )
    rows = likelihood_debug(
        nll, list(labelled.values()), defaults=job.analysis.defaults, columns=columns
    )
    for label, row in zip(labelled, rows, strict=True):
        row["point"] = label
        LOG.info("%s: %s", label, row)
    write_yaml(smk.output[0], {"columns": columns, "rows": rows})


run(snakemake, main)  # noqa: F821
