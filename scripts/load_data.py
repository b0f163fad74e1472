from innfer_lib.config import load_analysis
from innfer_lib.io import write_parquet
from innfer_lib.loading import load_file
from innfer_lib.runner import LOG, run


def main(smk):
    analysis = load_analysis(smk.params.analysis)
    frame = load_file(analysis, smk.wildcards.file)
    LOG.info("%s: %d rows, columns %s", smk.wildcards.file, len(frame), list(frame.columns))
    write_parquet(smk.output[0], frame)


run(snakemake, main)  # noqa: F821
