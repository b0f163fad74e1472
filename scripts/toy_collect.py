from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.io import read_yaml, write_yaml
from innfer_lib.results.coverage_job import collect_coverage


def main(smk):
    batches = [read_yaml(path) for path in smk.input]
    summary = collect_coverage(
        batches,
        smk.output.tables,
        smk.output.plots,
        f"{smk.wildcards.fit}, {smk.wildcards.density}",
    )
    write_yaml(smk.output.coverage, summary)
    LOG.info("%d toys, %d failed fits", summary["n_toys"], summary["n_fit_failed"])


run(snakemake, main)  # noqa: F821
