"""INNFER-shaped Python run configs (issue 18): each program in tests/run_configs/ (imports of a
shared helper, loops over processes and systematics, `${VAR}` paths) converts with
`innfer-convert-config` and dry-runs; the big one's DAG has every step of INNFER's run-book."""

from __future__ import annotations

from pathlib import Path

import pytest

from innfer_lib.core.run_config import main as convert
from tests.conftest import REPO, dry_run

PROGRAMS = REPO / "tests" / "run_configs"
INPUTS = ("ttbar", "wjets", "st", "data", "gaussian")
#: The run-book's fit steps (innfer_boosted_top_mass_runbook.md), as fit-set options.
RUNBOOK_FITS = {
    "runbook": {"hessian": "parallel", "covariance": "dmatrix", "scan": "pois"},
    # --freeze all-but-one --loop-over-nuisances --loop-over-rates --loop-over-lnN
    "all_but_one": {"freeze": "all-but-one", "all_but_one": {"loop_over_nuisances": True}},
}
#: INNFER run-book step -> rule here, for the steps the converted config schedules.
RUNBOOK_STEPS = {
    "LoadData": "load_data",
    "PreProcess": "preprocess_model",
    "InputPlotTraining": "input_plot_training",
    "InputPlotValidation": "input_plot_validation",
    "TrainDensity": "train_density",
    "TrainRegression": "train_regression",
    "EvaluateRegression": "evaluate_regression",
    "PlotRegression": "plot_regression",
    "MakeAsimov": "make_asimov",
    "Generator": "generator",
    "GeneratorSummary": "generator_summary",
    "DensityPerformanceMetrics": "density_performance_metrics",
    "InitialFit": "initial_fit",
    "HessianParallel": "hessian_parallel",
    "HessianCollect": "hessian_collect",
    "DMatrix": "dmatrix",
    "CovarianceWithDMatrix": "covariance_with_dmatrix",
    "ScanPointsFromHessian": "scan_points_from_hessian",
    "Scan": "scan",
    "ScanCollect": "scan_collect",
    "ScanPlot": "scan_plot",
    "Summary": "summary",
    "SummaryPerVal": "summary_per_val",
    "SummaryAllButOneCollect": "summary_all_but_one_collect",
    "Custom": "custom_top_bw_fractioning",
}
#: The run-book's `--step Custom --custom-module top_bw_fractioning --custom-options ...` as a
#: custom step, with the shipped example module standing in for INNFER's.
RUNBOOK_CUSTOM = {
    "top_bw_fractioning": {
        "module": str(REPO / "config" / "examples" / "custom" / "mass_fractions.py"),
        "options": "column=mtop;quantiles_of=m_jet",
        "inputs": {"train": {"output": "train"}, "parameters": {"output": "parameters"}},
        "outputs": ["fractions.yaml"],
    }
}


def converted(name: str, tmp_path: Path, monkeypatch) -> Path:
    """The program converted to YAML, with placeholder input files (a dry run only checks
    that they exist)."""
    inputs = tmp_path / "inputs"
    inputs.mkdir(exist_ok=True)
    for stem in INPUTS:
        (inputs / f"{stem}.parquet").touch()
    monkeypatch.setenv("INNFER_RUN_CONFIG_INPUTS", str(inputs))
    out = tmp_path / f"{name}.yaml"
    assert convert([str(PROGRAMS / f"{name}.py"), "-o", str(out)]) == 0
    return out


def test_two_categories_three_processes_six_systematics(snakemake, tmp_path, monkeypatch):
    analysis = converted("top_mass_2cat_3proc_6syst", tmp_path, monkeypatch)
    counts = dry_run(
        snakemake,
        tmp_path,
        analysis=str(analysis),
        densities=["learned"],
        fits=RUNBOOK_FITS,
        custom=RUNBOOK_CUSTOM,
    )
    missing = {step: rule for step, rule in RUNBOOK_STEPS.items() if rule not in counts}
    assert not missing, f"run-book steps without jobs: {missing}"
    assert counts["load_data"] == 3
    # 3 processes x 2 categories; the weight systematics (isr, fsr) each get a regression
    assert counts["preprocess_model"] == 6 and counts["train_density"] == 6
    assert counts["train_regression"] == 3 * 2 * 2
    # the nominal, 2 more masses and +-1 of the 4 shape systematics: 11 points; all-but-one
    # fits each of the 8 parameters (mtop, mu_ttbar and the 6 systematics) alone at each
    assert counts["initial_fit"] == 11 + 11 * 8
    assert counts["summary_all_but_one_collect"] == 11
    # one custom job; every process and category gets its nuisance-variation sets
    assert counts["custom_top_bw_fractioning"] == 1
    assert counts["preprocess_nuisance_variations"] == 6


@pytest.mark.parametrize(
    ("name", "trained", "points"),
    [("top_mass_lnn", 2, 6), ("dim1_gaussian", 1, 9)],
)
def test_smaller_run_configs_convert_and_dry_run(
    snakemake, tmp_path, monkeypatch, name, trained, points
):
    analysis = converted(name, tmp_path, monkeypatch)
    counts = dry_run(snakemake, tmp_path, analysis=str(analysis), densities=["learned"])
    assert counts["train_density"] == trained
    assert counts["initial_fit"] == points
