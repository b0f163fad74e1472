from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.io import read_yaml, write_yaml
from innfer_lib.data.sim_to_data import apply_factor, process_factor


def main(smk):
    process, category = smk.wildcards.model, smk.wildcards.category
    factor = 1.0
    if "factors" in smk.input.keys():
        factor = process_factor(read_yaml(smk.input.factors), process, category, smk.input.factors)
    LOG.info(
        "%s in %s: nominal yield x %.6g (group %s)", process, category, factor, smk.params.group
    )
    parameters = apply_factor(read_yaml(smk.input.parameters), factor, smk.params.group)
    write_yaml(smk.output[0], parameters)


run(snakemake, main)  # noqa: F821
