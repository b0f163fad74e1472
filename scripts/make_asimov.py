from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.analysis import load_analysis
from innfer_lib.core.io import read_yaml, write_parquet
from innfer_lib.core.seeds import stable_seed
from innfer_lib.density.asimov_job import asimov_at, process_model
from innfer_lib.density.sampling import batch_seed


def main(smk):
    analysis = load_analysis(smk.params.analysis)
    w = smk.wildcards
    options = smk.params.asimov
    parameters = read_yaml(smk.input.parameters)
    density = process_model(smk.input, parameters, w.model, w.category)
    for val, path in zip(smk.params.vals, smk.output, strict=True):
        point = analysis.validation_points[val]
        seed = batch_seed(smk.params.seed, *stable_seed(w.model, w.category), val)
        events = asimov_at(density, parameters, point, options, seed, f"val {val}", LOG)
        write_parquet(path, events)


run(snakemake, main)  # noqa: F821
