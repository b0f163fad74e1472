"""Fit-set granularity end to end (issue 19): a per-process fit at one point, scanned at the
analyst's values, with likelihood-debug points, beside the combined fit.

Dim1GaussianWithExpBkgVaryingYield with the true density (no training), at the default point
(val 18: Y1 = 172.5, mu_Gaussian = 1).
"""

from pathlib import Path

import pytest
import yaml

from innfer_lib.core.paths import Paths

pytestmark = pytest.mark.slow

DEFAULT_VAL = 18
SCAN = [172.0, 172.5, 173.0]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from tests.conftest import run_snakemake

    tmp = tmp_path_factory.mktemp("granularity")
    scan_file = tmp / "scan.csv"
    scan_file.write_text("Y1\n" + "\n".join(str(v) for v in SCAN) + "\n")
    config = {
        "results_dir": str(tmp / "results"),
        "benchmark": {"name": "Dim1GaussianWithExpBkgVaryingYield", "events": 20_000},
        "densities": ["truth"],
        "evaluation": False,
        "fits": {
            "signal": {
                "processes": ["Gaussian"],
                "validation_points": [DEFAULT_VAL],
                "scan": "pois",
                "scan_points": {"from": "input", "file": str(scan_file)},
                "likelihood_debug": True,
                "debug_points": [{"Y1": 173.0}],
            },
            "combined": {"validation_points": [DEFAULT_VAL], "likelihood_debug": True},
        },
    }
    cfg = tmp / "config.yaml"
    cfg.write_text(yaml.safe_dump(config))
    run_snakemake("fits", "--cores", "1", "--configfile", str(cfg), timeout=900)
    return Paths.for_analysis(tmp / "results", "Benchmark_Dim1GaussianWithExpBkgVaryingYield")


def _fit(paths, pattern, fit, **more):
    where = dict(fit=fit, density="truth", val=DEFAULT_VAL, **more)
    return yaml.safe_load(open(Paths.format(pattern, **where)))


def test_only_the_fit_sets_points_are_fitted(run):
    other = Paths.format(run.best_fit, fit="signal", density="truth", val=0)
    assert Path(
        Paths.format(run.best_fit, fit="signal", density="truth", val=DEFAULT_VAL)
    ).is_file()
    assert not Path(other).exists()


def test_the_debug_table_ends_with_the_given_point_at_the_defaults(run):
    table = _fit(run, run.likelihood_debug, "signal")
    labels = [r["point"] for r in table["rows"]]
    assert labels == ["truth", "defaults", "best fit", "point 0: Y1=173"]
    given = table["rows"][-1]
    assert given["Y1"] == 173.0 and given["mu_Gaussian"] == 1.0 and given["finite"]
    assert given["delta_nll"] > 0  # away from the best fit


def test_the_signal_fit_sees_only_its_events_and_scans_the_given_values(run):
    signal = _fit(run, run.likelihood_debug, "signal")["rows"][0]["nll"]
    combined = _fit(run, run.likelihood_debug, "combined")["rows"][0]["nll"]
    assert signal != pytest.approx(combined)  # the background's events and yield are left out
    best = _fit(run, run.best_fit, "signal")
    values = dict(zip(best["columns"], best["best_fit"], strict=True))
    assert values["Y1"] == pytest.approx(172.5, abs=0.3)
    assert values["mu_Gaussian"] == pytest.approx(1.0, abs=0.15)
    points = _fit(run, run.scan_points("input"), "signal", parameter="Y1")
    assert points["scan_values"] == SCAN
    result = _fit(run, run.scan_result, "signal", parameter="Y1")
    assert result["scan_values"] == SCAN
