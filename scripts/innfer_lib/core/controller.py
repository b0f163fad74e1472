"""A local job stops when the snakemake process that runs the workflow is gone.

Killing only `snakemake` (SIGKILL, a lost ssh session, the OOM killer) does not end its local
jobs: Snakemake starts each through a shell, the shell keeps waiting on the job, and nothing
tells the job. A later run then starts the same job again and both write the same outputs.

So the controller writes its host and pid into the environment its jobs inherit
(`mark_controller`, called by the Snakefile's `onstart`), and every job watches its chain of
parent processes (`watch_controller`, started by the runner before the script's imports): when
that chain no longer reaches the controller, the job logs why and exits at once. The controller
is watched only when it is knowably this job's: on this host and among its ancestors. A job on
another host (a cluster job: the per-job `snakemake` on the execute node is its parent, the
controller is on the submit host) or one that cannot see the controller among its ancestors (a
script run by hand) watches its direct parent instead, which only fires if that parent dies,
i.e. if the job is an orphan on its own host. The chain is read from /proc (Linux); elsewhere
only the direct parent is watched.

The watch runs in a daemon thread that ends the process with `os._exit`: the main thread may be
inside a TensorFlow op or a Minuit fit for minutes, where neither a signal handler nor an
exception raised from another thread runs, and a job must not need to cooperate. Ending this
way is no harsher than the SIGKILL a job must survive anyway: every output is written to a
temporary and renamed into place, and training resumes from its per-epoch checkpoint. Before
it ends, it calls the `on_orphan_exit` callbacks, which remove the temporaries being written
(innfer_lib.core.io), so not even those are left behind.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

LOG = logging.getLogger("innfer")

#: The environment variable through which the controller's jobs learn it: "<host> <pid>".
CONTROLLER_ENV = "INNFER_CONTROLLER"
#: How often a job checks its ancestors (seconds): a few /proc reads each time.
POLL_SECONDS = 1.0
#: The exit status of a job that stopped because its controller is gone.
ORPHAN_EXIT_STATUS = 3


def mark_controller() -> None:
    """Make this process the controller that every job started from now on watches."""
    os.environ[CONTROLLER_ENV] = f"{socket.gethostname()} {os.getpid()}"


def _parent(pid: int) -> int | None:
    """The parent pid of `pid` from /proc, or None when there is no /proc or no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after it.
    return int(stat.rsplit(")", 1)[1].split()[1])


def ancestors() -> list[int]:
    """This process's parent, grandparent, ... up to (not including) init."""
    chain: list[int] = []
    pid: int | None = os.getppid()
    while pid is not None and pid > 1 and pid not in chain:
        chain.append(pid)
        pid = _parent(pid)
    return chain


def watched_process() -> int | None:
    """The pid this job must outlive: the controller if it is an ancestor, else the parent."""
    chain = ancestors()
    host, _, pid = os.environ.get(CONTROLLER_ENV, "").partition(" ")
    if host == socket.gethostname() and pid.isdigit() and int(pid) in chain:
        return int(pid)
    return chain[0] if chain else None


_ON_ORPHAN_EXIT: list[Callable[[], None]] = []


def on_orphan_exit(callback: Callable[[], None]) -> None:
    """Call `callback` (quick, no output) just before a job ends because its controller died."""
    _ON_ORPHAN_EXIT.append(callback)


def _watch(pid: int) -> None:
    while pid in ancestors():
        time.sleep(POLL_SECONDS)
    LOG.error(
        "the snakemake process that started this job (pid %d) is gone: stopping, so that "
        "no orphaned job writes into the results directory",
        pid,
    )
    for callback in _ON_ORPHAN_EXIT:
        with contextlib.suppress(Exception):
            callback()
    for handler in logging.getLogger().handlers:
        handler.flush()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(ORPHAN_EXIT_STATUS)


def watch_controller() -> None:
    """Exit this process promptly once the process that started it (see above) is gone."""
    pid = watched_process()
    if pid is not None:
        threading.Thread(target=_watch, args=(pid,), name="innfer-controller", daemon=True).start()
