from innfer_lib.core.runner import run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.io import read_yaml, write_yaml
from innfer_lib.density.models import true_architecture


def main(smk):
    parameters = read_yaml(smk.input.parameters)
    record = true_architecture(smk.params.benchmark, smk.wildcards.model, parameters)
    write_yaml(smk.output.architecture, record)


run(snakemake, main)  # noqa: F821
