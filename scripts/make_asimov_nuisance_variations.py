from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.analysis import load_analysis
from innfer_lib.core.io import read_yaml, write_parquet
from innfer_lib.core.seeds import stable_seed
from innfer_lib.data.nuisance_variations import stack_variations, variation_point
from innfer_lib.data.schema import WEIGHT
from innfer_lib.density.asimov_job import process_model
from innfer_lib.density.sampling import asimov_event_count_from_options, batch_seed, make_asimov


def main(smk):
    analysis = load_analysis(smk.params.analysis)
    w = smk.wildcards
    options = smk.params.asimov
    parameters = read_yaml(smk.input.parameters)
    density = process_model(smk.input, parameters, w.model, w.category)
    samples = {}
    for tag, values in smk.params.variations.items():
        point = variation_point(analysis.defaults, values)
        n = asimov_event_count_from_options(parameters, point, options)
        seed = batch_seed(smk.params.seed, *stable_seed(w.model, w.category, "variation", tag))
        samples[tag] = make_asimov(density, parameters, point, n, seed, options["batch_size"])
        LOG.info(
            "%s: %d of %d sampled events inside the training range, yield %.3f",
            tag,
            len(samples[tag]),
            n,
            samples[tag][WEIGHT].sum(),
        )
    write_parquet(smk.output[0], stack_variations(samples))


run(snakemake, main)  # noqa: F821
