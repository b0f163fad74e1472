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
