"""Hyperparameter searches (issue 17): scan files, the ranking metric, the table, the optuna
study shared by workers (no TensorFlow: the objective here is a function of the point)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from innfer_lib.core.config_files import read_config_file
from innfer_lib.density.scan_space import (
    MetricChoice,
    architecture_at,
    bayesian_dimensions,
    grid_points,
    read_search,
    scanned_values,
)
from innfer_lib.density.train_job import load_architecture
from innfer_lib.results.tuning import best_trial, trials_table
from tests.conftest import REPO

ARCH_DIR = REPO / "config" / "architecture"


def test_shipped_grid_is_innfers_32_points() -> None:
    points = grid_points(read_config_file(ARCH_DIR / "density_scan.yaml"))
    assert len(points) == 32
    assert points[0]["num_coupling_layers"] == 10 and points[-1]["num_coupling_layers"] == 15
    # The last axis varies fastest; every combination appears once.
    assert points[1]["spline_num_dense_layers"] == 3
    assert len({tuple(p.values()) for p in points}) == 32


def test_shipped_bayesian_space_reads_innfers_ranges() -> None:
    dims = {
        d.name: d
        for d in bayesian_dimensions(read_config_file(ARCH_DIR / "density_scan_bayesian.yaml"))
    }
    assert dims["num_coupling_layers"].kind == "int"
    assert (dims["num_coupling_layers"].low, dims["num_coupling_layers"].high) == (5, 15)
    assert dims["learning_rate"].kind == "float" and not dims["learning_rate"].log
    assert dims["lr_scheduler_options.step_power"].high == 0.5
    assert dims["spline_dropout_prob"].kind == "float"


def test_grid_axes_nested_keys_and_yaml_exponents() -> None:
    space = {
        "num_coupling_layers": [1, 2],
        "learning_rate": ["1e-3", "1e-2"],
        "lr_scheduler_options": {"alpha": 0.0, "step_power": [0.5, 1.0]},
    }
    points = grid_points(space)
    assert len(points) == 8
    assert points[0] == {
        "num_coupling_layers": 1,
        "learning_rate": 1e-3,
        "lr_scheduler_options.step_power": 0.5,
    }
    arch = architecture_at(space, points[-1])
    # The nested mapping keeps its fixed keys; the scan file itself is untouched.
    assert arch["lr_scheduler_options"] == {"alpha": 0.0, "step_power": 1.0}
    assert space["lr_scheduler_options"]["step_power"] == [0.5, 1.0]
    assert arch["learning_rate"] == 1e-2


@pytest.mark.parametrize(
    ("space", "words"),
    [
        (
            {"num_coupling_layer": [1, 2]},
            ["num_coupling_layer", "did you mean 'num_coupling_layers'"],
        ),
        ({"spline_bins": []}, ["spline_bins", "empty list"]),
        ({"ensemble": [1, 2]}, ["ensemble", "cannot be scanned"]),
        ({"save_model_per_epoch": [True, False]}, ["save_model_per_epoch", "cannot be scanned"]),
        ({"epochs": 3}, ["nothing to scan"]),
        ({"spline_bins": [1, 8]}, ["spline_bins=1", "spline_bins must be an integer >= 2"]),
        (
            {"learning_rate": {"low": 1e-4, "high": 1e-2}},
            ["learning_rate", "ranges are for bayesian"],
        ),
    ],
)
def test_bad_grid_is_refused_naming_the_key(space, words) -> None:
    with pytest.raises(ValueError) as err:
        grid_points(space, "scan.yaml")
    for word in ["scan.yaml", *words]:
        assert word in str(err.value)


def test_bayesian_dimension_kinds() -> None:
    space = {
        "num_coupling_layers": [2, 6],
        "learning_rate": {"low": "1e-4", "high": 1e-2, "log": True},
        "spline_dropout_prob": [0, 0.4],
        "coupling_design": ["affine", "spline"],
        "spline_bins": [8, 16, 32],
    }
    dims = {d.name: d for d in bayesian_dimensions(space)}
    assert dims["num_coupling_layers"].kind == "int"
    assert dims["learning_rate"].kind == "float" and dims["learning_rate"].log
    assert dims["learning_rate"].low == pytest.approx(1e-4)
    assert dims["spline_dropout_prob"].kind == "float"
    assert dims["coupling_design"].choices == ("affine", "spline")
    # Three numbers are choices, not a range.
    assert dims["spline_bins"].kind == "categorical" and dims["spline_bins"].choices == (8, 16, 32)


@pytest.mark.parametrize(
    ("space", "words"),
    [
        ({"learning_rate": [0.01, 0.001]}, ["learning_rate", "empty range"]),
        ({"learning_rate": [0.01, 0.01]}, ["learning_rate", "empty range"]),
        ({"learning_rate": []}, ["learning_rate", "empty list"]),
        ({"learning_rate": {"low": 0.0, "high": 0.1, "log": True}}, ["log range needs low > 0"]),
        ({"learning_rate": {"low": 0.1}}, ["learning_rate", "needs ['high']"]),
        ({"batch_sise": [100, 1000]}, ["batch_sise", "did you mean 'batch_size'"]),
        ({"spline_bins": [1, 8]}, ["spline_bins", "integer >= 2"]),
        ({"type": ["flow", "BayesFlow"]}, ["type", "cannot be scanned"]),
    ],
)
def test_bad_bayesian_space_is_refused_naming_the_key(space, words) -> None:
    with pytest.raises(ValueError) as err:
        bayesian_dimensions(space, "tune.yaml")
    for word in ["tune.yaml", *words]:
        assert word in str(err.value)


def test_the_first_point_keeps_the_fixed_keys() -> None:
    space = {"ensemble": 3, "epochs": 2, "num_coupling_layers": [4, 8]}
    for search in ("hyperparameter_scan", "bayesian_tuning"):
        _, arch = read_search(space, search)
        assert arch["ensemble"] == 3 and arch["num_coupling_layers"] == 4
    assert scanned_values(space) == {"num_coupling_layers": [4, 8]}


def test_a_trial_loads_its_point_of_the_scan_file(tmp_path: Path) -> None:
    scan = tmp_path / "scan.yaml"
    scan.write_text(yaml.safe_dump({"epochs": 2, "num_coupling_layers": [3, 5]}))
    arch = load_architecture(
        scan, {"save_model_per_epoch": False}, 7, point={"num_coupling_layers": 5}
    )
    assert arch["num_coupling_layers"] == 5 and arch["epochs"] == 2 and arch["seed"] == 7


KEYS = ["loss_test", "loss_train", "bdt_auc_val"]


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("loss_tst,min", ["did you mean 'loss_test'"]),
        ("loss_test,minimum", ["direction must be min or max"]),
        ("loss_test", ["'key,min' or 'key,max'"]),
        ("loss_test:sub,min", ["loss_test:sub"]),
    ],
)
def test_bad_metric_is_refused(spec, words) -> None:
    with pytest.raises(ValueError) as err:
        MetricChoice.parse(spec, KEYS)
    for word in words:
        assert word in str(err.value)


def test_the_best_is_the_best_not_the_last() -> None:
    values = {0: 1.5, 1: 0.9, 2: math.nan, 3: 1.2}
    assert MetricChoice.parse("loss_test,min", KEYS).best(values) == 1
    assert MetricChoice.parse("bdt_auc_val,max", KEYS).best(values) == 0
    # The earliest of equal values; nothing finite, no best.
    assert MetricChoice("loss_test", "min").best({4: 1.0, 2: 1.0}) == 4
    assert MetricChoice("loss_test", "min").best({0: math.nan}) is None


def test_table_skips_trials_that_did_not_complete() -> None:
    metric = MetricChoice("loss_test", "min")
    points = {0: {"n": 1}, 1: {"n": 2}, 2: {"n": 3}, 3: {"n": 4}}
    metrics = {
        0: {"loss_test": 2.0, "loss_train": 1.9},
        1: {"loss_test": 1.5},
        3: {"loss_test": 1.7},
    }
    states = {2: "PRUNED", 3: "COMPLETE", 1: "FAIL"}
    table = trials_table(points, metrics, metric, states, {0: {"worker": 1}})
    assert list(table["trial"]) == [0, 1, 2, 3]
    assert np.isnan(table.loc[2, "value"]) and table.loc[0, "loss_train"] == 1.9
    assert table.loc[0, "worker"] == 1
    # Trial 1 has the lowest value but failed: the best complete trial is 3.
    assert best_trial(table, metric) == 3
    with pytest.raises(ValueError, match="no trial finished"):
        best_trial(trials_table({0: {"n": 1}}, {}, metric, {0: "PRUNED"}), metric)


# --------------------------------------------------------------------------- the optuna study

optuna = pytest.importorskip("optuna")
from innfer_lib.density.tuning_study import (  # noqa: E402
    RETRY_ATTR,
    distributions,
    importances,
    load_study,
    open_study,
    run_worker,
    study_name,
)

SPACE = {"num_coupling_layers": [2, 8], "learning_rate": {"low": 1e-4, "high": 1e-2, "log": True}}
DIMS = bayesian_dimensions(SPACE)
METRIC = MetricChoice("loss_test", "min")


def objective(calls: list | None = None):
    def run(number, params, report, origin):
        for epoch in range(8):
            report(epoch, float(params["num_coupling_layers"]))
        if calls is not None:
            calls.append((number, origin))
        return (params["num_coupling_layers"] - 5) ** 2 + params["learning_rate"]

    return run


def study(tmp_path: Path, worker: int, pruning: bool = False):
    name = study_name(SPACE, METRIC, {}, 1, [], "Gaussian", "inclusive")
    return open_study(tmp_path / "study.journal", name, "min", 1, 2, pruning, worker)


def test_distributions_follow_the_dimensions() -> None:
    found = distributions(DIMS)
    assert found["num_coupling_layers"].low == 2 and found["num_coupling_layers"].high == 8
    assert found["learning_rate"].log


def test_workers_share_the_study_and_stop_at_the_target(tmp_path: Path) -> None:
    ran0 = run_worker(study(tmp_path, 0), DIMS, 3, 0, objective())
    ran1 = run_worker(study(tmp_path, 1), DIMS, 5, 1, objective())
    assert len(ran0) == 3 and len(ran1) == 2
    trials = load_study(tmp_path / "study.journal", study(tmp_path, 0).study_name).trials
    assert [t.user_attrs["worker"] for t in trials] == [0, 0, 0, 1, 1]
    assert all(t.state.name == "COMPLETE" for t in trials)
    # A rerun with the same target adds nothing; a larger one adds the difference.
    assert run_worker(study(tmp_path, 0), DIMS, 5, 0, objective()) == []
    assert len(run_worker(study(tmp_path, 0), DIMS, 7, 0, objective())) == 2


def test_a_killed_workers_trial_is_failed_and_retried_from_its_checkpoint(tmp_path: Path) -> None:
    run_worker(study(tmp_path, 0), DIMS, 2, 0, objective())
    # Worker 1 was killed while running trial 2: the study still says RUNNING.
    killed = study(tmp_path, 1).ask(distributions(DIMS))
    killed.set_user_attr("worker", 1)
    # Worker 0 counts the running trial and stops at 3; it never fails another worker's trial.
    assert run_worker(study(tmp_path, 0), DIMS, 3, 0, objective()) == []
    calls: list = []
    ran = run_worker(study(tmp_path, 1), DIMS, 3, 1, objective(calls))
    trials = load_study(tmp_path / "study.journal", study(tmp_path, 1).study_name).trials
    assert trials[killed.number].state.name == "FAIL"
    retry = trials[ran[0]["number"]]
    assert retry.params == trials[killed.number].params
    assert retry.user_attrs[RETRY_ATTR] == killed.number
    assert calls == [(retry.number, killed.number)]
    finished = [t for t in trials if t.state.name == "COMPLETE"]
    assert len(finished) == 3


def test_a_crashing_trial_fails_and_the_error_surfaces(tmp_path: Path) -> None:
    def crash(number, params, report, origin):
        raise RuntimeError("out of memory")

    with pytest.raises(RuntimeError, match="out of memory"):
        run_worker(study(tmp_path, 0), DIMS, 2, 0, crash)
    trials = load_study(tmp_path / "study.journal", study(tmp_path, 0).study_name).trials
    assert [t.state.name for t in trials] == ["FAIL"]


def test_hopeless_trials_are_pruned(tmp_path: Path) -> None:
    ran = run_worker(study(tmp_path, 0, pruning=True), DIMS, 16, 0, objective())
    states = [r["state"] for r in ran]
    assert "PRUNED" in states and states.count("COMPLETE") >= 2
    assert all(r["value"] is None for r in ran if r["state"] == "PRUNED")
    # Only the worst quarter: a pruned trial's reported value is above the 75th percentile of
    # the complete trials' before it (the objective reports num_coupling_layers every epoch).
    for k, record in enumerate(ran):
        if record["state"] == "PRUNED":
            earlier = [
                r["params"]["num_coupling_layers"] for r in ran[:k] if r["state"] == "COMPLETE"
            ]
            assert record["params"]["num_coupling_layers"] > np.percentile(earlier, 75)


def test_study_name_changes_with_space_and_data(tmp_path: Path) -> None:
    data = tmp_path / "train.parquet"
    data.write_bytes(b"one")
    first = study_name(SPACE, METRIC, {}, 1, [data], "G", "c")
    assert study_name(SPACE, METRIC, {}, 1, [data], "G", "c") == first
    assert study_name({**SPACE, "epochs": 3}, METRIC, {}, 1, [data], "G", "c") != first
    assert study_name(SPACE, MetricChoice("loss_test", "max"), {}, 1, [data], "G", "c") != first
    data.write_bytes(b"two")
    assert study_name(SPACE, METRIC, {}, 1, [data], "G", "c") != first


def test_importances_need_two_complete_trials(tmp_path: Path) -> None:
    run_worker(study(tmp_path, 0), DIMS, 1, 0, objective())
    assert importances(study(tmp_path, 0), 1) == {}
    run_worker(study(tmp_path, 0), DIMS, 6, 0, objective())
    found = importances(study(tmp_path, 0), 1)
    assert set(found) == {"num_coupling_layers", "learning_rate"}
    assert sum(found.values()) == pytest.approx(1.0)


# ------------------------------------------------------------------------------------- plots


def test_plots_mark_the_chosen_trial(tmp_path: Path) -> None:
    from innfer_lib.plots.tuning import history_plot, importance_plot, scan_plot

    metric = MetricChoice("loss_test", "min")
    points = {
        t: {"num_coupling_layers": n, "coupling_design": d}
        for t, (n, d) in enumerate([(2, "affine"), (4, "spline"), (6, "affine")])
    }
    metrics = {0: {"loss_test": 2.0}, 1: {"loss_test": 1.0}}
    table = trials_table(points, metrics, metric, {2: "PRUNED"})
    files = [str(tmp_path / "trials.pdf"), str(tmp_path / "trials.png")]
    assert (
        scan_plot(table, "loss_test", ["num_coupling_layers", "coupling_design"], 1, files)[
            "panels"
        ]
        == 3
    )
    history = history_plot(table, "loss_test", "min", [str(tmp_path / "history.png")])
    assert history["best_so_far"] == [2.0, 1.0]
    order = importance_plot({"a": 0.2, "b": 0.8}, [str(tmp_path / "importance.png")])["order"]
    assert order == ["b", "a"]
    importance_plot({}, [str(tmp_path / "none.png")])
    assert all(Path(f).stat().st_size > 0 for f in files)
