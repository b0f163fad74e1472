"""Rule normalisation_spline_classifier: S(ν) = Σw/Σw·r on the trained ν range, and its plot."""

from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.analysis import load_analysis
from innfer_lib.core.errors import DataError
from innfer_lib.core.io import read_parquet, read_yaml, write_yaml
from innfer_lib.plots.regression import spline_plot
from innfer_lib.ratios.classifier import (
    classifier_ratio,
    classifier_spline,
    load_classified_ratio,
)
from innfer_lib.ratios.loading import PRUNED
from innfer_lib.ratios.pruning import pruned


def main(smk):
    analysis = load_analysis(smk.params.analysis)
    parameters = read_yaml(smk.input.parameters)
    network = load_classified_ratio(
        smk.input.weights, smk.input.architecture, smk.input.parameters
    ).network
    classifier_type = smk.params.classifier_type
    model = classifier_ratio(network, parameters, classifier_type)
    nu_range = parameters.get("training_range", {}).get(model.parameter)
    if nu_range is None:
        raise DataError(f"{smk.input.parameters}: no training_range of '{model.parameter}'")
    events = read_parquet(smk.input.events)
    grid = read_yaml(smk.input.grid)["theta"]
    normalisation, errors = classifier_spline(model, events, grid, nu_range, smk.input.events)
    LOG.info(
        "normalisation of %s (%s): %d ν knots on %s, θ grid %s",
        model.parameter,
        classifier_type,
        len(normalisation.knots),
        normalisation.nu_range,
        {k: len(v) for k, v in normalisation.theta.items()},
    )
    metrics = read_yaml(smk.input.metrics)
    try:
        drop = pruned(metrics, smk.params.prune)
    except ValueError as err:
        raise DataError(f"{smk.input.metrics}: {err}") from None
    if drop:
        LOG.warning(
            "classifier of %s pruned: %s all at or below prune_classifier_models %s",
            model.parameter,
            {k: metrics[k] for k in smk.params.prune},
            dict(smk.params.prune),
        )
    write_yaml(
        smk.output.spline,
        {
            "type": classifier_type,
            **normalisation.to_dict(),
            "errors": errors.tolist(),
            PRUNED: drop,
        },
    )
    w = smk.wildcards
    spline_plot(
        normalisation,
        list(smk.output.plot),
        analysis.label(w.parameter),
        f"{w.model} ({w.category}): classifier ({classifier_type}) of {w.parameter}",
        errors=errors,
        theta_labels={p: analysis.label(p) for p in normalisation.theta},
    )


run(snakemake, main)  # noqa: F821
