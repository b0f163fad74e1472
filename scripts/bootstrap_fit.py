from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.io import write_yaml
from innfer_lib.core.seeds import stable_seed
from innfer_lib.inference.bootstrap import bootstrap_fit
from innfer_lib.inference.fit_job import fit_job


def main(smk):
    job = fit_job(smk)
    w = smk.wildcards
    # Replica b of (fit, point) draws the same events for every density and batch size.
    seed = [int(smk.params.seed), *stable_seed(w.fit), int(w.val)]
    start, stop = smk.params.replicas
    replicas = []
    for b in range(start, stop):
        replica = bootstrap_fit(job, job.theta, b, seed, method=smk.params.method)
        LOG.info("replica %d: %s", b, replica)
        replicas.append(replica)
    write_yaml(smk.output[0], {"seed": seed, "replicas": replicas})


run(snakemake, main)  # noqa: F821
