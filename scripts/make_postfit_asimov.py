from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.io import read_yaml, write_parquet
from innfer_lib.core.seeds import stable_seed
from innfer_lib.density.asimov_job import process_model
from innfer_lib.density.sampling import asimov_event_count_from_options, batch_seed, make_asimov


def main(smk):
    w = smk.wildcards
    parameters = read_yaml(smk.input.parameters)
    best = read_yaml(smk.input.best_fit)
    point = dict(zip(best["columns"], best["best_fit"], strict=True))
    density = process_model(smk.input, parameters, w.model, w.category)
    options = smk.params.asimov
    n = asimov_event_count_from_options(parameters, point, options)
    seed = batch_seed(
        smk.params.seed, *stable_seed(w.fit, w.density, w.model, w.category), int(w.val)
    )
    events = make_asimov(density, parameters, point, n, seed, options["batch_size"])
    LOG.info("%d events at the best fit %s", len(events), point)
    write_parquet(smk.output[0], events)


run(snakemake, main)  # noqa: F821
