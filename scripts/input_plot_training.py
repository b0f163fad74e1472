from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.io import read_parquet, read_yaml
from innfer_lib.core.paths import DENSITY_DATASET
from innfer_lib.plots.inputs import training_distribution_plot


def main(smk):
    w = smk.wildcards
    params = read_yaml(smk.input.parameters)
    info = params["density"] if w.dataset == DENSITY_DATASET else params
    standardisation = info["standardisation"].get(w.column)
    frames = {
        split: read_parquet(smk.input[split], columns=[w.column, "wt"])
        for split in ("train", "test")
    }
    outputs = list(smk.output)
    for i, view in enumerate(smk.params.views):
        split, _, transformed = view.partition("_")
        drawn = training_distribution_plot(
            {split: frames[split]},
            w.column,
            standardisation=standardisation,
            transformed=bool(transformed),
            label=smk.params.labels.get(w.column, w.column),
            outputs=outputs[2 * i : 2 * i + 2],
            title=f"{w.model}, {w.category}, {w.dataset}",
        )
        LOG.info("%s %s: N_eff %s", w.column, view, drawn["n_eff"])


run(snakemake, main)  # noqa: F821
