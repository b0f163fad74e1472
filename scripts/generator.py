from innfer_lib.config import load_analysis
from innfer_lib.generator_plots import generator_plot
from innfer_lib.io import read_parquet, read_yaml
from innfer_lib.preprocess import validation_sample
from innfer_lib.runner import LOG, run


def main(smk):
    analysis = load_analysis(smk.params.analysis)
    w = smk.wildcards
    parameters = read_yaml(smk.input.parameters)
    outputs = iter(smk.output)
    for i, val in enumerate(smk.params.vals):
        point = analysis.validation_points[val]
        x, weights = validation_sample(
            read_parquet(smk.input.validation[i]), parameters, point, "val"
        )
        asimov = read_parquet(smk.input.asimov[i])
        label = ", ".join(f"{p}={point[p]:g}" for p in analysis.process_parameters(w.model))
        for k, column in enumerate(analysis.variables):
            drawn = generator_plot(
                (x[:, k], weights),
                (asimov[column].to_numpy(), asimov["wt"].to_numpy()),
                column,
                label=analysis.label(column),
                outputs=[next(outputs), next(outputs)],
                title=f"{w.model}, {w.category}, val {val}: {label}",
            )
            LOG.info("val %d %s: chi2/bins %s", val, column, drawn.get("chi2_per_bin"))


run(snakemake, main)  # noqa: F821
