from innfer_lib.fit import covariance_result
from innfer_lib.io import read_yaml, write_yaml
from innfer_lib.runner import run


def main(smk):
    write_yaml(smk.output[0], covariance_result(read_yaml(smk.input[0])))


run(snakemake, main)  # noqa: F821
