"""Rule make_asimov_for_normalisation_spline: density-only events at the defaults (fixed N)."""

from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.analysis import load_analysis
from innfer_lib.core.io import read_yaml, write_parquet
from innfer_lib.core.seeds import stable_seed
from innfer_lib.density.models import load_density
from innfer_lib.density.sampling import batch_seed, make_asimov
from innfer_lib.ratios.classifier import NORMALISATION_ASIMOV_EVENTS


def main(smk):
    analysis = load_analysis(smk.params.analysis)
    w = smk.wildcards
    parameters = read_yaml(smk.input.parameters)
    density = load_density(smk.input.architecture, parameters)
    seed = batch_seed(smk.params.seed, *stable_seed(w.model, w.category, "normalisation"))
    events = make_asimov(
        density,
        parameters,
        analysis.defaults,
        NORMALISATION_ASIMOV_EVENTS,
        seed,
        smk.params.batch_size,
    )
    LOG.info(
        "%d of %d events sampled at the defaults %s kept (inside the training range)",
        len(events),
        NORMALISATION_ASIMOV_EVENTS,
        analysis.defaults,
    )
    write_parquet(smk.output[0], events)


run(snakemake, main)  # noqa: F821
