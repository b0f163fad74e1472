from innfer_lib.fit_job import fit_job
from innfer_lib.io import read_yaml, write_yaml
from innfer_lib.runner import LOG, run
from innfer_lib.scan import profiled_scan_point, skipped_scan_point


def main(smk):
    job = fit_job(smk)
    column, index = smk.wildcards.parameter, int(smk.wildcards.index)
    values = read_yaml(smk.input.points)["scan_values"]
    if index >= len(values):
        # The grid was clipped at a physical limit: keep the declared output, mark it skipped.
        record = skipped_scan_point(job.best_fit, column)
    else:
        seed = int(smk.params.seed) + index

        def minimise_fn(start, fixed):
            return job.minimise(start, fixed=fixed, seed=seed)

        def evaluate_fn(point):
            theta = [point[c] for c in job.problem.columns]
            return 2.0 * job.problem.likelihood(theta)

        record = profiled_scan_point(
            minimise_fn,
            column,
            float(values[index]),
            job.best_fit,
            frozen=job.problem.fixed,
            evaluate_fn=evaluate_fn,
        )
    LOG.info("%s point %d: %s", column, index, record)
    write_yaml(smk.output[0], record)


run(snakemake, main)  # noqa: F821
