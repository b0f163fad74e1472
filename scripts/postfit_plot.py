from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

import numpy as np

from innfer_lib.core.io import read_parquet, read_yaml
from innfer_lib.core.paths import input_key
from innfer_lib.core.seeds import stable_seed
from innfer_lib.data.schema import WEIGHT
from innfer_lib.inference.fit_job import fit_job
from innfer_lib.inference.likelihood import fitted_yields
from innfer_lib.inference.postfit_band import band, histogram_draws, postfit_setup
from innfer_lib.inference.postfit_prediction import EventReweighter
from innfer_lib.plots.postfit import postfit_edges, postfit_plot


def _scaled(path, variables, target):
    """A sampled process's columns and weights rescaled to the yield the likelihood predicts
    (a fit may scale yields with scale_to_eff_events)."""
    events = read_parquet(path)
    w = events[WEIGHT].to_numpy()
    return events[list(variables)].to_numpy(np.float64), w * target / w.sum()


def main(smk):
    # Only unbinned fit sets come here; binned ones have postfit_plot_binned.
    job = fit_job(smk)
    likelihood, columns = job.problem.likelihood, job.problem.columns
    variables = job.analysis.variables
    w = smk.wildcards
    setup = postfit_setup(
        job,
        read_yaml(smk.input.covariance),
        seed=[int(smk.params.seed), *stable_seed(w.fit, w.density, w.val)],
    )
    prefit_theta, samples, text = setup.prefit_theta, setup.samples, setup.text
    yields = fitted_yields(likelihood, job.theta)
    prefit_yields = fitted_yields(likelihood, prefit_theta)
    outputs = iter(smk.output)
    for category in likelihood.event_categories:
        predicted, prefit = {}, {}
        for proc in category.processes:
            key = (proc.name, category.name)
            predicted[proc.name] = _scaled(
                smk.input[input_key("postfit", *key)], variables, yields[category.name][proc.name]
            )
            prefit[proc.name] = _scaled(
                smk.input[input_key("prefit", *key)],
                variables,
                prefit_yields[category.name][proc.name],
            )
        reweighter = EventReweighter(columns, category, predicted, job.theta)
        draws = [reweighter.weights(theta) for theta in samples]
        for k, column in enumerate(variables):
            observed = (category.x[:, k], category.weights)
            by_process = {p: (x[:, k], wt) for p, (x, wt) in predicted.items()}
            edges = postfit_edges(observed, by_process)
            values = {p: x[:, k] for p, (x, _) in predicted.items()}
            interval = band(histogram_draws(values, draws, edges))
            drawn = postfit_plot(
                observed,
                by_process,
                column,
                label=job.analysis.label(column),
                outputs=[next(outputs), next(outputs)],
                prefit={p: (x[:, k], wt) for p, (x, wt) in prefit.items()},
                bins=edges,
                observed_label=f"fitted events ({job.options['data_type']})",
                title=f"{category.name}: post-fit, {w.density} density",
                text=text,
                band=(interval.low, interval.high),
            )
            half = (interval.high - interval.low) / 2
            LOG.info(
                "%s %s: χ²/bins %.1f/%d, median band half-width / total %.3g",
                category.name,
                column,
                drawn["chi2"],
                drawn["ndf"],
                float(np.nanmedian(half / drawn["predicted_total"]["counts"])),
            )


run(snakemake, main)  # noqa: F821
