from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.analysis import load_analysis
from innfer_lib.core.io import read_parquet, write_parquet
from innfer_lib.data.nuisance_variations import VARIATION_COLUMN, variation_sets
from innfer_lib.data.preprocessor import Preprocessor
from innfer_lib.data.schema import WEIGHT


def main(smk):
    analysis = load_analysis(smk.params.analysis)
    w = smk.wildcards
    loaded = {base: read_parquet(path) for base, path in smk.input.items()}
    pre = Preprocessor(analysis, w.model, w.category, loaded, int(smk.params.seed))
    sets = variation_sets(pre, smk.params.variations)
    for tag, rows in sets.groupby(VARIATION_COLUMN, observed=False):
        LOG.info("%s: %d events, sum of weights %.4g", tag, len(rows), rows[WEIGHT].sum())
    write_parquet(smk.output[0], sets)


run(snakemake, main)  # noqa: F821
