from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.io import read_yaml, write_yaml
from innfer_lib.inference.scan import collect_scan_2d
from innfer_lib.plots.scan import scan_plot_2d


def main(smk):
    w = smk.wildcards
    best = read_yaml(smk.input.best_fit)
    records = [read_yaml(p) for p in smk.input.points]
    records = [r for r in records if not str(r.get("status", "")).startswith("skipped")]
    collected = collect_scan_2d(records, best_fit_nll=best["best_fit_nll"], row=best["row"])
    write_yaml(smk.output.result, collected)
    a, b = collected["varied_columns"]
    row = dict(zip(best["columns"], best["row"], strict=True))
    labels = smk.params.labels
    drawn = scan_plot_2d(
        collected,
        (row[a], row[b]),
        (labels.get(a, a), labels.get(b, b)),
        outputs=list(smk.output.plot),
        title=f"fit {w.fit}, {w.density} density, point {w.val}",
    )
    LOG.info("minimum %s, drawn %s", collected.get("minimum"), list(drawn))


run(snakemake, main)  # noqa: F821
