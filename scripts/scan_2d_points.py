from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.analysis import load_analysis
from innfer_lib.core.io import read_yaml, write_yaml
from innfer_lib.inference.fit_job import limits_from_inputs
from innfer_lib.inference.scan_grid import scan_points_2d


def main(smk):
    analysis = load_analysis(smk.params.analysis)
    options = smk.params.options
    a, b = options["parameters"]
    record = read_yaml(smk.input.covariance)
    best = dict(zip(record["columns"], record["best_fit"], strict=True))
    limits = limits_from_inputs(analysis, smk.input)
    grid = scan_points_2d(
        best[a],
        float(record["uncertainty"][a]),
        best[b],
        float(record["uncertainty"][b]),
        n_points=int(options["n_points"]),
        n_sigma=float(options["n_sigma"]),
        limits_a=limits.get(a),
        limits_b=limits.get(b),
    )
    LOG.info("%s x %s: %d grid points", a, b, len(grid))
    write_yaml(
        smk.output[0],
        {
            "columns": record["columns"],
            "varied_columns": [a, b],
            "scan_values": [list(p) for p in grid],
            "row": record["row"],
        },
    )


run(snakemake, main)  # noqa: F821
