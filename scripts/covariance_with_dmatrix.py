from innfer_lib.fit import sandwich_result
from innfer_lib.io import read_yaml, write_yaml
from innfer_lib.runner import run


def main(smk):
    write_yaml(
        smk.output[0], sandwich_result(read_yaml(smk.input.hessian), read_yaml(smk.input.dmatrix))
    )


run(snakemake, main)  # noqa: F821
