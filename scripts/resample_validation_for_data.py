from innfer_lib.core.runner import LOG, run, start_job, warn_terminal

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

import numpy as np

from innfer_lib.core.analysis import load_analysis
from innfer_lib.core.io import read_parquet, read_yaml, write_parquet
from innfer_lib.core.paths import input_key
from innfer_lib.core.seeds import stable_seed
from innfer_lib.data.data_events import pull_width_warning, resample_for_data
from innfer_lib.data.validation_sets import validation_sample
from innfer_lib.inference.data_range import data_range_warnings


def main(smk):
    analysis = load_analysis(smk.params.analysis)
    category, val = smk.wildcards.category, int(smk.wildcards.val)
    point = analysis.validation_points[val]
    samples = []
    parameters = {}
    for process in analysis.processes:
        params = read_yaml(smk.input[input_key("parameters", process, category)])
        parameters[(process, category)] = params
        frame = read_parquet(smk.input[input_key("validation", process, category)])
        x, w = validation_sample(frame, params, point, smk.params.split)
        LOG.info("%s: %d validation events, expected yield %.2f", process, len(w), w.sum())
        samples.append((x, w))
    warning = pull_width_warning(samples, f"category {category}, point {val}")
    if warning:
        warn_terminal(warning)
    rng = np.random.default_rng(stable_seed(smk.params.seed, "resample", category, val))
    events = resample_for_data(samples, analysis.variables, rng, poisson=smk.params.poisson)
    LOG.info("category %s, point %d: %d pseudo-data events", category, val, len(events))
    for line in data_range_warnings(
        "pseudo-data", {category: events}, parameters, analysis.variables
    ):
        warn_terminal(line)
    write_parquet(smk.output[0], events)


run(snakemake, main)  # noqa: F821
