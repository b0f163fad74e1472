from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.analysis import load_analysis
from innfer_lib.core.io import write_parquet
from innfer_lib.data.loading import load_file


def main(smk):
    analysis = load_analysis(smk.params.analysis)
    frame = load_file(analysis, smk.wildcards.file)
    LOG.info("%s: %d rows, columns %s", smk.wildcards.file, len(frame), list(frame.columns))
    write_parquet(smk.output[0], frame)


run(snakemake, main)  # noqa: F821
