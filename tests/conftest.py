import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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


def introspect_workflow(script: str, config: dict, timeout: int = 300) -> dict:
    """Run `script` in a fresh interpreter with `config` as its argument and return its data.

    The scripts parse the workflow through Snakemake's API (a subprocess, so one parse cannot
    leak state into another) and print "@@JSON@@" followed by a JSON document.
    """
    import json

    proc = subprocess.run(
        [sys.executable, "-c", script, json.dumps(config)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout.split("@@JSON@@", 1)[1])
