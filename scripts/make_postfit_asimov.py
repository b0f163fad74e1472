from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.io import read_yaml, write_parquet
from innfer_lib.core.seeds import stable_seed
from innfer_lib.density.asimov_job import asimov_at, process_model
from innfer_lib.density.sampling import batch_seed


def main(smk):
    w = smk.wildcards
    parameters = read_yaml(smk.input.parameters)
    best = read_yaml(smk.input.best_fit)
    point = dict(zip(best["columns"], best["best_fit"], strict=True))
    density = process_model(smk.input, parameters, w.model, w.category)
    options = smk.params.asimov
    key = stable_seed(w.fit, w.density, w.model, w.category)
    seed = batch_seed(smk.params.seed, *key, int(w.val))
    events = asimov_at(density, parameters, point, options, seed, f"best fit {point}", LOG)
    write_parquet(smk.output.postfit, events)
    # The pre-fit sample: the model at the analysis defaults, where every fit starts.
    prefit = dict(smk.params.prefit)
    seed = batch_seed(smk.params.seed, *key, int(w.val), 1)
    events = asimov_at(density, parameters, prefit, options, seed, f"pre-fit {prefit}", LOG)
    write_parquet(smk.output.prefit, events)


run(snakemake, main)  # noqa: F821
