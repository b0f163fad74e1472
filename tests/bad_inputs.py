"""The bad-input catalogue's checks: what a user must see when an input is wrong.

Every case of the catalogue (configs, data files, expressions, architectures, runtime faults)
runs the workflow as a user would and asserts the same four things, so the rules live here
once:

1. the run fails (non-zero exit);
2. the message names what the user must fix: the file and the key or column;
3. no traceback reaches the user (terminal or job log), and the message is short;
4. nothing half-made is left behind, and the corrected input then runs through.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from innfer_lib.core.run_lock import LOCK_FILE
from tests.conftest import REPO, snakemake_command

#: Lines a config error may print at most (the whole failure, Snakemake's own lines included).
MAX_CONFIG_ERROR_LINES = 12


@dataclass
class Failure:
    """What a failed run showed: its exit code, the terminal, and every job log it wrote."""

    returncode: int
    terminal: str
    logs: str

    @property
    def text(self) -> str:
        return self.terminal + "\n" + self.logs


def run_workflow(
    *args: str, results_dir: Path | None = None, timeout: int = 600
) -> subprocess.CompletedProcess:
    """`snakemake <args>` from the repository root, as a user types it."""
    return subprocess.run(
        snakemake_command() + list(args),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def job_logs(results_dir: Path | None) -> str:
    """The text of every job log under a results directory."""
    if results_dir is None or not results_dir.exists():
        return ""
    return "\n".join(
        p.read_text(errors="replace") for p in sorted(results_dir.rglob("logs/**/*.log"))
    )


def run_failing(*args: str, results_dir: Path | None = None, timeout: int = 600) -> Failure:
    """Run the workflow and return what a failing run showed; it must fail."""
    proc = run_workflow(*args, results_dir=results_dir, timeout=timeout)
    failure = Failure(proc.returncode, proc.stdout + proc.stderr, job_logs(results_dir))
    assert failure.returncode != 0, f"expected a failure, the run succeeded:\n{failure.terminal}"
    return failure


def assert_names(failure: Failure, *names: str) -> None:
    """The message names every one of `names` (file, key path, column, value ...)."""
    missing = [n for n in names if n not in failure.text]
    assert not missing, f"the message does not name {missing}:\n{failure.text[-3000:]}"


def assert_no_traceback(failure: Failure) -> None:
    assert "Traceback" not in failure.text, failure.text[-3000:]


def assert_short(failure: Failure, max_lines: int = MAX_CONFIG_ERROR_LINES) -> None:
    """A config error is one or two lines, not a schema dump or a library traceback."""
    lines = [line for line in failure.terminal.splitlines() if line.strip()]
    assert len(lines) <= max_lines, f"{len(lines)} lines:\n{failure.terminal}"


def assert_no_leftovers(results_dir: Path, *outputs: Path) -> None:
    """The failing job's outputs, atomic-write temporaries (`.<name>.*`), the run's lock: gone."""
    left = [p for p in outputs if p.exists()]
    left += list(results_dir.rglob(LOCK_FILE)) if results_dir.exists() else []
    assert not left, f"left behind: {left}"
    if results_dir.exists():
        hidden = [p for p in results_dir.rglob(".*") if p.is_file() and ".snakemake" not in p.parts]
        assert not hidden, f"temporary files left behind: {hidden}"
