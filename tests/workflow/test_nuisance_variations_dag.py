"""Nuisance variations in the DAG (issue 18): which jobs each config schedules, and the target."""

import pytest

from innfer_lib.core.analysis import load_analysis
from innfer_lib.data.nuisance_variations import process_nuisances
from tests.conftest import dry_run

TOP_MASS_WORKFLOW = "config/examples/top_mass/workflow.yaml"
RULES = (
    "preprocess_nuisance_variations",
    "input_plot_nuisance_variations",
    "input_plot_comparing_train_with_variations",
    "make_asimov_nuisance_variations",
    "generator_nuisance_variations",
)


def variation_jobs(counts: dict[str, int]) -> dict[str, int]:
    return {rule: counts[rule] for rule in RULES if rule in counts}


def top_mass_nuisances() -> list[int]:
    """The number of nuisances of each process and category of the top-mass example."""
    analysis = load_analysis("config/examples/top_mass/analysis.yaml")
    return [
        len(process_nuisances(analysis, process, category))
        for process in analysis.processes
        for category in analysis.categories
    ]


def test_the_default_config_has_no_nuisance_and_no_variation_job(snakemake, tmp_path):
    assert variation_jobs(dry_run(snakemake, tmp_path)) == {}
    assert variation_jobs(dry_run(snakemake, tmp_path, nuisance_variations={"double": True})) == {}


def test_top_mass_singles_and_doubles(snakemake, tmp_path):
    nuisances = top_mass_nuisances()
    # ttbar: jes, isr, lumi in both categories; wjets: the same, and wjets_norm in two_b only
    assert nuisances == [3, 3, 3, 4]
    singles = {
        "preprocess_nuisance_variations": 4,
        "input_plot_nuisance_variations": sum(nuisances),
        "input_plot_comparing_train_with_variations": sum(nuisances),
        "make_asimov_nuisance_variations": 4,
        "generator_nuisance_variations": 2 * sum(nuisances),
    }
    assert singles["generator_nuisance_variations"] == 26
    counts = dry_run(snakemake, tmp_path, TOP_MASS_WORKFLOW)
    assert variation_jobs(counts) == singles
    # The pairs: one more set and Asimov per process and category, four generator plots each.
    pairs = sum(n * (n - 1) // 2 for n in nuisances)
    assert pairs == 3 + 3 + 3 + 6
    doubles = dry_run(snakemake, tmp_path, TOP_MASS_WORKFLOW, nuisance_variations={"double": True})
    assert variation_jobs(doubles) == {
        **singles,
        "preprocess_nuisance_variations": 4 + 4,
        "make_asimov_nuisance_variations": 4 + 4,
        "generator_nuisance_variations": 26 + 4 * pairs,
    }
    # Nothing else moves.
    others = {k: v for k, v in doubles.items() if k not in RULES and k != "total"}
    assert others == {k: v for k, v in counts.items() if k not in RULES and k != "total"}


def test_the_stage_targets_split_the_variation_jobs(snakemake, tmp_path):
    """Sets and input plots come with `preprocess`, Asimovs and generator plots with `evaluate`
    (and in the default run unless `evaluation: false`); `nuisance_variations` makes all."""
    preprocess = dry_run(snakemake, tmp_path, TOP_MASS_WORKFLOW, targets=["preprocess"])
    assert variation_jobs(preprocess) == {
        "preprocess_nuisance_variations": 4,
        "input_plot_nuisance_variations": 13,
        "input_plot_comparing_train_with_variations": 13,
    }
    evaluate = dry_run(snakemake, tmp_path, TOP_MASS_WORKFLOW, targets=["evaluate"])
    assert variation_jobs(evaluate) == {
        "preprocess_nuisance_variations": 4,
        "make_asimov_nuisance_variations": 4,
        "generator_nuisance_variations": 26,
    }
    off = dry_run(snakemake, tmp_path, TOP_MASS_WORKFLOW, evaluation=False)
    assert "make_asimov_nuisance_variations" not in off
    assert off["input_plot_nuisance_variations"] == 13
    target = dry_run(
        snakemake, tmp_path, TOP_MASS_WORKFLOW, targets=["nuisance_variations"], evaluation=False
    )
    assert variation_jobs(target) == variation_jobs(dry_run(snakemake, tmp_path, TOP_MASS_WORKFLOW))
    assert "initial_fit" not in target


@pytest.mark.parametrize("ratio_model", ["regression", "classifier"])
def test_shape_nuisance_benchmark(snakemake, tmp_path, ratio_model):
    """One process, one category, one weight-only nuisance learned by a ratio model: whose
    Asimov job reads that model."""
    counts = dry_run(
        snakemake,
        tmp_path,
        benchmark={
            "name": "Dim2GaussianWithShapeNuisance",
            "events": 1000,
            "ratio_model": ratio_model,
        },
        targets=["nuisance_variations"],
    )
    assert variation_jobs(counts) == {
        "preprocess_nuisance_variations": 1,
        "input_plot_nuisance_variations": 1,
        "input_plot_comparing_train_with_variations": 1,
        "make_asimov_nuisance_variations": 1,
        "generator_nuisance_variations": 2,
    }
    assert counts[f"train_{ratio_model}"] == 1


def test_bad_option_is_named(snakemake, tmp_path):
    proc = snakemake(
        "-n",
        "--config",
        "nuisance_variations={doubles: true}",
        f"results_dir={tmp_path}",
        check=False,
    )
    assert proc.returncode != 0
    assert "nuisance_variations" in proc.stdout + proc.stderr
    assert "doubles" in proc.stdout + proc.stderr
