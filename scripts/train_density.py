"""Rules train_density, train_density_member and train_scan_trial: train one flow (the main
one, an ensemble member or a grid point of a hyperparameter scan), resuming a killed run from
its checkpoint."""

from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

import contextlib
import os

from innfer_lib.core.io import read_parquet, read_yaml
from innfer_lib.density.checkpoint import keep_epoch_models, remove_checkpoint
from innfer_lib.density.train_job import load_architecture, save_trained, train_density
from innfer_lib.plots.training import loss_plot


def main(smk):
    parameters = read_yaml(smk.input.parameters)
    # train_density_member sets `member` (k > 0 of an ensemble); train_density, the main
    # flow, has no such param, so turning an ensemble on changes none of its params.
    member = int(smk.params.get("member", 0))
    # train_scan_trial sets `point`: its architecture input is the scan file, filled here.
    architecture = load_architecture(
        smk.input.architecture,
        smk.params.overrides,
        smk.params.seed,
        member,
        point=smk.params.get("point"),
    )
    LOG.info("architecture: %s", architecture)
    # A side directory, never an output: Snakemake deletes the outputs of a failed or killed
    # job, and the training state must survive until the rerun resumes from it.
    ckpt = str(smk.params.checkpoint_dir)
    LOG.info("training state is checkpointed to %s after every epoch", ckpt)
    flow, history = train_density(
        read_parquet(smk.input.train),
        read_parquet(smk.input.test),
        parameters,
        architecture,
        checkpoint_dir=ckpt,
        # `density_warm_start`: an input of train_density only, so changing it reruns training.
        warm_start=smk.input.get("warm_start"),
    )
    save_trained(
        flow,
        history,
        architecture,
        parameters,
        smk.output.weights,
        smk.output.architecture,
        smk.output.history,
    )
    if "loss_plot" in smk.output.keys():
        loss_plot(
            history,
            smk.output.loss_plot,
            title=f"{smk.wildcards.model} ({smk.wildcards.category})",
        )
    if "epochs" in smk.output.keys():
        # The per-epoch weights were written to the side directory as training went (a
        # resumed job keeps the earlier epochs); the declared output gets them at the end.
        keep_epoch_models(architecture.get("epoch_model_dir") or ckpt, smk.output.epochs)
    # Only now is the result safe in the outputs. Dropping the state makes a forced rerun
    # train afresh (e.g. after a code change the fingerprint cannot see); per-epoch models
    # written there stay, and the directory goes only if nothing else is in it.
    remove_checkpoint(ckpt)
    with contextlib.suppress(OSError):
        os.rmdir(ckpt)


run(snakemake, main)  # noqa: F821
