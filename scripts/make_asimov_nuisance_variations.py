from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.analysis import load_analysis
from innfer_lib.core.io import read_yaml, write_parquet
from innfer_lib.core.seeds import stable_seed
from innfer_lib.data.nuisance_variations import stack_variations, variation_point
from innfer_lib.density.asimov_job import asimov_at, process_model
from innfer_lib.density.sampling import batch_seed


def main(smk):
    analysis = load_analysis(smk.params.analysis)
    w = smk.wildcards
    options = smk.params.asimov
    parameters = read_yaml(smk.input.parameters)
    density = process_model(smk.input, parameters, w.model, w.category)
    samples = {}
    for tag, values in smk.params.variations.items():
        point = variation_point(analysis.defaults, values)
        seed = batch_seed(smk.params.seed, *stable_seed(w.model, w.category, "variation", tag))
        samples[tag] = asimov_at(density, parameters, point, options, seed, tag, LOG)
    write_parquet(smk.output[0], stack_variations(samples))


run(snakemake, main)  # noqa: F821
