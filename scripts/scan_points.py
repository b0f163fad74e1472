from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.analysis import load_analysis
from innfer_lib.core.io import read_yaml, write_yaml
from innfer_lib.inference.fit_job import limits_from_inputs
from innfer_lib.inference.scan_grid import scan_points_from_sigma, scan_points_in_range


def _sigma(record, column):
    """σ of one parameter from a covariance file or an approximate-uncertainty file."""
    if "uncertainty" in record:
        return float(record["uncertainty"][column])
    return float(record["symmetrised"])


def main(smk):
    analysis = load_analysis(smk.params.analysis)
    column = smk.wildcards.parameter
    record = read_yaml(smk.input.covariance)
    best = dict(zip(record["columns"], record["best_fit"], strict=True))
    limits = limits_from_inputs(analysis, smk.input).get(column)
    options = smk.params.options
    fixed_range = (options.get("range") or {}).get(column)
    if fixed_range:
        values = scan_points_in_range(*fixed_range, int(options["n_points"]), limits=limits)
    else:
        values = scan_points_from_sigma(
            best[column],
            _sigma(record, column),
            n_points=int(options["n_points"]),
            sigma_step=float(options["sigma_step"]),
            limits=limits,
        )
    LOG.info("%s: %d scan points %s (limits %s)", column, len(values), values, limits)
    write_yaml(
        smk.output[0],
        {
            "columns": record["columns"],
            "varied_column": column,
            "scan_values": values,
            "row": record["row"],
        },
    )


run(snakemake, main)  # noqa: F821
