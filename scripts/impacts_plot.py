from innfer_lib.core.runner import run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.core.errors import DataError
from innfer_lib.core.io import read_yaml
from innfer_lib.inference.impacts import poi_result, pulls
from innfer_lib.plots.impacts import impacts_plot, poi_header


def main(smk):
    w = smk.wildcards
    poi = w.parameter
    labels = smk.params.labels
    source = str(smk.input.covariance)
    covariance = read_yaml(source)
    impacts = read_yaml(smk.input.impacts)
    if poi not in impacts.get("pois", {}):
        raise DataError(f"{smk.input.impacts}: pois: no impacts on '{poi}'")
    value, sigma = poi_result(covariance, poi, source)
    impacts_plot(
        impacts["pois"][poi],
        pulls(covariance, smk.params.constrained, source),
        poi,
        outputs=list(smk.output),
        labels=labels,
        header=poi_header(labels.get(poi, poi), value, sigma),
        title=f"fit {w.fit}, {w.density} density, validation point {w.val} "
        f"({impacts['method']} impacts)",
    )


run(snakemake, main)  # noqa: F821
