"""Runs that share a results directory, and jobs whose controller is gone (issue 14, item 7).

The bad-input catalogue's runtime faults of this class: a second run on a results directory
another run holds, a stale lock, a lock from another host, and the commands that only read the
workflow (which must neither take the lock nor fail on it). The slow scenario runs two real
checkouts on one results directory, kills the first one's `snakemake`, and checks that its
training job stops, that TensorFlow's start-up lines stayed in the job log, and that the second
checkout then takes the stale lock over and runs.
"""

from __future__ import annotations

import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from innfer_lib.core.paths import Paths
from innfer_lib.core.run_lock import LOCK_FILE
from tests.bad_inputs import (
    assert_names,
    assert_no_leftovers,
    assert_no_traceback,
    assert_short,
    run_failing,
    run_workflow,
    tiny_flow_config,
)
from tests.conftest import REPO, snakemake_command
from tests.lock_holder import Holder

ANALYSIS = "Benchmark_Dim1Gaussian"
#: A run refused before its first job prints Snakemake's banner and job table (~30 lines) and
#: then the four-line message.
MAX_REFUSAL_LINES = 45
# What TensorFlow's C++ runtime prints at start-up (absl's pre-init note, glog-style lines).
TF_LINE = re.compile(r"absl::InitializeLog|^[IWEF]\d{4} |oneDNN|cuda", re.M)


def loaded(paths: Paths) -> str:
    """A target two quick jobs away (make_benchmark, load_data): no TensorFlow."""
    return paths.format(paths.loaded, file="base")


@pytest.fixture
def setup(tmp_path: Path):
    cfg, paths = tiny_flow_config(tmp_path)
    return cfg, paths, Path(paths.root)


def test_a_held_results_dir_stops_a_second_run(setup, tmp_path: Path) -> None:
    cfg, paths, root = setup
    holder = Holder(root, cwd=tmp_path / "other_checkout")
    first_output = root / "models" / "first_run.txt"
    first_output.parent.mkdir(parents=True)
    first_output.write_text("written by the first run")
    before = first_output.stat().st_mtime_ns

    failure = run_failing(loaded(paths), "--cores", "1", "--configfile", str(cfg))
    assert_names(
        failure,
        f"results directory {root} is in use by another run",
        f"pid {holder.proc.pid} on host {socket.gethostname()}",
        f"working directory {tmp_path / 'other_checkout'}",
        f"remove {root / LOCK_FILE}",
    )
    assert_no_traceback(failure)
    assert_short(failure, MAX_REFUSAL_LINES)
    message = failure.terminal[failure.terminal.index("WorkflowError") :]
    assert len(message.strip().splitlines()) <= 4, message
    # The first run's files are untouched, and the second run started no job.
    assert first_output.read_text() == "written by the first run"
    assert first_output.stat().st_mtime_ns == before
    assert not (root / "logs").exists() and not Path(loaded(paths)).exists()

    holder.end("release")
    assert_no_leftovers(root, Path(loaded(paths)))
    proc = run_workflow(loaded(paths), "--cores", "1", "--configfile", str(cfg))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert Path(loaded(paths)).exists() and not (root / LOCK_FILE).exists()


def test_a_stale_lock_is_taken_over(setup, tmp_path: Path) -> None:
    cfg, paths, root = setup
    holder = Holder(root, cwd=tmp_path)
    holder.end("die")
    assert (root / LOCK_FILE).exists()
    proc = run_workflow(loaded(paths), "--cores", "1", "--configfile", str(cfg))
    terminal = proc.stdout + proc.stderr
    assert proc.returncode == 0, terminal
    assert f"taking over the stale lock of results directory {root}" in terminal
    assert f"pid {holder.proc.pid} on host {socket.gethostname()}" in terminal
    assert Path(loaded(paths)).exists() and not (root / LOCK_FILE).exists()


def test_a_lock_from_another_host_is_respected(setup) -> None:
    cfg, paths, root = setup
    root.mkdir(parents=True)
    record = {"host": "node7.example.org", "pid": 4242, "working_directory": "/home/u/innfer"}
    (root / LOCK_FILE).write_text(yaml.safe_dump(record))
    failure = run_failing(loaded(paths), "--cores", "1", "--configfile", str(cfg))
    assert_names(
        failure,
        f"results directory {root} may be in use by another run",
        "pid 4242 on host node7.example.org",
        f"remove {root / LOCK_FILE}",
    )
    assert_no_traceback(failure)
    assert_short(failure, MAX_REFUSAL_LINES)
    assert yaml.safe_load((root / LOCK_FILE).read_text()) == record

    (root / LOCK_FILE).unlink()
    assert_no_leftovers(root, Path(loaded(paths)))
    proc = run_workflow(loaded(paths), "--cores", "1", "--configfile", str(cfg))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_commands_that_only_read_the_workflow_or_say_nolock_ignore_the_lock(
    setup, tmp_path: Path
) -> None:
    cfg, paths, root = setup
    holder = Holder(root, cwd=tmp_path)
    record = (root / LOCK_FILE).read_text()
    commands = {
        "dry run": [loaded(paths), "-n"],
        "dag": ["--dag"],
        "rulegraph": ["--rulegraph"],
        "lint": ["--lint"],
        # Fails here for its own reason (nothing has been run), never on the lock.
        "report": ["--report", str(tmp_path / "report.html")],
        "unlock": ["--unlock"],
        # Runs, as Snakemake's own --nolock does, and leaves the other run's lock alone.
        "nolock": [loaded(paths), "--cores", "1", "--nolock"],
    }
    for name, args in commands.items():
        proc = run_workflow(*args, "--configfile", str(cfg))
        terminal = proc.stdout + proc.stderr
        assert "in use by another run" not in terminal and "stale lock" not in terminal, name
        assert proc.returncode == 0 or name == "report", f"{name}:\n{terminal}"
    assert (root / LOCK_FILE).read_text() == record
    holder.end("release")


# --- two real checkouts, one killed --------------------------------------------------------


def checkout(tmp_path: Path, name: str) -> Path:
    """A copy of the workflow's sources: another working directory, with its own .snakemake."""
    copy = tmp_path / name
    for part in ("workflow", "rules", "scripts", "config", "profiles", "resources", "envs"):
        shutil.copytree(REPO / part, copy / part, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def descendants(pid: int) -> list[int]:
    """Every process below `pid`, from /proc."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        children = [p for p, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def wait_for(predicate, timeout: float, what: str) -> float:
    start = time.monotonic()
    while not predicate():
        assert time.monotonic() - start < timeout, f"{what} within {timeout} s"
        time.sleep(0.1)
    return time.monotonic() - start


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process tree")
def test_two_checkouts_one_results_dir_and_a_killed_controller(tmp_path: Path) -> None:
    # Checkout A trains "forever"; checkout B, on the same results directory, must be
    # refused while A runs. Then A's snakemake is SIGKILLed: its training job must stop
    # within seconds, and B takes the stale lock over and runs.
    cfg, paths = tiny_flow_config(tmp_path, epochs=100_000)
    root = Path(paths.root)
    a, b = checkout(tmp_path, "checkout_a"), checkout(tmp_path, "checkout_b")
    weights = paths.format(paths.flow_weights, model="Gaussian", category="inclusive")
    train_log = root / "logs" / "train_density" / "Gaussian_inclusive.log"
    a_terminal = tmp_path / "a_terminal.txt"
    with open(a_terminal, "w") as out:
        run_a = subprocess.Popen(
            snakemake_command() + [weights, "--cores", "2", "--configfile", str(cfg)],
            cwd=a,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(
            lambda: train_log.exists() and "epoch 1/" in train_log.read_text(), 180, "training"
        )
        preprocessed = sorted(p for p in (root / "preprocess").rglob("*") if p.is_file())
        stamps = [p.stat().st_mtime_ns for p in preprocessed]

        run_b = subprocess.run(
            snakemake_command() + [weights, "--cores", "2", "--configfile", str(cfg)],
            cwd=b,
            capture_output=True,
            text=True,
            timeout=120,
        )
        terminal_b = run_b.stdout + run_b.stderr
        assert run_b.returncode != 0
        assert f"results directory {root} is in use by another run" in terminal_b
        assert f"snakemake pid {run_a.pid} on host {socket.gethostname()}" in terminal_b
        assert f"working directory {a}" in terminal_b and "Traceback" not in terminal_b
        assert [p.stat().st_mtime_ns for p in preprocessed] == stamps
        assert run_a.poll() is None

        # TensorFlow's start-up lines went to the training job's log, none to A's terminal.
        assert TF_LINE.search(train_log.read_text())
        assert not TF_LINE.search(a_terminal.read_text()), a_terminal.read_text()

        # Every process below snakemake (the job's shell and python) must end with it.
        jobs = descendants(run_a.pid)
        assert any("train_density" in _cmdline(p) for p in jobs), "no training job found"
        run_a.send_signal(signal.SIGKILL)
        run_a.wait()
        seconds = wait_for(lambda: not any(alive(p) for p in jobs), 10, "the orphans stop")
        print(f"training job stopped {seconds:.1f} s after its snakemake was killed")
        assert f"(pid {run_a.pid}) is gone: stopping" in train_log.read_text()
        temporaries = [p for p in root.rglob(".*") if p.is_file()]
        assert not temporaries, f"the stopped job left {temporaries}"
    finally:
        if run_a.poll() is None:
            run_a.kill()
            run_a.wait()

    rerun = subprocess.run(
        snakemake_command()
        + [loaded(paths), "--forcerun", "load_data", "--cores", "2", "--configfile", str(cfg)],
        cwd=b,
        capture_output=True,
        text=True,
        timeout=300,
    )
    terminal = rerun.stdout + rerun.stderr
    assert rerun.returncode == 0, terminal
    assert f"taking over the stale lock of results directory {root}" in terminal
    assert f"snakemake pid {run_a.pid}" in terminal and not (root / LOCK_FILE).exists()


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""
