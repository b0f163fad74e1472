"""One run at a time writes an analysis's results: a lock file its controlling snakemake holds.

Snakemake's own lock lives in the working directory's `.snakemake/`, so two checkouts (or two
working directories) whose configs name the same absolute `results_dir` would run side by side
and overwrite each other's outputs. The Snakefile's `onstart` hook takes this lock on the
analysis's results directory (`<results_dir>/<analysis>`: two analyses sharing a `results_dir`
write disjoint trees) and `onsuccess`/`onerror` release it; an exit that skips those hooks
(an exception in the scheduler) releases it at interpreter exit.

Which runs take it follows from when Snakemake calls the hooks: only a real run of the main
process. Dry runs (`-n`), `--unlock`, `--report`, `--lint`, `--dag`/`--rulegraph`, `--list-*`
and a run with nothing to do never call `onstart`; the per-job `snakemake` that a cluster
executor (HTCondor) spawns is started with `--no-hooks`, so only the controller ever holds the
lock. `--nolock` skips it, as it skips Snakemake's own lock.

The lock is the file `innfer.lock`, created with O_CREAT|O_EXCL (atomic on local filesystems
and on NFSv3 and later, unlike `flock`, which NFS may not share between hosts) and holding the
holder's host, pid, working directory and start time. When the file exists:

- written by a live process of this host: the run stops before any job, naming the holder and
  the lock file;
- written by a process of this host that no longer exists (a SIGKILLed controller): stale,
  taken over with a warning;
- written by another host: that run may still be going, and its pid cannot be checked from
  here, so the run stops and says to remove the file if that run is over.

Limits: two runs that find the same stale lock at the same instant could both take it over
(each checks that the file is still the stale one just before removing it, which leaves a
window of microseconds). A process of this host that reuses the dead holder's pid makes the
lock look held; the message then says how to remove it. The lock covers what a run writes;
`--delete-all-output` and hand edits are not guarded.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime
import logging
import os
import socket
import sys
import time
from pathlib import Path

import yaml

from innfer_lib.core.errors import InnferError

LOG = logging.getLogger("innfer")

#: The lock file's name inside the analysis's results directory.
LOCK_FILE = "innfer.lock"
#: How long a lock file may stay empty: the moment between its creation and its content.
_EMPTY_GRACE_SECONDS = 2.0
# Attempts to create the lock file when stale ones keep being replaced (see `acquire`).
_ATTEMPTS = 5


class ResultsLockError(InnferError):
    """The results directory is (or may be) held by another run, or cannot be locked."""


def _holder_text(holder: dict) -> str:
    """The holder as a user reads it: pid, host, working directory and start time."""
    if not holder:
        return "a run that has not written its details (an empty or unreadable lock file)"
    return (
        f"snakemake pid {holder.get('pid', '?')} on host {holder.get('host', '?')} "
        f"(working directory {holder.get('working_directory', '?')}, "
        f"since {holder.get('since', '?')})"
    )


def _read_holder(path: Path) -> dict | None:
    """The holder a lock file records: {} if empty or unreadable, None if it does not exist."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError:
        return {}
    try:
        holder = yaml.safe_load(text)
    except yaml.YAMLError:
        return {}
    return holder if isinstance(holder, dict) else {}


def _pid_alive(pid: object) -> bool:
    """Whether a process of this host has that pid (also one of another user)."""
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
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
        self._mine: dict | None = None

    def acquire(self, enabled: bool = True) -> None:
        """Take the lock for this process, or raise ResultsLockError naming the holder.

        Args:
            enabled: False (Snakemake's `--nolock`) skips the lock altogether.
        """
        if not enabled or self._mine is not None:
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise self._cannot(err) from None
        for _ in range(_ATTEMPTS):
            if self._create():
                atexit.register(self.release)
                return
            holder = self._settled_holder()
            if holder is None:
                continue  # released meanwhile: try again
            self._take_over_if_stale(holder)
        raise ResultsLockError(f"results directory {self.directory}: {self.path} keeps changing")

    def release(self) -> None:
        """Remove the lock file if it is still this run's; a no-op when this run holds none."""
        mine, self._mine = self._mine, None
        if mine is None:
            return
        atexit.unregister(self.release)
        # Someone may have removed a lock they took for stale, and another run taken it.
        if _read_holder(self.path) == mine:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)

    def _create(self) -> bool:
        """Create the lock file with this run's details; False if it exists already."""
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        except OSError as err:
            raise self._cannot(err) from None
        mine = self._me()
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(yaml.safe_dump(mine, sort_keys=False))
            stream.flush()
            os.fsync(stream.fileno())
        self._mine = mine
        return True

    def _settled_holder(self) -> dict | None:
        """The existing lock file's holder, waiting out the instant between create and write."""
        deadline = time.monotonic() + _EMPTY_GRACE_SECONDS
        while True:
            holder = _read_holder(self.path)
            if holder or holder is None or time.monotonic() > deadline:
                return holder
            time.sleep(0.1)

    def _take_over_if_stale(self, holder: dict) -> None:
        """Remove a lock file left by a dead run of this host; raise for any other."""
        if not holder or holder.get("host") != socket.gethostname():
            raise self._in_use(holder, "may be in use by")
        if _pid_alive(holder.get("pid")):
            raise self._in_use(holder, "is in use by")
        # Remove it only if it is still the stale one: another run may have taken it over.
        if _read_holder(self.path) != holder:
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
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

    def _cannot(self, err: OSError) -> ResultsLockError:
        return ResultsLockError(
            f"results directory {self.directory}: cannot create the lock file {self.path} "
            f"({err.strerror}); `--nolock` runs without it (and without Snakemake's own lock)"
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
