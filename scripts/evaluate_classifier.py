"""Rule evaluate_classifier: ln r and p₁ on train/test and the weighted ROC AUC per split."""

from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.errors import DataError
from innfer_lib.core.io import read_parquet, read_yaml, write_parquet, write_yaml
from innfer_lib.ratios.classifier import load_classified_ratio
from innfer_lib.ratios.evaluation import classifier_predictions, performance_metrics


def main(smk):
    parameters = read_yaml(smk.input.parameters)
    model = load_classified_ratio(smk.input.weights, smk.input.architecture, smk.input.parameters)
    tables = {
        split: classifier_predictions(model, read_parquet(smk.input[split]), parameters)
        for split in ("train", "test")
    }
    metrics = {}
    for split, table in tables.items():
        try:
            metrics.update(performance_metrics({split: table}))
        except ValueError as err:
            raise DataError(f"{smk.input[split]}: {err}") from None
    LOG.info("classifier of %s: %s", model.parameter, metrics)
    for split, table in tables.items():
        write_parquet(smk.output[split], table)
    write_yaml(smk.output.metrics, metrics)


run(snakemake, main)  # noqa: F821
