from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.analysis import load_analysis, same_point
from innfer_lib.core.io import read_parquet, read_yaml
from innfer_lib.core.paths import ALL_POINTS
from innfer_lib.data.validation_sets import validation_sample
from innfer_lib.plots.inputs import validation_distribution_plot


def shown_points(analysis, process, varying):
    """Indices of the validation points one plot shows, without duplicates for this process.

    A process ignores the parameters it does not depend on, so points that differ only in
    those are the same sample for it and are drawn once.
    """
    params = analysis.process_parameters(process)
    fixed = [p for p in params if p != varying] if varying != ALL_POINTS else []
    chosen = []
    for i, point in enumerate(analysis.validation_points):
        if not same_point(point, analysis.defaults, fixed):
            continue
        if any(same_point(point, analysis.validation_points[j], params) for j in chosen):
            continue
        chosen.append(i)
    return chosen, params


def main(smk):
    analysis = load_analysis(smk.params.analysis)
    w = smk.wildcards
    parameters = read_yaml(smk.input.parameters)
    chosen, params = shown_points(analysis, w.model, w.varying)
    default = next(
        i for i in chosen if same_point(analysis.validation_points[i], analysis.defaults, params)
    )
    points = [analysis.validation_points[i] for i in chosen]
    # Label each sample by the parameters that change between the samples shown.
    varied = [p for p in params if len({round(pt[p], 9) for pt in points}) > 1] or params
    samples = []
    for i, point in zip(chosen, points, strict=True):
        frame = read_parquet(smk.input.validation[i])
        x, weights = validation_sample(frame, parameters, point, "val")
        label = ", ".join(f"{analysis.label(p)} = {point[p]:g}" for p in varied) or "nominal"
        samples.append({"label": label, "x": x, "w": weights})
    LOG.info("%s/%s varying %s: points %s", w.model, w.category, w.varying, chosen)
    outputs = list(smk.output)
    for k, column in enumerate(analysis.variables):
        validation_distribution_plot(
            [{**s, "x": s["x"][:, k]} for s in samples],
            column,
            reference=chosen.index(default),
            label=analysis.label(column),
            outputs=outputs[2 * k : 2 * k + 2],
            title=f"{w.model}, {w.category}",
        )


run(snakemake, main)  # noqa: F821
