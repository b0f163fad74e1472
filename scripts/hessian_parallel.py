from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.io import write_yaml
from innfer_lib.inference.fit_job import fit_job
from innfer_lib.inference.hessian import parallel_hessian_column


def main(smk):
    job = fit_job(smk)
    column = smk.wildcards.parameter
    record = parallel_hessian_column(
        job.problem.likelihood, job.theta, job.best_fit, job.free, column
    )
    LOG.info("hessian column %s: %s", column, record["hessian_column"])
    write_yaml(smk.output[0], record)


run(snakemake, main)  # noqa: F821
