"""Weight-ratio models of shape nuisances (issue 15): the regression and classifier FCNNs of
w(x, ν)/w(x, 0).

One job of each rule per (process, category, nuisance) with a `regression_models` or
`classifier_models` entry (and one normalisation Asimov per process and category with
any: every ratio model of it is normalised over the same density events).
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
        loss_plot=ratio_model_plots(
            PATHS.regression_loss_plot,
            "density/regression_loss.rst",
            "regression loss",
        ),
    log:
        log_path("train_regression", "model", "category", "parameter"),
    priority: PRIORITY_TRAINING
    conda:
        "../envs/tensorflow.yaml"
    threads: DENSITY_JOB_THREADS
    resources:
        **resources(kind="gpu", mem_mb=8000, runtime=240),
    params:
        kind="regression",
        overrides=config["regression_architecture_overrides"],
        seed=config["seed"],
        # A side directory, not an output, as for train_density: a killed job resumes.
        checkpoint_dir=PATHS.regression_checkpoint_dir,
    script:
        "../scripts/train_fcnn.py"


rule evaluate_regression:
    """Regressed weight ratios on the train and test sets, and the normalisation S(ν, θ)."""
    input:
        weights=PATHS.regression_model,
        architecture=PATHS.regression_architecture,
        parameters=regression_set("aux_parameters"),
        train=regression_set("aux_train"),
        test=regression_set("aux_test"),
        events=PATHS.normalisation_asimov,
        grid=PATHS.normalisation_grid,
    output:
        train=fill(PATHS.regression_predictions, split="train"),
        test=fill(PATHS.regression_predictions, split="test"),
        spline=PATHS.regression_spline,
    log:
        log_path("evaluate_regression", "model", "category", "parameter"),
    conda:
        "../envs/tensorflow.yaml"
    threads: DENSITY_JOB_THREADS
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
        train=regression_average_plots("train", "evaluation/regression_average.rst"),
        test=regression_average_plots("test", "evaluation/regression_average.rst"),
        spline=ratio_model_plots(
            PATHS.regression_spline_plot,
            "density/normalisation_spline.rst",
            "regression normalisation spline",
        ),
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


# ----------------------------------------------------------------------------- classifiers


use rule train_regression as train_classifier with:
    input:
        train=classifier_set("aux_train"),
        test=classifier_set("aux_test"),
        parameters=classifier_set("aux_parameters"),
        architecture=config["classifier_architecture"],
    output:
        weights=PATHS.classifier_model,
        architecture=PATHS.classifier_architecture,
        history=PATHS.classifier_history,
        loss_plot=ratio_model_plots(
            PATHS.classifier_loss_plot,
            "density/classifier_loss.rst",
            "classifier loss",
        ),
    log:
        log_path("train_classifier", "model", "category", "parameter"),
    params:
        kind="classifier",
        overrides=config["classifier_architecture_overrides"],
        seed=config["seed"],
        checkpoint_dir=PATHS.classifier_checkpoint_dir,


rule evaluate_classifier:
    """ln r and p₁ of the classifier on train and test, and its weighted ROC AUC per split."""
    input:
        weights=PATHS.classifier_model,
        architecture=PATHS.classifier_architecture,
        parameters=classifier_set("aux_parameters"),
        train=classifier_set("aux_train"),
        test=classifier_set("aux_test"),
    output:
        train=fill(PATHS.classifier_predictions, split="train"),
        test=fill(PATHS.classifier_predictions, split="test"),
        metrics=PATHS.classifier_metrics,
    log:
        log_path("evaluate_classifier", "model", "category", "parameter"),
    conda:
        "../envs/tensorflow.yaml"
    threads: DENSITY_JOB_THREADS
    resources:
        **resources(mem_mb=4000, runtime=60),
    script:
        "../scripts/evaluate_classifier.py"


rule make_asimov_for_normalisation_spline:
    """Density-only events pooled over a grid of the flow's parameters θ, with per-point
    weights, for the ratio models' normalisation S(ν, θ)."""
    input:
        **learned_model_inputs(),
    output:
        events=PATHS.normalisation_asimov,
        grid=PATHS.normalisation_grid,
    log:
        log_path("make_asimov_for_normalisation_spline", "model", "category"),
    conda:
        "../envs/tensorflow.yaml"
    threads: DENSITY_JOB_THREADS
    resources:
        **resources(mem_mb=6000, runtime=60),
    params:
        analysis=ANALYSIS_FRAME,
        seed=config["seed"],
        batch_size=config["asimov"]["batch_size"],
    script:
        "../scripts/make_asimov_for_normalisation_spline.py"


rule normalisation_spline_classifier:
    """S(ν) = Σw/Σw·r of the classifier over the normalisation Asimov, and its plot."""
    input:
        weights=PATHS.classifier_model,
        architecture=PATHS.classifier_architecture,
        parameters=classifier_set("aux_parameters"),
        events=PATHS.normalisation_asimov,
        grid=PATHS.normalisation_grid,
        metrics=PATHS.classifier_metrics,
    output:
        spline=PATHS.classifier_spline,
        plot=ratio_model_plots(
            PATHS.classifier_spline_plot,
            "density/normalisation_spline.rst",
            "classifier normalisation spline",
        ),
    log:
        log_path("normalisation_spline_classifier", "model", "category", "parameter"),
    conda:
        "../envs/tensorflow.yaml"
    threads: DENSITY_JOB_THREADS
    resources:
        **resources(mem_mb=4000, runtime=30),
    params:
        analysis=ANALYSIS_FOR_PLOTS,
        classifier_type=lambda wildcards: classifier_type(wildcards.parameter),
        prune=PRUNE_CLASSIFIER_MODELS,
    script:
        "../scripts/normalisation_spline_classifier.py"


rule plot_classifier:
    """Nominal reweighted by r against the shifted events, per column, inclusive and in ν bins."""
    input:
        train=fill(PATHS.classifier_predictions, split="train"),
        test=fill(PATHS.classifier_predictions, split="test"),
    output:
        train=classifier_reweighting_plots(
            "train", "evaluation/classifier_reweighting.rst"
        ),
        test=classifier_reweighting_plots(
            "test", "evaluation/classifier_reweighting.rst"
        ),
    log:
        log_path("plot_classifier", "model", "category", "parameter"),
    conda:
        "../envs/data.yaml"
    resources:
        **resources(),
    params:
        columns=lambda wildcards: VARIABLES + [wildcards.parameter],
        analysis=ANALYSIS_FOR_PLOTS,
    script:
        "../scripts/plot_classifier.py"
