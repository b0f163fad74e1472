from innfer_lib.density import learned_architecture
from innfer_lib.density_training import load_architecture, train_density
from innfer_lib.io import read_parquet, read_yaml, write_yaml
from innfer_lib.plotting import loss_plot
from innfer_lib.runner import LOG, run


def main(smk):
    parameters = read_yaml(smk.input.parameters)
    architecture = load_architecture(smk.input.architecture, smk.params.overrides, smk.params.seed)
    LOG.info("architecture: %s", architecture)
    flow, history = train_density(
        read_parquet(smk.input.train), read_parquet(smk.input.test), parameters, architecture
    )
    flow.save(smk.output.weights)
    write_yaml(smk.output.architecture, learned_architecture(architecture, parameters))
    write_yaml(smk.output.history, history)
    loss_plot(
        history, smk.output.loss_plot, title=f"{smk.wildcards.model} ({smk.wildcards.category})"
    )


run(snakemake, main)  # noqa: F821
