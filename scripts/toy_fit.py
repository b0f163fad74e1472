from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

import time

from innfer_lib.core.io import write_yaml
from innfer_lib.inference.toy_job import ToyJob


def main(smk):
    w = smk.wildcards
    started = time.perf_counter()
    job = ToyJob.from_snakemake(smk)
    LOG.info(
        "toys %s of fit %s, density %s, point %s (truth %s), generated from the %s density",
        list(job.indices),
        w.fit,
        w.density,
        w.val,
        job.truth,
        smk.params.generator,
    )
    record = job.run(LOG)
    record["generator"] = smk.params.generator
    record["wall_seconds"] = time.perf_counter() - started
    LOG.info(
        "%d toys in %.1f s (%.1f s building the likelihood); %d failed fits; tracings %s",
        len(record["toys"]),
        record["wall_seconds"],
        record["setup_seconds"],
        record["n_fit_failed"],
        record["tracing"],
    )
    write_yaml(smk.output[0], record)


run(snakemake, main)  # noqa: F821
