from innfer_lib.core.runner import LOG, run, start_job, warn_terminal

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.io import write_yaml
from innfer_lib.core.point_batches import for_each_point
from innfer_lib.inference.data_range import fit_data_warnings
from innfer_lib.inference.fit_inputs import inputs_from_snakemake
from innfer_lib.inference.fit_job import fit_job
from innfer_lib.inference.problem import DATA
from innfer_lib.inference.validity import best_fit_reasons, verdict


def main(smk):
    job = fit_job(smk)
    w = smk.wildcards
    LOG.info("fit %s, density %s, point %s: %s", w.fit, w.density, w.val, job.problem.info)
    if job.problem.fixed:
        LOG.info("frozen: %s", job.problem.fixed)
    if job.problem.info["data_type"] == DATA:
        for line in fit_data_warnings(inputs_from_snakemake(smk.input), job.analysis.variables):
            warn_terminal(line)
    # INNFER starts from the defaults, never from the truth, so closure tests are honest.
    result = job.minimise(job.analysis.defaults, seed=int(smk.params.seed) + job.val)
    result["row"] = [job.problem.truth[c] for c in job.problem.columns]
    result["data"] = job.problem.info
    result["limits"] = {c: list(v) for c, v in job.problem.limits.items()}
    # The minimisation's part of the verdict; fit_result adds the Hessian's (`validity`).
    result |= verdict(best_fit_reasons(result))
    LOG.info("result: %s", result)
    write_yaml(smk.output[0], result)


run(snakemake, for_each_point(main))  # noqa: F821
