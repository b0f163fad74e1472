from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.io import write_yaml
from innfer_lib.core.point_batches import for_each_point
from innfer_lib.inference.fit_job import fit_job
from innfer_lib.inference.hessian import hessian_at


def main(smk):
    job = fit_job(smk)
    hessian, how = hessian_at(
        job.problem.likelihood, job.theta, job.free_indices, smk.params.method
    )
    if not how["smooth"] and how["method"] == "autodiff":
        LOG.warning(
            "autodiff Hessian of an NLL with kinks in θ (spline flow or binned templates): it "
            "misses the kinks' curvature; hessian: auto or numerical measures it on the σ scale"
        )
    LOG.info("%s hessian over %s at %s:\n%s", how, job.free, job.theta, hessian)
    write_yaml(smk.output[0], {**job.matrix_record("hessian", hessian), "hessian_method": how})


run(snakemake, for_each_point(main))  # noqa: F821
