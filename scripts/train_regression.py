"""Rule train_regression: train one weight-ratio regression, resuming a killed run."""

from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

import contextlib
import os

from innfer_lib.core.io import atomic_path, read_parquet, read_yaml, write_yaml
from innfer_lib.density.checkpoint import remove_checkpoint
from innfer_lib.plots.training import loss_plot
from innfer_lib.ratios.fcnn_options import FCNN_TYPES
from innfer_lib.ratios.train_job import load_regression_architecture, train_regression


def main(smk):
    parameters = read_yaml(smk.input.parameters)
    architecture = load_regression_architecture(
        smk.input.architecture, smk.params.overrides, smk.params.seed
    )
    LOG.info("architecture: %s", architecture)
    ckpt = str(smk.params.checkpoint_dir)
    LOG.info("training state is checkpointed to %s after every epoch", ckpt)
    net, history = train_regression(
        read_parquet(smk.input.train),
        read_parquet(smk.input.test),
        parameters,
        architecture,
        checkpoint_dir=ckpt,
        where=(smk.input.train, smk.input.test),
    )
    LOG.info("training throughput: %.0f events/s", history["events_per_second"])
    with atomic_path(smk.output.weights) as tmp:
        net.save(str(tmp))
    write_yaml(
        smk.output.architecture,
        {"type": FCNN_TYPES[0], **architecture, **net.architecture, "n_in": net.n_in},
    )
    write_yaml(smk.output.history, history)
    w = smk.wildcards
    loss_plot(
        history,
        smk.output.loss_plot,
        title=f"{w.model} ({w.category}): regression of {w.parameter}",
        ylabel="weighted squared error + L2 penalty",
    )
    # As for the density: drop the state only once the result is safe in the outputs.
    remove_checkpoint(ckpt)
    with contextlib.suppress(OSError):
        os.rmdir(ckpt)


run(snakemake, main)  # noqa: F821
