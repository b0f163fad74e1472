"""Rule pvalue_synth_vs_synth_collect: every toy batch in one file, {metric: [per toy]}."""

from innfer_lib.core.runner import run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.io import read_yaml, write_yaml
from innfer_lib.density.pvalues import collect_toys


def main(smk):
    write_yaml(smk.output[0], collect_toys([read_yaml(f) for f in smk.input]))


run(snakemake, main)  # noqa: F821
