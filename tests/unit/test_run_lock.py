"""The results-directory lock: held, free, stale, or from another host, with other processes."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from innfer_lib.core.run_lock import LOCK_FILE, ResultsLock, ResultsLockError

REPO = Path(__file__).resolve().parents[2]

# Another run: takes the lock, says so, and on a line from stdin releases it ("release") or
# dies without releasing, as a SIGKILLed controller does ("die").
HOLDER = textwrap.dedent(
    """
    import os, sys
    from innfer_lib.core.run_lock import ResultsLock

    lock = ResultsLock(sys.argv[1])
    lock.acquire()
    print("held", flush=True)
    if sys.stdin.readline().strip() == "release":
        lock.release()
    else:
        os._exit(0)
    """
)


class Holder:
    """A process of this host that holds the lock of `directory` until told otherwise."""

    def __init__(self, directory: Path, cwd: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(directory)],
            cwd=cwd,
            env={**os.environ, "PYTHONPATH": str(REPO / "scripts")},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None and self.proc.stdout.readline() == "held\n"

    def end(self, how: str) -> None:
        self.proc.communicate(how + "\n", timeout=30)
        assert self.proc.returncode == 0


def test_acquire_records_the_holder_and_release_removes_it(tmp_path: Path) -> None:
    lock = ResultsLock(tmp_path / "results" / "Analysis")
    lock.acquire()
    holder = yaml.safe_load((tmp_path / "results" / "Analysis" / LOCK_FILE).read_text())
    assert holder["pid"] == os.getpid() and holder["host"] == socket.gethostname()
    assert holder["working_directory"] == os.getcwd() and holder["since"]
    lock.release()
    lock.release()
    assert not (tmp_path / "results" / "Analysis" / LOCK_FILE).exists()


def test_nolock_takes_nothing(tmp_path: Path) -> None:
    ResultsLock(tmp_path / "results").acquire(enabled=False)
    assert not (tmp_path / "results").exists()


def test_a_held_lock_names_the_directory_and_its_holder(tmp_path: Path) -> None:
    directory = tmp_path / "results"
    holder = Holder(directory, cwd=tmp_path)
    lock = ResultsLock(directory)
    with pytest.raises(ResultsLockError) as err:
        lock.acquire()
    message = str(err.value)
    for name in (str(directory), str(directory / LOCK_FILE), f"pid {holder.proc.pid}"):
        assert name in message
    assert socket.gethostname() in message and f"working directory {tmp_path}" in message
    holder.end("release")
    lock.acquire()
    lock.release()


def test_a_stale_lock_is_taken_over_with_a_warning(tmp_path: Path, caplog) -> None:
    directory = tmp_path / "results"
    holder = Holder(directory, cwd=tmp_path)
    holder.end("die")
    assert (directory / LOCK_FILE).exists()
    lock = ResultsLock(directory)
    with caplog.at_level(logging.WARNING, logger="innfer"):
        lock.acquire()
    assert f"stale lock of results directory {directory}" in caplog.text
    assert f"pid {holder.proc.pid}" in caplog.text
    assert yaml.safe_load((directory / LOCK_FILE).read_text())["pid"] == os.getpid()
    lock.release()


@pytest.mark.parametrize("where", ["another host", "a live process"])
def test_a_lock_that_may_be_live_is_not_taken_over(tmp_path: Path, where: str) -> None:
    # Another host's run cannot be checked from here; a live pid with a free flock means a
    # reused pid or a filesystem without flock. Both stop the run, naming the holder.
    directory = tmp_path / "results"
    directory.mkdir()
    host = "elsewhere.example.org" if where == "another host" else socket.gethostname()
    with subprocess.Popen(["sleep", "60"]) as live:
        record = {"host": host, "pid": live.pid, "working_directory": "/x", "since": "then"}
        (directory / LOCK_FILE).write_text(yaml.safe_dump(record))
        with pytest.raises(ResultsLockError, match="may be in use by another run") as err:
            ResultsLock(directory).acquire()
        live.kill()
    assert f"pid {live.pid} on host {host}" in str(err.value)
    assert f"remove {directory / LOCK_FILE}" in str(err.value)
    assert yaml.safe_load((directory / LOCK_FILE).read_text()) == record
