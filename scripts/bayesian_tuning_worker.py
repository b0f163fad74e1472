"""Rule bayesian_tuning_worker: run trials of the shared optuna study until it holds `trials`."""

from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from pathlib import Path

from innfer_lib.core.config_files import read_config_file
from innfer_lib.core.io import write_yaml
from innfer_lib.density.performance import MetricOptions, metric_seed, read_density_inputs
from innfer_lib.density.scan_space import MetricChoice, bayesian_dimensions
from innfer_lib.density.tuning_job import TrialSetup, run_trial
from innfer_lib.density.tuning_study import JOURNAL, open_study, run_worker, study_name


def main(smk):
    w = smk.wildcards
    block = smk.params.block
    inputs = read_density_inputs(
        smk.input.parameters,
        dict(zip(smk.params.vals, smk.input.validation, strict=True)),
        smk.params.points,
        smk.params.defaults,
        smk.input.train,
        smk.input.test,
    )
    space = read_config_file(smk.input.space)
    dims = bayesian_dimensions(space, smk.input.space)
    metric = MetricChoice(**smk.params.metric)
    options = MetricOptions.from_config(smk.params.options)
    data = [smk.input.parameters, smk.input.train, smk.input.test, *smk.input.validation]
    name = study_name(space, metric, smk.params.options, smk.params.seed, data, w.model, w.category)
    root = Path(smk.params.study_dir)
    worker = int(w.worker)
    study = open_study(
        root / JOURNAL,
        name,
        metric.direction,
        smk.params.seed,
        block["startup_trials"],
        block["pruning"],
        worker,
    )
    LOG.info("study %s in %s: %d trials so far", name, root / JOURNAL, len(study.trials))
    setup = TrialSetup(
        space=space,
        inputs=inputs,
        options=options,
        metric=metric,
        seed=smk.params.seed,
        metric_seed=metric_seed(smk.params.seed, w.model, w.category),
        root=root,
    )
    ran = run_worker(
        study,
        dims,
        block["trials"],
        worker,
        lambda number, params, report, origin: run_trial(setup, number, params, report, origin),
    )
    write_yaml(smk.output[0], {"study": name, "worker": worker, "trials": ran})


run(snakemake, main)  # noqa: F821
