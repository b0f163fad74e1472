from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.io import read_yaml, write_yaml
from innfer_lib.inference.scan import collect_scan


def main(smk):
    best = read_yaml(smk.input.best_fit)
    collected = collect_scan(
        [read_yaml(p) for p in smk.input.points], best_fit_nll=best["best_fit_nll"], row=best["row"]
    )
    LOG.info("crossings: %s", collected["crossings"])
    write_yaml(smk.output[0], collected)


run(snakemake, main)  # noqa: F821
