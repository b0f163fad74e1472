"""A few toys through the rules: toy_fit batches and toy_collect's coverage files.

Dim1GaussianWithExpBkgVaryingYield with its true density (no training), one point, 6 toys in
two batches of 3: each batch builds the likelihood once and swaps the toys in without
retracing, and every toy has an interval from each source or a recorded failure.
"""

import pytest
import yaml

from innfer_lib.core.paths import Paths

pytestmark = pytest.mark.slow

VAL = 4
TOYS, PER_JOB = 6, 3


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from tests.conftest import run_snakemake

    tmp = tmp_path_factory.mktemp("toys")
    cfg = tmp / "config.yaml"
    config = {
        "results_dir": str(tmp / "results"),
        "benchmark": {"name": "Dim1GaussianWithExpBkgVaryingYield", "events": 20_000},
        "densities": ["truth"],
        "evaluation": False,
        "validation_indices": [VAL],
        "fits": {
            "cov": {
                "toys": TOYS,
                "toy_options": {"per_job": PER_JOB, "scan_points": 7, "scan_sigma_step": 0.75},
            }
        },
    }
    cfg.write_text(yaml.safe_dump(config))
    paths = Paths.for_analysis(tmp / "results", "Benchmark_Dim1GaussianWithExpBkgVaryingYield")
    target = Paths.format(paths.toy_coverage, fit="cov", density="truth")
    run_snakemake(target, "--cores", "1", "--configfile", str(cfg), timeout=900)
    return paths


def _yaml(path):
    return yaml.safe_load(open(path))


def test_batches_fit_every_toy_without_retracing(run):
    seen = []
    for batch in range(TOYS // PER_JOB):
        record = _yaml(Paths.format(run.toy_fit, fit="cov", density="truth", val=VAL, batch=batch))
        assert record["tracing"]["after_all"] == record["tracing"]["after_first_toy"]
        assert record["parameters"] == ["Y1", "mu_Gaussian"]
        for toy in record["toys"]:
            seen.append(toy["toy"])
            if toy["valid"]:
                assert set(toy["intervals"]) == {"hessian", "sandwich", "scan"}
    assert seen == list(range(TOYS))


def test_collect_writes_the_coverage_table_and_plots(run):
    summary = _yaml(Paths.format(run.toy_coverage, fit="cov", density="truth"))
    assert summary["n_toys"] == TOYS and summary["vals"] == [VAL]
    cell = summary["sources"]["sandwich"]["Y1"]["pooled"]
    assert cell["n_used"] + cell["n_fit_failed"] + cell["n_interval_failed"] == TOYS
    table = Paths.format(run.toy_coverage_table, fit="cov", density="truth")
    assert "| sandwich | Y1 | pooled |" in open(f"{table}.md").read()
    for pattern in (run.toy_coverage_plot, run.toy_pulls_plot):
        for ext in ("pdf", "png"):
            assert open(f"{Paths.format(pattern, fit='cov', density='truth')}.{ext}", "rb").read()
