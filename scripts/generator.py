from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from itertools import combinations

import numpy as np

from innfer_lib.core.analysis import load_analysis
from innfer_lib.core.io import read_parquet, read_yaml
from innfer_lib.data.validation_sets import validation_sample
from innfer_lib.plots.generator import generator_plot
from innfer_lib.plots.generator_2d import unrolled_2d_plot


def main(smk):
    analysis = load_analysis(smk.params.analysis)
    w = smk.wildcards
    views = smk.params.views
    parameters = read_yaml(smk.input.parameters)
    stand = parameters["density"]["standardisation"]
    columns = analysis.variables
    mean = np.array([stand[c]["mean"] for c in columns])
    std = np.array([stand[c]["std"] for c in columns])
    main_out, extra_out = iter(smk.output.main), iter(smk.output.extra)
    for i, val in enumerate(smk.params.vals):
        point = analysis.validation_points[val]
        x, weights = validation_sample(
            read_parquet(smk.input.validation[i]), parameters, point, "val"
        )
        asimov = read_parquet(smk.input.asimov[i])
        synth = asimov[columns].to_numpy()
        wt = asimov["wt"].to_numpy()
        label = ", ".join(f"{p}={point[p]:g}" for p in analysis.process_parameters(w.model))
        title = f"{w.model}, {w.category}, val {val}: {label}"
        for k, column in enumerate(columns):
            drawn = generator_plot(
                (x[:, k], weights),
                (synth[:, k], wt),
                column,
                label=analysis.label(column),
                outputs=[next(main_out), next(main_out)],
                title=title,
            )
            LOG.info("val %d %s: chi2 %.1f / %d bins", val, column, drawn["chi2"], drawn["ndf"])
        if views["transformed"]:
            for k, column in enumerate(columns):
                generator_plot(
                    ((x[:, k] - mean[k]) / std[k], weights),
                    ((synth[:, k] - mean[k]) / std[k], wt),
                    column,
                    label=f"standardised {analysis.label(column)}",
                    outputs=[next(extra_out), next(extra_out)],
                    title=title,
                )
        if views["unrolled_2d"]:
            for a, b in combinations(range(len(columns)), 2):
                unrolled_2d_plot(
                    (x[:, [a, b]], weights),
                    (synth[:, [a, b]], wt),
                    (columns[a], columns[b]),
                    labels=(analysis.label(columns[a]), analysis.label(columns[b])),
                    outputs=[next(extra_out), next(extra_out)],
                    title=title,
                )


run(snakemake, main)  # noqa: F821
