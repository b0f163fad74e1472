from innfer_lib.core.errors import ConfigError
from innfer_lib.core.io import read_parquet
from innfer_lib.core.paths import input_key
from innfer_lib.core.runner import run
from innfer_lib.inference.fit_job import fit_job
from innfer_lib.inference.model import Category
from innfer_lib.plots.postfit import postfit_plot


def main(smk):
    job = fit_job(smk)
    likelihood = job.problem.likelihood
    if not all(isinstance(c, Category) for c in likelihood.event_categories):
        raise ConfigError("postfit plots need an unbinned likelihood (events to draw)")
    likelihood = job.problem.likelihood
    import tensorflow as tf

    theta = tf.constant(job.theta)
    params = {c: theta[i] for i, c in enumerate(job.problem.columns)}
    best = dict(zip(job.problem.columns, job.theta, strict=True))
    text = "best fit: " + ", ".join(f"{c}={best[c]:.4g}" for c in job.free)
    outputs = iter(smk.output)
    for category in likelihood.event_categories:
        predicted = {}
        for proc in category.processes:
            events = read_parquet(smk.input[input_key("postfit", proc.name, category.name)])
            fitted_yield = float(proc.yield_tf(params).numpy())
            w = events["wt"].to_numpy()
            # The fit may scale yields (scale_to_eff_events): draw what the likelihood predicts.
            predicted[proc.name] = (events, w * fitted_yield / w.sum())
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
