from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.analysis import load_analysis
from innfer_lib.core.io import read_parquet, read_yaml
from innfer_lib.data.nuisance_variations import variation_label, variation_rows, variation_sample
from innfer_lib.data.schema import WEIGHT
from innfer_lib.plots.generator import generator_plot

#: The simulated events compared: the validation split, as the Generator's default sim type.
SIM_TYPE = "val"


def main(smk):
    analysis = load_analysis(smk.params.analysis)
    w = smk.wildcards
    values = smk.params.values
    parameters = read_yaml(smk.input.parameters)
    x, weights = variation_sample(
        read_parquet(smk.input.variations),
        parameters,
        analysis.defaults,
        w.variation,
        values,
        SIM_TYPE,
        smk.input.variations,
    )
    asimov = variation_rows(read_parquet(smk.input.asimov), w.variation, smk.input.asimov)
    outputs = list(smk.output)
    for k, column in enumerate(analysis.variables):
        drawn = generator_plot(
            (x[:, k], weights),
            (asimov[column].to_numpy(), asimov[WEIGHT].to_numpy()),
            column,
            label=analysis.label(column),
            outputs=outputs[2 * k : 2 * k + 2],
            title=f"{w.model}, {w.category}, {w.variation}",
            text=variation_label(values, analysis.label),
        )
        LOG.info("%s: chi2 %.1f / %d bins", column, drawn["chi2"], drawn["ndf"])


run(snakemake, main)  # noqa: F821
