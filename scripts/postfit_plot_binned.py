from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log


from innfer_lib.core.io import read_yaml
from innfer_lib.core.seeds import stable_seed
from innfer_lib.inference.fit_job import fit_job
from innfer_lib.inference.postfit_band import postfit_setup, propagate
from innfer_lib.inference.postfit_prediction import binned_predictions, binned_total
from innfer_lib.plots.postfit import binned_postfit_plot


def main(smk):
    job = fit_job(smk)
    likelihood = job.problem.likelihood
    w = smk.wildcards
    setup = postfit_setup(
        job,
        read_yaml(smk.input.covariance),
        seed=[int(smk.params.seed), *stable_seed(w.fit, w.density, w.val)],
    )
    prefit_theta, samples, text = setup.prefit_theta, setup.samples, setup.text
    postfit = binned_predictions(likelihood, job.theta)
    prefit = binned_predictions(likelihood, prefit_theta)
    outputs = iter(smk.output)
    for category, binning in smk.params.binning.items():
        prediction = postfit[category]
        interval = propagate(binned_total(likelihood, category), samples)
        drawn = binned_postfit_plot(
            binning["binning"],
            prediction.observed,
            prediction.processes,
            binning["variable"],
            label=job.analysis.label(binning["variable"]),
            outputs=[next(outputs), next(outputs)],
            prefit=prefit[category].total,
            band=(interval.low, interval.high),
            observed_label=f"fitted counts ({job.options['data_type']})",
            title=f"{category}: post-fit ({job.options['likelihood']}), {w.density} density",
            text=text,
        )
        LOG.info("%s: χ²/bins %.1f/%d", category, drawn["chi2"], drawn["ndf"])


run(snakemake, main)  # noqa: F821
