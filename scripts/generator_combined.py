from innfer_lib.core.runner import run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

import numpy as np

from innfer_lib.core.analysis import load_analysis
from innfer_lib.core.io import read_parquet, read_yaml
from innfer_lib.core.paths import input_key
from innfer_lib.data.validation_sets import validation_sample
from innfer_lib.plots.combined import stacked_generator_plot


def main(smk):
    analysis = load_analysis(smk.params.analysis)
    category = smk.wildcards.category
    outputs = iter(smk.output)
    params = {
        p: read_yaml(smk.input[input_key("parameters", p, category)]) for p in analysis.processes
    }
    for val in smk.params.vals:
        point = analysis.validation_points[val]
        xs, ws, asimovs = [], [], {}
        for process in analysis.processes:
            frame = read_parquet(smk.input[input_key("validation", process, category, val)])
            x, w = validation_sample(frame, params[process], point, "val")
            xs.append(x)
            ws.append(w)
            asimovs[process] = read_parquet(smk.input[input_key("asimov", process, category, val)])
        x, w = np.concatenate(xs), np.concatenate(ws)
        for k, column in enumerate(analysis.variables):
            stacked_generator_plot(
                (x[:, k], w),
                {p: (a[column].to_numpy(), a["wt"].to_numpy()) for p, a in asimovs.items()},
                column,
                label=analysis.label(column),
                outputs=[next(outputs), next(outputs)],
                title=f"{category}, val {val}",
            )


run(snakemake, main)  # noqa: F821
