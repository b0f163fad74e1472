from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.io import read_yaml, write_yaml
from innfer_lib.inference.bootstrap import collect_bootstrap


def main(smk):
    best = read_yaml(smk.input.best_fit)
    replicas = [r for f in smk.input.batches for r in read_yaml(f)["replicas"]]
    column = smk.wildcards.parameter
    centre = dict(zip(best["columns"], best["best_fit"], strict=True))
    result = collect_bootstrap(replicas, [column], best_fit=centre)[column]
    result["row"] = best["row"]
    LOG.info("%s: %s", column, result)
    write_yaml(smk.output[0], result)


run(snakemake, main)  # noqa: F821
