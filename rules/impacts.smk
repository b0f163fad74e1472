"""Impacts: how far each floating parameter moves each POI, ranked, with the pulls.

A fit set with `impacts: refit` refits once per parameter and shift, with that parameter held
at its post-fit ±1σ crossing from the fit set's covariance file (impact_fit), and collects the
POI shifts (impacts_collect); with `impacts: approximate` they are their linear limit from
the Hessian and the covariance instead (approximate_impacts). Either feeds impacts_plot,
which adds the pulls.
"""


rule impact_fit:
    """One refit with `parameter` held at its post-fit +1σ or −1σ (`shift`) value."""
    input:
        unpack(impact_fit_inputs),
    output:
        PATHS.impact_fit,
    log:
        log_path("impact_fit", "fit", "density", "val", "parameter", "shift"),
    conda:
        "../envs/fit.yaml"
    resources:
        **FIT_RESOURCES,
    params:
        **FIT_JOB_PARAMS,
        seed=config["seed"],
    script:
        "../scripts/impact_fit.py"


# `points_per_job` > 1: the refits of each point in batches of up to that many, one job each
# (impact_fit_batch<k>), preferred over the per-refit rule.
for k, batch in enumerate(
    item_batches(
        "impact_fit", impact_groups, impact_fit_inputs, impact_refit_file, "refits"
    )
):

    rule:
        name:
            f"impact_fit_batch{k}"
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
            "../scripts/impact_fit.py"

    workflow.ruleorder(f"impact_fit_batch{k}", "impact_fit")


rule impacts_collect:
    """POI(refit) − POI(best fit) for every refitted parameter and POI, ranked."""
    input:
        best_fit=PATHS.best_fit,
        refits=impact_refit_inputs,
    output:
        PATHS.impacts,
    log:
        log_path("impacts_collect", "fit", "density", "val"),
    conda:
        "../envs/fit.yaml"
    resources:
        **resources(mem_mb=1000, runtime=5),
    params:
        pois=fit_impact_pois,
    script:
        "../scripts/impacts_collect.py"


rule approximate_impacts:
    """±(H⁻¹)_poi,k/(H⁻¹)_kk·σ_k of every other floating parameter: the linearised refit."""
    input:
        covariance=summary_covariance_input,
        hessian=hessian_input,
    output:
        PATHS.approximate_impacts,
    log:
        log_path("approximate_impacts", "fit", "density", "val"),
    conda:
        "../envs/fit.yaml"
    resources:
        **resources(mem_mb=1000, runtime=5),
    params:
        pois=fit_impact_pois,
    script:
        "../scripts/approximate_impacts.py"


rule impacts_plot:
    """Ranked ±1σ impacts on one POI (`parameter`) beside the pulls of the nuisances."""
    input:
        impacts=impacts_input,
        covariance=summary_covariance_input,
    output:
        report_plots(
            plot_files(PATHS.impacts_plot),
            caption="impacts/impacts.rst",
            category=REPORT_STAGES["impacts"],
            subcategory="{fit}",
            labels={
                "plot": "impacts and pulls",
                "poi": "{parameter}",
                "density": "{density}",
                "val": "{val}",
            },
        ),
    log:
        log_path("impacts_plot", "fit", "density", "val", "parameter"),
    conda:
        "../envs/plot.yaml"
    resources:
        **resources(),
    params:
        labels=ANALYSIS.plot_labels,
        constrained=fit_constrained_parameters,
    script:
        "../scripts/impacts_plot.py"
