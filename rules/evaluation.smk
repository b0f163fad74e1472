"""Evaluation of the learned densities: synthetic events, Asimov samples and their plots."""


rule evaluate_density:
    """One synthetic event per training and test event, at that event's parameters."""
    input:
        **learned_model_inputs(),
        train=PATHS.train,
        test=PATHS.test,
    output:
        train=fill(PATHS.synthetic, split="train"),
        test=fill(PATHS.synthetic, split="test"),
    log:
        log_path("evaluate_density", "model", "category"),
    conda:
        "../envs/tensorflow.yaml"
    threads: DENSITY_JOB_THREADS
    resources:
        **resources(mem_mb=8000, runtime=60),
    params:
        seed=config["seed"],
        batch_size=config["asimov"]["batch_size"],
    script:
        "../scripts/evaluate_density.py"


rule plot_density:
    """Synthetic against simulated training and test events, per variable."""
    input:
        parameters=PATHS.parameters,
        train=PATHS.train,
        test=PATHS.test,
        synth_train=fill(PATHS.synthetic, split="train"),
        synth_test=fill(PATHS.synthetic, split="test"),
    output:
        [
            f
            for column in VARIABLES
            for split in ("train", "test")
            for f in report_plots(
                plot_files(
                    fill(PATHS.density_comparison_plot, column=column, split=split)
                ),
                caption="evaluation/density_comparison.rst",
                category=REPORT_STAGES["evaluation"],
                subcategory="{model}",
                labels={
                    "plot": "synthetic vs simulated",
                    "category": "{category}",
                    "variable": column,
                    "split": split,
                },
            )
        ],
    log:
        log_path("plot_density", "model", "category"),
    conda:
        "../envs/plot.yaml"
    resources:
        **resources(),
    params:
        labels=ANALYSIS.plot_labels,
    script:
        "../scripts/plot_density.py"


rule plot_density_y:
    """PlotDensity in the 20 equal-statistics slices of one Y column, and the mean and width of
    each variable against it."""
    input:
        parameters=PATHS.parameters,
        train=PATHS.train,
        test=PATHS.test,
        synth_train=fill(PATHS.synthetic, split="train"),
        synth_test=fill(PATHS.synthetic, split="test"),
    output:
        slices=[
            f
            for column in VARIABLES
            for split in SPLITS
            for f in report_plots(
                plot_files(
                    fill(PATHS.density_slices_plot, column=column, split=split)
                ),
                caption="evaluation/density_slices.rst",
                category=REPORT_STAGES["evaluation"],
                subcategory="{model}",
                labels={
                    "plot": "synthetic vs simulated, Y slices",
                    "category": "{category}",
                    "variable": f"{column} in slices of {{parameter}}",
                    "split": split,
                },
            )
        ],
        profiles=[
            f
            for column in VARIABLES
            for split in SPLITS
            for f in report_plots(
                plot_files(
                    fill(PATHS.density_profile_plot, column=column, split=split)
                ),
                caption="evaluation/density_profile.rst",
                category=REPORT_STAGES["evaluation"],
                subcategory="{model}",
                labels={
                    "plot": "synthetic vs simulated, against Y",
                    "category": "{category}",
                    "variable": f"{column} against {{parameter}}",
                    "split": split,
                },
            )
        ],
    log:
        log_path("plot_density_y", "model", "category", "parameter"),
    conda:
        "../envs/plot.yaml"
    resources:
        **resources(),
    params:
        labels=ANALYSIS.plot_labels,
        splits=SPLITS,
    script:
        "../scripts/plot_density_y.py"


rule make_asimov:
    """Events sampled from the learned density at every validation point."""
    input:
        unpack(job_ratio_inputs),
        **learned_model_inputs(),
    output:
        expand(PATHS.asimov, val=VAL_ALL, allow_missing=True),
    log:
        log_path("make_asimov", "model", "category"),
    conda:
        "../envs/tensorflow.yaml"
    threads: DENSITY_JOB_THREADS
    resources:
        **resources(mem_mb=8000, runtime=60),
    params:
        analysis=ANALYSIS_FRAME,
        asimov=config["asimov"],
        seed=config["seed"],
        vals=VAL_ALL,
    script:
        "../scripts/make_asimov.py"


rule make_asimov_nuisance_variations:
    """Events sampled from the learned model with each nuisance (or pair) at ±1."""
    input:
        unpack(job_ratio_inputs),
        **learned_model_inputs(),
    output:
        PATHS.asimov_nuisance_variations,
    log:
        log_path("make_asimov_nuisance_variations", "model", "category", "order"),
    conda:
        "../envs/tensorflow.yaml"
    threads: DENSITY_JOB_THREADS
    resources:
        **resources(mem_mb=8000, runtime=60),
    params:
        analysis=ANALYSIS_FRAME,
        asimov=config["asimov"],
        seed=config["seed"],
        variations=job_variations,
    script:
        "../scripts/make_asimov_nuisance_variations.py"


rule generator_nuisance_variations:
    """Simulated events of one nuisance variation against the model's, per variable."""
    input:
        unpack(generator_variation_inputs),
    output:
        [
            f
            for column in VARIABLES
            for f in report_plots(
                plot_files(
                    fill(PATHS.generator_nuisance_variation_plot, column=column)
                ),
                caption="evaluation/generator_nuisance_variations.rst",
                category=REPORT_STAGES["evaluation"],
                subcategory="{model}",
                labels={
                    "plot": "generator, nuisance variation",
                    "category": "{category}",
                    "variation": "{variation}",
                    "variable": column,
                },
            )
        ],
    log:
        log_path("generator_nuisance_variations", "model", "category", "variation"),
    conda:
        "../envs/plot.yaml"
    resources:
        **resources(),
    params:
        analysis=ANALYSIS_FOR_PLOTS,
        values=job_variation,
    script:
        "../scripts/generator_nuisance_variations.py"


rule generator:
    """Validation events against Asimov events, per validation point and variable."""
    input:
        parameters=PATHS.parameters,
        validation=expand(PATHS.validation, val=VAL_ALL, allow_missing=True),
        asimov=expand(PATHS.asimov, val=VAL_ALL, allow_missing=True),
    output:
        main=[
            f
            for val in VAL_ALL
            for column in VARIABLES
            for f in report_plots(
                plot_files(fill(PATHS.generator_plot, val=val, column=column)),
                caption="evaluation/generator.rst",
                category=REPORT_STAGES["evaluation"],
                subcategory="{model}",
                labels={
                    "plot": "generator",
                    "category": "{category}",
                    "val": str(val),
                    "variable": column,
                },
            )
        ],
        extra=[
            f
            for val in VAL_ALL
            for stem, (caption, plot, variable) in GENERATOR_EXTRA_VIEWS.items()
            for f in report_plots(
                plot_files(fill(PATHS.generator_extra_plot(stem), val=val)),
                caption=caption,
                category=REPORT_STAGES["evaluation"],
                subcategory="{model}",
                labels={
                    "plot": plot,
                    "category": "{category}",
                    "val": str(val),
                    "variable": variable,
                },
            )
        ],
    log:
        log_path("generator", "model", "category"),
    conda:
        "../envs/plot.yaml"
    resources:
        **resources(),
    params:
        analysis=ANALYSIS_FOR_PLOTS,
        vals=VAL_ALL,
        views=config["generator"],
    script:
        "../scripts/generator.py"


rule generator_combined:
    """Every process of a category stacked against the summed validation events."""
    input:
        unpack(combined_generator_inputs),
    output:
        [
            f
            for val in VAL_ALL
            for column in VARIABLES
            for f in report_plots(
                plot_files(
                    fill(PATHS.generator_combined_plot, val=val, column=column)
                ),
                caption="evaluation/generator_combined.rst",
                category=REPORT_STAGES["evaluation"],
                subcategory="all processes",
                labels={
                    "plot": "generator, stacked",
                    "category": "{category}",
                    "val": str(val),
                    "variable": column,
                },
            )
        ],
    log:
        log_path("generator_combined", "category"),
    conda:
        "../envs/plot.yaml"
    resources:
        **resources(),
    params:
        analysis=ANALYSIS_FOR_PLOTS,
        vals=VAL_ALL,
    script:
        "../scripts/generator_combined.py"


rule generator_data:
    """Observed data of one category against the stacked simulation and the stacked synthetic
    events at the default point, per variable (`generator: {data: true}`)."""
    input:
        unpack(generator_data_inputs),
    output:
        [
            f
            for prediction in GENERATOR_DATA_PREDICTIONS
            for column in VARIABLES
            for f in report_plots(
                plot_files(
                    fill(
                        PATHS.generator_data_plot, prediction=prediction, column=column
                    )
                ),
                caption="evaluation/generator_data.rst",
                category=REPORT_STAGES["evaluation"],
                subcategory="data",
                labels={
                    "plot": f"data vs {prediction}",
                    "category": "{category}",
                    "variable": column,
                },
            )
        ],
    log:
        log_path("generator_data", "category"),
    conda:
        "../envs/plot.yaml"
    resources:
        **resources(),
    params:
        analysis=ANALYSIS_FOR_PLOTS,
        val=ANALYSIS.default_index,
        predictions=GENERATOR_DATA_PREDICTIONS,
    script:
        "../scripts/generator_data.py"


rule generator_summary:
    """All validation points of one process relative to the default-point Asimov."""
    input:
        parameters=PATHS.parameters,
        validation=expand(PATHS.validation, val=VAL_ALL, allow_missing=True),
        asimov=expand(PATHS.asimov, val=VAL_ALL, allow_missing=True),
    output:
        [
            f
            for column in VARIABLES
            for f in report_plots(
                plot_files(fill(PATHS.generator_summary_plot, column=column)),
                caption="evaluation/generator_summary.rst",
                category=REPORT_STAGES["evaluation"],
                subcategory="{model}",
                labels={
                    "plot": "generator summary",
                    "category": "{category}",
                    "variable": column,
                },
            )
        ],
    log:
        log_path("generator_summary", "model", "category"),
    conda:
        "../envs/plot.yaml"
    resources:
        **resources(),
    params:
        analysis=ANALYSIS_FOR_PLOTS,
        vals=VAL_ALL,
    script:
        "../scripts/generator_summary.py"


rule flow:
    """Each variable after every coupling layer of the flow, at every validation point (one
    job per model: the flow is loaded once)."""
    input:
        **learned_model_inputs(),
        validation=expand(PATHS.validation, val=VAL_ALL, allow_missing=True),
    output:
        [
            f
            for val in VAL_ALL
            for column in VARIABLES
            for f in report_plots(
                plot_files(fill(PATHS.flow_plot, val=val, column=column)),
                caption="evaluation/flow.rst",
                category=REPORT_STAGES["evaluation"],
                subcategory="{model}",
                labels={
                    "plot": "flow stages",
                    "category": "{category}",
                    "val": str(val),
                    "variable": column,
                },
            )
        ],
    log:
        log_path("flow", "model", "category"),
    conda:
        "../envs/tensorflow.yaml"
    resources:
        **resources(mem_mb=4000),
    params:
        analysis=ANALYSIS_FOR_PLOTS,
        vals=VAL_ALL,
    script:
        "../scripts/flow_plot.py"


rule epoch_performance_metrics_plot:
    """Training metrics (and, with `save_model_per_epoch`, every performance metric) against
    epoch: one plot per metric and one with all of them normalised."""
    input:
        **({"metrics": PATHS.epoch_metrics} if SAVE_EPOCHS else {}),
        history=PATHS.training_history,
    output:
        per_metric=[
            f
            for metric in EPOCH_PLOT_METRICS
            for f in report_plots(
                plot_files(fill(PATHS.epoch_metric_plot, metric=metric)),
                caption="density/epoch_metric.rst",
                category=REPORT_STAGES["density"],
                subcategory="{model}",
                labels={
                    "plot": "epoch metric",
                    "category": "{category}",
                    "metric": metric,
                },
            )
        ],
        merged=report_plots(
            plot_files(PATHS.epoch_metrics_merged_plot),
            caption="density/epoch_metrics_merged.rst",
            category=REPORT_STAGES["density"],
            subcategory="{model}",
            labels={
                "plot": "epoch metric",
                "category": "{category}",
                "metric": "all, normalised",
            },
        ),
    log:
        log_path("epoch_performance_metrics_plot", "model", "category"),
    conda:
        "../envs/plot.yaml"
    resources:
        **resources(),
    params:
        metrics=EPOCH_PLOT_METRICS,
    script:
        "../scripts/epoch_metrics_plot.py"
