"""One parameter's collected intervals drawn against its truth: a likelihood scan or bootstraps.

Both collected files share the crossings schema (`varied_column`, `columns`, `row`), so one
script serves `scan_plot` and `bootstrap_plot`; the rule's `plot` param picks the drawing.
"""

from innfer_lib.core.runner import run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.io import read_yaml
from innfer_lib.plots.bootstrap import bootstrap_plot
from innfer_lib.plots.scan import scan_plot

PLOTS = {"scan": scan_plot, "bootstrap": bootstrap_plot}


def main(smk):
    collected = read_yaml(smk.input[0])
    column = collected["varied_column"]
    row = dict(zip(collected["columns"], collected["row"], strict=True))
    w = smk.wildcards
    PLOTS[smk.params.plot](
        collected,
        row.get(column),
        smk.params.labels.get(column, column),
        outputs=list(smk.output),
        title=f"fit {w.fit}, {w.density} density, validation point {w.val}",
    )


run(snakemake, main)  # noqa: F821
