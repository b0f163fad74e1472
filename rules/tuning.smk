"""Hyperparameter searches of the density flow (issue 17): INNFER's HyperparameterScan,
HyperparameterScanCollect and BayesianHyperparameterTuning. Targets `hyperparameter_scan`
and `bayesian_tuning`; `density_architecture: best_of_scan|best_of_tuning` trains the fits'
flows from a search's best point."""


rule train_scan_trial:
    """Train the flow of one grid point of the scan file (INNFER's HyperparameterScan job)."""
    input:
        train=PATHS.train,
        test=PATHS.test,
        parameters=PREPROCESS_PARAMETERS,
        architecture=config["hyperparameter_scan"]["architecture"],
    output:
        weights=PATHS.scan_trial_file("weights"),
        architecture=PATHS.scan_trial_file("architecture"),
        history=PATHS.scan_trial_file("history"),
    log:
        log_path("train_scan_trial", "model", "category", "trial"),
    conda:
        "../envs/tensorflow.yaml"
    threads: 2
    resources:
        **resources(kind="gpu", mem_mb=8000, runtime=240),
    params:
        overrides=TRIAL_OVERRIDES,
        seed=config["seed"],
        point=lambda wildcards: SCAN_POINTS[int(wildcards.trial)],
        checkpoint_dir=PATHS.scan_trial_file("checkpoint"),
    script:
        "../scripts/train_density.py"


rule scan_trial_metrics:
    """The performance metrics of one grid point's flow (loss always included)."""
    input:
        unpack(scan_trial_metric_inputs),
    output:
        PATHS.scan_trial_file("metrics"),
    log:
        log_path("scan_trial_metrics", "model", "category", "trial"),
    conda:
        "../envs/tensorflow.yaml"
    threads: 2
    resources:
        **resources(mem_mb=8000, runtime=60),
    params:
        options=SEARCH_METRIC_CONFIG,
        vals=density_vals_of_job,
        points=density_points,
        defaults=ANALYSIS.defaults,
        seed=config["seed"],
    script:
        "../scripts/density_performance_metrics.py"


rule hyperparameter_scan_collect:
    """Every grid point's metrics in one table and plot; the best point's architecture."""
    input:
        unpack(search_reference_input),
        metrics=expand(
            PATHS.scan_trial_file("metrics"), trial=SCAN_TRIALS, allow_missing=True
        ),
        space=config["hyperparameter_scan"]["architecture"],
    output:
        table=fill(PATHS.search_table, search="hyperparameter_scan"),
        best=fill(PATHS.search_best_architecture, search="hyperparameter_scan"),
        plots=report_plots(
            plot_files(
                fill(PATHS.search_plot, search="hyperparameter_scan", stem="trials")
            ),
            caption="tuning/trials.rst",
            category=REPORT_STAGES["tuning"],
            subcategory="{model}",
            labels={"plot": "hyperparameter scan", "category": "{category}"},
        ),
    log:
        log_path("hyperparameter_scan_collect", "model", "category"),
    conda:
        "../envs/plot.yaml"
    resources:
        **resources(),
    params:
        points=SCAN_POINTS,
        metric=SCAN_METRIC_SPEC,
    script:
        "../scripts/hyperparameter_scan_collect.py"


rule bayesian_tuning_worker:
    """Run trials of the optuna study until it holds `trials` (INNFER's
    BayesianHyperparameterTuning, as W parallel jobs sharing the study)."""
    input:
        unpack(tuning_worker_inputs),
    output:
        PATHS.tuning_worker,
    log:
        log_path("bayesian_tuning_worker", "model", "category", "worker"),
    conda:
        "../envs/tensorflow.yaml"
    # One core per worker: `workers` jobs run side by side on a machine (a GPU slot each on a
    # cluster, where a profile's set-threads can give them more).
    threads: 1
    resources:
        **resources(kind="gpu", mem_mb=8000, runtime=1440),
    params:
        block=config["bayesian_tuning"],
        metric=TUNING_METRIC_SPEC,
        options=SEARCH_METRIC_CONFIG,
        vals=density_vals_of_job,
        points=density_points,
        defaults=ANALYSIS.defaults,
        seed=config["seed"],
        # The study's directory: a side directory, never an output, so that a rerun (a killed
        # job, or more trials) finds the finished trials and adds to them.
        study_dir=lambda wildcards: here(PATHS.tuning_dir, wildcards),
    script:
        "../scripts/bayesian_tuning_worker.py"


rule bayesian_tuning_collect:
    """The study's trials in one table, history and importance plots; the best trial's
    architecture."""
    input:
        unpack(search_reference_input),
        workers=expand(PATHS.tuning_worker, worker=TUNING_WORKERS, allow_missing=True),
        space=config["bayesian_tuning"]["architecture"],
    output:
        table=fill(PATHS.search_table, search="bayesian_tuning"),
        best=fill(PATHS.search_best_architecture, search="bayesian_tuning"),
        plots=[
            f
            for stem in search_plots("bayesian_tuning")
            for f in report_plots(
                plot_files(
                    fill(PATHS.search_plot, search="bayesian_tuning", stem=stem)
                ),
                caption=f"tuning/{stem}.rst",
                category=REPORT_STAGES["tuning"],
                subcategory="{model}",
                labels={"plot": f"Bayesian tuning: {stem}", "category": "{category}"},
            )
        ],
    log:
        log_path("bayesian_tuning_collect", "model", "category"),
    conda:
        "../envs/tensorflow.yaml"
    resources:
        **resources(),
    params:
        metric=TUNING_METRIC_SPEC,
        dimensions=[d.name for d in TUNING_DIMENSIONS],
        seed=config["seed"],
        study_dir=lambda wildcards: here(PATHS.tuning_dir, wildcards),
    script:
        "../scripts/bayesian_tuning_collect.py"
