"""Rule pvalue_sim_vs_synth: the sample metrics of the simulated events against a kept
synthetic reference sample."""

from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.io import write_parquet, write_yaml
from innfer_lib.density.models import load_density
from innfer_lib.density.pvalues import reference_sample, samples_to_frame, setup_from_job


def main(smk):
    setup = setup_from_job(smk)
    density = load_density(smk.input.architecture, setup.inputs.parameters)
    sims = setup.simulated()
    reference = reference_sample(density, sims, setup.seed)
    for s in reference:
        LOG.info("validation point %d: %d reference events (N_eff)", s.index, len(s.x))
    write_parquet(smk.output.reference, samples_to_frame(reference, setup.x_columns))
    write_yaml(smk.output.metrics, setup.metrics(sims, reference))


run(snakemake, main)  # noqa: F821
