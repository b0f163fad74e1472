from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.io import write_yaml
from innfer_lib.core.paths import input_key
from innfer_lib.data.sim_to_data import group_factors


def main(smk):
    categories, processes = smk.params.categories, smk.params.processes
    data_files = {c: smk.input[input_key("data", "all", c)] for c in categories}
    parameter_files = {
        c: {p: smk.input[input_key("parameters", p, c)] for p in processes} for c in categories
    }
    record = group_factors(categories, smk.params.normalised, data_files, parameter_files)
    LOG.info(
        "group %s: factor %.6g for %s (sums %s)",
        categories,
        record["factor"],
        record["processes"],
        record["sums"],
    )
    write_yaml(smk.output[0], record)


run(snakemake, main)  # noqa: F821
