"""Impact refits of a point in one job (`points_per_job`) give the files of one job per refit.

VaryingYield floats its POI Y1 and the rate mu_Gaussian, so each point has two refits; the
true density needs no training, so the run takes seconds of fitting.
"""

import shutil
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow

RESULTS = "Benchmark_Dim1GaussianWithExpBkgVaryingYield"


def config(results: Path, points_per_job: int) -> dict:
    return {
        "results_dir": str(results),
        "benchmark": {"name": "Dim1GaussianWithExpBkgVaryingYield", "events": 20_000},
        "densities": ["truth"],
        "validation_indices": [0],
        "evaluation": False,
        "points_per_job": points_per_job,
        "fits": {"closure": {"impacts": "refit"}},
    }


def test_batched_impact_refits_equal_one_job_per_refit(tmp_path):
    from tests.conftest import run_snakemake

    batched_cfg, single_cfg = tmp_path / "batched.yaml", tmp_path / "single.yaml"
    batched_cfg.write_text(yaml.safe_dump(config(tmp_path / "batched", 10)))
    proc = run_snakemake("fits", "--cores", "2", "--configfile", str(batched_cfg), timeout=600)
    assert "impact_fit_batch0" in proc.stdout + proc.stderr
    # The same fit and covariance (copied with their times), the refits redone one per job.
    shutil.copytree(tmp_path / "batched", tmp_path / "single")
    single_cfg.write_text(yaml.safe_dump(config(tmp_path / "single", 1)))
    proc = run_snakemake(
        "fits",
        "--cores",
        "2",
        "--configfile",
        str(single_cfg),
        "--forcerun",
        "impact_fit",
        timeout=600,
    )
    assert (proc.stdout + proc.stderr).count("rule impact_fit:") == 2
    refits = Path(RESULTS, "fits", "closure", "truth", "val_0", "impacts", "refits")
    for shift in ("up", "down"):
        name = refits / f"mu_Gaussian_{shift}.yaml"
        batched = yaml.safe_load(open(tmp_path / "batched" / name))
        single = yaml.safe_load(open(tmp_path / "single" / name))
        assert batched["valid"] and batched["shift"] == shift
        assert batched == single
