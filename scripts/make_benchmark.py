from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from pathlib import Path

from innfer_lib.core.io import write_parquet, write_yaml
from innfer_lib.data.benchmarks import benchmark_analysis_config, get_benchmark


def main(smk):
    spec = smk.params.benchmark
    bench = get_benchmark(spec["name"])
    outdir = Path(smk.output.config).parent / "inputs"
    seed = int(spec.get("seed", 1))
    for stem, frame in bench.simulate(int(spec.get("events", 200_000)), seed).items():
        LOG.info("%s: %d events, columns %s", stem, len(frame), list(frame.columns))
        write_parquet(outdir / f"{stem}.parquet", frame)
    data = bench.simulate_data(int(spec.get("data_events", 1000)), seed + 1)
    write_parquet(outdir / "data.parquet", data)
    # The same config the workflow derived at parse time from this directory.
    write_yaml(smk.output.config, benchmark_analysis_config(spec, str(outdir)))


run(snakemake, main)  # noqa: F821
