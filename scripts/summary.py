from innfer_lib.config import load_analysis
from innfer_lib.io import read_yaml, write_yaml
from innfer_lib.plotting import summary_plot
from innfer_lib.runner import run
from innfer_lib.summary import collect


def main(smk):
    analysis = load_analysis(smk.params.analysis)
    keys = [(d, v) for v in smk.params.vals for d in smk.params.densities]
    # Inputs were expanded over val (outer) and density (inner), matching `keys`.
    covariances = dict(zip(keys, map(read_yaml, smk.input.covariances), strict=True))
    best_fits = dict(zip(keys, map(read_yaml, smk.input.best_fits), strict=True))
    summary = collect(analysis, smk.params.vals, smk.params.densities, covariances, best_fits)
    summary["fit"] = smk.wildcards.fit
    write_yaml(smk.output.summary, summary)
    summary_plot(summary, smk.output.plot, title=f"{analysis.name}: fit set '{smk.wildcards.fit}'")


run(snakemake, main)  # noqa: F821
