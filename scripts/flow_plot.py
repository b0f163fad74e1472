from innfer_lib.core.runner import run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

import numpy as np

from innfer_lib.core.analysis import load_analysis
from innfer_lib.core.io import read_parquet, read_yaml
from innfer_lib.data.validation_sets import validation_sample
from innfer_lib.density.models import load_density
from innfer_lib.plots.flow import flow_stages_plot


def main(smk):
    analysis = load_analysis(smk.params.analysis)
    w = smk.wildcards
    parameters = read_yaml(smk.input.parameters)
    density = load_density(smk.input.architecture, parameters)
    point = analysis.validation_points[analysis.default_index]
    x, weights = validation_sample(read_parquet(smk.input.validation), parameters, point, "val")
    info = parameters["density"]
    s = info["standardisation"]
    x_std = (x - [s[c]["mean"] for c in info["X_columns"]]) / [
        s[c]["std"] for c in info["X_columns"]
    ]
    theta = [(point[p] - s[p]["mean"]) / s[p]["std"] for p in info["Y_columns"]]
    cond = np.tile(np.asarray(theta, np.float64), (len(x_std), 1)).reshape(len(x_std), -1)
    stages = [np.asarray(t) for t in density.flow.forward_stages(x_std, cond)]
    outputs = list(smk.output)
    for k, column in enumerate(info["X_columns"]):
        flow_stages_plot(
            [stage[:, k] for stage in stages],
            column,
            outputs=outputs[2 * k : 2 * k + 2],
            weights=weights,
            label=f"standardised {analysis.label(column)}",
            title=f"{w.model}, {w.category}, default point",
            pretransformed=bool(info.get("pretransform")),
        )


run(snakemake, main)  # noqa: F821
