"""Rule evaluate_regression: regressed weight ratios on train/test and the normalisation S."""

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
    grid = read_yaml(smk.input.grid)["theta"]
    events = read_parquet(smk.input.events)
    try:
        normalisation = regression_spline(model, events, grid, tables["train"], smk.input.events)
    except ValueError as err:
        message = f"{smk.input.events}: normalisation spline of {model.parameter}: {err}"
        raise DataError(message) from None
    LOG.info(
        "normalisation of %s: %d ν knots on %s, θ grid %s",
        model.parameter,
        len(normalisation.knots),
        normalisation.nu_range,
        {k: len(v) for k, v in normalisation.theta.items()},
    )
    for split, table in tables.items():
        write_parquet(smk.output[split], table)
    write_yaml(smk.output.spline, normalisation.to_dict())


run(snakemake, main)  # noqa: F821
