import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("CONDOR_CONFIG", "/dev/null")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def snakemake_command() -> list[str]:
    exe = shutil.which("snakemake", path=str(Path(sys.executable).parent)) or shutil.which(
        "snakemake"
    )
    return [exe]


def run_snakemake(
    *args: str, timeout: int = 120, check: bool = True
) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        snakemake_command() + list(args),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture
def snakemake():
    return run_snakemake


def job_counts(output: str) -> dict[str, int]:
    """Jobs per rule from the job-stats table of a `snakemake -n` output."""
    counts = {}
    in_table = False
    for line in output.splitlines():
        if line.startswith("job ") and "count" in line:
            in_table, counts = True, {}
            continue
        if in_table:
            m = re.match(r"^(\w+)\s+(\d+)$", line.strip())
            if m:
                counts[m.group(1)] = int(m.group(2))
            elif counts and not line.strip().startswith("-"):
                in_table = False
    return counts


#: The small flow of the workflow integration tests: trains in seconds, yet learns enough that
#: its fits and plots are meaningful. Each test adds its own `epochs` and options.
SMALL_FLOW = {
    "num_coupling_layers": 2,
    "affine_units_per_dense_layer": 16,
    "spline_units_per_dense_layer": 16,
    "spline_bins": 8,
    "batch_size": 512,
}


#: `points_per_job` of the tests that count or inspect fit-stage jobs per validation point:
#: every point a job of the per-point rules (`initial_fit`, `hessian`). The batched jobs of
#: the default (10 points per job) have their own tests (test_dag, test_point_batches), and
#: the workflow runs use the default.
PER_POINT_JOBS = 1


def dry_run(
    snakemake, tmp_path, base_config: str = "config/config.yaml", targets=(), **config
) -> dict[str, int]:
    """Job counts of `snakemake -n [targets]` with `config` merged over the `base_config` file."""
    cfg = tmp_path / "config.yaml"
    base = yaml.safe_load(open(REPO / base_config))
    base.setdefault("points_per_job", PER_POINT_JOBS)
    base.update(config)
    base["results_dir"] = str(tmp_path / "results")
    cfg.write_text(yaml.safe_dump(base))
    # Targets first: `--configfile` takes every argument after it.
    proc = snakemake(*targets, "-n", "--configfile", str(cfg))
    return job_counts(proc.stdout + proc.stderr)


# What every introspection script starts with: the config from argv, the workflow parsed
# through Snakemake's API (held open until the script's body has run), a Wildcards stand-in
# for rule functions, dag_jobs() for the jobs of the DAG, and emit() for the result.
_INTROSPECT_HEAD = r"""
import contextlib, json, sys
from pathlib import Path

from snakemake.api import SnakemakeApi
from snakemake.settings.types import ConfigSettings, OutputSettings, Quietness, ResourceSettings


class Wildcards(dict):
    __getattr__ = dict.__getitem__


def emit(data):
    print("@@JSON@@" + json.dumps(data))


config = json.loads(sys.argv[1])
_api_context = contextlib.ExitStack()
_api = _api_context.enter_context(SnakemakeApi(OutputSettings(quiet={Quietness.ALL})))
workflow_api = _api.workflow(
    resource_settings=ResourceSettings(cores=1),
    config_settings=ConfigSettings(config=config),
    snakefile=Path("workflow/Snakefile"),
    workdir=Path.cwd(),
)
workflow = workflow_api._workflow


def dag_jobs():
    # Every job of the default target's DAG, as if nothing had been run yet. Snakemake's API
    # offers no list of jobs with their params, so this takes the steps a dry run takes.
    from snakemake.settings.types import DAGSettings

    workflow_api.dag(DAGSettings())  # hands the DAG settings to the workflow
    workflow._prepare_dag(forceall=True, ignore_incomplete=True, lock_warn_only=True, nolock=True)
    workflow._build_dag()
    return list(workflow.dag.jobs)
"""


def introspect_workflow(script: str, config: dict, timeout: int = 300) -> dict:
    """Run `script` against the parsed workflow in a fresh interpreter and return its data.

    The body sees `workflow` (parsed with `config`), `config`, `Wildcards`, `dag_jobs()` and
    `emit`, and must call `emit` once with a JSON-serialisable result. A subprocess, so that
    one parse cannot leak state into another.
    """
    import json

    program = _INTROSPECT_HEAD + script + "\n_api_context.close()\n"
    proc = subprocess.run(
        [sys.executable, "-c", program, json.dumps(config)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout.split("@@JSON@@", 1)[1])
