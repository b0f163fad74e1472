from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

import numpy as np

from innfer_lib.core.analysis import load_analysis
from innfer_lib.core.io import read_parquet, read_yaml
from innfer_lib.data.validation_sets import validation_sample
from innfer_lib.density.models import load_density
from innfer_lib.plots.flow import flow_stages_plot


def main(smk):
    # One job for every validation point: the flow (and TensorFlow) is loaded once, and the
    # stages at each point show whether the Gaussianisation holds across the parameter range.
    analysis = load_analysis(smk.params.analysis)
    w = smk.wildcards
    parameters = read_yaml(smk.input.parameters)
    density = load_density(smk.input.architecture, parameters)
    info = parameters["density"]
    s = info["standardisation"]
    mean = np.array([s[c]["mean"] for c in info["X_columns"]])
    std = np.array([s[c]["std"] for c in info["X_columns"]])
    outputs = iter(smk.output)
    for i, val in enumerate(smk.params.vals):
        point = analysis.validation_points[val]
        frame = read_parquet(smk.input.validation[i])
        x, weights = validation_sample(frame, parameters, point, "val")
        x_std = (x - mean) / std
        theta = [(point[p] - s[p]["mean"]) / s[p]["std"] for p in info["Y_columns"]]
        cond = np.tile(np.asarray(theta, np.float64), (len(x_std), 1)).reshape(len(x_std), -1)
        stages = [np.asarray(t) for t in density.flow.forward_stages(x_std, cond)]
        label = ", ".join(f"{p}={point[p]:g}" for p in info["Y_columns"]) or "no parameters"
        for k, column in enumerate(info["X_columns"]):
            drawn = flow_stages_plot(
                [stage[:, k] for stage in stages],
                column,
                outputs=[next(outputs), next(outputs)],
                weights=weights,
                label=f"standardised {analysis.label(column)}",
                title=f"{w.model}, {w.category}, val {val}: {label}",
                pretransformed=bool(info.get("pretransform")),
            )
            LOG.info(
                "val %d %s: last stage has %.3f of the weight outside [-3, 3]",
                val,
                column,
                drawn["fraction_outside"][-1],
            )


run(snakemake, main)  # noqa: F821
