from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

import time

from innfer_lib.core.io import read_yaml, write_yaml
from innfer_lib.core.point_batches import for_each_point
from innfer_lib.inference.fit_job import fit_job
from innfer_lib.inference.impacts import refit_impact


def refits_of(smk):
    """(parameter, shift) of each refit of the job, in output order: the `refits` param of an
    impact batch, else the job's own wildcards."""
    try:
        return [tuple(refit) for refit in smk.params.refits]
    except AttributeError:
        return [(smk.wildcards.parameter, smk.wildcards.shift)]


def main(smk):
    """The point's likelihood is built (and traced) once; each refit holds one parameter."""
    job = fit_job(smk)
    minimise_fn = job.minimise_fn(int(smk.params.seed) + job.val)
    covariance = read_yaml(smk.input.covariance)
    for (parameter, shift), output in zip(refits_of(smk), smk.output, strict=True):
        start = time.perf_counter()
        record = refit_impact(
            minimise_fn,
            parameter,
            shift,
            job.best_fit,
            covariance,
            frozen=job.problem.fixed,
            limits=job.problem.limits,
            source=str(smk.input.covariance),
        )
        LOG.info(
            "%s held at %s (%s) in %.1f s: %s",
            parameter,
            record["fixed_value"],
            shift,
            time.perf_counter() - start,
            record,
        )
        write_yaml(output, record)


run(snakemake, for_each_point(main))  # noqa: F821
