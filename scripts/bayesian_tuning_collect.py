"""Rule bayesian_tuning_collect: the study's trials, its plots and the best trial's architecture."""

from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from pathlib import Path

from innfer_lib.core.config_files import read_config_file
from innfer_lib.core.errors import DataError
from innfer_lib.core.io import read_yaml, write_csv, write_yaml
from innfer_lib.density.scan_space import MetricChoice, architecture_at
from innfer_lib.density.tuning_job import trial_files
from innfer_lib.density.tuning_study import (
    JOURNAL,
    RETRY_ATTR,
    WORKER_ATTR,
    importances,
    load_study,
)
from innfer_lib.plots.tuning import history_plot, importance_plot, scan_plot
from innfer_lib.results.tuning import best_trial, reference_value, trials_table


def main(smk):
    w = smk.wildcards
    metric = MetricChoice(**smk.params.metric)
    names = {f: read_yaml(f)["study"] for f in smk.input.workers}
    if len(set(names.values())) != 1:
        raise DataError(f"the worker files name different studies: {names}")
    root = Path(smk.params.study_dir)
    study = load_study(root / JOURNAL, next(iter(names.values())))
    trials = study.get_trials(deepcopy=False)
    points = {t.number: {k: t.params.get(k) for k in smk.params.dimensions} for t in trials}
    states = {t.number: t.state.name for t in trials}
    extra = {
        t.number: {
            "worker": t.user_attrs.get(WORKER_ATTR),
            "retry_of": t.user_attrs.get(RETRY_ATTR),
            "seconds": t.duration.total_seconds() if t.duration else None,
        }
        for t in trials
    }
    metrics = {}
    for t in trials:
        path = trial_files(root, t.number)["metrics"]
        if states[t.number] == "COMPLETE" and path.is_file():
            metrics[t.number] = read_yaml(path)
    table = trials_table(points, metrics, metric, states, extra)
    best = best_trial(table, metric)
    reference = reference_value(smk.input.get("reference"), metric)
    LOG.info(
        "%d trials (%s); best: trial %d, %s = %.6g",
        len(table),
        table["state"].value_counts().to_dict(),
        best,
        metric.key,
        table.loc[table["trial"] == best, "value"].iloc[0],
    )
    write_csv(smk.output.table, table)
    write_yaml(smk.output.best, architecture_at(read_config_file(smk.input.space), points[best]))
    title = f"{w.model}, {w.category}: Bayesian tuning"
    plots = {Path(f).stem: [] for f in smk.output.plots}
    for f in smk.output.plots:
        plots[Path(f).stem].append(f)
    scan_plot(table, metric.key, smk.params.dimensions, best, plots["trials"], title, reference)
    history_plot(table, metric.key, metric.direction, plots["history"], title, reference)
    importance_plot(importances(study, smk.params.seed), plots["importance"], title)


run(snakemake, main)  # noqa: F821
