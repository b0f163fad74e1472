from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

import time

from innfer_lib.core.io import read_yaml, write_yaml
from innfer_lib.core.point_batches import for_each_point
from innfer_lib.inference.fit_job import fit_job
from innfer_lib.inference.scan_point import (
    profiled_scan_point,
    profiled_scan_point_2d,
    skipped_scan_point,
)


def indices_of(smk):
    """The grid indices the job fits, in output order: the `indices` param of a scan batch,
    else the job's own wildcard."""
    try:
        return [int(i) for i in smk.params.indices]
    except AttributeError:
        return [int(smk.wildcards.index)]


def main(smk):
    """The point's likelihood is built (and traced) once; each grid point is one fit."""
    job = fit_job(smk)
    points = read_yaml(smk.input.points)
    # A 1-D scan has the parameter as a wildcard; a 2-D scan names its pair in the points file.
    columns = points.get("varied_columns") or [smk.wildcards.parameter]
    values = points["scan_values"]

    def evaluate_fn(point):
        theta = [point[c] for c in job.problem.columns]
        return 2.0 * job.problem.likelihood(theta)

    common = dict(frozen=job.problem.fixed, evaluate_fn=evaluate_fn)
    for index, output in zip(indices_of(smk), smk.output, strict=True):
        start = time.perf_counter()
        if index >= len(values):
            # The grid was clipped at a physical limit: keep the declared output, mark it
            # skipped.
            record = skipped_scan_point(job.best_fit, columns[0])
        else:
            minimise_fn = job.minimise_fn(int(smk.params.seed) + index)
            if len(columns) == 2:
                record = profiled_scan_point_2d(
                    minimise_fn, tuple(columns), tuple(values[index]), job.best_fit, **common
                )
            else:
                record = profiled_scan_point(
                    minimise_fn, columns[0], float(values[index]), job.best_fit, **common
                )
        LOG.info("%s point %d in %.1f s: %s", columns, index, time.perf_counter() - start, record)
        write_yaml(output, record)


run(snakemake, for_each_point(main))  # noqa: F821
