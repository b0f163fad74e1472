"""Rule make_asimov_for_normalisation_spline: density-only events over the θ grid, weighted."""

from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.analysis import load_analysis
from innfer_lib.core.io import read_yaml, write_parquet, write_yaml
from innfer_lib.core.seeds import stable_seed
from innfer_lib.density.models import load_density
from innfer_lib.density.sampling import batch_seed
from innfer_lib.ratios.normalisation_asimov import normalisation_asimov


def main(smk):
    analysis = load_analysis(smk.params.analysis)
    w = smk.wildcards
    parameters = read_yaml(smk.input.parameters)
    density = load_density(smk.input.architecture, parameters)
    # The weights' K log-density passes run 3x faster in float32 (normalisation_asimov).
    weighting = load_density(smk.input.architecture, parameters, precision="float32")
    seed = batch_seed(smk.params.seed, *stable_seed(w.model, w.category, "normalisation"))
    events, grid = normalisation_asimov(
        density, parameters, analysis.defaults, seed, smk.params.batch_size, weighting=weighting
    )
    LOG.info(
        "%d events kept (inside the training range) over the θ grid %s",
        len(events),
        grid,
    )
    write_parquet(smk.output.events, events)
    write_yaml(smk.output.grid, {"theta": grid})


run(snakemake, main)  # noqa: F821
