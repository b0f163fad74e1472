"""Rule evaluate_regression: regressed weight ratios on train/test and the spline S(ν)."""

from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.errors import DataError
from innfer_lib.core.io import read_parquet, read_yaml, write_parquet, write_yaml
from innfer_lib.ratios.evaluation import regression_predictions, regression_spline
from innfer_lib.ratios.regression import load_regressed_ratio


def main(smk):
    parameters = read_yaml(smk.input.parameters)
    model = load_regressed_ratio(smk.input.weights, smk.input.architecture, smk.input.parameters)
    tables = {
        split: regression_predictions(
            model, read_parquet(smk.input[split]), parameters, smk.input[split]
        )
        for split in ("train", "test")
    }
    try:
        spline = regression_spline(model, tables["train"], parameters, smk.input.train)
    except ValueError as err:
        message = f"{smk.input.train}: normalisation spline of {model.parameter}: {err}"
        raise DataError(message) from None
    LOG.info("spline of %s: %d knots on %s", model.parameter, len(spline.knots), spline.nu_range)
    for split, table in tables.items():
        write_parquet(smk.output[split], table)
    write_yaml(smk.output.spline, spline.to_dict())


run(snakemake, main)  # noqa: F821
