from innfer_lib.core.runner import run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.io import write_yaml
from innfer_lib.inference.hessian import hessian_collect


def main(smk):
    write_yaml(smk.output[0], hessian_collect(list(smk.input.columns)))


run(snakemake, main)  # noqa: F821
