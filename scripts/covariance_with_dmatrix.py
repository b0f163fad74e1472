from innfer_lib.core.runner import run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.io import read_yaml, write_yaml
from innfer_lib.inference.covariance import sandwich_result


def main(smk):
    write_yaml(
        smk.output[0], sandwich_result(read_yaml(smk.input.hessian), read_yaml(smk.input.dmatrix))
    )


run(snakemake, main)  # noqa: F821
