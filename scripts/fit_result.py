from innfer_lib.core.runner import LOG, run, start_job, warn_terminal

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.analysis import load_analysis
from innfer_lib.core.io import read_yaml, write_yaml
from innfer_lib.results.fit_report import fit_label, invalid_fit_warning
from innfer_lib.results.intervals import fit_result, intervals_from_records


def main(smk):
    analysis = load_analysis(smk.params.analysis)
    val = int(smk.wildcards.val)
    records = [read_yaml(f) for f in smk.input.intervals]
    intervals = intervals_from_records(smk.params.source, records)
    truth = analysis.validation_points[val]
    result = fit_result(
        read_yaml(smk.input.best_fit),
        intervals,
        truth,
        smk.params.source,
        constrained=list(smk.params.constrained),
        valid_from=records,
    )
    LOG.info("%s result: %s", smk.params.source, result)
    write_yaml(smk.output[0], result)
    if not result["fit_valid"]:
        label = fit_label(smk.wildcards.fit, smk.wildcards.density, val)
        warn_terminal(invalid_fit_warning(label, result["invalid_reasons"]))


run(snakemake, main)  # noqa: F821
