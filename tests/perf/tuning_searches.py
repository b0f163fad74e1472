"""Hyperparameter searches on a benchmark: wall times, best vs default, closure tuned vs default.

Runs the workflow in a results directory of its own (default benchmark: Dim1Gaussian, 200k
events, the default fit set) and prints:

1. the wall time of a 4-point grid (`hyperparameter_scan`; density_default.yaml with
   learning_rate [0.003, 0.001] x num_coupling_layers [4, 10], so trial 3 is the default
   architecture) and whether collect chose the best point;
2. the wall time of a Bayesian study of `--trials` trials in `--workers` worker jobs around the
   default architecture, with worker 1 killed once it runs its second trial (`--kill`) and the
   run repeated, and the finished/pruned/failed trials;
3. the ranking metric (loss_test) of the best trial of each search against the default flow's;
4. the closure χ² of the fits (`summaries`) with the default flow and with the flow trained
   from the Bayesian best (`density_architecture: best_of_tuning`).

Nothing else heavy should run beside it (2 cores: the times are the point).

    python tests/perf/tuning_searches.py --results /tmp/tuning_perf
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[2]
WHERE = {"model": "Gaussian", "category": "inclusive"}
SNAKEMAKE = shutil.which("snakemake", path=str(Path(sys.executable).parent)) or "snakemake"
DEFAULT = yaml.safe_load((REPO / "config" / "architecture" / "density_default.yaml").read_text())


def snakemake(*args: str, config: Path, check: bool = True) -> float:
    start = time.perf_counter()
    proc = subprocess.run(
        [SNAKEMAKE, "--cores", "2", *args, "--configfile", str(config)],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    if check and proc.returncode != 0:
        raise SystemExit(f"snakemake {' '.join(args)} failed:\n{proc.stderr[-4000:]}")
    return time.perf_counter() - start


def worker_pid(log: Path) -> int | None:
    """The process that writes a worker's log (the worker's Python)."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
            for fd in fds:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == str(log):
                    return int(pid)
        except OSError:
            continue
    return None


def study_trials(journal: Path) -> list:
    import optuna

    if not journal.is_file():
        return []
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(journal))
    )
    summaries = optuna.get_all_study_summaries(storage)
    if not summaries:
        return []
    return optuna.load_study(study_name=summaries[0].study_name, storage=storage).trials


def closure_chi2(root: Path) -> dict[str, str]:
    chi2 = yaml.safe_load((root / "summary" / "closure" / "chi_squared.yaml").read_text())
    out = {}
    for density, params in chi2["chi2"]["closure"].items():
        row = params["Y1"]
        out[density] = f"{row['chi2']:.2f}/{row['ndf']} (p = {row['p_value']:.2f})"
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default="/tmp/tuning_perf")
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--kill", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--grid", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--closure", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args()

    out = Path(args.results)
    out.mkdir(parents=True, exist_ok=True)
    grid = {**DEFAULT, "num_coupling_layers": [4, 10], "learning_rate": [0.003, 0.001]}
    space = {
        **DEFAULT,
        "num_coupling_layers": [4, 12],
        "affine_units_per_dense_layer": [64, 256],
        "spline_units_per_dense_layer": [64, 256],
        "spline_bins": [8, 24],
        "learning_rate": {"low": 1.0e-4, "high": 1.0e-2, "log": True},
    }
    (out / "grid.yaml").write_text(yaml.safe_dump(grid))
    (out / "space.yaml").write_text(yaml.safe_dump(space))
    base = {
        "results_dir": str(out / "results"),
        "benchmark": {"name": "Dim1Gaussian", "events": args.events},
        "hyperparameter_scan": {"architecture": str(out / "grid.yaml"), "metric": "loss_test,min"},
        "bayesian_tuning": {
            "architecture": str(out / "space.yaml"),
            "metric": "loss_test,min",
            "trials": args.trials,
            "workers": args.workers,
            "startup_trials": 2,
            "pruning": True,
        },
    }
    config = out / "config.yaml"
    config.write_text(yaml.safe_dump(base))
    root = out / "results" / "Benchmark_Dim1Gaussian"
    metrics = root / "metrics" / WHERE["model"] / WHERE["category"]

    print(
        f"preprocess and the default flow's metrics: {snakemake('preprocess', config=config):.0f} s"
    )
    default_target = metrics / "learned" / "metrics.yaml"
    print(
        f"default flow, trained and scored: {snakemake(str(default_target), config=config):.0f} s"
    )
    default_loss = yaml.safe_load(default_target.read_text())["loss_test"]

    if args.grid:
        seconds = snakemake("hyperparameter_scan", config=config)
        table = pd.read_csv(root / "hyperparameter_scan" / "Gaussian" / "inclusive" / "trials.csv")
        best_grid = int(table.loc[table["value"].idxmin(), "trial"])
        chosen = yaml.safe_load(
            (
                root / "hyperparameter_scan" / "Gaussian" / "inclusive" / "best_architecture.yaml"
            ).read_text()
        )
        print(f"\ngrid of {len(table)} points: {seconds:.0f} s wall on 2 cores")
        print(
            table[["trial", "num_coupling_layers", "learning_rate", "value"]].to_string(index=False)
        )
        print(
            f"collect chose num_coupling_layers={chosen['num_coupling_layers']}, "
            f"learning_rate={chosen['learning_rate']} (trial {best_grid} is the minimum)"
        )

    tuning = root / "bayesian_tuning" / "Gaussian" / "inclusive"
    # A fresh study: the one a previous run left would be continued, not measured.
    shutil.rmtree(tuning, ignore_errors=True)
    log = root / "logs" / "bayesian_tuning_worker" / "Gaussian_inclusive_1.log"
    start = time.perf_counter()
    run = subprocess.Popen(
        [SNAKEMAKE, "--cores", "2", "bayesian_tuning", "--configfile", str(config)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    killed = None
    while args.kill and run.poll() is None and killed is None:
        trials = study_trials(tuning / "study.journal")
        mine = [t for t in trials if t.user_attrs.get("worker") == 1]
        if (
            len(mine) >= 2
            and mine[-1].state.name == "RUNNING"
            and len(mine[-1].intermediate_values) >= 3
        ):
            pid = worker_pid(log)
            if pid is not None:
                os.kill(pid, signal.SIGKILL)
                killed = mine[-1].number
                after = time.perf_counter() - start
                print(f"\nkilled worker 1 (pid {pid}) in trial {killed} after {after:.0f} s")
        time.sleep(2)
    run.wait()
    first = time.perf_counter() - start
    rerun = snakemake("bayesian_tuning", config=config)
    trials = study_trials(tuning / "study.journal")
    states = pd.Series([t.state.name for t in trials]).value_counts().to_dict()
    table = pd.read_csv(tuning / "trials.csv")
    complete = table[table["state"] == "COMPLETE"]
    best_tuning = complete.loc[complete["value"].idxmin()]
    print(
        f"Bayesian study, {args.trials} trials in {args.workers} workers: {first:.0f} s "
        f"+ {rerun:.0f} s after the kill = {first + rerun:.0f} s wall; trials {states}"
    )
    shown = [
        "trial",
        "state",
        "worker",
        "retry_of",
        "seconds",
        "num_coupling_layers",
        "affine_units_per_dense_layer",
        "spline_units_per_dense_layer",
        "spline_bins",
        "learning_rate",
        "value",
    ]
    print(table[shown].to_string(index=False))

    print("\nloss_test (mean -log p of the test events; lower is better)")
    print(f"  default architecture: {default_loss:.5f}")
    if args.grid:
        grid_best = table_value(root, "hyperparameter_scan", best_grid)
        print(f"  grid best (trial {best_grid}):  {grid_best:.5f}")
    print(f"  Bayesian best (trial {int(best_tuning['trial'])}): {best_tuning['value']:.5f}")
    truth = metrics / "truth" / "metrics.yaml"
    snakemake(str(truth), config=config)
    print(f"  true density (the floor): {yaml.safe_load(truth.read_text())['loss_test']:.5f}")

    if not args.closure:
        return
    seconds = snakemake("summaries", config=config)
    default_chi2 = closure_chi2(root)
    print(f"\nclosure with the default flow: {seconds:.0f} s; chi2 {default_chi2}")
    config.write_text(yaml.safe_dump({**base, "density_architecture": "best_of_tuning"}))
    seconds = snakemake("summaries", config=config)
    tuned_chi2 = closure_chi2(root)
    print(f"closure with the Bayesian best: {seconds:.0f} s; chi2 {tuned_chi2}")


def table_value(root: Path, search: str, trial: int) -> float:
    table = pd.read_csv(root / search / "Gaussian" / "inclusive" / "trials.csv")
    return float(table.loc[table["trial"] == trial, "value"].iloc[0])


if __name__ == "__main__":
    main()
