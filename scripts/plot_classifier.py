"""Rule plot_classifier: nominal reweighted by the classifier against the shifted events."""

from innfer_lib.core.runner import run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.analysis import load_analysis
from innfer_lib.core.io import read_parquet
from innfer_lib.core.paths import PLOT_EXTENSIONS
from innfer_lib.plots.classifier import reweighting_plot


def main(smk):
    analysis = load_analysis(smk.params.analysis)
    w = smk.wildcards
    title = f"{w.model} ({w.category}): {w.parameter}"
    n = len(PLOT_EXTENSIONS)
    for split in ("train", "test"):
        table = read_parquet(smk.input[split])
        files = list(smk.output[split])
        for k, column in enumerate(smk.params.columns):
            reweighting_plot(
                table,
                column,
                w.parameter,
                files[n * k : n * (k + 1)],
                analysis.label(column),
                analysis.label(w.parameter),
                f"{title}, {split}",
            )


run(snakemake, main)  # noqa: F821
