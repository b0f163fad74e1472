from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.io import read_yaml, write_yaml
from innfer_lib.inference.scan import rezero_scan
from innfer_lib.plots.scan import ScanStyle, scan_plot
from innfer_lib.plots.style import cycle_colours


def main(smk):
    options = smk.params.options
    w = smk.wildcards
    fits = options["fits"]
    scans = {fit: read_yaml(smk.input[fit]) for fit in fits}
    if options["rezero"]:
        scans = {fit: rezero_scan(s) for fit, s in scans.items()}
        LOG.info("re-zeroed by %s", {f: s["rezero_shift"] for f, s in scans.items()})
    names = {fit: options["labels"].get(fit, fit) for fit in fits}
    main_fit, others = fits[0], fits[1:]
    default_colours = dict(zip(others, cycle_colours(len(others)), strict=True))
    styles = {
        names[fit]: ScanStyle(
            options["colours"].get(fit, default_colours[fit]),
            options["linestyles"].get(fit, "solid"),
        )
        for fit in others
    }
    collected = scans[main_fit]
    row = dict(zip(collected["columns"], collected["row"] or [], strict=False))
    stat = options["stat_only"]
    drawn = scan_plot(
        collected,
        row.get(w.parameter),
        smk.params.labels.get(w.parameter, w.parameter),
        outputs=list(smk.output.plot),
        others={names[fit]: scans[fit] for fit in others},
        name=names[main_fit],
        title=f"{w.overlay}: {w.density} density, validation point {w.val}",
        styles=styles,
        stat_only=names[stat] if stat else None,
    )
    keep = ("crossings", "open", "reference_nll", "rezero_shift", "n_used", "n_failed")
    write_yaml(
        smk.output.crossings,
        {
            "parameter": w.parameter,
            "truth": row.get(w.parameter),
            "rezero": bool(options["rezero"]),
            "fits": {fit: {k: s.get(k) for k in keep if k in s} for fit, s in scans.items()},
            "breakdown": drawn["breakdown"],
            "stat_only": stat,
        },
    )


run(snakemake, main)  # noqa: F821
