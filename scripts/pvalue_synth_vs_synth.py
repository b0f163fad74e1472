"""Rule pvalue_synth_vs_synth: one batch of toys, each a fresh synthetic sample against the
kept reference."""

from innfer_lib.core.runner import run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.io import read_parquet, write_yaml
from innfer_lib.density.models import load_density
from innfer_lib.density.pvalues import frame_to_samples, setup_from_job, toy_metrics


def main(smk):
    setup = setup_from_job(smk)
    density = load_density(smk.input.architecture, setup.inputs.parameters)
    sims = setup.simulated()
    reference = frame_to_samples(read_parquet(smk.input.reference), sims, setup.x_columns)
    start, stop = smk.params.toys
    toys = toy_metrics(density, reference, sims, range(start, stop), setup)
    write_yaml(smk.output[0], toys)


run(snakemake, main)  # noqa: F821
