from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.io import read_yaml, write_yaml
from innfer_lib.results.intervals import merge_all_but_one


def main(smk):
    results = {name: read_yaml(path) for name, path in smk.input.items()}
    merged = merge_all_but_one(results)
    LOG.info("all-but-one %s: %s", smk.wildcards.base, merged)
    write_yaml(smk.output[0], merged)


run(snakemake, main)  # noqa: F821
