"""Rule hyperparameter_scan_collect: every grid point's metrics, the best point's architecture."""

from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.config_files import read_config_file
from innfer_lib.core.io import read_yaml, write_csv, write_yaml
from innfer_lib.density.scan_space import MetricChoice, architecture_at
from innfer_lib.plots.tuning import scan_plot
from innfer_lib.results.tuning import best_trial, reference_value, trials_table


def main(smk):
    w = smk.wildcards
    metric = MetricChoice(**smk.params.metric)
    points = dict(enumerate(smk.params.points))
    metrics = {t: read_yaml(f) for t, f in enumerate(smk.input.metrics)}
    table = trials_table(points, metrics, metric)
    best = best_trial(table, metric)
    reference = reference_value(smk.input.get("reference"), metric)
    LOG.info(
        "best of %d points: trial %d, %s = %.6g",
        len(table),
        best,
        metric.key,
        table.loc[table["trial"] == best, "value"].iloc[0],
    )
    write_csv(smk.output.table, table)
    write_yaml(smk.output.best, architecture_at(read_config_file(smk.input.space), points[best]))
    scan_plot(
        table,
        metric.key,
        list(points[best]),
        best,
        outputs=list(smk.output.plots),
        title=f"{w.model}, {w.category}: grid scan",
        reference=reference,
    )


run(snakemake, main)  # noqa: F821
