"""One run at a time writes an analysis's results: a lock file its controlling snakemake holds.

Snakemake's own lock lives in the working directory's `.snakemake/`, so two checkouts (or two
working directories) whose configs name the same absolute `results_dir` would run side by side
and overwrite each other's outputs. The Snakefile's `onstart` hook takes this lock on the
analysis's results directory (`<results_dir>/<analysis>`: two analyses sharing a `results_dir`
write disjoint trees, as Snakemake's own per-file lock allows) and `onsuccess`/`onerror`
release it; Ctrl-C reaches `onerror`, and an exit that skips the hooks releases it at exit.

Which runs take it follows from when Snakemake calls the hooks: only a real run of the main
process. Dry runs (`-n`), `--report`, `--lint`, `--dag`/`--rulegraph`, `--list-*` and a run with
nothing to do never call `onstart`; the per-job `snakemake` that a cluster executor (HTCondor)
or the local executor spawns is started with `--no-hooks` (snakemake/spawn_jobs.py), so only
the controller ever holds the lock. `--nolock` skips it, as it skips Snakemake's own lock.

The mechanism is `fcntl.flock` on `innfer.lock`, which the kernel releases when the holder dies
however it dies, plus the holder's host, pid, working directory and start time in the file:

- held (flock refused): the run stops before any job with a message naming the directory, the
  holder and the lock file;
- free, last written by a process of this host that no longer exists (a SIGKILLed controller):
  stale, taken over with a warning;
- free, written by another host: that run may still be going on a shared filesystem whose
  flock is not shared between hosts (NFS without lock support, some FUSE mounts), and its pid
  cannot be checked from here, so the run stops and says to remove the file if that run is over.

Limits: across hosts the guard relies on the filesystem sharing flock; where it does not, two
runs that start on different hosts at the same moment may both proceed. The lock covers what a
run writes; `--delete-all-output` and hand edits are not guarded.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime
import errno
import fcntl
import logging
import os
import socket
import sys
from pathlib import Path
from typing import IO

import yaml

from innfer_lib.core.errors import InnferError

LOG = logging.getLogger("innfer")

#: The lock file's name inside the analysis's results directory.
LOCK_FILE = "innfer.lock"
# Attempts to lock a file that another run removes at the same moment (see `_lock_file`).
_ATTEMPTS = 5


class ResultsLockError(InnferError):
    """The results directory is (or may be) held by another run, or cannot be locked."""


def _holder_text(holder: dict) -> str:
    """The holder as a user reads it: pid, host, working directory and start time."""
    if not holder:
        return "a run whose details are not written yet"
    return (
        f"snakemake pid {holder.get('pid', '?')} on host {holder.get('host', '?')} "
        f"(working directory {holder.get('working_directory', '?')}, "
        f"since {holder.get('since', '?')})"
    )


def _read_holder(stream: IO[str]) -> dict:
    """The holder the lock file records, or {} if it is empty or not readable."""
    stream.seek(0)
    try:
        holder = yaml.safe_load(stream.read())
    except yaml.YAMLError:
        return {}
    return holder if isinstance(holder, dict) else {}


def _pid_alive(pid: object) -> bool:
    """Whether a process of this host has that pid (also one of another user)."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ResultsLock:
    """The lock of one results directory, held by the snakemake process that runs there."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory).resolve()
        self.path = self.directory / LOCK_FILE
        self._stream: IO[str] | None = None

    def acquire(self, enabled: bool = True) -> None:
        """Take the lock for this process, or raise ResultsLockError naming the holder.

        Args:
            enabled: False (Snakemake's `--nolock`) skips the lock altogether.
        """
        if not enabled or self._stream is not None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        stream = self._lock_file()
        try:
            self._check_previous(_read_holder(stream))
            stream.seek(0)
            stream.truncate()
            stream.write(yaml.safe_dump(self._me(), sort_keys=False))
            stream.flush()
            os.fsync(stream.fileno())
        except BaseException:
            stream.close()
            raise
        self._stream = stream
        atexit.register(self.release)

    def release(self) -> None:
        """Remove the lock file and let go; a no-op when this process does not hold it."""
        stream, self._stream = self._stream, None
        if stream is None:
            return
        atexit.unregister(self.release)
        # Unlink while still holding the flock: a run that opened the old file meanwhile
        # sees that its inode is gone and starts over on a fresh file (`_lock_file`).
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        stream.close()

    def _lock_file(self) -> IO[str]:
        """Open the lock file and flock it; raise ResultsLockError if another process holds it."""
        for _ in range(_ATTEMPTS):
            stream = open(self.path, "a+", encoding="utf-8")  # stays open while held
            try:
                fcntl.flock(stream.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as err:
                holder = _read_holder(stream)
                stream.close()
                if err.errno != errno.EWOULDBLOCK:
                    raise ResultsLockError(
                        f"results directory {self.directory}: cannot lock {self.path} ({err}); "
                        "`--nolock` runs without the lock (and without Snakemake's own)"
                    ) from None
                raise self._in_use(holder, "is in use by") from None
            # The holder before us may have removed the file between our open and our flock:
            # then we hold a lock on a file nobody else sees, and must try the new one.
            with contextlib.suppress(FileNotFoundError):
                if os.stat(self.path).st_ino == os.fstat(stream.fileno()).st_ino:
                    return stream
            stream.close()
        raise ResultsLockError(f"results directory {self.directory}: {self.path} keeps changing")

    def _check_previous(self, holder: dict) -> None:
        """Accept a lock file left by a dead run of this host; refuse one from another host."""
        if not holder:
            return
        if holder.get("host") != socket.gethostname():
            raise self._in_use(holder, "may be in use by")
        if _pid_alive(holder.get("pid")):
            # flock was free, yet the recorded process lives: its pid was reused, or the
            # filesystem does not honour flock. Refusing is the safe side of both.
            raise self._in_use(holder, "may be in use by")
        LOG.warning(
            "innfer: taking over the stale lock of results directory %s: %s is gone",
            self.directory,
            _holder_text(holder),
        )

    def _in_use(self, holder: dict, verb: str) -> ResultsLockError:
        return ResultsLockError(
            f"results directory {self.directory} {verb} another run: {_holder_text(holder)}.\n"
            f"Wait for that run to finish; if that process is gone, remove {self.path} "
            "and start again."
        )

    @staticmethod
    def _me() -> dict:
        return {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "working_directory": os.getcwd(),
            "since": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "command": " ".join(sys.argv),
        }
