"""Hyperparameter searches through the workflow on Dim1Gaussian (issue 17), with tiny flows.

- A 4-point grid (`hyperparameter_scan`) whose last point is an untrained flow: collect must
  choose the best point by the metric, which INNFER's collect (it copied the last point) would
  not.
- A Bayesian study of 8 trials in 2 worker jobs (`bayesian_tuning`): the run is killed after
  some trials finished, the rerun adds trials up to 8 without repeating the finished ones, and
  with `density_architecture: best_of_tuning` the fits' flow trains from the best trial.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

import numpy as np
import pandas as pd
import pytest
import yaml

from innfer_lib.core.paths import TRIAL_FILES, Paths
from tests.conftest import REPO, run_snakemake, snakemake_command

pytestmark = pytest.mark.slow

TINY = {
    "coupling_design": "affine",
    "num_coupling_layers": 1,
    "affine_units_per_dense_layer": 16,
    "affine_num_dense_layers": 1,
    "batch_size": 512,
    "epochs": 2,
    "early_stopping": False,
}
WHERE = dict(model="Gaussian", category="inclusive")
GRID = {**TINY, "num_coupling_layers": [1, 2], "epochs": [3, 0]}
SPACE = {
    **TINY,
    "epochs": 3,
    "num_coupling_layers": [1, 3],
    "learning_rate": {"low": 1.0e-3, "high": 1.0e-2, "log": True},
}


def read(path):
    with open(path) as f:
        return yaml.safe_load(f)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tuning")
    grid = tmp / "grid.yaml"
    grid.write_text(yaml.safe_dump(GRID))
    space = tmp / "space.yaml"
    space.write_text(yaml.safe_dump(SPACE))
    cfg = tmp / "config.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "results_dir": str(tmp / "results"),
                "benchmark": {"name": "Dim1Gaussian", "events": 20_000},
                "densities": ["learned"],
                "density_architecture": "best_of_tuning",
                "density_performance_metrics": {"families": ["histogram"], "datasets": ["val"]},
                "hyperparameter_scan": {"architecture": str(grid), "metric": "loss_test,min"},
                "bayesian_tuning": {
                    "architecture": str(space),
                    "metric": "loss_test,min",
                    "trials": 8,
                    "workers": 2,
                    "startup_trials": 2,
                    "pruning": True,
                },
            }
        )
    )
    return Paths.for_analysis(tmp / "results", "Benchmark_Dim1Gaussian"), cfg


def test_grid_scan_chooses_the_best_point_not_the_last(setup):
    paths, cfg = setup
    start = time.perf_counter()
    proc = run_snakemake(
        "--cores", "2", "hyperparameter_scan", "--configfile", str(cfg), timeout=1500
    )
    print(f"grid of 4 points: {time.perf_counter() - start:.0f} s")
    assert proc.returncode == 0
    table = pd.read_csv(paths.search_table.format(search="hyperparameter_scan", **WHERE))
    assert list(table["trial"]) == [0, 1, 2, 3]
    # Each row's value is the trial's own loss_test (always computed, though the metrics
    # config asks only for histograms).
    for t in range(4):
        metrics = read(paths.scan_trial_file("metrics").format(trial=t, **WHERE))
        assert table.loc[t, "value"] == pytest.approx(metrics["loss_test"])
        assert "chi_squared_per_dof_val_mean" in metrics
    # The untrained points (epochs 0) are worse than the trained ones, and the last point is
    # one of them: choosing the last would be INNFER's bug.
    trained, untrained = table[table["epochs"] == 3], table[table["epochs"] == 0]
    assert trained["value"].max() < untrained["value"].min()
    best = int(table.loc[table["value"].idxmin(), "trial"])
    assert best != 3
    chosen = read(paths.search_best_architecture.format(search="hyperparameter_scan", **WHERE))
    assert chosen["epochs"] == 3
    assert chosen["num_coupling_layers"] == table.loc[best, "num_coupling_layers"]
    assert chosen["affine_units_per_dense_layer"] == 16


def _study(paths):
    import optuna

    from innfer_lib.density.tuning_study import JOURNAL

    journal = os.path.join(paths.tuning_dir.format(**WHERE), JOURNAL)
    if not os.path.exists(journal):
        return None
    from innfer_lib.density.tuning_study import load_study

    names = optuna.get_all_study_summaries(
        optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(journal))
    )
    return load_study(journal, names[0].study_name) if names else None


def test_bayesian_study_survives_a_kill_and_its_best_trial_trains_the_flow(setup):
    paths, cfg = setup
    learned = paths.density_architecture.format(density="learned", **WHERE)
    start = time.perf_counter()
    first = subprocess.Popen(
        snakemake_command() + ["--cores", "2", "bayesian_tuning", "--configfile", str(cfg)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    finished_before = {}
    try:
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline and first.poll() is None:
            study = _study(paths)
            states = [t.state.name for t in study.trials] if study else []
            if states.count("COMPLETE") >= 2 and "RUNNING" in states:
                finished_before = {
                    t.number: t.value for t in study.trials if t.state.name == "COMPLETE"
                }
                break
            time.sleep(1)
    finally:
        # Kill the run as a cluster's wall-time limit would: controller and jobs at once.
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    assert finished_before, "the study never had 2 finished trials and a running one"
    # A SIGKILLed snakemake leaves its own lock in the working directory (`.snakemake/locks`);
    # the user's next step is the same.
    run_snakemake("--unlock", "--configfile", str(cfg))

    proc = run_snakemake(
        "--cores", "2", "bayesian_tuning", learned, "--configfile", str(cfg), timeout=1500
    )
    print(f"Bayesian study, killed and rerun: {time.perf_counter() - start:.0f} s")
    assert proc.returncode == 0
    study = _study(paths)
    trials = study.trials
    states = [t.state.name for t in trials]
    finished = states.count("COMPLETE") + states.count("PRUNED")
    # 8 finished trials (one more only if both workers asked in the same instant).
    assert 8 <= finished <= 9, states
    # The trials finished before the kill are kept, not repeated.
    for number, value in finished_before.items():
        assert trials[number].state.name == "COMPLETE" and trials[number].value == value
    # The trials the kill interrupted failed, and their points were tried again.
    killed = [t for t in trials if t.state.name == "FAIL"]
    assert killed
    retried = {t.user_attrs.get("retry_of") for t in trials}
    assert all(t.number in retried for t in killed)
    assert {t.user_attrs["worker"] for t in trials} == {0, 1}

    table = pd.read_csv(paths.search_table.format(search="bayesian_tuning", **WHERE))
    assert len(table) == len(trials)
    complete = table[table["state"] == "COMPLETE"]
    best = int(complete.loc[complete["value"].idxmin(), "trial"])
    assert best == study.best_trial.number
    trial_metrics = read(
        os.path.join(paths.tuning_dir.format(**WHERE), f"trial_{best}", TRIAL_FILES["metrics"])
    )
    assert table.loc[table["trial"] == best, "value"].iloc[0] == pytest.approx(
        trial_metrics["loss_test"]
    )
    chosen = read(paths.search_best_architecture.format(search="bayesian_tuning", **WHERE))
    assert chosen["num_coupling_layers"] == study.best_trial.params["num_coupling_layers"]
    assert chosen["learning_rate"] == pytest.approx(study.best_trial.params["learning_rate"])
    # The fits' flow trained from the best trial's architecture.
    record = read(learned)["architecture"]
    assert record["num_coupling_layers"] == chosen["num_coupling_layers"]
    assert record["learning_rate"] == pytest.approx(chosen["learning_rate"])
    for stem in ("trials", "history", "importance"):
        for ext in ("pdf", "png"):
            plot = paths.search_plot.format(search="bayesian_tuning", stem=stem, **WHERE)
            assert os.path.getsize(f"{plot}.{ext}") > 0
    assert np.isfinite(complete["value"]).all()
