"""Rule density_metrics_plot: every density's metrics of one process and category."""

from innfer_lib.core.runner import run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.io import read_yaml
from innfer_lib.plots.metrics import metrics_overview_plot


def main(smk):
    w = smk.wildcards
    metrics = {d: read_yaml(f) for d, f in zip(smk.params.densities, smk.input, strict=True)}
    metrics_overview_plot(
        metrics, smk.params.metric_keys, outputs=list(smk.output), title=f"{w.model}, {w.category}"
    )


run(snakemake, main)  # noqa: F821
