from innfer_lib.fit import hessian_column, hessian_column_record
from innfer_lib.fit_job import fit_job
from innfer_lib.io import write_yaml
from innfer_lib.runner import LOG, run


def main(smk):
    job = fit_job(smk)
    column = smk.wildcards.parameter
    values = hessian_column(job.problem.likelihood, job.theta, column)
    values = [values[job.problem.columns.index(c)] for c in job.free]
    LOG.info("hessian column %s: %s", column, values)
    write_yaml(smk.output[0], hessian_column_record(job.best_fit, job.free, column, values))


run(snakemake, main)  # noqa: F821
