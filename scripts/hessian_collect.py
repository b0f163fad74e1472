from innfer_lib.fit import hessian_collect
from innfer_lib.io import write_yaml
from innfer_lib.runner import run


def main(smk):
    write_yaml(smk.output[0], hessian_collect(list(smk.input.columns)))


run(snakemake, main)  # noqa: F821
