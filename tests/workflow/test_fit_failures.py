"""A fit that fails must not look like a success: terminal, tables, summary and exit status.

The Dim1Gaussian benchmark with its true density and a few events. Its observed data is
replaced by events simulated at Y1 = 195, far above the trained range of Y1 (166-180) and of
X1: the data fit is pushed against Y1's upper limit. A closure fit at the default point stays
valid, so the closing line must count one invalid fit of two.
"""

import numpy as np
import pandas as pd
import pytest
import yaml

from innfer_lib.core.paths import Paths
from innfer_lib.results.fit_report import INVALID_FITS_EXIT
from tests.conftest import run_snakemake

pytestmark = pytest.mark.slow

DEFAULT_VAL = 3  # Y1 = 172.5, the benchmark's default point: the data fit's row
FAR_Y1 = 195.0


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fit_failures")
    cfg = tmp / "config.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "results_dir": str(tmp / "results"),
                "benchmark": {"name": "Dim1Gaussian", "events": 2000, "data_events": 500},
                "densities": ["truth"],
                "evaluation": False,
                "validation_indices": [DEFAULT_VAL],
                "fits": {"closure": {"data_type": "sim"}, "data": {"data_type": "data"}},
            }
        )
    )
    paths = Paths.for_analysis(tmp / "results", "Benchmark_Dim1Gaussian")
    run_snakemake(paths.benchmark_config, "--cores", "1", "--configfile", str(cfg))
    rng = np.random.default_rng(7)
    far = pd.DataFrame({"X1": rng.normal(FAR_Y1, 0.01 * FAR_Y1, 500)})
    far.to_parquet(f"{paths.benchmark_dir}/data.parquet")
    targets = [
        Paths.format(paths.results_table, fit=fit) + ext
        for fit in ("closure", "data")
        for ext in (".csv", ".md")
    ]
    targets.append(Paths.format(paths.summary, summary="data"))
    proc = run_snakemake(
        *targets, "--cores", "2", "--configfile", str(cfg), timeout=900, check=False
    )
    return paths, cfg, proc


def test_the_run_ends_with_one_line_on_the_invalid_fit_and_exits_non_zero(run):
    _, _, proc = run
    terminal = proc.stdout + proc.stderr
    assert proc.returncode == INVALID_FITS_EXIT, terminal[-3000:]
    closing = [line for line in terminal.splitlines() if line.startswith("innfer: ")]
    assert closing == [f"innfer: 1 of 2 fits invalid: data/truth/val_{DEFAULT_VAL} (at limit: Y1)"]
    assert "Traceback" not in terminal


def test_each_invalid_fit_warns_once_on_the_terminal(run):
    _, _, proc = run
    terminal = proc.stdout + proc.stderr
    warnings = [line for line in terminal.splitlines() if "is invalid" in line]
    assert warnings == [
        f"innfer warning in rule fit_result: fit data/truth/val_{DEFAULT_VAL} is invalid "
        "(at limit: Y1): its intervals are not to be quoted; tables and summaries mark it"
    ]


def test_data_outside_the_trained_range_is_a_warning_naming_column_and_fraction(run):
    paths, _, proc = run
    terminal = proc.stdout + proc.stderr
    lines = [line for line in terminal.splitlines() if "outside the trained range" in line]
    assert len(lines) == 1, terminal[-3000:]  # one data fit job (one density)
    line = lines[0]
    assert line.startswith("innfer warning in rule initial_fit: observed data")
    assert "category 'inclusive'" in line and "column 'X1'" in line
    assert "of 500 events (" in line and "% of the weight)" in line
    log = Paths.format(paths.log, rule="initial_fit", name=f"data_truth_{DEFAULT_VAL}")
    assert line.split(": ", 1)[1] in open(log).read()


def test_the_table_and_the_summary_mark_the_fit_invalid(run):
    paths, _, _ = run
    table = Paths.format(paths.results_table, fit="data")
    row = open(table + ".md").read().splitlines()[2]
    assert row.startswith(f"| truth | {DEFAULT_VAL} | Y1 | 172.5 (nominal) | 180")
    assert row.endswith("| NO: at limit: Y1 |")
    assert open(table + ".csv").read().splitlines()[1].endswith(",False,at_limit: Y1")
    closure = open(Paths.format(paths.results_table, fit="closure") + ".md").read()
    assert closure.splitlines()[2].endswith("| yes |")
    best = yaml.safe_load(
        open(Paths.format(paths.best_fit, fit="data", density="truth", val=DEFAULT_VAL))
    )
    assert best["parameters_at_limit"] == ["Y1"] and best["limits"]["Y1"] == [166.0, 180.0]
    assert best["invalid_reasons"] == ["at_limit: Y1"] and not best["fit_valid"]
    summary = yaml.safe_load(open(Paths.format(paths.summary, summary="data")))
    assert summary["invalid_fits"] == [
        {"fit": "data", "density": "truth", "val": DEFAULT_VAL, "reasons": ["at_limit: Y1"]}
    ]
    chi2 = summary["chi2"]["data"]["truth"]["Y1"]
    assert chi2["invalid"] == 1 and chi2["ndf"] == 0
