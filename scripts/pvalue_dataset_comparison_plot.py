"""Rule pvalue_dataset_comparison_plot: the p-value of every metric, and its plot."""

from innfer_lib.core.runner import run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.io import read_yaml, write_yaml
from innfer_lib.density.pvalues import p_values
from innfer_lib.plots.metrics import pvalue_plot


def main(smk):
    w = smk.wildcards
    observed = read_yaml(smk.input.sim_vs_synth)
    toys = read_yaml(smk.input.toys)
    table = p_values(observed, toys, smk.params.metric_keys)
    plots = list(smk.output.plots)
    for k, key in enumerate(smk.params.metric_keys):
        pvalue_plot(
            key,
            table[key]["observed"],
            toys[key],
            table[key]["p_value"],
            outputs=plots[2 * k : 2 * k + 2],
            title=f"{w.model}, {w.category}, {w.density} density",
        )
    write_yaml(smk.output.table, table)


run(snakemake, main)  # noqa: F821
