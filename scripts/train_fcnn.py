"""Rules train_regression and train_classifier: train one weight-ratio FCNN, resuming a killed
run."""

from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

import contextlib
import os

from innfer_lib.core.io import atomic_path, read_parquet, read_yaml, write_yaml
from innfer_lib.density.checkpoint import remove_checkpoint
from innfer_lib.plots.training import loss_plot
from innfer_lib.ratios.fcnn_options import CLASSIFIER, FCNN_TYPES
from innfer_lib.ratios.train_job import load_fcnn_architecture, train_fcnn

LOSS_LABELS = {
    "regression": "weighted squared error + L2 penalty",
    CLASSIFIER: "weighted cross-entropy + L2 penalty",
}


def main(smk):
    kind = smk.params.kind
    parameters = read_yaml(smk.input.parameters)
    architecture = load_fcnn_architecture(
        smk.input.architecture, smk.params.overrides, smk.params.seed, kind
    )
    LOG.info("%s architecture: %s", kind, architecture)
    ckpt = str(smk.params.checkpoint_dir)
    LOG.info("training state is checkpointed to %s after every epoch", ckpt)
    net, history = train_fcnn(
        read_parquet(smk.input.train),
        read_parquet(smk.input.test),
        parameters,
        architecture,
        checkpoint_dir=ckpt,
        where=(smk.input.train, smk.input.test),
        kind=kind,
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
        title=f"{w.model} ({w.category}): {kind} of {w.parameter}",
        ylabel=LOSS_LABELS[kind],
    )
    # As for the density: drop the state only once the result is safe in the outputs.
    remove_checkpoint(ckpt)
    with contextlib.suppress(OSError):
        os.rmdir(ckpt)


run(snakemake, main)  # noqa: F821
