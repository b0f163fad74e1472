from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.analysis import load_analysis
from innfer_lib.core.io import read_parquet, write_parquet, write_yaml
from innfer_lib.data.preprocessor import Preprocessor
from innfer_lib.data.training_sets import aux_sets


def main(smk):
    analysis = load_analysis(smk.params.analysis)
    w = smk.wildcards
    loaded = {base: read_parquet(path) for base, path in smk.input.items()}
    pre = Preprocessor(analysis, w.model, w.category, loaded, int(smk.params.seed))
    sets = aux_sets(pre, w.kind, w.parameter)
    LOG.info(
        "%s %s: train %d, test %d events", w.kind, w.parameter, len(sets.train), len(sets.test)
    )
    write_parquet(smk.output.train, sets.train)
    write_parquet(smk.output.test, sets.test)
    write_yaml(smk.output.parameters, {"file_name": w.model, "category": w.category, **sets.info})


run(snakemake, main)  # noqa: F821
