"""Impacts: how far each floating parameter moves each POI, ranked, with the pulls.

A fit set with `impacts: refit` refits once per parameter and shift, with that parameter held
at its post-fit ±1σ crossing from the fit set's covariance file (impact_fit), and collects the
POI shifts (impacts_collect); with `impacts: approximate` they are their linear limit from
the Hessian and the covariance instead (approximate_impacts). Either feeds impacts_plot,
which adds the pulls.

The helpers are lambdas, not functions: `snakemake --lint` flags a file that mixes rules and
function definitions, and what they compute lives in innfer_lib.inference.impacts.
"""

from innfer_lib.core.constraints import constrained_parameters
from innfer_lib.inference.impacts import (
    REFIT,
    SHIFTS,
    impacted_pois,
    refit_parameters,
)

# POIs of a fit set that get an impacts plot, and the parameters refitted for them.
impact_pois = lambda fit: impacted_pois(free_parameters(fit), ANALYSIS.pois)
impact_refit_parameters = lambda fit: refit_parameters(
    free_parameters(fit), ANALYSIS.pois
)

# The impacts plots of every fit set whose `impacts` option is set: per density, point and POI.
impacts_targets = lambda: [
    f
    for fit, options in FITS.items()
    if options["impacts"]
    for val in fit_vals(fit)
    for density in DENSITIES
    for poi in impact_pois(fit)
    for f in plot_files(
        fill(PATHS.impacts_plot, fit=fit, density=density, val=val, parameter=poi)
    )
]


rule impact_fit:
    """One refit with `parameter` held at its post-fit +1σ or −1σ (`shift`) value."""
    input:
        unpack(fit_inputs),
        best_fit=PATHS.best_fit,
        covariance=summary_covariance_input,
    output:
        PATHS.impact_fit,
    log:
        log_path("impact_fit", "fit", "density", "val", "parameter", "shift"),
    conda:
        "../envs/fit.yaml"
    resources:
        **resources(mem_mb=4000),
    params:
        analysis=ANALYSIS.raw,
        fit=fit_params,
        seed=config["seed"],
    script:
        "../scripts/impact_fit.py"


rule impacts_collect:
    """POI(refit) − POI(best fit) for every refitted parameter and POI, ranked."""
    input:
        best_fit=PATHS.best_fit,
        refits=lambda w: [
            here(PATHS.impact_fit, w, parameter=p, shift=s)
            for p in impact_refit_parameters(w.fit)
            for s in SHIFTS
        ],
    output:
        PATHS.impacts,
    log:
        log_path("impacts_collect", "fit", "density", "val"),
    conda:
        "../envs/fit.yaml"
    resources:
        **resources(mem_mb=1000, runtime=5),
    params:
        pois=lambda w: impact_pois(w.fit),
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
        pois=lambda w: impact_pois(w.fit),
    script:
        "../scripts/approximate_impacts.py"


rule impacts_plot:
    """Ranked ±1σ impacts on one POI (`parameter`) beside the pulls of the nuisances."""
    input:
        impacts=lambda w: here(
            (
                PATHS.impacts
                if FITS[w.fit]["impacts"] == REFIT
                else PATHS.approximate_impacts
            ),
            w,
        ),
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
        constrained=lambda w: constrained_parameters(
            ANALYSIS.nuisance_constraints,
            ANALYSIS.fit_parameters,
            FITS[w.fit].get("constraints", True),
        ),
    script:
        "../scripts/impacts_plot.py"
