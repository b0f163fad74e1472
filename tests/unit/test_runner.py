"""The rule-script runner: output to the job log from the first line, and no orphaned jobs.

Every case runs a tiny script through `start_job`/`run` in its own process tree, the way
Snakemake runs a rule script (controller -> shell -> python), and kills processes for real.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from innfer_lib.core.controller import (
    CONTROLLER_ENV,
    ORPHAN_EXIT_STATUS,
    ancestors,
    watched_process,
)

REPO = Path(__file__).resolve().parents[2]

# A rule script in miniature: what it prints before `run` stands for TensorFlow's start-up
# lines, printed by the C++ runtime straight to file descriptor 2 while the imports run.
SCRIPT = textwrap.dedent(
    """
    import os, sys, time, types

    snakemake = types.SimpleNamespace(log=[sys.argv[1]], rule="tiny")

    from innfer_lib.core.runner import LOG, run, start_job

    start_job(snakemake)

    os.write(1, b"import-time line on fd 1\\n")
    os.write(2, b"I0000 cudart_stub.cc:31] Could not find cuda drivers\\n")

    from innfer_lib.core.errors import DataError
    from innfer_lib.core.io import atomic_path


    def main(smk):
        if sys.argv[2] == "error":
            raise DataError("data.parquet: column 'X1' is missing")
        if sys.argv[2] == "write":  # killed half-way through writing an output
            with atomic_path(sys.argv[1] + ".out") as tmp:
                tmp.write_text("half")
                LOG.info("main started in pid %d", os.getpid())
                time.sleep(float(sys.argv[3]))
        LOG.info("main started in pid %d", os.getpid())
        time.sleep(float(sys.argv[3]))


    run(snakemake, main)
    """
)

# A controller in miniature: marks itself, starts the job through a shell that outlives it
# (as Snakemake's shell does) and records the job's exit status, then waits.
CONTROLLER = textwrap.dedent(
    """
    import os, subprocess, sys
    from innfer_lib.core.controller import CONTROLLER_ENV, mark_controller

    if sys.argv[1] == "mark":
        mark_controller()
    elif sys.argv[1] == "other-host":
        os.environ[CONTROLLER_ENV] = f"node7.example.org {os.getpid()}"
    script, log, mode, seconds, status = sys.argv[2:]
    job = f"{sys.executable} {script} {log} {mode} {seconds}; echo $? > {status}"
    subprocess.run(["bash", "-c", job])
    """
)


def env(**extra: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if k != CONTROLLER_ENV}
    return {**clean, "PYTHONPATH": str(REPO / "scripts"), **extra}


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie waiting for a reaper counts as ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_for(predicate, timeout: float, what: str) -> float:
    """Seconds until `predicate()` holds; fails after `timeout`."""
    start = time.monotonic()
    while not predicate():
        assert time.monotonic() - start < timeout, f"{what} within {timeout} s"
        time.sleep(0.05)
    return time.monotonic() - start


def job_pid(log: Path) -> int:
    """The pid the job logged once its main started."""
    wait_for(lambda: "main started" in (log.read_text() if log.exists() else ""), 30, "job start")
    return int(log.read_text().split("main started in pid ")[1].split()[0])


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.py"
    path.write_text(SCRIPT)
    return path


def test_output_goes_to_the_log_from_the_first_line(script: Path, tmp_path: Path) -> None:
    log = tmp_path / "tiny.log"
    proc = subprocess.run(
        [sys.executable, str(script), str(log), "sleep", "0"],
        env=env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == proc.stderr == ""
    text = log.read_text()
    assert "import-time line on fd 1" in text and "Could not find cuda drivers" in text
    assert "main started" in text and "done in" in text


def test_innfer_profile_writes_the_jobs_profile(script: Path, tmp_path: Path) -> None:
    """INNFER_PROFILE: a pstats file per job and the top calls in the job log."""
    log = tmp_path / "tiny.log"
    proc = subprocess.run(
        [sys.executable, str(script), str(log), "sleep", "0.2"],
        env=env(INNFER_PROFILE=str(tmp_path / "profiles")),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    (path,) = (tmp_path / "profiles").glob("*.prof")
    assert path.name == "tiny.prof"
    import pstats

    stats = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
    assert any(name == "sleep" or "sleep" in name for _, _, name in stats)
    assert "profile written to" in log.read_text() and "cumulative" in log.read_text()


def test_an_innfer_error_is_one_line_on_the_terminal(script: Path, tmp_path: Path) -> None:
    log = tmp_path / "tiny.log"
    proc = subprocess.run(
        [sys.executable, str(script), str(log), "error"],
        env=env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stderr == "innfer error in rule tiny: data.parquet: column 'X1' is missing\n"
    assert "column 'X1' is missing" in log.read_text()
    assert "Traceback" not in proc.stderr + log.read_text()


def test_a_job_whose_parent_is_killed_exits(script: Path, tmp_path: Path) -> None:
    log = tmp_path / "tiny.log"
    parent = subprocess.Popen(
        [sys.executable, "-c", "import subprocess, sys; subprocess.run(sys.argv[1:])"]
        + [sys.executable, str(script), str(log), "sleep", "60"],
        env=env(),
    )
    pid = job_pid(log)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    seconds = wait_for(lambda: not alive(pid), 5, "the orphaned job exits")
    assert "is gone: stopping" in log.read_text()
    print(f"orphan exited {seconds:.2f} s after its parent was killed")


@pytest.mark.parametrize("mode", ["sleep", "write"])
def test_a_job_whose_controller_is_killed_exits_though_its_shell_lives(
    script: Path, tmp_path: Path, mode: str
) -> None:
    # "write": killed inside an atomic write, the job removes its temporary before it ends.
    log, status = tmp_path / "tiny.log", tmp_path / "status"
    controller = subprocess.Popen(
        [sys.executable, "-c", CONTROLLER, "mark", str(script), str(log), mode, "60", str(status)],
        env=env(),
    )
    pid = job_pid(log)
    controller.send_signal(signal.SIGKILL)
    controller.wait()
    seconds = wait_for(status.exists, 5, "the job under a killed controller exits")
    wait_for(lambda: status.read_text().strip() != "", 5, "the shell records the status")
    assert int(status.read_text()) == ORPHAN_EXIT_STATUS
    assert not alive(pid)
    assert f"(pid {controller.pid}) is gone" in log.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["status", "tiny.log", "tiny.py"]
    print(f"job exited {seconds:.2f} s after its controller was killed")


@pytest.mark.parametrize("marked", ["mark", "not-an-ancestor"])
def test_a_job_of_a_live_controller_runs_to_the_end(
    script: Path, tmp_path: Path, marked: str
) -> None:
    # "not-an-ancestor": the job inherits a controller that is no ancestor of it (a script
    # started by other means): it watches its parent and finishes normally.
    log, status = tmp_path / "tiny.log", tmp_path / "status"
    with subprocess.Popen(["sleep", "60"]) as elsewhere:
        host = socket.gethostname()
        extra = {} if marked == "mark" else {CONTROLLER_ENV: f"{host} {elsewhere.pid}"}
        proc = subprocess.run(
            [sys.executable, "-c", CONTROLLER, marked, str(script), str(log), "sleep", "2"]
            + [str(status)],
            env=env(**extra),
            timeout=60,
        )
        elsewhere.kill()
    assert proc.returncode == 0
    assert int(status.read_text()) == 0
    assert "done in" in log.read_text() and "is gone" not in log.read_text()


def test_a_controller_on_another_host_is_not_watched(script: Path, tmp_path: Path) -> None:
    # A cluster job's controller is on the submit host: the same pid here is another process,
    # even when it is an ancestor. Killing it must not stop the job while its shell lives.
    log, status = tmp_path / "tiny.log", tmp_path / "status"
    controller = subprocess.Popen(
        [sys.executable, "-c", CONTROLLER, "other-host", str(script), str(log), "sleep", "3"]
        + [str(status)],
        env=env(),
    )
    job_pid(log)
    controller.send_signal(signal.SIGKILL)
    controller.wait()
    wait_for(lambda: status.exists() and status.read_text().strip() != "", 30, "the job ends")
    assert int(status.read_text()) == 0
    assert "done in" in log.read_text() and "is gone" not in log.read_text()


@pytest.mark.parametrize(
    ("host", "watched"), [("this", "controller"), ("node7.example.org", "parent")]
)
def test_the_watched_process(monkeypatch, host: str, watched: str) -> None:
    chain = ancestors()
    if len(chain) < 2:
        pytest.skip("needs a grandparent process")
    host = socket.gethostname() if host == "this" else host
    monkeypatch.setenv(CONTROLLER_ENV, f"{host} {chain[1]}")
    assert watched_process() == (chain[1] if watched == "controller" else chain[0])
    monkeypatch.delenv(CONTROLLER_ENV)
    assert watched_process() == chain[0]
