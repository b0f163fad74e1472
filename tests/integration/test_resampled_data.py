"""Fit fake data end to end: pseudo-data per point, normalised to the data by sim_to_data.

Dim1Gaussian with the true density (no training): the benchmark's 1200 data events against a
simulated yield of 1000 give a factor 1.2, which `apply` writes into parameters.yaml; the
pseudo-data of each point are then Poisson(1200) events, and each fit must find the point.
"""

import numpy as np
import pandas as pd
import pytest
import yaml

from innfer_lib.core.paths import Paths

pytestmark = pytest.mark.slow

# 171.5 and 173.5 are dropped from training, so all their simulated events (~5000 each) are
# validation events and the pseudo-data widen the pulls by only √(1 + 1200/5000) ≈ 1.11.
VALS = [1, 5]
WHERE = dict(model="Gaussian", category="inclusive")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from tests.conftest import run_snakemake

    tmp = tmp_path_factory.mktemp("resampled")
    cfg = tmp / "config.yaml"
    config = {
        "results_dir": str(tmp / "results"),
        "benchmark": {"name": "Dim1Gaussian", "events": 100_000, "data_events": 1200},
        "densities": ["truth"],
        "evaluation": False,
        "validation_indices": VALS,
        "fits": {"fake": {"data_type": "resampled"}},
        "sim_to_data": {"apply": True},
    }
    cfg.write_text(yaml.safe_dump(config))
    run_snakemake("summaries", "--cores", "2", "--configfile", str(cfg), timeout=900)
    return Paths.for_analysis(tmp / "results", "Benchmark_Dim1Gaussian")


def _yaml(path):
    return yaml.safe_load(open(path))


def test_the_factor_normalises_the_yields(run):
    factors = _yaml(Paths.format(run.sim_to_data_factors, group="inclusive"))
    assert factors["factor"] == pytest.approx(1.2)
    assert factors["sums"]["data"] == 1200.0
    before = _yaml(Paths.format(run.parameters_before_sim_to_data, **WHERE))
    after = _yaml(Paths.format(run.parameters, **WHERE))
    assert before["yields"]["nominal"] == pytest.approx(1000.0)
    assert after["yields"]["nominal"] == pytest.approx(1200.0)
    assert after["sim_to_data"] == {"factor": pytest.approx(1.2), "group": "inclusive"}


def test_each_point_is_fitted_on_its_own_pseudo_data(run):
    analysis_points = _yaml(run.benchmark_config)["validation"]["loop"]
    sizes = []
    for val in VALS:
        events = pd.read_parquet(Paths.format(run.resampled_data, category="inclusive", val=val))
        sizes.append(len(events))
        assert abs(len(events) - 1200) < 5 * np.sqrt(1200)  # Poisson(1200), not exactly 1200
        result = _yaml(Paths.format(run.fit_result, fit="fake", density="truth", val=val))
        truth = analysis_points[val]["Y1"]
        y1 = result["parameters"]["Y1"]
        assert result["fit_valid"] and result["reference"] == "truth"
        assert y1["truth"] == truth
        # σ of a Gaussian mean with width 0.01·Y1 from the pseudo-data's events
        assert y1["sigma"] == pytest.approx(0.01 * truth / np.sqrt(len(events)), rel=0.05)
        assert abs(y1["best_fit"] - truth) < 4 * 1.11 * y1["sigma"]
    assert sizes[0] != sizes[1]  # each point draws its own events


def test_the_summary_compares_with_each_points_truth(run):
    summary = _yaml(Paths.format(run.summary, summary="fake"))
    assert [p["val"] for p in summary["points"]] == VALS
    chi2 = _yaml(Paths.format(run.summary_chi_squared, summary="fake"))
    assert chi2["chi2"]["fake"]["truth"]["Y1"]["ndf"] == len(VALS)
