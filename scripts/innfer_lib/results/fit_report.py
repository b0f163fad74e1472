"""What the user is told about invalid fits: one line per fit while it runs, one line at the end.

A fit that failed, sits at a parameter limit or has no positive-definite Hessian
(`inference.validity`) still writes all its files, so the run succeeds. Without a word on the
terminal that is a failure that looks like a success: the `fit_result` job prints one warning
line per invalid fit, and the run closes with one line counting the invalid fits of its
targets and naming them. That closing line comes from the workflow's `onsuccess` hook,
which runs on the machine that drives the workflow (locally and on a cluster alike) once
every job has finished, and reads the fits' result files.

Exit status: a run with invalid fits exits with `INVALID_FITS_EXIT` (3), not 0. Every file
is complete, so it is not a failed run in Snakemake's sense (1), but a closure test whose fits
are invalid has failed as a test, and a physicist's CI must notice it; 3 keeps the two cases
apart. A rerun that has nothing to do does not run the hook (Snakemake returns before it)
and exits 0; the tables and summaries keep saying which fits are invalid.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol, TextIO

from innfer_lib.core.io import read_yaml
from innfer_lib.inference.validity import describe

#: The exit status of a run whose jobs all succeeded but some of whose fits are invalid.
INVALID_FITS_EXIT = 3
#: Invalid fits named in the closing line; the rest are counted (the tables list them all).
MAX_NAMED = 5
#: The rule whose jobs write a fit's result file (rules/summary.smk), one per fit.
FIT_RESULT_RULE = "fit_result"


class JobRule(Protocol):
    """What `close_run` reads of a Snakemake job's rule."""

    @property
    def name(self) -> str: ...


class RunJob(Protocol):
    """What `close_run` reads of a Snakemake job: its rule, wildcards and output files."""

    @property
    def rule(self) -> JobRule: ...

    @property
    def wildcards(self) -> Any: ...

    @property
    def output(self) -> Sequence[str]: ...


def fit_label(fit: str, density: str, val: int | str) -> str:
    """`closure/learned/val_4`: one fit as the results directory lays it out."""
    return f"{fit}/{density}/val_{val}"


def invalid_fit_warning(label: str, reasons: Sequence[str]) -> str:
    """The one terminal line of an invalid fit."""
    return (
        f"fit {label} is invalid ({describe(reasons)}): its intervals are not to be quoted; "
        "tables and summaries mark it"
    )


def closing_line(results: Mapping[str, Mapping[str, Any]]) -> str:
    """`innfer: 3 of 18 fits invalid: closure/learned/val_4 (at limit: mtop), ...`.

    Args:
        results: fit result records (`fit_valid`, `invalid_reasons`) by `fit_label`.
    """
    invalid = [(label, r) for label, r in results.items() if not r["fit_valid"]]
    if not invalid:
        return f"innfer: all {len(results)} fits valid"
    named = ", ".join(
        f"{label} ({describe(r['invalid_reasons'])})" for label, r in invalid[:MAX_NAMED]
    )
    more = f" and {len(invalid) - MAX_NAMED} more" if len(invalid) > MAX_NAMED else ""
    return f"innfer: {len(invalid)} of {len(results)} fits invalid: {named}{more}"


def report_fits(
    files: Sequence[tuple[str, str, int, str]], stream: TextIO | None = None
) -> int:
    """Print the closing line for the fits of a run; return the exit status it calls for.

    Args:
        files: (fit, density, val, result file) of every fit among the run's targets; none
            (a run without fits, e.g. `snakemake train`) prints nothing.
        stream: where the line goes (default stderr, where Snakemake reports).

    Returns:
        0, or `INVALID_FITS_EXIT` when any fit is invalid.
    """
    if not files:
        return 0
    ordered = sorted(files, key=lambda f: (f[0], f[1], int(f[2])))
    results = {fit_label(fit, d, val): read_yaml(path) for fit, d, val, path in ordered}
    print(closing_line(results), file=stream or sys.stderr, flush=True)
    return 0 if all(r["fit_valid"] for r in results.values()) else INVALID_FITS_EXIT


def fit_results_of(jobs: Iterable[RunJob]) -> list[tuple[str, str, int, str]]:
    """(fit, density, val, result file) of every fit-result job among `jobs`."""
    return [
        (job.wildcards.fit, job.wildcards.density, int(job.wildcards.val), str(job.output[0]))
        for job in jobs
        if job.rule.name == FIT_RESULT_RULE
    ]


def close_run(jobs: Iterable[RunJob]) -> None:
    """The `onsuccess` hook: the closing line for the run's fits; exit 3 if any is invalid.

    Args:
        jobs: the jobs of the run's DAG (`workflow.dag.jobs`): what this invocation asked
            for, its targets and everything they need, run now or earlier. So `snakemake
            train` reports no fits, and a run of one summary reports that summary's fits.
            Snakemake has no public list of a run's jobs; this is the one its own dry-run
            statistics count.

    Raises:
        SystemExit: with `INVALID_FITS_EXIT` when a fit is invalid; the hook's statements
            after this call would not run, so it must be the hook's last one.
    """
    status = report_fits(fit_results_of(jobs))
    if status:
        sys.exit(status)
