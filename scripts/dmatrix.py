from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

import numpy as np

from innfer_lib.core.io import write_yaml
from innfer_lib.core.point_batches import for_each_point
from innfer_lib.inference.fit_job import fit_job


def main(smk):
    job = fit_job(smk)
    idx = job.free_indices
    dmatrix = np.asarray(job.problem.likelihood.dmatrix(job.theta))[np.ix_(idx, idx)]
    LOG.info("D matrix over %s:\n%s", job.free, dmatrix)
    write_yaml(smk.output[0], job.matrix_record("D_matrix", dmatrix))


run(snakemake, for_each_point(main))  # noqa: F821
