"""Summary stage: fit results as intervals, closure summaries, χ², tables, density comparison.

Also the run's closing line on invalid fits (`fit_report.close_run`, the `onsuccess` hook).
"""

# The `onsuccess` hook's closing line on invalid fits (workflow/Snakefile).
from innfer_lib.results.fit_report import close_run


rule fit_result:
    """One fit's best fit and ±1σ/±2σ intervals per parameter, from its fit set's source."""
    input:
        best_fit=PATHS.best_fit,
        intervals=interval_inputs,
    output:
        PATHS.fit_result,
    log:
        log_path("fit_result", "fit", "density", "val"),
    conda:
        "../envs/plot.yaml"
    resources:
        **resources(mem_mb=1000, runtime=5),
    params:
        analysis=ANALYSIS_FOR_FITS,
        source=fit_option("summary_from"),
        constrained=fit_constrained_parameters,
    script:
        "../scripts/fit_result.py"


rule summary_all_but_one_collect:
    """Gather the fits that float one parameter each into one result per point."""
    input:
        unpack(all_but_one_inputs),
    output:
        PATHS.all_but_one_result,
    log:
        log_path("summary_all_but_one_collect", "base", "density", "val"),
    conda:
        "../envs/plot.yaml"
    resources:
        **resources(mem_mb=1000, runtime=5),
    script:
        "../scripts/summary_all_but_one_collect.py"


rule summary:
    """Best fit vs truth at every validation point, every series overlaid, ±1σ/±2σ."""
    input:
        unpack(summary_inputs),
    output:
        summary=PATHS.summary,
        plot=report_plots(
            plot_files(PATHS.summary_plot),
            caption="summary/summary.rst",
            category=REPORT_STAGES["summary"],
            subcategory="{summary}",
            labels={"plot": "closure summary", "summary": "{summary}"},
        ),
    log:
        log_path("summary", "summary"),
    conda:
        "../envs/plot.yaml"
    resources:
        **resources(mem_mb=2000, runtime=10),
    params:
        analysis=ANALYSIS_FRAME,
        options=summary_options,
        vals=summary_points,
        # What the one script writes from the collected results: summary, chi_squared, per_val.
        product="summary",
    script:
        "../scripts/summary.py"


# χ² of best fit against truth over the validation points, per series and parameter.
use rule summary as summary_chi_squared with:
    output:
        PATHS.summary_chi_squared,
    log:
        log_path("summary_chi_squared", "summary"),
    resources:
        **resources(mem_mb=1000, runtime=5),
    params:
        product="chi_squared",


# Every floating parameter at one validation point, every series overlaid.
use rule summary as summary_per_val with:
    input:
        unpack(summary_per_val_inputs),
    output:
        plot=report_plots(
            plot_files(PATHS.summary_per_val_plot),
            caption="summary/summary_per_val.rst",
            category=REPORT_STAGES["summary"],
            subcategory="{summary}",
            labels={"plot": "all parameters at one point", "val": "{val}"},
        ),
    log:
        log_path("summary_per_val", "summary", "val"),
    params:
        product="per_val",


# `points_per_job` > 1: the per-point plots of each summary in batches, one job each
# (summary_per_val_batch<k>), preferred over the per-point rule.
for k, name, points in summary_batches():

    rule:
        name:
            f"summary_per_val_batch{k}"
        input:
            unpack(batch_inputs(summary_per_val_inputs, points, summary=name)),
        output:
            summary_per_val_batch_plots(name, points),
        log:
            batch_log("summary_per_val", name, points),
        conda:
            "../envs/plot.yaml"
        resources:
            **resources(mem_mb=2000, runtime=10),
        params:
            **batch_params(
                {
                    "analysis": ANALYSIS_FRAME,
                    "options": summary_options,
                    "product": "per_val",
                },
                points,
                summary=name,
            ),
        script:
            "../scripts/summary.py"

    workflow.ruleorder(f"summary_per_val_batch{k}", "summary_per_val")


rule results_table:
    """Parameter, truth, best fit, ±σ and pull of every fit of one fit set (CSV, markdown)."""
    input:
        unpack(results_table_inputs),
    output:
        table_files(PATHS.results_table),
    log:
        log_path("results_table", "fit"),
    conda:
        "../envs/plot.yaml"
    resources:
        **resources(mem_mb=1000, runtime=5),
    script:
        "../scripts/results_table.py"


rule ensemble_summary:
    """Spread of the density-ensemble members' best fits against σ_stat, per point."""
    input:
        unpack(ensemble_summary_inputs),
    output:
        summary=PATHS.ensemble_summary,
        plot=report_plots(
            plot_files(PATHS.ensemble_plot),
            caption="summary/ensemble.rst",
            category=REPORT_STAGES["summary"],
            subcategory="density ensemble",
            labels={"plot": "ensemble spread vs σ_stat", "fit": "{fit}"},
        ),
    log:
        log_path("ensemble_summary", "fit"),
    conda:
        "../envs/plot.yaml"
    resources:
        **resources(mem_mb=1000, runtime=5),
    params:
        vals=ensemble_vals,
        members=ENSEMBLE,
    script:
        "../scripts/ensemble_summary.py"


rule density_comparison:
    """Validation events against the learned and the true density at each validation point."""
    input:
        unpack(density_comparison_inputs),
    output:
        [
            f
            for val in VAL_FIT
            for f in report_plots(
                plot_files(fill(PATHS.density_plot, val=val)),
                caption="summary/densities.rst",
                category=REPORT_STAGES["summary"],
                subcategory="densities",
                labels={"plot": "validation events vs densities", "val": str(val)},
            )
        ],
    log:
        log_path("density_comparison"),
    conda:
        "../envs/plot.yaml"
    resources:
        **resources(mem_mb=4000),
    params:
        analysis=ANALYSIS_FRAME,
        vals=VAL_FIT,
        densities=DENSITIES,
    script:
        "../scripts/density_comparison.py"
