from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.analysis import load_analysis
from innfer_lib.core.io import read_parquet, write_parquet, write_yaml
from innfer_lib.data.preprocess import preprocess
from innfer_lib.data.preprocessor import Preprocessor


def main(smk):
    analysis = load_analysis(smk.params.analysis)
    loaded = {base: read_parquet(path) for base, path in smk.input.items()}
    pre = Preprocessor(
        analysis, smk.wildcards.model, smk.wildcards.category, loaded, int(smk.params.seed)
    )
    result = preprocess(pre)
    LOG.info("train %d, test %d events", len(result.train), len(result.test))
    write_parquet(smk.output.train, result.train)
    write_parquet(smk.output.test, result.test)
    for index, path in enumerate(smk.output.validation):
        write_parquet(path, result.validation[index])
    write_yaml(smk.output.parameters, result.parameters)


run(snakemake, main)  # noqa: F821
