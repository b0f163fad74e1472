from innfer_lib.core.io import write_yaml
from innfer_lib.core.runner import LOG, run
from innfer_lib.inference.fit_job import fit_job
from innfer_lib.inference.hessian import hessian_column, hessian_column_record


def main(smk):
    job = fit_job(smk)
    column = smk.wildcards.parameter
    values = hessian_column(job.problem.likelihood, job.theta, column)
    values = [values[job.problem.columns.index(c)] for c in job.free]
    LOG.info("hessian column %s: %s", column, values)
    write_yaml(smk.output[0], hessian_column_record(job.best_fit, job.free, column, values))


run(snakemake, main)  # noqa: F821
