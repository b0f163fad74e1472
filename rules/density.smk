"""Density stage: train a conditional flow per process and category, or wrap the true pdf."""


rule train_density:
    """Train the conditional coupling flow p(x | θ) of one process in one category."""
    input:
        # `density_warm_start`: the weights the flow starts from; an input, so a change retrains.
        unpack(warm_start_input),
        train=PATHS.train,
        test=PATHS.test,
        parameters=PREPROCESS_PARAMETERS,
        architecture=density_architecture_input,
    output:
        **({"epochs": directory(PATHS.epoch_models)} if SAVE_EPOCHS else {}),
        weights=PATHS.flow_weights,
        architecture=fill(PATHS.density_architecture, density=LEARNED),
        history=PATHS.training_history,
        loss_plot=report_plots(
            plot_files(PATHS.loss_plot),
            caption="density/loss.rst",
            category=REPORT_STAGES["density"],
            subcategory="{model}",
            labels={"plot": "training loss", "category": "{category}"},
        ),
    log:
        log_path("train_density", "model", "category"),
    priority: PRIORITY_TRAINING
    conda:
        "../envs/tensorflow.yaml"
    threads: DENSITY_JOB_THREADS
    resources:
        **resources(kind="gpu", mem_mb=8000, runtime=240),
    params:
        overrides=TRAINING_OVERRIDES,
        seed=config["seed"],
        # A side directory, deliberately not an output: Snakemake deletes the outputs of a
        # failed job, and a job killed by a wall-time limit must resume from its checkpoint.
        checkpoint_dir=PATHS.checkpoint_dir,
    script:
        "../scripts/train_density.py"


# Only the ensemble members: `learned` and `truth` have their own rules. Without an ensemble,
# a pattern that matches nothing.
MEMBER_CONSTRAINT = "|".join(ENSEMBLE_MEMBERS) or "(?!)"


rule train_density_member:
    """Train member k > 0 of a density ensemble: the same flow and data, its own seed."""
    input:
        train=PATHS.train,
        test=PATHS.test,
        parameters=PREPROCESS_PARAMETERS,
        architecture=density_architecture_input,
    output:
        weights=PATHS.member_weights,
        architecture=PATHS.density_architecture,
        history=PATHS.member_history,
    log:
        log_path("train_density_member", "model", "category", "density"),
    wildcard_constraints:
        density=MEMBER_CONSTRAINT,
    priority: PRIORITY_TRAINING
    conda:
        "../envs/tensorflow.yaml"
    threads: DENSITY_JOB_THREADS
    resources:
        **resources(kind="gpu", mem_mb=8000, runtime=240),
    params:
        overrides=TRAINING_OVERRIDES,
        seed=config["seed"],
        member=lambda wildcards: ensemble_member_index(wildcards.density),
        checkpoint_dir=PATHS.member_checkpoint_dir,
    script:
        "../scripts/train_density.py"


rule setup_density_from_benchmark:
    """Make the benchmark's analytic density usable wherever a trained model is."""
    input:
        parameters=PATHS.parameters,
    output:
        architecture=fill(PATHS.density_architecture, density=TRUE),
    log:
        log_path("setup_density_from_benchmark", "model", "category"),
    conda:
        "../envs/data.yaml"
    resources:
        **resources(),
    params:
        benchmark=BENCHMARK["name"] if BENCHMARK else None,
    script:
        "../scripts/setup_density_from_benchmark.py"
