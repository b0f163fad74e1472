from innfer_lib.core.runner import run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.io import read_parquet
from innfer_lib.core.paths import input_key
from innfer_lib.data.schema import WEIGHT
from innfer_lib.inference.fit_job import fit_job
from innfer_lib.inference.likelihood import fitted_yields
from innfer_lib.plots.postfit import postfit_plot


def main(smk):
    # A binned fit set cannot ask for post-fit plots (core.fit_sets refuses it at parse time),
    # so the likelihood's event categories are every category.
    job = fit_job(smk)
    likelihood = job.problem.likelihood
    yields = fitted_yields(likelihood, job.theta)
    best = dict(zip(job.problem.columns, job.theta, strict=True))
    text = "best fit: " + ", ".join(f"{c}={best[c]:.4g}" for c in job.free)
    outputs = iter(smk.output)
    for category in likelihood.event_categories:
        predicted = {}
        for proc in category.processes:
            events = read_parquet(smk.input[input_key("postfit", proc.name, category.name)])
            w = events[WEIGHT].to_numpy()
            # The fit may scale yields (scale_to_eff_events): draw what the likelihood predicts.
            predicted[proc.name] = (events, w * yields[category.name][proc.name] / w.sum())
        for k, column in enumerate(job.analysis.variables):
            postfit_plot(
                (category.x[:, k], category.weights),
                {p: (e[column].to_numpy(), w) for p, (e, w) in predicted.items()},
                column,
                label=job.analysis.label(column),
                outputs=[next(outputs), next(outputs)],
                observed_label=f"fitted events ({job.options['data_type']})",
                title=f"{category.name}: post-fit, {smk.wildcards.density} density",
                text=text,
            )


run(snakemake, main)  # noqa: F821
