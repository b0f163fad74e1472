from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.io import write_yaml
from innfer_lib.inference.approximate import approximate_uncertainty
from innfer_lib.inference.fit_job import fit_job


def main(smk):
    job = fit_job(smk)
    column = smk.wildcards.parameter
    likelihood = job.problem.likelihood
    result = approximate_uncertainty(likelihood, job.theta, column, job.problem.columns)
    result["row"] = job.best_fit["row"]
    LOG.info("%s: %s", column, result)
    write_yaml(smk.output[0], result)


run(snakemake, main)  # noqa: F821
