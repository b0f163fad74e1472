from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.io import read_yaml, write_yaml
from innfer_lib.inference.impacts import collect_refit_impacts


def main(smk):
    refits = list(smk.input.refits)
    result = collect_refit_impacts(
        read_yaml(smk.input.best_fit), [read_yaml(p) for p in refits], smk.params.pois, refits
    )
    for poi, entry in result["pois"].items():
        invalid = [e["parameter"] for e in entry["impacts"] if not e["valid"]]
        if invalid:
            LOG.warning("impacts on %s: refits of %s did not converge", poi, invalid)
    write_yaml(smk.output[0], result)


run(snakemake, main)  # noqa: F821
