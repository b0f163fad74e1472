"""What every rule script does around its work: logging to the rule's log, clean errors.

Scripts are glue; this keeps the glue identical. A failing job writes the message that names
the file, key or column (or the traceback of an unexpected error) into its log and exits
non-zero; Snakemake then deletes the partial outputs, and every writer is atomic, so nothing
half-written survives.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

from innfer_lib.core.errors import InnferError

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


def run(snakemake: Any, main: Callable[[Any], None]) -> None:
    """Run a rule's main function with all its output sent to the rule's `log:`."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("MPLBACKEND", "Agg")
    log_file = snakemake.log[0] if len(snakemake.log) else None
    with _output_to(log_file) as real_stderr:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        root = logging.getLogger()
        root.handlers[:] = [handler]
        root.setLevel(logging.INFO)
        start = time.perf_counter()
        _terminal.append((real_stderr, str(snakemake.rule)))
        try:
            main(snakemake)
        except InnferError as err:
            LOG.error("%s", err)
            os.write(real_stderr, f"innfer error in rule {snakemake.rule}: {err}\n".encode())
            sys.exit(1)
        except Exception:
            LOG.exception("rule %s failed", snakemake.rule)
            raise
        finally:
            _terminal.pop()
        LOG.info("done in %.1f s", time.perf_counter() - start)
