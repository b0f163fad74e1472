from innfer_lib.core.runner import run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.io import read_yaml
from innfer_lib.plots.metrics import metric_label
from innfer_lib.plots.training import (
    epoch_metrics_by_epoch,
    epoch_metrics_plot,
    merged_epoch_metrics_plot,
)


def main(smk):
    history = read_yaml(smk.input.history)
    per_epoch = read_yaml(smk.input.metrics) if "metrics" in smk.input.keys() else {}
    metrics = epoch_metrics_by_epoch(history, per_epoch)
    title = f"{smk.wildcards.model}, {smk.wildcards.category}"
    outputs = list(smk.output.per_metric)
    for k, key in enumerate(smk.params.metrics):
        epoch_metrics_plot(
            metrics, key, outputs=outputs[2 * k : 2 * k + 2], label=metric_label(key), title=title
        )
    merged_epoch_metrics_plot(metrics, smk.params.metrics, list(smk.output.merged), title=title)


run(snakemake, main)  # noqa: F821
