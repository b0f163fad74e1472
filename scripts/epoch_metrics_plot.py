from innfer_lib.core.runner import run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.io import read_yaml
from innfer_lib.plots.training import epoch_metrics_plot


def main(smk):
    history = read_yaml(smk.input.history)
    metrics = {
        epoch: {key: history[key][i] for key in smk.params.metrics}
        for i, epoch in enumerate(history["epoch"])
    }
    outputs = list(smk.output)
    for k, key in enumerate(smk.params.metrics):
        epoch_metrics_plot(
            metrics,
            key,
            outputs=outputs[2 * k : 2 * k + 2],
            title=f"{smk.wildcards.model}, {smk.wildcards.category}",
        )


run(snakemake, main)  # noqa: F821
