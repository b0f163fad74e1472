from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.analysis import load_analysis
from innfer_lib.core.io import read_yaml, write_parquet
from innfer_lib.core.seeds import stable_seed
from innfer_lib.data.schema import WEIGHT
from innfer_lib.density.asimov_job import process_model
from innfer_lib.density.sampling import asimov_event_count_from_options, batch_seed, make_asimov


def main(smk):
    analysis = load_analysis(smk.params.analysis)
    w = smk.wildcards
    options = smk.params.asimov
    parameters = read_yaml(smk.input.parameters)
    density = process_model(smk.input, parameters, w.model, w.category)
    for val, path in zip(smk.params.vals, smk.output, strict=True):
        point = analysis.validation_points[val]
        n = asimov_event_count_from_options(parameters, point, options)
        seed = batch_seed(smk.params.seed, *stable_seed(w.model, w.category), val)
        events = make_asimov(density, parameters, point, n, seed, options["batch_size"])
        LOG.info(
            "val %d: %d of %d sampled events inside the training range, yield %.3f",
            val,
            len(events),
            n,
            events[WEIGHT].sum(),
        )
        write_parquet(path, events)


run(snakemake, main)  # noqa: F821
