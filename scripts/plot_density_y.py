"""Rule plot_density_y: PlotDensity in slices of one Y column, and X's moments against it."""

from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.errors import DataError
from innfer_lib.core.io import read_parquet, read_yaml
from innfer_lib.plots.density_y import density_profile_plot, density_slices_plot
from innfer_lib.plots.y_bins import y_slices


def main(smk):
    w = smk.wildcards
    y_column = w.parameter
    info = read_yaml(smk.input.parameters)["density"]
    if y_column not in info["Y_columns"]:
        raise DataError(
            f"{smk.input.parameters}: {y_column} is not a Y column of the density "
            f"(Y_columns: {info['Y_columns']})"
        )
    stand = info["standardisation"]
    labels = smk.params.labels
    slices_out, profiles_out = iter(smk.output.slices), iter(smk.output.profiles)
    frames = {}
    for split in smk.params.splits:
        simulated = read_parquet(smk.input[split])
        synthetic = read_parquet(smk.input[f"synth_{split}"])
        # The stored splits are standardised; the synthetic events are in physical units.
        y_sim = simulated[y_column].to_numpy() * stand[y_column]["std"] + stand[y_column]["mean"]
        frames[split] = (simulated, synthetic, y_sim)
    for column in info["X_columns"]:
        s = stand[column]
        for split in smk.params.splits:
            simulated, synthetic, y_sim = frames[split]
            sim = (simulated[column].to_numpy() * s["std"] + s["mean"], simulated["wt"].to_numpy())
            syn = (synthetic[column].to_numpy(), synthetic["wt"].to_numpy())
            y = (y_sim, synthetic[y_column].to_numpy())
            slices = y_slices(y_sim, sim[1])
            title = f"{w.model}, {w.category}, {split}"
            drawn = density_slices_plot(
                sim,
                syn,
                y,
                slices,
                column,
                y_column,
                label=labels.get(column, column),
                outputs=[next(slices_out), next(slices_out)],
                title=title,
            )
            LOG.info(
                "%s %s in %d slices of %s: chi2/bins %s",
                column,
                split,
                len(slices),
                y_column,
                [f"{d['chi2']:.1f}/{d['ndf']}" for d in drawn["slices"]],
            )
            density_profile_plot(
                sim,
                syn,
                y,
                slices,
                column,
                y_column,
                label=labels.get(column, column),
                y_label=labels.get(y_column, y_column),
                outputs=[next(profiles_out), next(profiles_out)],
                title=title,
            )


run(snakemake, main)  # noqa: F821
