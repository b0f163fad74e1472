from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.io import read_parquet, read_yaml
from innfer_lib.plots.generator import density_comparison_plot


def main(smk):
    w = smk.wildcards
    parameters = read_yaml(smk.input.parameters)["density"]
    outputs = list(smk.output)
    k = 0
    for column in parameters["X_columns"]:
        s = parameters["standardisation"][column]
        for split in ("train", "test"):
            simulated = read_parquet(smk.input[split], columns=[column, "wt"])
            synthetic = read_parquet(smk.input[f"synth_{split}"], columns=[column, "wt"])
            raw = simulated[column].to_numpy() * s["std"] + s["mean"]
            drawn = density_comparison_plot(
                (raw, simulated["wt"].to_numpy()),
                (synthetic[column].to_numpy(), synthetic["wt"].to_numpy()),
                column,
                selection_label=f"{split}, inclusive",
                label=smk.params.labels.get(column, column),
                outputs=outputs[k : k + 2],
                title=f"{w.model}, {w.category}",
            )
            k += 2
            LOG.info("%s %s: %s", column, split, {key: drawn[key] for key in drawn if "chi" in key})


run(snakemake, main)  # noqa: F821
