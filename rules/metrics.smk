"""Density performance metrics and the p-value chain: can the flow be trusted (issue 16)?"""


rule density_performance_metrics:
    """Loss, histogram, multidim (and inference) metrics of one density of one process."""
    input:
        unpack(density_metric_inputs),
    output:
        PATHS.density_metrics,
    log:
        log_path("density_performance_metrics", "model", "category", "density"),
    conda:
        "../envs/tensorflow.yaml"
    threads: DENSITY_JOB_THREADS
    resources:
        **resources(mem_mb=8000, runtime=60),
    params:
        options=config["density_performance_metrics"],
        vals=density_vals_of_job,
        points=density_points,
        defaults=ANALYSIS.defaults,
        seed=config["seed"],
    script:
        "../scripts/density_performance_metrics.py"


rule density_performance_metrics_per_epoch:
    """The same metrics of the flow after every epoch (`save_model_per_epoch`)."""
    input:
        unpack(epoch_metric_inputs),
    output:
        PATHS.epoch_metrics,
    log:
        log_path("density_performance_metrics_per_epoch", "model", "category"),
    conda:
        "../envs/tensorflow.yaml"
    threads: DENSITY_JOB_THREADS
    resources:
        **resources(mem_mb=8000, runtime=240),
    params:
        options=config["density_performance_metrics"],
        vals=density_vals_of_job,
        points=density_points,
        defaults=ANALYSIS.defaults,
        seed=config["seed"],
    script:
        "../scripts/density_performance_metrics.py"


rule density_metrics_plot:
    """χ²/dof per point and variable, and the headline metrics, of every density."""
    input:
        expand(PATHS.density_metrics, density=DENSITIES, allow_missing=True),
    output:
        report_plots(
            plot_files(PATHS.density_metrics_plot),
            caption="evaluation/density_metrics.rst",
            category=REPORT_STAGES["evaluation"],
            subcategory="{model}",
            labels={"plot": "performance metrics", "category": "{category}"},
        ),
    log:
        log_path("density_metrics_plot", "model", "category"),
    conda:
        "../envs/plot.yaml"
    resources:
        **resources(),
    params:
        densities=DENSITIES,
        metric_keys=METRIC_KEYS,
    script:
        "../scripts/density_metrics_plot.py"


rule pvalue_sim_vs_synth:
    """Sample metrics of the simulated events against a kept synthetic reference (N_eff)."""
    input:
        unpack(pvalue_inputs),
    output:
        metrics=PATHS.pvalue_sim_vs_synth,
        reference=PATHS.pvalue_reference,
    log:
        log_path("pvalue_sim_vs_synth", "model", "category", "density"),
    conda:
        "../envs/tensorflow.yaml"
    threads: DENSITY_JOB_THREADS
    resources:
        **resources(mem_mb=4000, runtime=30),
    params:
        block=config["pvalues"],
        multidim=METRIC_OPTIONS.multidim,
        vals=density_vals_of_job,
        points=density_points,
        seed=config["seed"],
    script:
        "../scripts/pvalue_sim_vs_synth.py"


rule pvalue_synth_vs_synth:
    """One batch of toys: fresh synthetic samples of N_eff events against the reference."""
    input:
        unpack(pvalue_inputs),
        reference=PATHS.pvalue_reference,
    output:
        PATHS.pvalue_toys,
    log:
        log_path("pvalue_synth_vs_synth", "model", "category", "density", "index"),
    conda:
        "../envs/tensorflow.yaml"
    threads: DENSITY_JOB_THREADS
    resources:
        **resources(mem_mb=4000, runtime=60),
    params:
        block=config["pvalues"],
        multidim=METRIC_OPTIONS.multidim,
        vals=density_vals_of_job,
        points=density_points,
        seed=config["seed"],
        toys=lambda wildcards: TOY_BATCHES[int(wildcards.index)],
    script:
        "../scripts/pvalue_synth_vs_synth.py"


rule pvalue_synth_vs_synth_collect:
    """Every toy batch in one file: {metric: [value per toy]}."""
    input:
        expand(PATHS.pvalue_toys, index=range(len(TOY_BATCHES)), allow_missing=True),
    output:
        PATHS.pvalue_toys_collected,
    log:
        log_path("pvalue_synth_vs_synth_collect", "model", "category", "density"),
    localrule: True
    conda:
        "../envs/data.yaml"
    resources:
        **resources(),
    script:
        "../scripts/pvalue_synth_vs_synth_collect.py"


rule pvalue_dataset_comparison_plot:
    """The p-value of every metric: where the observed value falls among the toys."""
    input:
        sim_vs_synth=PATHS.pvalue_sim_vs_synth,
        toys=PATHS.pvalue_toys_collected,
    output:
        table=PATHS.pvalues,
        plots=[
            f
            for metric in PVALUE_KEYS
            for f in report_plots(
                plot_files(fill(PATHS.pvalue_plot, metric=metric)),
                caption="evaluation/pvalue.rst",
                category=REPORT_STAGES["evaluation"],
                subcategory="{model}",
                labels={
                    "plot": "p-value",
                    "category": "{category}",
                    "density": "{density}",
                    "metric": metric,
                },
            )
        ],
    log:
        log_path("pvalue_dataset_comparison_plot", "model", "category", "density"),
    conda:
        "../envs/plot.yaml"
    resources:
        **resources(),
    params:
        metric_keys=PVALUE_KEYS,
    script:
        "../scripts/pvalue_dataset_comparison_plot.py"
