"""Rule generator_data: the observed data of one category against the stacked simulation and
the stacked synthetic events at the default point (INNFER's Generator --data-vs-simulation)."""

from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.analysis import load_analysis
from innfer_lib.core.io import read_parquet, read_yaml
from innfer_lib.core.paths import input_key
from innfer_lib.data.data_events import event_weights
from innfer_lib.data.schema import WEIGHT
from innfer_lib.data.validation_sets import validation_sample
from innfer_lib.plots.combined import stacked_generator_plot

#: Legend and ratio text of each prediction the data are compared with.
PREDICTIONS = {
    "simulation": ("simulated", "data / sim."),
    "synthetic": ("synthetic", "data / synth."),
}


def main(smk):
    analysis = load_analysis(smk.params.analysis)
    category = smk.wildcards.category
    val = smk.params.val
    point = analysis.validation_points[val]
    data = read_parquet(smk.input.data)
    w_data = event_weights(data)
    by_prediction = {"simulation": {}, "synthetic": {}}
    for process in analysis.processes:
        parameters = read_yaml(smk.input[input_key("parameters", process, category)])
        frame = read_parquet(smk.input[input_key("validation", process, category, val)])
        # Every simulated event of the point (INNFER's "full" sim type), normalised to the yield:
        # the data are not a split of the simulation, so no events need to be held out.
        x, w = validation_sample(frame, parameters, point, "full")
        by_prediction["simulation"][process] = (x, w)
        asimov = read_parquet(smk.input[input_key("asimov", process, category, val)])
        by_prediction["synthetic"][process] = (
            asimov[analysis.variables].to_numpy(),
            asimov[WEIGHT].to_numpy(),
        )
    label = ", ".join(f"{p}={v:g}" for p, v in point.items())
    LOG.info("category %s: %d data events, sum of weights %.1f", category, len(data), w_data.sum())
    outputs = iter(smk.output)
    for prediction in smk.params.predictions:
        what, ratio_label = PREDICTIONS[prediction]
        for k, column in enumerate(analysis.variables):
            drawn = stacked_generator_plot(
                (data[column].to_numpy(), w_data),
                {p: (x[:, k], w) for p, (x, w) in by_prediction[prediction].items()},
                column,
                label=analysis.label(column),
                outputs=[next(outputs), next(outputs)],
                title=f"{category}: data vs {what} events",
                simulated_label="data",
                text=f"{what} at the default point\n{label}",
                ratio_label=ratio_label,
                band_label=f"{what} stat. unc.",
            )
            LOG.info(
                "data vs %s, %s: chi2 %.1f / %d bins",
                prediction,
                column,
                drawn["chi2"],
                drawn["ndf"],
            )


run(snakemake, main)  # noqa: F821
