from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.analysis import load_analysis
from innfer_lib.core.io import read_yaml, write_yaml
from innfer_lib.core.paths import INPUT_KEY_SEPARATOR
from innfer_lib.core.point_batches import for_each_point
from innfer_lib.plots.summary import summary_plot
from innfer_lib.plots.summary_per_val import summary_per_val_plot
from innfer_lib.results.summary import collect


def main(smk):
    """Serves summary, summary_chi_squared and summary_per_val: one collection, three views.

    `smk.params.product` says which view the job writes ("summary", "chi_squared" or
    "per_val"), so the rules choose it, not the rule's name. A per_val job may draw several
    points (`points_per_job`); `for_each_point` hands this function one point at a time.
    """
    product = smk.params.product
    analysis = load_analysis(smk.params.analysis)
    options = smk.params.options
    results = {}
    for key, path in smk.input.items():
        entry, density, val = key.rsplit(INPUT_KEY_SEPARATOR, 2)
        results[(entry, density, int(val))] = read_yaml(path)
    series = [(e, d) for e in options["fits"] for d in options["densities"]]
    name = smk.wildcards.summary

    if product == "per_val":
        # Every floating parameter, not only the summary's pads: nuisances share one pad.
        parameters = [
            p
            for p in analysis.fit_parameters
            if any(p in r["parameters"] for r in results.values())
        ]
    else:
        parameters = options["parameters"]
    vals = [int(smk.wildcards.val)] if product == "per_val" else smk.params.vals
    summary = collect(
        name,
        analysis.name,
        series,
        vals,
        results,
        analysis.fit_parameters,
        analysis.validation_points,
        view=options["view"],
        parameters=parameters,
    )
    title = f"{analysis.name}: {name}"
    if product == "chi_squared":
        write_yaml(smk.output[0], {"summary": name, "chi2": summary["chi2"]})
    elif product == "per_val":
        summary_per_val_plot(
            summary,
            int(smk.wildcards.val),
            list(smk.output),
            summary["parameters"],
            title=f"{title}, validation point {smk.wildcards.val}",
            labels=options["labels"],
        )
    else:
        write_yaml(smk.output.summary, summary)
        summary_plot(
            summary,
            smk.output.plot,
            title=title,
            show_2sigma=options["show_2sigma"],
            labels=options["labels"],
        )
    LOG.info("%s %s: %s", smk.rule, name, summary["chi2"])


run(snakemake, for_each_point(main))  # noqa: F821
