"""Custom steps in the DAG (issue 18): one rule per step, its inputs' jobs upstream, the target
`custom` and `all`; user code is never run while the DAG is built."""

from __future__ import annotations

import re

import yaml

from tests.conftest import REPO, dry_run

EXAMPLE = yaml.safe_load((REPO / "config" / "examples" / "custom" / "workflow.yaml").read_text())
STAGES = ("preprocess", "train", "evaluate", "fits", "summaries")


def test_the_example_step_is_one_job_after_preprocess(snakemake, tmp_path):
    counts = dry_run(snakemake, tmp_path, targets=["custom"], **EXAMPLE)
    assert counts == {
        "make_benchmark": 1,
        "load_data": 1,
        "preprocess_model": 1,
        "custom_mass_fractions": 1,
        "custom": 1,
        "total": 5,
    }


def without(counts: dict[str, int], *rules: str) -> dict[str, int]:
    return {rule: n for rule, n in counts.items() if rule not in rules}


def test_the_default_target_adds_the_custom_steps_to_the_stages(snakemake, tmp_path):
    with_step = dry_run(snakemake, tmp_path, **EXAMPLE)
    without_step = dry_run(snakemake, tmp_path)
    assert with_step["custom_mass_fractions"] == 1
    assert with_step["total"] == without_step["total"] + 1
    assert without(with_step, "custom_mass_fractions", "total") == without(without_step, "total")
    every_stage = dry_run(snakemake, tmp_path, targets=[*STAGES, "custom"], **EXAMPLE)
    assert without(every_stage, *STAGES, "custom", "total") == without(with_step, "all", "total")


def test_steps_chain_and_expand_their_inputs(snakemake, tmp_path):
    """`first` reads every validation set of the one process (9 points) and the loaded file;
    `second` reads first's output and is asked for by path."""
    module = tmp_path / "step.py"
    # Run at parse time, this would leave a file behind: the DAG must be built without it.
    marker = tmp_path / "imported"
    module.write_text(f"from pathlib import Path\nPath({str(marker)!r}).touch()\n")
    custom = {
        "first": {
            "module": str(module),
            "inputs": {
                "validation": {"output": "validation", "category": "inclusive"},
                "events": {"output": "loaded", "file": "base"},
            },
            "outputs": ["a.yaml", "plots/a.pdf"],
        },
        "second": {
            "module": "my_analysis.second_step",
            "options": {"n": 2},
            "inputs": {"a": {"step": "first", "output": "a.yaml"}},
            "outputs": ["b.yaml"],
        },
    }
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump({"results_dir": str(tmp_path / "results"), "custom": custom}))
    target = tmp_path / "results" / "Benchmark_Dim1Gaussian" / "custom" / "second" / "b.yaml"
    proc = snakemake(str(target), "-n", "--configfile", str(cfg))
    out = proc.stdout + proc.stderr
    first = re.search(r"rule custom_first:\n    input: ([^\n]*)\n    output: ([^\n]*)", out)
    assert first, out
    inputs = first.group(1).split(", ")
    assert len([f for f in inputs if re.search(r"/val/val_\d\.parquet$", f)]) == 9
    assert f"{tmp_path}/results/Benchmark_Dim1Gaussian/load_data/base.parquet" in inputs
    assert inputs[-1] == str(module) and len(inputs) == 11
    root = f"{tmp_path}/results/Benchmark_Dim1Gaussian/custom/first"
    assert first.group(2).split(", ") == [f"{root}/a.yaml", f"{root}/plots/a.pdf"]
    second = re.search(r"rule custom_second:\n    input: ([^\n]*)", out)
    assert second and second.group(1).endswith("custom/first/a.yaml"), out
    assert not marker.exists()


def test_lint_is_clean_with_custom_steps(snakemake):
    proc = snakemake("--lint", "--configfile", "config/examples/custom/workflow.yaml", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
