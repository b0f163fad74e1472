import numpy as np

from innfer_lib.core.analysis import load_analysis
from innfer_lib.core.io import read_parquet, read_yaml, write_parquet
from innfer_lib.core.paths import input_key
from innfer_lib.core.runner import LOG, run, warn_terminal
from innfer_lib.core.seeds import stable_seed
from innfer_lib.data.data_events import resample_for_data
from innfer_lib.data.validation_sets import validation_sample
from innfer_lib.inference.data_range import data_range_warnings


def main(smk):
    analysis = load_analysis(smk.params.analysis)
    category = smk.wildcards.category
    point = analysis.validation_points[analysis.default_index]
    samples = []
    parameters = {}
    for process in analysis.processes:
        params = read_yaml(smk.input[input_key("parameters", process, category)])
        parameters[(process, category)] = params
        frame = read_parquet(smk.input[input_key("validation", process, category)])
        x, w = validation_sample(frame, params, point, "val")
        LOG.info("%s: %d validation events, expected yield %.2f", process, len(w), w.sum())
        samples.append((x, w))
    rng = np.random.default_rng(stable_seed(smk.params.seed, "resample", category))
    events = resample_for_data(samples, analysis.variables, rng)
    LOG.info("category %s: %d pseudo-data events", category, len(events))
    for line in data_range_warnings(
        "pseudo-data", {category: events}, parameters, analysis.variables
    ):
        warn_terminal(line)
    write_parquet(smk.output[0], events)


run(snakemake, main)  # noqa: F821
