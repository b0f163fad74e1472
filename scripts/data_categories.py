from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.analysis import load_analysis
from innfer_lib.core.io import write_parquet
from innfer_lib.data.data_events import load_data_events


def main(smk):
    analysis = load_analysis(smk.params.analysis)
    events = load_data_events(analysis, smk.wildcards.category)
    LOG.info("category %s: %d data events", smk.wildcards.category, len(events))
    write_parquet(smk.output[0], events)


run(snakemake, main)  # noqa: F821
