"""Inference stage: best fit, autodiff Hessian and covariance per fit set and validation point."""


rule initial_fit:
    """Minimise −ln L with MIGRAD and autodiff gradients."""
    input:
        unpack(fit_inputs),
    output:
        PATHS.best_fit,
    log:
        log_path("initial_fit", "fit", "density", "val"),
    conda:
        "../envs/fit.yaml"
    threads: 1
    resources:
        **resources(mem_mb=4000),
    params:
        analysis=ANALYSIS.raw,
        fit=fit_params,
        seed=config["seed"],
    script:
        "../scripts/initial_fit.py"


rule hessian:
    """Autodiff Hessian of −ln L at the best fit."""
    input:
        unpack(fit_inputs),
        best_fit=PATHS.best_fit,
    output:
        PATHS.hessian,
    log:
        log_path("hessian", "fit", "density", "val"),
    conda:
        "../envs/fit.yaml"
    threads: 1
    resources:
        **resources(mem_mb=4000),
    params:
        analysis=ANALYSIS.raw,
        fit=fit_params,
    script:
        "../scripts/hessian.py"


rule covariance:
    """C = H⁻¹, with ±1σ and ±2σ intervals per parameter."""
    input:
        PATHS.hessian,
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
