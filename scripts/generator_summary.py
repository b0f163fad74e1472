from innfer_lib.core.runner import run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.analysis import load_analysis
from innfer_lib.core.io import read_parquet, read_yaml
from innfer_lib.data.validation_sets import validation_sample
from innfer_lib.plots.generator_summary import generator_summary_plot


def main(smk):
    analysis = load_analysis(smk.params.analysis)
    w = smk.wildcards
    parameters = read_yaml(smk.input.parameters)
    params = analysis.process_parameters(w.model)
    per_point = []
    for i, val in enumerate(smk.params.vals):
        point = analysis.validation_points[val]
        x, weights = validation_sample(
            read_parquet(smk.input.validation[i]), parameters, point, "val"
        )
        per_point.append(
            {
                "label": ", ".join(f"{p}={point[p]:g}" for p in params) or f"val {val}",
                "asimov": read_parquet(smk.input.asimov[i]),
                "x": x,
                "w": weights,
            }
        )
    reference = smk.params.vals.index(analysis.default_index)
    outputs = list(smk.output)
    for k, column in enumerate(analysis.variables):
        generator_summary_plot(
            [
                {
                    "label": p["label"],
                    "synthetic": (p["asimov"][column].to_numpy(), p["asimov"]["wt"].to_numpy()),
                    "simulated": (p["x"][:, k], p["w"]),
                }
                for p in per_point
            ],
            reference,
            column,
            label=analysis.label(column),
            outputs=outputs[2 * k : 2 * k + 2],
            title=f"{w.model}, {w.category}",
        )


run(snakemake, main)  # noqa: F821
