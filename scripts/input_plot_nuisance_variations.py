from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.analysis import load_analysis
from innfer_lib.core.io import read_parquet, read_yaml
from innfer_lib.data.nuisance_variations import variation_samples
from innfer_lib.data.validation_sets import validation_sample
from innfer_lib.density.performance import physical_events
from innfer_lib.plots.inputs import validation_distribution_plot

#: The events shown: the validation split, never trained on (as InputPlotValidation).
SIM_TYPE = "val"


def main(smk):
    """InputPlotNuisanceVariations (events per bin, so the ratio shows yield effects too) or,
    given the training set, InputPlotComparingTrainWithVariations (unit area, the training set
    as reference: does the training cover the variations?)."""
    analysis = load_analysis(smk.params.analysis)
    w = smk.wildcards
    parameters = read_yaml(smk.input.parameters)
    defaults = analysis.defaults
    with_training = "train" in smk.input.keys()
    x, weights = validation_sample(read_parquet(smk.input.nominal), parameters, defaults, SIM_TYPE)
    samples = [{"label": "nominal", "x": x, "w": weights}]
    if with_training:
        train_x, _, train_w = physical_events(read_parquet(smk.input.train), parameters)
        samples.insert(0, {"label": "training set", "x": train_x, "w": train_w})
    samples += variation_samples(
        read_parquet(smk.input.variations),
        parameters,
        defaults,
        smk.params.variations,
        analysis.label,
        SIM_TYPE,
        smk.input.variations,
    )
    outputs = list(smk.output)
    for k, column in enumerate(analysis.variables):
        drawn = validation_distribution_plot(
            [{**s, "x": s["x"][:, k]} for s in samples],
            column,
            reference=0,
            label=analysis.label(column),
            outputs=outputs[2 * k : 2 * k + 2],
            title=f"{w.model}, {w.category}: {analysis.label(w.nuisance)}",
            unit_area=with_training,
        )
        LOG.info("%s: %s", column, drawn["legend"])


run(snakemake, main)  # noqa: F821
