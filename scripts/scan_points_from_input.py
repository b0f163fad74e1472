from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.analysis import load_analysis
from innfer_lib.core.io import read_yaml, write_yaml
from innfer_lib.inference.fit_job import limits_from_inputs
from innfer_lib.inference.scan_grid import scan_points_given


def main(smk):
    analysis = load_analysis(smk.params.analysis)
    column = smk.wildcards.parameter
    best_fit = read_yaml(smk.input.best_fit)
    limits = limits_from_inputs(analysis, smk.input).get(column)
    given = [float(v) for v in smk.params.values]
    values = scan_points_given(given, limits)
    if len(values) < len(given):
        dropped = [v for v in given if v not in values]
        LOG.warning(
            "%s: values %s are outside the trained range %s: skipped", column, dropped, limits
        )
    LOG.info("%s: %d given scan points %s", column, len(values), values)
    write_yaml(
        smk.output[0],
        {
            "columns": best_fit["columns"],
            "varied_column": column,
            "scan_values": values,
            "row": best_fit.get("row"),
        },
    )


run(snakemake, main)  # noqa: F821
