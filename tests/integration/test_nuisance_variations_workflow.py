"""Nuisance variations through the workflow (issue 18): one tiny run of `nuisance_variations`.

Dim1Gaussian's simulation as an analysis with two log-normal nuisances (κ = 1.1 and
[0.9, 1.2]) and double variations on, a small flow trained for one epoch: every variation set
and Asimov sums to the yield at its variation, and every plot is written.
"""

import math

import pytest
import yaml

from innfer_lib.core.io import read_parquet, read_yaml
from innfer_lib.core.paths import Paths, plot_files
from innfer_lib.data.benchmarks import get_benchmark
from innfer_lib.data.nuisance_variations import (
    DIRECTIONS,
    VARIATION_COLUMN,
    variation_point,
    variation_rows,
    variation_sample,
)
from innfer_lib.data.schema import WEIGHT

pytestmark = pytest.mark.slow

WHERE = {"model": "Gaussian", "category": "inclusive"}
#: {tag: yield}: nominal 1000, lumi κ = 1.1, xsec κ = [0.9, 1.2].
YIELDS = {
    "lumi_up": 1100.0,
    "lumi_down": 1000.0 / 1.1,
    "xsec_up": 1200.0,
    "xsec_down": 900.0,
    "lumi_up_xsec_up": 1320.0,
    "lumi_up_xsec_down": 990.0,
    "lumi_down_xsec_up": 1200.0 / 1.1,
    "lumi_down_xsec_down": 900.0 / 1.1,
}
SINGLES = [t for t in YIELDS if t.count("_") == 1]
DOUBLES = [t for t in YIELDS if t not in SINGLES]


def values_of(tag: str) -> dict[str, float]:
    """{nuisance: ±1} of a tag of these nuisances (whose names have no underscore)."""
    parts = tag.split("_")
    return {parts[i]: DIRECTIONS[parts[i + 1]] for i in range(0, len(parts), 2)}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from tests.conftest import SMALL_FLOW, run_snakemake

    tmp = tmp_path_factory.mktemp("variations")
    inputs = tmp / "inputs"
    inputs.mkdir()
    benchmark = get_benchmark("Dim1Gaussian")
    for stem, frame in benchmark.simulate(20_000, 1).items():
        frame.to_parquet(inputs / f"{stem}.parquet", index=False)
    benchmark.simulate_data(1000, 2).to_parquet(inputs / "data.parquet", index=False)
    raw = benchmark.analysis_config(str(inputs))
    raw["nuisances"] = ["lumi", "xsec"]
    raw["inference"]["lnN"] = {
        "Gaussian": [{"parameter": "lumi", "rate": 1.1}, {"parameter": "xsec", "rate": [0.9, 1.2]}]
    }
    raw["inference"]["nuisance_constraints"] = ["lumi", "xsec"]
    analysis = tmp / "analysis.yaml"
    analysis.write_text(yaml.safe_dump(raw))
    cfg = tmp / "config.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "results_dir": str(tmp / "results"),
                "analysis": str(analysis),
                "nuisance_variations": {"double": True},
                "density_architecture_overrides": {
                    **SMALL_FLOW,
                    "epochs": 1,
                },
            }
        )
    )
    proc = run_snakemake(
        "--cores", "2", "nuisance_variations", "--configfile", str(cfg), timeout=900
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return Paths.for_analysis(tmp / "results", raw["name"]), raw


def test_sets_and_asimovs_sum_to_the_yield_at_each_variation(run):
    paths, raw = run
    parameters = read_yaml(paths.parameters.format(**WHERE))
    assert parameters["yields"]["nominal"] == pytest.approx(1000.0)
    defaults = {"Y1": 172.5, "lumi": 0.0, "xsec": 0.0}
    for order, tags in (("single", SINGLES), ("double", DOUBLES)):
        data = read_parquet(paths.nuisance_variations.format(order=order, **WHERE))
        asimov = read_parquet(paths.asimov_nuisance_variations.format(order=order, **WHERE))
        assert list(data[VARIATION_COLUMN].cat.categories) == tags
        assert list(asimov[VARIATION_COLUMN].cat.categories) == tags
        for tag in tags:
            values = values_of(tag)
            assert variation_point(defaults, values)["Y1"] == 172.5
            for sim_type in ("val", "full"):
                _, w = variation_sample(data, parameters, defaults, tag, values, sim_type)
                assert w.sum() == pytest.approx(YIELDS[tag], rel=1e-9), (tag, sim_type)
            rows = variation_rows(asimov, tag, "asimov")
            assert rows[WEIGHT].sum() == pytest.approx(YIELDS[tag], rel=1e-9), tag
            # asimov: {scale: 10}: ten events per expected event (those the one-epoch flow puts
            # outside X1's training range are dropped)
            assert 8 * YIELDS[tag] < len(rows) <= math.ceil(10 * YIELDS[tag])


def test_every_plot_is_written(run):
    paths, _ = run
    files = []
    for nuisance in ("lumi", "xsec"):
        for pattern in (paths.input_nuisance_variations_plot, paths.input_train_vs_variations_plot):
            files += plot_files(pattern.format(nuisance=nuisance, column="X1", **WHERE))
    for tag in YIELDS:
        files += plot_files(
            paths.generator_nuisance_variation_plot.format(variation=tag, column="X1", **WHERE)
        )
    assert len(files) == 2 * 2 * 2 + 8 * 2
    for path in files:
        with open(path, "rb") as f:
            assert len(f.read()) > 1000, path
