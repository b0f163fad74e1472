from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.io import read_parquet, read_yaml, write_parquet
from innfer_lib.core.seeds import stable_seed
from innfer_lib.density.models import load_density
from innfer_lib.density.sampling import batch_seed, evaluate_density


def main(smk):
    w = smk.wildcards
    parameters = read_yaml(smk.input.parameters)
    density = load_density(smk.input.architecture, parameters)
    for k, split in enumerate(("train", "test")):
        frame = read_parquet(smk.input[split])
        seed = batch_seed(smk.params.seed, *stable_seed(w.model, w.category), k)
        synthetic = evaluate_density(density, frame, parameters, seed, smk.params.batch_size)
        LOG.info("%s: %d synthetic events", split, len(synthetic))
        write_parquet(smk.output[split], synthetic)


run(snakemake, main)  # noqa: F821
