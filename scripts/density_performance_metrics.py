"""Rules density_performance_metrics, density_performance_metrics_per_epoch and
scan_trial_metrics."""

from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from tqdm import tqdm

from innfer_lib.core.io import write_yaml
from innfer_lib.density.checkpoint import epoch_model_files
from innfer_lib.density.models import load_density
from innfer_lib.density.performance import (
    MetricOptions,
    metric_seed,
    performance_metrics,
    read_density_inputs,
)


def main(smk):
    w = smk.wildcards
    inputs = read_density_inputs(
        smk.input.parameters,
        dict(zip(smk.params.vals, smk.input.validation, strict=True)),
        smk.params.points,
        smk.params.defaults,
        smk.input.get("train"),
        smk.input.get("test"),
    )
    options = MetricOptions.from_config(smk.params.options)
    seed = metric_seed(smk.params.seed, w.model, w.category)
    if "epochs" not in smk.input.keys():
        density = load_density(smk.input.architecture, inputs.parameters)
        metrics = performance_metrics(density, inputs, options, seed)
        write_yaml(smk.output[0], metrics)
        return
    per_epoch = {}
    for epoch, weights in tqdm(epoch_model_files(smk.input.epochs).items(), desc="epochs"):
        density = load_density(smk.input.architecture, inputs.parameters, weights=weights)
        per_epoch[epoch] = performance_metrics(density, inputs, options, seed)
        LOG.info("epoch %d: %d metrics", epoch, len(per_epoch[epoch]))
    write_yaml(smk.output[0], per_epoch)


run(snakemake, main)  # noqa: F821
