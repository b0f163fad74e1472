"""Rule plot_regression: average true vs regressed weight per column and split, and S(ν)."""

from innfer_lib.core.runner import run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.analysis import load_analysis
from innfer_lib.core.io import read_parquet, read_yaml
from innfer_lib.core.paths import PLOT_EXTENSIONS
from innfer_lib.plots.regression import average_weight_plot, spline_plot
from innfer_lib.ratios.normalisation_surface import NormalisationSurface


def main(smk):
    analysis = load_analysis(smk.params.analysis)
    w = smk.wildcards
    title = f"{w.model} ({w.category}): {w.parameter}"
    for split in ("train", "test"):
        table = read_parquet(smk.input[split])
        files = list(smk.output[split])
        n = len(PLOT_EXTENSIONS)
        for k, column in enumerate(smk.params.columns):
            outputs = files[n * k : n * (k + 1)]
            label = analysis.label(column)
            average_weight_plot(table, column, outputs, label, f"{title}, {split}")
    normalisation = NormalisationSurface.from_dict(read_yaml(smk.input.spline), smk.input.spline)
    labels = {p: analysis.label(p) for p in normalisation.theta}
    spline_plot(
        normalisation, list(smk.output.spline), analysis.label(w.parameter), title, None, labels
    )


run(snakemake, main)  # noqa: F821
