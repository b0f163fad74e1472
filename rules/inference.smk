"""Inference stage: fits, Hessians, covariances, D-matrix, scans and post-fit plots.

Each named fit set of the workflow config is a `{fit}` wildcard; its options decide which of
the alternative producers (autodiff, numerical or per-column Hessian; H⁻¹ or sandwich
covariance; scan points from the Hessian or the approximate uncertainty) feed the summary.
"""


rule initial_fit:
    """Minimise −ln L with MIGRAD and autodiff gradients (scipy fallback)."""
    input:
        unpack(fit_inputs),
    output:
        PATHS.best_fit,
    log:
        log_path("initial_fit", "fit", "density", "val"),
    priority: PRIORITY_FITS
    conda:
        "../envs/fit.yaml"
    threads: 1
    resources:
        **FIT_RESOURCES,
    params:
        **FIT_JOB_PARAMS,
        seed=config["seed"],
    script:
        "../scripts/initial_fit.py"


# `points_per_job` > 1: the points of each fit set in batches, one job each (initial_fit_batch<k>,
# hessian_batch<k>, dmatrix_batch<k>), preferred over the per-point rules
# (innfer_lib.core.point_batches).
for k, fit, points in point_batches():

    rule:
        name:
            f"initial_fit_batch{k}"
        input:
            unpack(batch_inputs(fit_inputs, points, fit=fit)),
        output:
            batch_outputs(PATHS.best_fit, points, fit=fit),
        log:
            batch_log("initial_fit", f"{fit}_{{density}}", points),
        priority: PRIORITY_FITS
        conda:
            "../envs/fit.yaml"
        threads: 1
        resources:
            **fit_resources(len(points)),
        params:
            **batch_params({**FIT_JOB_PARAMS, "seed": config["seed"]}, points, fit=fit),
        script:
            "../scripts/initial_fit.py"

    rule:
        name:
            f"hessian_batch{k}"
        input:
            unpack(batch_inputs(fit_at_best_fit_inputs, points, fit=fit)),
        output:
            batch_outputs(PATHS.hessian, points, fit=fit),
        log:
            batch_log("hessian", f"{fit}_{{density}}", points),
        priority: PRIORITY_FITS
        conda:
            "../envs/fit.yaml"
        threads: 1
        resources:
            **fit_resources(len(points)),
        params:
            **batch_params(
                {**FIT_JOB_PARAMS, "method": fit_option("hessian")}, points, fit=fit
            ),
        script:
            "../scripts/hessian.py"

    rule:
        name:
            f"dmatrix_batch{k}"
        input:
            unpack(batch_inputs(fit_at_best_fit_inputs, points, fit=fit)),
        output:
            batch_outputs(PATHS.dmatrix, points, fit=fit),
        log:
            batch_log("dmatrix", f"{fit}_{{density}}", points),
        conda:
            "../envs/fit.yaml"
        resources:
            **fit_resources(len(points)),
        params:
            **batch_params(FIT_JOB_PARAMS, points, fit=fit),
        script:
            "../scripts/dmatrix.py"

    workflow.ruleorder(f"initial_fit_batch{k}", "initial_fit")
    workflow.ruleorder(f"hessian_batch{k}", "hessian")
    workflow.ruleorder(f"dmatrix_batch{k}", "dmatrix")


rule approximate_uncertainty:
    """Non-profiled ±1σ/±2σ of one parameter from the NLL around the best fit."""
    input:
        unpack(fit_at_best_fit_inputs),
    output:
        PATHS.approximate_uncertainty,
    log:
        log_path("approximate_uncertainty", "fit", "density", "val", "parameter"),
    conda:
        "../envs/fit.yaml"
    resources:
        **FIT_RESOURCES,
    params:
        **FIT_JOB_PARAMS,
    script:
        "../scripts/approximate_uncertainty.py"


rule uncertainty_from_minimisation:
    """MINOS ±1σ/±2σ crossings of one parameter, profiled; failed sides recorded, not fatal."""
    input:
        unpack(fit_at_best_fit_inputs),
    output:
        PATHS.minos,
    log:
        log_path("uncertainty_from_minimisation", "fit", "density", "val", "parameter"),
    conda:
        "../envs/fit.yaml"
    threads: 1
    resources:
        **FIT_RESOURCES,
    params:
        **FIT_JOB_PARAMS,
    script:
        "../scripts/uncertainty_from_minimisation.py"


rule bootstrap_fit:
    """Refit a batch of bootstrap replicas of the fitted events (one trace per batch)."""
    input:
        unpack(fit_at_best_fit_inputs),
    output:
        PATHS.bootstrap_batch,
    log:
        log_path("bootstrap_fit", "fit", "density", "val", "batch"),
    conda:
        "../envs/fit.yaml"
    threads: 1
    resources:
        **FIT_RESOURCES,
    params:
        **FIT_JOB_PARAMS,
        replicas=bootstrap_replicas,
        method=lambda wildcards: FITS[wildcards.fit]["bootstrap"]["method"],
        seed=config["seed"],
    script:
        "../scripts/bootstrap_fit.py"


rule bootstrap_collect:
    """One parameter's replica best fits as ±1σ/±2σ (std around the best fit)."""
    input:
        best_fit=PATHS.best_fit,
        batches=bootstrap_batch_inputs,
    output:
        PATHS.bootstrap_result,
    log:
        log_path("bootstrap_collect", "fit", "density", "val", "parameter"),
    conda:
        "../envs/plot.yaml"
    resources:
        **resources(mem_mb=1000, runtime=5),
    script:
        "../scripts/bootstrap_collect.py"


rule bootstrap_plot:
    """Histogram of one parameter's replica best fits, Gaussian, truth, mean and ±1σ."""
    input:
        PATHS.bootstrap_result,
    output:
        report_plots(
            plot_files(PATHS.bootstrap_plot),
            caption="inference/bootstrap.rst",
            category=REPORT_STAGES["inference"],
            subcategory="{fit}",
            labels={
                "plot": "bootstrap",
                "density": "{density}",
                "val": "{val}",
                "parameter": "{parameter}",
            },
        ),
    log:
        log_path("bootstrap_plot", "fit", "density", "val", "parameter"),
    conda:
        "../envs/plot.yaml"
    resources:
        **resources(mem_mb=1000, runtime=5),
    params:
        labels=ANALYSIS.plot_labels,
        plot="bootstrap",
    script:
        "../scripts/crossings_plot.py"


rule hessian:
    """Hessian of −ln L at the best fit: autodiff, or measured on the σ scale where ln L has kinks."""
    input:
        unpack(fit_at_best_fit_inputs),
    output:
        PATHS.hessian,
    log:
        log_path("hessian", "fit", "density", "val"),
    priority: PRIORITY_FITS
    conda:
        "../envs/fit.yaml"
    threads: 1
    resources:
        **FIT_RESOURCES,
    params:
        **FIT_JOB_PARAMS,
        method=fit_option("hessian"),
    script:
        "../scripts/hessian.py"


# Hessian by central differences of the autodiff gradient (`hessian: numerical`).
use rule hessian as hessian_numerical with:
    output:
        PATHS.hessian_numerical,
    log:
        log_path("hessian_numerical", "fit", "density", "val"),
    params:
        method="numerical",


rule hessian_parallel:
    """One column of the Hessian, so large fits spread over many jobs."""
    input:
        unpack(fit_at_best_fit_inputs),
    output:
        PATHS.hessian_column,
    log:
        log_path("hessian_parallel", "fit", "density", "val", "parameter"),
    conda:
        "../envs/fit.yaml"
    resources:
        **FIT_RESOURCES,
    params:
        **FIT_JOB_PARAMS,
    script:
        "../scripts/hessian_parallel.py"


rule hessian_collect:
    """Assemble the Hessian from its columns."""
    input:
        best_fit=PATHS.best_fit,
        columns=hessian_column_inputs,
    output:
        PATHS.hessian_collected,
    log:
        log_path("hessian_collect", "fit", "density", "val"),
    conda:
        "../envs/fit.yaml"
    resources:
        **resources(mem_mb=1000, runtime=5),
    script:
        "../scripts/hessian_collect.py"


rule covariance:
    """C = H⁻¹, with ±1σ and ±2σ intervals per parameter."""
    input:
        hessian_input,
    output:
        PATHS.covariance,
    log:
        log_path("covariance", "fit", "density", "val"),
    conda:
        "../envs/fit.yaml"
    resources:
        **resources(mem_mb=1000, runtime=5),
    script:
        "../scripts/covariance.py"


rule dmatrix:
    """D = Σ w² s sᵀ of the per-event scores, for the sandwich covariance."""
    input:
        unpack(fit_at_best_fit_inputs),
    output:
        PATHS.dmatrix,
    log:
        log_path("dmatrix", "fit", "density", "val"),
    conda:
        "../envs/fit.yaml"
    resources:
        **FIT_RESOURCES,
    params:
        **FIT_JOB_PARAMS,
    script:
        "../scripts/dmatrix.py"


rule covariance_with_dmatrix:
    """The sandwich H⁻¹DH⁻¹: the covariance of a fit to weighted events."""
    input:
        hessian=hessian_input,
        dmatrix=PATHS.dmatrix,
    output:
        PATHS.covariance_with_dmatrix,
    log:
        log_path("covariance_with_dmatrix", "fit", "density", "val"),
    conda:
        "../envs/fit.yaml"
    resources:
        **resources(mem_mb=1000, runtime=5),
    script:
        "../scripts/covariance_with_dmatrix.py"


rule scan_points_from_hessian:
    """Scan grid around the best fit in steps of the Hessian σ."""
    input:
        unpack(parameters_inputs),
        covariance=summary_covariance_input,
    output:
        PATHS.scan_points("hessian"),
    log:
        log_path("scan_points_from_hessian", "fit", "density", "val", "parameter"),
    conda:
        "../envs/fit.yaml"
    resources:
        **resources(mem_mb=1000, runtime=5),
    params:
        analysis=ANALYSIS_FRAME,
        options=fit_option("scan_points"),
    script:
        "../scripts/scan_points.py"


# The same grid in steps of the approximate σ (`scan_points: {from: approximate}`).
use rule scan_points_from_hessian as scan_points_from_approximate with:
    input:
        unpack(parameters_inputs),
        covariance=PATHS.approximate_uncertainty,
    output:
        PATHS.scan_points("approximate"),
    log:
        log_path("scan_points_from_approximate", "fit", "density", "val", "parameter"),


rule scan_points_from_input:
    """The analyst's scan values of one parameter (INNFER's ScanPointsFromInput)."""
    input:
        unpack(parameters_inputs),
        unpack(scan_points_file_input),
        best_fit=PATHS.best_fit,
    output:
        PATHS.scan_points(SCAN_FROM_INPUT),
    log:
        log_path("scan_points_from_input", "fit", "density", "val", "parameter"),
    conda:
        "../envs/fit.yaml"
    resources:
        **resources(mem_mb=1000, runtime=5),
    params:
        analysis=ANALYSIS_FRAME,
        values=scan_input_values,
    script:
        "../scripts/scan_points_from_input.py"


rule scan:
    """One profiled fit with the scanned parameter(s) fixed at one grid point."""
    input:
        unpack(scan_inputs),
    output:
        PATHS.scan_point,
    log:
        log_path("scan", "fit", "density", "val", "parameter", "index"),
    conda:
        "../envs/fit.yaml"
    resources:
        **FIT_RESOURCES,
    params:
        **FIT_JOB_PARAMS,
        seed=config["seed"],
    script:
        "../scripts/scan.py"


# `points_per_job` > 1: the grid points of each 1-D and 2-D scan in batches of up to that many,
# one job each (scan_batch<k>, scan_2d_batch<k>), preferred over the per-point rules.
for k, batch in enumerate(
    item_batches(
        "scan", scan_groups, scan_inputs, grid_point_file(PATHS.scan_point), "indices"
    )
):

    rule:
        name:
            f"scan_batch{k}"
        input:
            unpack(batch.inputs),
        output:
            batch.outputs,
        log:
            batch.log,
        conda:
            "../envs/fit.yaml"
        resources:
            **batch.resources,
        params:
            **batch.params,
        script:
            "../scripts/scan.py"

    workflow.ruleorder(f"scan_batch{k}", "scan")


for k, batch in enumerate(
    item_batches(
        "scan_2d",
        scan_2d_groups,
        scan_2d_inputs,
        grid_point_file(PATHS.scan_2d_point),
        "indices",
    )
):

    rule:
        name:
            f"scan_2d_batch{k}"
        input:
            unpack(batch.inputs),
        output:
            batch.outputs,
        log:
            batch.log,
        conda:
            "../envs/fit.yaml"
        resources:
            **batch.resources,
        params:
            **batch.params,
        script:
            "../scripts/scan.py"

    workflow.ruleorder(f"scan_2d_batch{k}", "scan_2d")


rule scan_collect:
    """−2ΔlnL over the grid and its 1σ and 2σ crossings."""
    input:
        best_fit=PATHS.best_fit,
        points=scan_point_inputs,
    output:
        PATHS.scan_result,
    log:
        log_path("scan_collect", "fit", "density", "val", "parameter"),
    conda:
        "../envs/fit.yaml"
    resources:
        **resources(mem_mb=1000, runtime=5),
    script:
        "../scripts/scan_collect.py"


rule scan_plot:
    """The likelihood scan of one parameter with its crossings and the truth."""
    input:
        PATHS.scan_result,
    output:
        report_plots(
            plot_files(PATHS.scan_plot),
            caption="inference/scan.rst",
            category=REPORT_STAGES["inference"],
            subcategory="{fit}",
            labels={
                "plot": "likelihood scan",
                "density": "{density}",
                "val": "{val}",
                "parameter": "{parameter}",
            },
        ),
    log:
        log_path("scan_plot", "fit", "density", "val", "parameter"),
    conda:
        "../envs/plot.yaml"
    resources:
        **resources(),
    params:
        labels=ANALYSIS.plot_labels,
        plot="scan",
    script:
        "../scripts/crossings_plot.py"


rule scan_overlay:
    """Several fit sets' scans of one parameter on one plot, with a stat./syst. breakdown."""
    input:
        unpack(scan_overlay_inputs),
    output:
        crossings=PATHS.scan_overlay,
        plot=report_plots(
            plot_files(PATHS.scan_overlay_plot),
            caption="inference/scan_overlay.rst",
            category=REPORT_STAGES["inference"],
            subcategory="scan overlay {overlay}",
            labels={
                "plot": "likelihood scans",
                "density": "{density}",
                "val": "{val}",
                "parameter": "{parameter}",
            },
        ),
    log:
        log_path("scan_overlay", "overlay", "density", "val", "parameter"),
    conda:
        "../envs/plot.yaml"
    resources:
        **resources(),
    params:
        labels=ANALYSIS.plot_labels,
        options=scan_overlay_options,
    script:
        "../scripts/scan_overlay.py"


rule scan_2d_points:
    """The 2-D grid of two parameters, n_sigma Hessian σ around the best fit."""
    input:
        unpack(parameters_inputs),
        covariance=summary_covariance_input,
    output:
        PATHS.scan_2d_points,
    log:
        log_path("scan_2d_points", "fit", "density", "val"),
    conda:
        "../envs/fit.yaml"
    resources:
        **resources(mem_mb=1000, runtime=5),
    params:
        analysis=ANALYSIS_FRAME,
        options=fit_option("scan_2d"),
    script:
        "../scripts/scan_2d_points.py"


# One profiled fit with both parameters of a 2-D scan fixed at one grid point.
use rule scan as scan_2d with:
    input:
        unpack(scan_2d_inputs),
    output:
        PATHS.scan_2d_point,
    log:
        log_path("scan_2d", "fit", "density", "val", "index"),


rule scan_2d_collect:
    """The −2ΔlnL grid of a 2-D scan and its 68.3 % and 95.4 % contours."""
    input:
        best_fit=PATHS.best_fit,
        points=scan_2d_point_inputs,
    output:
        result=PATHS.scan_2d_result,
        plot=report_plots(
            plot_files(PATHS.scan_2d_plot),
            caption="inference/scan_2d.rst",
            category=REPORT_STAGES["inference"],
            subcategory="{fit}",
            labels=scan_2d_report_labels,
        ),
    log:
        log_path("scan_2d_collect", "fit", "density", "val"),
    conda:
        "../envs/plot.yaml"
    resources:
        **resources(),
    params:
        labels=ANALYSIS.plot_labels,
    script:
        "../scripts/scan_2d_collect.py"


rule likelihood_debug:
    """NLL and gradient at the truth, the defaults, the best fit and the given points."""
    input:
        unpack(fit_at_best_fit_inputs),
    output:
        PATHS.likelihood_debug,
    log:
        log_path("likelihood_debug", "fit", "density", "val"),
    conda:
        "../envs/fit.yaml"
    resources:
        **FIT_RESOURCES,
    params:
        **FIT_JOB_PARAMS,
        points=fit_option("debug_points"),
    script:
        "../scripts/likelihood_debug.py"


rule make_postfit_asimov:
    """Events of one process sampled at the best fit and at the pre-fit point (the defaults)."""
    input:
        unpack(postfit_model_inputs),
        best_fit=PATHS.best_fit,
    output:
        postfit=PATHS.postfit_asimov,
        prefit=PATHS.prefit_asimov,
    log:
        log_path("make_postfit_asimov", "fit", "density", "val", "model", "category"),
    conda:
        "../envs/tensorflow.yaml"
    resources:
        **resources(mem_mb=4000),
    params:
        asimov=config["asimov"],
        seed=config["seed"],
        prefit=ANALYSIS.defaults,
    script:
        "../scripts/make_postfit_asimov.py"


rule postfit_plot:
    """Fitted events against the stacked post-fit prediction, per category and variable, with
    the pre-fit total and the band of the fit covariance (unbinned fit sets)."""
    input:
        unpack(postfit_inputs),
    output:
        [
            f
            for category in CATEGORIES
            for column in VARIABLES
            for f in report_plots(
                plot_files(fill(PATHS.postfit_plot, category=category, column=column)),
                caption="inference/postfit.rst",
                category=REPORT_STAGES["inference"],
                subcategory="{fit}",
                labels={
                    "plot": "post-fit",
                    "density": "{density}",
                    "val": "{val}",
                    "category": category,
                    "variable": column,
                },
            )
        ],
    log:
        log_path("postfit_plot", "fit", "density", "val"),
    conda:
        "../envs/plot.yaml"
    resources:
        **resources(),
    params:
        analysis=ANALYSIS_FOR_FIT_PLOTS,
        fit=fit_params,
        seed=config["seed"],
    script:
        "../scripts/postfit_plot.py"


rule postfit_plot_binned:
    """Binned fit sets (INNFER's BinnedDistributions): fitted counts against the stacked
    post-fit bin yields per category, with the pre-fit total and the fit-covariance band.
    """
    input:
        unpack(fit_at_best_fit_inputs),
        covariance=summary_covariance_input,
    output:
        [
            f
            for category, binning in BINNED_FIT_INPUT.items()
            for f in report_plots(
                plot_files(
                    fill(
                        PATHS.postfit_binned_plot,
                        category=category,
                        column=binning["variable"],
                    )
                ),
                caption="inference/postfit_binned.rst",
                category=REPORT_STAGES["inference"],
                subcategory="{fit}",
                labels={
                    "plot": "post-fit (binned)",
                    "density": "{density}",
                    "val": "{val}",
                    "category": category,
                    "variable": binning["variable"],
                },
            )
        ],
    log:
        log_path("postfit_plot_binned", "fit", "density", "val"),
    conda:
        "../envs/plot.yaml"
    resources:
        **resources(mem_mb=4000),
    params:
        analysis=ANALYSIS_FOR_FIT_PLOTS,
        fit=fit_params,
        seed=config["seed"],
        binning=BINNED_FIT_INPUT,
    script:
        "../scripts/postfit_plot_binned.py"
