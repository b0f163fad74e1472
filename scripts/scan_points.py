from innfer_lib.config import load_analysis
from innfer_lib.io import read_yaml, write_yaml
from innfer_lib.paths import INPUT_KEY_SEPARATOR
from innfer_lib.problem import parameter_limits
from innfer_lib.runner import LOG, run
from innfer_lib.scan import scan_points_from_sigma


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
    parameters = {
        tuple(key.split(INPUT_KEY_SEPARATOR)[1:3]): read_yaml(path)
        for key, path in smk.input.items()
        if key.startswith("parameters" + INPUT_KEY_SEPARATOR)
    }
    limits = parameter_limits(analysis, parameters).get(column)
    options = smk.params.fit["scan_points"]
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
