"""Another run holding a results directory's lock, for the lock's unit and workflow tests."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Another run's controller: takes the lock, says so, and on a line from stdin releases it
# ("release") or dies without releasing, as a SIGKILLed snakemake does ("die").
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
    """A process of this host (working directory `cwd`) holding the lock of `directory`."""

    def __init__(self, directory: Path, cwd: Path) -> None:
        cwd.mkdir(parents=True, exist_ok=True)
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
