from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.io import read_yaml, write_yaml
from innfer_lib.inference.fit_job import fit_job
from innfer_lib.inference.impacts import refit_impact


def main(smk):
    job = fit_job(smk)
    w = smk.wildcards
    record = refit_impact(
        job.minimise_fn(int(smk.params.seed) + job.val),
        w.parameter,
        w.shift,
        job.best_fit,
        read_yaml(smk.input.covariance),
        frozen=job.problem.fixed,
        limits=job.problem.limits,
        source=str(smk.input.covariance),
    )
    LOG.info("%s held at %s (%s): %s", w.parameter, record["fixed_value"], w.shift, record)
    write_yaml(smk.output[0], record)


run(snakemake, main)  # noqa: F821
