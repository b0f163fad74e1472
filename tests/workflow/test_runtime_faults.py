"""Files the workflow wrote that went bad between runs: the message names the file and the way out.

A disk that filled up, a copy cut short, a results directory synced half-way: a later job then
reads a file that Snakemake believes complete. The job must say which file and what to do
(remove it, or force the rule that writes it), without a traceback and leaving nothing behind,
and the suggested rerun must recover. Part of the bad-input catalogue (`tests/bad_inputs.py`).
"""

from pathlib import Path

import pytest

from tests.bad_inputs import (
    assert_job_message,
    assert_names,
    assert_no_leftovers,
    run_failing,
    run_workflow,
    tiny_flow_config,
)


def run(cfg: Path, *args: str) -> None:
    proc = run_workflow(*args, "--configfile", str(cfg))
    assert proc.returncode == 0, proc.stdout + proc.stderr


MODEL = {"model": "Gaussian", "category": "inclusive"}


def test_an_unreadable_intermediate_parquet_file(tmp_path: Path) -> None:
    cfg, paths = tiny_flow_config(tmp_path)
    loaded = Path(paths.format(paths.loaded, file="base"))
    run(cfg, str(loaded))
    loaded.write_bytes(loaded.read_bytes()[:100])  # a copy cut short
    target = Path(paths.format(paths.parameters, **MODEL))
    failure = run_failing(str(target), "--configfile", str(cfg), results_dir=Path(paths.root))
    assert_names(failure, str(loaded), "cannot read as parquet", "remove it")
    assert_job_message(failure, "cannot read as parquet")
    assert_no_leftovers(Path(paths.root), target)
    run(cfg, str(target), "--forcerun", "load_data")
    assert target.exists()


@pytest.mark.slow
def test_unreadable_flow_weights(tmp_path: Path) -> None:
    cfg, paths = tiny_flow_config(tmp_path)
    weights = Path(paths.format(paths.flow_weights, **MODEL))
    run(cfg, str(weights))
    weights.write_bytes(b"not a zip archive")
    target = Path(paths.format(paths.asimov, val=3, **MODEL))
    failure = run_failing(str(target), "--configfile", str(cfg), results_dir=Path(paths.root))
    assert_names(failure, str(weights), "the flow's weights", "--forcerun train_density")
    assert_job_message(failure, "cannot read the flow's weights")
    assert_no_leftovers(Path(paths.root), target)
    run(cfg, str(target), "--forcerun", "train_density")
    assert target.exists()
