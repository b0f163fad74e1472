"""What every rule script does around its work: logging to the rule's log, clean errors.

Scripts are glue; this keeps the glue identical. A script starts with `start_job(snakemake)`,
before its other imports, and ends with `run(snakemake, main)`:

- `start_job` sizes TensorFlow's thread pools to the rule's `threads`
  (`core.tensorflow_env.limit_tensorflow_threads`), before anything imports TensorFlow;
- from `start_job` on, file descriptors 1 and 2 go to the rule's `log:`, so whatever the
  imports print (TensorFlow's C++ start-up lines: CUDA drivers, oneDNN, absl) lands in the job
  log and not in the terminal, where Snakemake shows its progress; and the job starts watching
  the snakemake process that runs it (innfer_lib.core.controller), so it never outlives it;
- `run` calls `main`. A failing job writes the message that names the file, key or column (or
  the traceback of an unexpected error) into its log and exits non-zero; Snakemake then deletes
  the partial outputs, and every writer is atomic, so nothing half-written survives.

With the environment variable `INNFER_PROFILE` set to a directory, `run` profiles `main` with
cProfile: the statistics go to `<dir>/<rule>_<wildcards>.prof` (for snakeviz or pstats) and the
30 most expensive calls by cumulative time to the job log. One run on a user's node (a GPU
slot) then shows where a job's time goes, without changing the job.
"""

from __future__ import annotations

import contextlib
import cProfile
import io
import logging
import os
import pstats
import re
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

from innfer_lib.core.controller import watch_controller
from innfer_lib.core.errors import InnferError
from innfer_lib.core.tensorflow_env import limit_tensorflow_threads

LOG = logging.getLogger("innfer")
#: Where `warn_terminal` writes while a rule's main runs: (descriptor of the real stderr, rule).
_terminal: list[tuple[int, str]] = []


def warn_terminal(message: str) -> None:
    """A warning the user must see: one line on the terminal and the same line in the job log.

    Outside a rule (`run`), e.g. in tests, it is only logged. One line per call: the
    terminal shows Snakemake's progress, so the message must name what it is about.
    """
    line = " ".join(message.split())
    LOG.warning("%s", line)
    for fd, rule in _terminal[-1:]:
        os.write(fd, f"innfer warning in rule {rule}: {line}\n".encode())


@contextlib.contextmanager
def _output_to(path: str | None) -> Iterator[int]:
    """Send file descriptors 1 and 2 to the log; yields a descriptor of the real stderr.

    Redirecting the descriptors (not only sys.stdout) also catches what TensorFlow's C++
    runtime prints, so the terminal shows Snakemake's progress and the log has the rest.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    if path is None:
        yield 2
        return
    saved = os.dup(1), os.dup(2)
    try:
        with open(path, "w", buffering=1) as stream:
            os.dup2(stream.fileno(), 1)
            os.dup2(stream.fileno(), 2)
            try:
                yield saved[1]
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os.dup2(saved[0], 1)
                os.dup2(saved[1], 2)
    finally:
        os.close(saved[0])
        os.close(saved[1])


class _Job:
    """This process's job: its output redirection, held open until `run` ends."""

    def __init__(self, snakemake: Any) -> None:
        self._output = contextlib.ExitStack()
        log_file = snakemake.log[0] if len(snakemake.log) else None
        self.real_stderr = self._output.enter_context(_output_to(log_file))

    def close(self) -> None:
        self._output.close()


_JOB: _Job | None = None


def _job(snakemake: Any) -> _Job:
    """The job of this process, started on first use."""
    global _JOB
    if _JOB is None:
        os.environ.setdefault("MPLBACKEND", "Agg")
        limit_tensorflow_threads(int(getattr(snakemake, "threads", 1) or 1))
        _JOB = _Job(snakemake)
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        root = logging.getLogger()
        root.handlers[:] = [handler]
        root.setLevel(logging.INFO)
        watch_controller()
    return _JOB


def start_job(snakemake: Any) -> None:
    """Send this job's output to its log and watch its controller; first thing in a script.

    Called before the script's other imports, so that what they print at import time goes to
    the log too. `run` starts the job itself if the script did not.
    """
    _job(snakemake)


def profile_path(directory: str, snakemake: Any) -> str:
    """`<directory>/<rule>_<wildcard values>.prof`: one file per job, safe as a file name."""
    values = [str(v) for v in getattr(snakemake, "wildcards", [])]
    stem = "_".join([str(snakemake.rule), *values])
    return os.path.join(directory, re.sub(r"[^A-Za-z0-9_.=-]+", "-", stem) + ".prof")


@contextlib.contextmanager
def _profiled(snakemake: Any) -> Iterator[None]:
    """cProfile around the job when INNFER_PROFILE names a directory, else nothing."""
    directory = os.environ.get("INNFER_PROFILE")
    if not directory:
        yield
        return
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        yield
    finally:
        profiler.disable()
        os.makedirs(directory, exist_ok=True)
        path = profile_path(directory, snakemake)
        profiler.dump_stats(path)
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(30)
        LOG.info("profile written to %s; by cumulative time:\n%s", path, text.getvalue())


def run(snakemake: Any, main: Callable[[Any], None]) -> None:
    """Run a rule's main function with all its output sent to the rule's `log:`."""
    global _JOB
    job = _job(snakemake)
    start = time.perf_counter()
    _terminal.append((job.real_stderr, str(snakemake.rule)))
    try:
        with _profiled(snakemake):
            main(snakemake)
        LOG.info("done in %.1f s", time.perf_counter() - start)
    except InnferError as err:
        LOG.error("%s", err)
        os.write(job.real_stderr, f"innfer error in rule {snakemake.rule}: {err}\n".encode())
        sys.exit(1)
    except Exception:
        LOG.exception("rule %s failed", snakemake.rule)
        raise
    finally:
        _terminal.pop()
        job.close()
        _JOB = None
