from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.io import read_yaml, write_yaml
from innfer_lib.inference.impacts import approximate_impacts


def main(smk):
    source, hessian = str(smk.input.covariance), str(smk.input.hessian)
    result = approximate_impacts(
        read_yaml(source), smk.params.pois, source, read_yaml(hessian), hessian
    )
    if not result["positive_definite"]:
        LOG.warning("%s: the covariance is not positive definite", source)
    write_yaml(smk.output[0], result)


run(snakemake, main)  # noqa: F821
