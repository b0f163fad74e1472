from innfer_lib.core.runner import LOG, run, start_job, warn_terminal

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.io import write_yaml
from innfer_lib.inference.fit_job import fit_job
from innfer_lib.inference.minos import minos_intervals
from innfer_lib.results.fit_report import fit_label


def main(smk):
    job = fit_job(smk)
    column = smk.wildcards.parameter
    result = minos_intervals(job, job.theta, [column])[column]
    result["row"] = job.best_fit["row"]
    LOG.info("%s: %s", column, result)
    if not result["valid"]:
        w = smk.wildcards
        label = fit_label(w.fit, w.density, int(w.val))
        reasons = "; ".join(result["reasons"])
        warn_terminal(f"{label}: MINOS interval of {column} failed ({reasons})")
    write_yaml(smk.output[0], result)


run(snakemake, main)  # noqa: F821
