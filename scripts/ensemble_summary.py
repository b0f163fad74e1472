"""Rule ensemble_summary: the spread of the ensemble members' best fits against σ_stat."""

from innfer_lib.core.runner import LOG, run, start_job, warn_terminal

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.io import read_yaml, write_yaml
from innfer_lib.plots.ensemble import ensemble_plot
from innfer_lib.results.ensemble import ensemble_summary, member_input, result_input


def main(smk):
    vals = [int(v) for v in smk.params.vals]
    n_members = int(smk.params.members)
    members = {
        v: [read_yaml(smk.input[member_input(v, k)]) for k in range(n_members)] for v in vals
    }
    main_results = {v: read_yaml(smk.input[result_input(v)]) for v in vals}
    summary = ensemble_summary(smk.wildcards.fit, vals, members, main_results)
    for name, verdict in summary["verdict"].items():
        LOG.info(
            "%s: spread/σ_stat worst %.3g, median %.3g; flow-limited points %s",
            name,
            verdict["worst_ratio"],
            verdict["median_ratio"],
            verdict["flow_limited_points"],
        )
        if verdict["flow_limited_points"]:
            warn_terminal(
                f"fit set {smk.wildcards.fit}: the spread of the {n_members} density-ensemble "
                f"members' best fits of {name} is >= 1/3 of σ_stat at validation point(s) "
                f"{verdict['flow_limited_points']} (worst {verdict['worst_ratio']:.2f} σ_stat): "
                "the flow, not the data, limits the result"
            )
    write_yaml(smk.output.summary, summary)
    ensemble_plot(summary, smk.output.plot)


run(snakemake, main)  # noqa: F821
