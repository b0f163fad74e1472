from innfer_lib.core.runner import run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

import numpy as np

from innfer_lib.core.analysis import load_analysis
from innfer_lib.core.io import read_parquet, read_yaml
from innfer_lib.core.paths import PLOT_EXTENSIONS, input_key
from innfer_lib.data.validation_sets import validation_sample
from innfer_lib.data.yields import expected_yield
from innfer_lib.density.models import LEARNED, load_density
from innfer_lib.plots.comparison import Source, density_plot, panels


def main(smk):
    analysis = load_analysis(smk.params.analysis)
    files = smk.input
    keys = [(p, c) for p in analysis.processes for c in analysis.categories]
    params = {k: read_yaml(files[input_key("parameters", *k)]) for k in keys}
    densities = {
        (k, d): load_density(files[input_key("architecture", *k, d)], params[k])
        for k in keys
        for d in smk.params.densities
    }
    outputs = list(smk.output)
    n_ext = len(PLOT_EXTENSIONS)
    for i, val in enumerate(smk.params.vals):
        point = analysis.validation_points[val]
        all_panels = []
        for category in analysis.categories:
            xs, ws = [], []
            models = {d: [] for d in smk.params.densities}
            for process in analysis.processes:
                key = (process, category)
                frame = read_parquet(files[input_key("validation", process, category, val)])
                x, w = validation_sample(frame, params[key], point, "val")
                xs.append(x)
                ws.append(w)
                lam = expected_yield(params[key], point)
                for density in smk.params.densities:
                    models[density].append((densities[(key, density)], lam))
            # Only a learned flow is drawn by sampling beyond one dimension; the truth is what
            # the validation events show there.
            sources = {
                d: Source(procs, samplers=procs if d == LEARNED else None)
                for d, procs in models.items()
            }
            cat_panels = panels(
                np.concatenate(xs), np.concatenate(ws), analysis.variables, sources, point, seed=val
            )
            for panel in cat_panels:
                if len(analysis.categories) > 1:
                    panel["variable"] = f"{panel['variable']} ({category})"
            all_panels += cat_panels
        label = ", ".join(f"{k}={v:g}" for k, v in point.items())
        density_plot(
            all_panels,
            outputs[i * n_ext : (i + 1) * n_ext],
            title=f"{analysis.name}, validation point {val}: {label}",
        )


run(snakemake, main)  # noqa: F821
