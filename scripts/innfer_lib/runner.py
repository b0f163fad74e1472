"""What every rule script does around its work: logging to the rule's log, clean errors.

Scripts are glue; this keeps the glue identical. A failing job writes the message that names
the file, key or column into its log and exits non-zero; Snakemake then deletes the partial
outputs, and every writer is atomic, so nothing half-written survives.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from innfer_lib.errors import InnferError

LOG = logging.getLogger("innfer")


def run(snakemake: Any, main: Callable[[Any], None]) -> None:
    """Run a rule's main function with its stdout/stderr and logging sent to `log:`."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("MPLBACKEND", "Agg")
    log_file = snakemake.log[0] if len(snakemake.log) else None
    stream = open(log_file, "w", buffering=1) if log_file else sys.stderr  # noqa: SIM115
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    start = time.perf_counter()
    redirect = (
        (contextlib.redirect_stdout(stream), contextlib.redirect_stderr(stream))
        if log_file
        else (contextlib.nullcontext(), contextlib.nullcontext())
    )
    with redirect[0], redirect[1]:
        try:
            main(snakemake)
        except InnferError as err:
            LOG.error("%s", err)
            print(f"innfer error in rule {snakemake.rule}: {err}", file=sys.__stderr__)
            sys.exit(1)
        except Exception:
            LOG.exception("rule %s failed", snakemake.rule)
            raise
        LOG.info("done in %.1f s", time.perf_counter() - start)
