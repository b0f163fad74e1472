"""Toy coverage (beyond INNFER): pseudo-datasets fitted in batches, then pulls and coverage.

A fit set with `toys: N` gets, per density source and validation point, ceil(N / per_job)
toy_fit jobs (each builds the likelihood once and swaps the toys in), and per density one
toy_collect job with the coverage table and plots.
"""


rule toy_fit:
    """Draw a batch of toys at the point, fit each, and compute every interval source."""
    input:
        unpack(toy_fit_inputs),
    output:
        PATHS.toy_fit,
    log:
        log_path("toy_fit", "fit", "density", "val", "batch"),
    conda:
        "../envs/fit.yaml"
    threads: 1
    resources:
        **TOY_FIT_RESOURCES,
    params:
        **FIT_JOB_PARAMS,
        toys=lambda w: toy_options(FITS[w.fit]),
        hessian=fit_option("hessian"),
        generator=TOY_GENERATOR,
        seed=config["seed"],
    script:
        "../scripts/toy_fit.py"


rule toy_collect:
    """Pull mean and width, 68.3 % and 95.4 % coverage per source, parameter and point."""
    input:
        toy_collect_inputs,
    output:
        coverage=PATHS.toy_coverage,
        tables=table_files(PATHS.toy_coverage_table),
        # The coverage plot's PDF and PNG, then the pulls' (collect_coverage splits them).
        plots=[
            *report_plots(
                plot_files(PATHS.toy_coverage_plot),
                caption="inference/toy_coverage.rst",
                category=REPORT_STAGES["inference"],
                subcategory="{fit}",
                labels={"plot": "toy coverage", "density": "{density}"},
            ),
            *report_plots(
                plot_files(PATHS.toy_pulls_plot),
                caption="inference/toy_pulls.rst",
                category=REPORT_STAGES["inference"],
                subcategory="{fit}",
                labels={"plot": "toy pulls", "density": "{density}"},
            ),
        ],
    log:
        log_path("toy_collect", "fit", "density"),
    conda:
        "../envs/fit.yaml"
    resources:
        **resources(mem_mb=2000, runtime=10),
    script:
        "../scripts/toy_collect.py"
