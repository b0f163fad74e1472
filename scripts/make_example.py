from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from pathlib import Path

from innfer_lib.data.examples import example_outputs, simulate_example


def main(smk):
    spec = smk.params.example
    by_name = {Path(path).stem: path for path in smk.output}
    outputs = {stem: by_name[stem] for stem in example_outputs(spec["name"])}
    simulate_example(
        spec["name"], outputs, int(spec.get("events", 50_000)), int(spec.get("seed", 1))
    )
    for stem, path in outputs.items():
        LOG.info("%s -> %s", stem, path)


run(snakemake, main)  # noqa: F821
