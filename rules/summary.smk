"""Summary stage: fit results as intervals, closure summaries, χ², tables, density comparison."""


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
        analysis=ANALYSIS.raw,
        source=fit_option("summary_from"),
    script:
        "../scripts/fit_result.py"


rule summary_all_but_one_collect:
    """Gather the fits that float one parameter each into one result per point."""
    input:
        unpack(
            lambda w: {
                p: fill(PATHS.fit_result, fit=fit, density=w.density, val=w.val)
                for p, fit in ALL_BUT_ONE_FAMILIES[w.base].items()
            }
        ),
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


rule summary_chi_squared:
    """χ² of best fit against truth over the validation points, per series and parameter."""
    input:
        unpack(lambda w: summary_result_inputs(w.summary, summary_vals(w.summary))),
    output:
        PATHS.summary_chi_squared,
    log:
        log_path("summary_chi_squared", "summary"),
    conda:
        "../envs/plot.yaml"
    resources:
        **resources(mem_mb=1000, runtime=5),
    params:
        analysis=ANALYSIS.raw,
        options=lambda w: SUMMARIES[w.summary],
        vals=lambda w: summary_vals(w.summary),
    script:
        "../scripts/summary.py"


rule summary:
    """Best fit vs truth at every validation point, every series overlaid, ±1σ/±2σ."""
    input:
        unpack(lambda w: summary_result_inputs(w.summary, summary_vals(w.summary))),
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
        analysis=ANALYSIS.raw,
        options=lambda w: SUMMARIES[w.summary],
        vals=lambda w: summary_vals(w.summary),
    script:
        "../scripts/summary.py"


rule summary_per_val:
    """Every floating parameter at one validation point, every series overlaid."""
    input:
        unpack(lambda w: summary_result_inputs(w.summary, [int(w.val)])),
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
    conda:
        "../envs/plot.yaml"
    resources:
        **resources(mem_mb=2000, runtime=10),
    params:
        analysis=ANALYSIS.raw,
        options=lambda w: SUMMARIES[w.summary],
        vals=lambda w: [int(w.val)],
    script:
        "../scripts/summary.py"


rule results_table:
    """Parameter, truth, best fit, ±σ and pull of every fit of one fit set (CSV, markdown)."""
    input:
        unpack(
            lambda w: {
                input_key("result", d, str(v)): fill(
                    PATHS.fit_result, fit=w.fit, density=d, val=v
                )
                for d in DENSITIES
                for v in fit_vals(w.fit)
            }
        ),
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


rule density_comparison:
    """Validation events against the learned and the true density at each validation point."""
    input:
        unpack(lambda wildcards: model_inputs(DENSITIES, VAL_FIT)),
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
        analysis=ANALYSIS.raw,
        vals=VAL_FIT,
        densities=DENSITIES,
    script:
        "../scripts/density_comparison.py"
