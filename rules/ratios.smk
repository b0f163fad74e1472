"""Weight-ratio models of shape nuisances (issue 15): the regression FCNN of w(x, ν)/w(x, 0).

One job of each rule per (process, category, nuisance) with a `regression_models` entry.
"""


rule train_regression:
    """Train the regression FCNN of one nuisance's weight ratio for one process and category."""
    input:
        train=regression_set("aux_train"),
        test=regression_set("aux_test"),
        parameters=regression_set("aux_parameters"),
        architecture=config["regression_architecture"],
    output:
        weights=PATHS.regression_model,
        architecture=PATHS.regression_architecture,
        history=PATHS.regression_history,
        loss_plot=plot_files(PATHS.regression_loss_plot),
    log:
        log_path("train_regression", "model", "category", "parameter"),
    conda:
        "../envs/tensorflow.yaml"
    threads: 2
    resources:
        **resources(kind="gpu", mem_mb=8000, runtime=240),
    params:
        overrides=config["regression_architecture_overrides"],
        seed=config["seed"],
        # A side directory, not an output, as for train_density: a killed job resumes.
        checkpoint_dir=PATHS.regression_checkpoint_dir,
    script:
        "../scripts/train_regression.py"


rule evaluate_regression:
    """Regressed weight ratios on the train and test sets, and the normalisation spline S(ν)."""
    input:
        weights=PATHS.regression_model,
        architecture=PATHS.regression_architecture,
        parameters=regression_set("aux_parameters"),
        train=regression_set("aux_train"),
        test=regression_set("aux_test"),
    output:
        train=fill(PATHS.regression_predictions, split="train"),
        test=fill(PATHS.regression_predictions, split="test"),
        spline=PATHS.regression_spline,
    log:
        log_path("evaluate_regression", "model", "category", "parameter"),
    conda:
        "../envs/tensorflow.yaml"
    threads: 2
    resources:
        **resources(mem_mb=4000, runtime=60),
    script:
        "../scripts/evaluate_regression.py"


rule plot_regression:
    """Average true against regressed weight per input column, and the spline S(ν)."""
    input:
        train=fill(PATHS.regression_predictions, split="train"),
        test=fill(PATHS.regression_predictions, split="test"),
        spline=PATHS.regression_spline,
    output:
        train=regression_average_plots("train"),
        test=regression_average_plots("test"),
        spline=plot_files(PATHS.regression_spline_plot),
    log:
        log_path("plot_regression", "model", "category", "parameter"),
    conda:
        "../envs/data.yaml"
    resources:
        **resources(),
    params:
        columns=lambda wildcards: VARIABLES + [wildcards.parameter],
        analysis=ANALYSIS_FOR_PLOTS,
    script:
        "../scripts/plot_regression.py"
