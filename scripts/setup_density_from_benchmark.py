from innfer_lib.density import true_architecture
from innfer_lib.io import read_yaml, write_yaml
from innfer_lib.runner import run


def main(smk):
    parameters = read_yaml(smk.input.parameters)
    record = true_architecture(smk.params.benchmark, smk.wildcards.model, parameters)
    write_yaml(smk.output.architecture, record)


run(snakemake, main)  # noqa: F821
