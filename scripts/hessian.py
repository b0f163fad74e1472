import numpy as np

from innfer_lib.fit import hessian_numerical
from innfer_lib.fit_job import fit_job
from innfer_lib.io import write_yaml
from innfer_lib.runner import LOG, run


def main(smk):
    job = fit_job(smk)
    theta, idx = job.theta, job.free_indices
    if smk.params.method == "numerical":
        hessian = hessian_numerical(job.problem.likelihood.value_and_gradient, theta, indices=idx)
        hessian = np.asarray(hessian)
        if hessian.shape[0] != len(idx):
            hessian = hessian[np.ix_(idx, idx)]
    else:
        hessian = job.problem.likelihood.hessian(theta)[np.ix_(idx, idx)]
    LOG.info("%s hessian over %s at %s:\n%s", smk.params.method, job.free, theta, hessian)
    write_yaml(smk.output[0], job.matrix_record("hessian", hessian))


run(snakemake, main)  # noqa: F821
