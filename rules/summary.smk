"""Summary stage: closure of best fits against the truth, and the learned vs true densities."""


rule summary:
    """Best fit vs truth at every validation point, for each density source, with ±1σ/±2σ."""
    input:
        # val outer, density inner: the script pairs files with keys in this order.
        covariances=lambda w: [
            summary_covariance_input(FitPoint(fit=w.fit, val=v, density=d))
            for v in fit_vals(w.fit)
            for d in DENSITIES
        ],
        best_fits=lambda w: [
            fill(PATHS.best_fit, fit=w.fit, val=v, density=d)
            for v in fit_vals(w.fit)
            for d in DENSITIES
        ],
    output:
        summary=PATHS.summary,
        plot=plot_files(PATHS.summary_plot),
    log:
        log_path("summary", "fit"),
    conda:
        "../envs/plot.yaml"
    resources:
        **resources(mem_mb=2000, runtime=10),
    params:
        analysis=ANALYSIS.raw,
        vals=lambda w: fit_vals(w.fit),
        densities=DENSITIES,
    script:
        "../scripts/summary.py"


rule density_comparison:
    """Validation events against the learned and the true density at each validation point."""
    input:
        unpack(lambda wildcards: model_inputs(DENSITIES, VAL_FIT)),
    output:
        [f for val in VAL_FIT for f in plot_files(fill(PATHS.density_plot, val=val))],
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
