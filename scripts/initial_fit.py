from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.io import write_yaml
from innfer_lib.inference.fit_job import fit_job


def main(smk):
    job = fit_job(smk)
    w = smk.wildcards
    LOG.info("fit %s, density %s, point %s: %s", w.fit, w.density, w.val, job.problem.info)
    if job.problem.fixed:
        LOG.info("frozen: %s", job.problem.fixed)
    # INNFER starts from the defaults, never from the truth, so closure tests are honest.
    result = job.minimise(job.analysis.defaults, seed=int(smk.params.seed) + job.val)
    result["row"] = [job.problem.truth[c] for c in job.problem.columns]
    result["data"] = job.problem.info
    LOG.info("result: %s", result)
    write_yaml(smk.output[0], result)


run(snakemake, main)  # noqa: F821
