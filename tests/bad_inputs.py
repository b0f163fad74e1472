"""The bad-input catalogue's checks: what a user must see when an input is wrong.

Every case of the catalogue (configs, data files, expressions, architectures, runtime faults)
runs the workflow as a user would and asserts the same four things, so the rules live here
once:

1. the run fails (non-zero exit);
2. the message names what the user must fix: the file and the key or column;
3. no traceback reaches the user (terminal or job log), and the message is short;
4. nothing half-made is left behind, and the corrected input then runs through.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from innfer_lib.core.paths import Paths
from innfer_lib.core.run_lock import LOCK_FILE
from innfer_lib.data.benchmarks import get_benchmark
from tests.conftest import REPO, snakemake_command

#: Lines a config error may print at most (the whole failure, Snakemake's own lines included).
MAX_CONFIG_ERROR_LINES = 12
#: A failed job prints Snakemake's banner and job block (~60 lines) around the message; a
#: library traceback printed in the terminal and again from the log took 200 more.
MAX_JOB_ERROR_LINES = 70
#: What each job that ran fine before the failing one adds (its block and progress lines).
LINES_PER_UPSTREAM_JOB = 15


@dataclass
class Failure:
    """What a failed run showed: its exit code, the terminal, and every job log it wrote."""

    returncode: int
    terminal: str
    logs: str

    @property
    def text(self) -> str:
        return self.terminal + "\n" + self.logs


def run_workflow(
    *args: str, results_dir: Path | None = None, timeout: int = 600
) -> subprocess.CompletedProcess:
    """`snakemake <args>` from the repository root, as a user types it."""
    return subprocess.run(
        snakemake_command() + list(args),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def job_logs(results_dir: Path | None) -> str:
    """The text of every job log under a results directory."""
    if results_dir is None or not results_dir.exists():
        return ""
    return "\n".join(
        p.read_text(errors="replace") for p in sorted(results_dir.rglob("logs/**/*.log"))
    )


def run_failing(*args: str, results_dir: Path | None = None, timeout: int = 600) -> Failure:
    """Run the workflow and return what a failing run showed; it must fail."""
    proc = run_workflow(*args, results_dir=results_dir, timeout=timeout)
    failure = Failure(proc.returncode, proc.stdout + proc.stderr, job_logs(results_dir))
    assert failure.returncode != 0, f"expected a failure, the run succeeded:\n{failure.terminal}"
    return failure


def assert_names(failure: Failure, *names: str) -> None:
    """The message names every one of `names` (file, key path, column, value ...)."""
    missing = [n for n in names if n not in failure.text]
    assert not missing, f"the message does not name {missing}:\n{failure.text[-3000:]}"


def assert_no_traceback(failure: Failure) -> None:
    assert "Traceback" not in failure.text, failure.text[-3000:]


def assert_short(failure: Failure, max_lines: int = MAX_CONFIG_ERROR_LINES) -> None:
    """A config error is one or two lines, not a schema dump or a library traceback."""
    lines = [line for line in failure.terminal.splitlines() if line.strip()]
    assert len(lines) <= max_lines, f"{len(lines)} lines:\n{failure.terminal}"


def assert_job_message(failure: Failure, text: str, upstream_jobs: int = 0) -> None:
    """The job's message reaches the terminal once, and once more from the job log."""
    lines = [line for line in failure.terminal.splitlines() if text in line]
    assert 1 <= len(lines) <= 2, failure.terminal
    assert_no_traceback(failure)
    assert_short(failure, MAX_JOB_ERROR_LINES + LINES_PER_UPSTREAM_JOB * upstream_jobs)


def assert_no_leftovers(results_dir: Path, *outputs: Path) -> None:
    """The failing job's outputs, atomic-write temporaries (`.<name>.*`), the run's lock: gone."""
    left = [p for p in outputs if p.exists()]
    left += list(results_dir.rglob(LOCK_FILE)) if results_dir.exists() else []
    assert not left, f"left behind: {left}"
    if results_dir.exists():
        hidden = [p for p in results_dir.rglob(".*") if p.is_file() and ".snakemake" not in p.parts]
        assert not hidden, f"temporary files left behind: {hidden}"


def events(n: int = 2000) -> pd.DataFrame:
    """Dim1Gaussian-like simulation over the benchmark's Y1 range, plus a spare column `run`."""
    rng = np.random.default_rng(0)
    y = rng.choice(np.linspace(171.0, 175.0, 9), n)
    return pd.DataFrame({"Y1": y, "X1": rng.normal(y, 1.7), "wt": np.ones(n), "run": 3.0})


class Case:
    """A user's analysis (the Dim1Gaussian benchmark's config) reading files in `tmp_path`.

    A case breaks one thing (a key of the analysis config, the input file, the data file), runs
    the workflow as a user would, and then puts it right to show the rerun recovers.
    """

    def __init__(self, tmp_path: Path, frame: pd.DataFrame | None = None) -> None:
        self.tmp = tmp_path
        self.inputs = tmp_path / "inputs"
        self.inputs.mkdir()
        self.results = tmp_path / "results"
        self.marker = tmp_path / "marker"
        self.analysis = tmp_path / "analysis.yaml"
        self.config = tmp_path / "config.yaml"
        self.raw = get_benchmark("Dim1Gaussian").analysis_config(str(self.inputs))
        self.input_file = self.inputs / "Gaussian.parquet"
        self.data_file = Path(self.raw["data_file"])
        self.write_frame(frame if frame is not None else events())
        self.write_frame(events(300)[["X1"]], self.data_file)
        self.write_analysis()
        self.workflow_config: dict[str, Any] = {
            "analysis": str(self.analysis),
            "densities": ["learned"],
            "results_dir": str(self.results),
        }
        self.write_config()
        self.paths = Paths.for_analysis(self.results, self.raw["name"])
        self.loaded = Path(self.paths.format(self.paths.loaded, file="base"))

    def write_frame(self, frame: pd.DataFrame, path: Path | None = None) -> None:
        frame.to_parquet(path or self.input_file)

    def write_analysis(self) -> None:
        self.analysis.write_text(yaml.safe_dump(self.raw))

    def write_config(self) -> None:
        self.config.write_text(yaml.safe_dump(self.workflow_config))

    def set(self, key: str, value: Any) -> None:
        """Set `files.base.<key>` and write the analysis config."""
        self.raw["files"]["base"][key] = value
        self.write_analysis()

    def fails(self, target: Path | str, *args: str) -> Failure:
        return run_failing(
            str(target), *args, "--configfile", str(self.config), results_dir=self.results
        )

    def passes(self, target: Path | str, *args: str) -> None:
        proc = run_workflow(str(target), *args, "--configfile", str(self.config))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        if "-n" not in args:
            assert Path(target).exists(), f"{target} was not made"

    def dry_run_fails(self) -> Failure:
        return self.fails(self.loaded, "-n")

    def assert_config_rejected(self, *names: str) -> Failure:
        """A dry run stops at parse time: a short message, no traceback, naming the analysis
        file and every one of `names`, and no job ran (no results directory)."""
        failure = self.dry_run_fails()
        assert_names(failure, str(self.analysis), *names)
        assert_no_traceback(failure)
        assert_short(failure)
        assert not self.results.exists(), "a job ran before the config was rejected"
        return failure

    def load_data_fails(self) -> Failure:
        return self.fails(self.loaded)

    def assert_dry_run_passes(self) -> None:
        self.passes(self.loaded, "-n")

    def assert_load_data_passes(self) -> None:
        self.passes(self.loaded)


#: A flow that trains in a second: the catalogue's faults need a trained model, not a good one.
TINY_FLOW = {
    "num_coupling_layers": 1,
    "affine_units_per_dense_layer": 8,
    "spline_units_per_dense_layer": 8,
    "spline_bins": 4,
    "batch_size": 512,
}


def tiny_flow_config(tmp_path: Path, epochs: int = 1) -> tuple[Path, Paths]:
    """A workflow config of the Dim1Gaussian benchmark with a tiny learned flow, and its paths."""
    results = tmp_path / "results"
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "results_dir": str(results),
                "benchmark": {"name": "Dim1Gaussian", "events": 2000},
                "densities": ["learned"],
                "density_architecture_overrides": {**TINY_FLOW, "epochs": epochs},
            }
        )
    )
    return cfg, Paths.for_analysis(results, "Benchmark_Dim1Gaussian")
