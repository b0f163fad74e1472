"""The results-directory lock: held, free, stale, or from another host, with other processes."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
from pathlib import Path

import pytest
import yaml

from innfer_lib.core.run_lock import LOCK_FILE, ResultsLock, ResultsLockError
from tests.lock_holder import Holder


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


@pytest.mark.parametrize(
    ("host", "verb"), [("elsewhere.example.org", "may be in use by"), ("here", "is in use by")]
)
def test_a_lock_that_may_be_live_is_not_taken_over(tmp_path: Path, host: str, verb: str) -> None:
    # Another host's run cannot be checked from here; a live pid of this host holds it.
    directory = tmp_path / "results"
    directory.mkdir()
    host = socket.gethostname() if host == "here" else host
    with subprocess.Popen(["sleep", "60"]) as live:
        record = {"host": host, "pid": live.pid, "working_directory": "/x", "since": "then"}
        (directory / LOCK_FILE).write_text(yaml.safe_dump(record))
        with pytest.raises(ResultsLockError, match=f"{verb} another run") as err:
            ResultsLock(directory).acquire()
        live.kill()
    assert f"pid {live.pid} on host {host}" in str(err.value)
    assert f"remove {directory / LOCK_FILE}" in str(err.value)
    assert yaml.safe_load((directory / LOCK_FILE).read_text()) == record


def test_an_empty_lock_file_is_not_taken_over(tmp_path: Path) -> None:
    # Empty: a run between creating the file and writing it, or one that died right there.
    (tmp_path / LOCK_FILE).write_text("")
    with pytest.raises(ResultsLockError, match="may be in use by another run") as err:
        ResultsLock(tmp_path).acquire()
    assert "empty or unreadable lock file" in str(err.value)
    assert f"remove {tmp_path / LOCK_FILE}" in str(err.value)


def test_release_leaves_a_lock_that_is_no_longer_ours(tmp_path: Path) -> None:
    lock = ResultsLock(tmp_path)
    lock.acquire()
    other = {"host": "elsewhere.example.org", "pid": 7, "working_directory": "/x"}
    (tmp_path / LOCK_FILE).write_text(yaml.safe_dump(other))
    lock.release()
    assert yaml.safe_load((tmp_path / LOCK_FILE).read_text()) == other


def test_a_results_dir_that_cannot_be_locked_says_so(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only directories")
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(ResultsLockError) as err:
            ResultsLock(tmp_path).acquire()
    finally:
        tmp_path.chmod(0o700)
    assert f"cannot create the lock file {tmp_path / LOCK_FILE}" in str(err.value)
    assert "--nolock" in str(err.value)
