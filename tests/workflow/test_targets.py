"""Stage targets: each runs one stage and what it needs; together they are the default target.

`snakemake preprocess|train|evaluate|fits|summaries` (and `pvalues`, `hyperparameter_scan`,
`bayesian_tuning`), dry-run on the default config
(Dim1Gaussian, 9 validation points, learned and true density, one fit set) with every job counted
by hand.
"""

import pytest

from tests.conftest import dry_run

STAGES = ("preprocess", "train", "evaluate", "fits", "summaries")
# Every stage starts from the simulated benchmark and its one loaded, preprocessed process.
PREPROCESSED = {"make_benchmark": 1, "load_data": 1, "preprocess_model": 1}
TRAINED = {**PREPROCESSED, "train_density": 1}
# 9 validation points x (learned, truth): one fit, Hessian, covariance and result each.
FITTED = {
    **TRAINED,
    "setup_density_from_benchmark": 1,
    "initial_fit": 18,
    "hessian": 18,
    "covariance": 18,
    "fit_result": 18,
}
EXPECTED = {
    "preprocess": {
        **PREPROCESSED,
        "data_categories": 1,
        "input_plot_training": 2,  # X1 and Y1
        "input_plot_validation": 1,
    },
    "train": {**TRAINED, "setup_density_from_benchmark": 1},
    "evaluate": {
        **TRAINED,
        "evaluate_density": 1,
        "plot_density": 1,
        "plot_density_y": 1,  # Y1
        "make_asimov": 1,
        "generator": 1,
        "generator_summary": 1,
        "flow": 1,
        "epoch_performance_metrics_plot": 1,
        # performance metrics of the flow and of the truth, and their overview plot
        "setup_density_from_benchmark": 1,
        "density_performance_metrics": 2,
        "density_metrics_plot": 1,
    },
    "fits": FITTED,
    # per density: the reference sample, 5 toy batches of 20, their collection and the plots
    "pvalues": {
        **TRAINED,
        "setup_density_from_benchmark": 1,
        "pvalue_sim_vs_synth": 2,
        "pvalue_synth_vs_synth": 10,
        "pvalue_synth_vs_synth_collect": 2,
        "pvalue_dataset_comparison_plot": 2,
    },
    # INNFER's 32-point grid: a training and a metrics job per point, then collect, whose plot
    # draws the true density's metric (a benchmark)
    "hyperparameter_scan": {
        **PREPROCESSED,
        "setup_density_from_benchmark": 1,
        "density_performance_metrics": 1,
        "train_scan_trial": 32,
        "scan_trial_metrics": 32,
        "hyperparameter_scan_collect": 1,
    },
    # 2 worker jobs share the study; collect reads it
    "bayesian_tuning": {
        **PREPROCESSED,
        "setup_density_from_benchmark": 1,
        "density_performance_metrics": 1,
        "bayesian_tuning_worker": 2,
        "bayesian_tuning_collect": 1,
    },
    "summaries": {
        **FITTED,
        "summary": 1,
        "summary_chi_squared": 1,
        "summary_per_val": 9,
        "results_table": 1,
        "density_comparison": 1,
    },
}


# `pvalues` and the two hyperparameter searches are targets of their own, outside the default run.
@pytest.mark.parametrize("stage", [*STAGES, "pvalues", "hyperparameter_scan", "bayesian_tuning"])
def test_stage_target_runs_its_stage_and_what_it_needs(snakemake, tmp_path, stage):
    counts = dry_run(snakemake, tmp_path, targets=[stage])
    expected = {**EXPECTED[stage], stage: 1}
    assert counts.pop("total") == sum(expected.values())
    assert counts == expected


def test_evaluate_builds_the_plots_that_evaluation_false_skips(snakemake, tmp_path):
    counts = dry_run(snakemake, tmp_path, targets=["evaluate"], evaluation=False)
    assert counts["generator"] == 1 and counts["make_asimov"] == 1


def without_targets(counts: dict[str, int], targets) -> dict[str, int]:
    return {rule: n for rule, n in counts.items() if rule not in targets and rule != "total"}


@pytest.mark.parametrize(
    ("base_config", "config"),
    [
        ("config/config.yaml", {}),
        ("config/examples/top_mass/workflow.yaml", {}),
        (
            "config/config.yaml",
            {
                "benchmark": {"name": "Dim1GaussianWithExpBkgVaryingYield", "events": 1000},
                "validation_indices": [0],
                "fits": {
                    "closure": {},
                    "everything": {
                        "covariance": "dmatrix",
                        "hessian": "parallel",
                        "scan": "pois",
                        "scan_2d": {"parameters": ["Y1", "mu_Gaussian"], "n_points": 3},
                        "likelihood_debug": True,
                        "postfit": True,
                        "impacts": "refit",
                    },
                    "frozen": {"freeze": "all-but-one", "impacts": "approximate"},
                    "observed": {"data_type": "data"},
                },
                "scan_plots": {"overlay": {"fits": ["everything"], "rezero": True}},
            },
        ),
    ],
)
def test_stage_targets_together_are_the_default_target(snakemake, tmp_path, base_config, config):
    every_stage = dry_run(snakemake, tmp_path, base_config, targets=STAGES, **config)
    default = dry_run(snakemake, tmp_path, base_config, **config)
    assert without_targets(every_stage, STAGES) == without_targets(default, ["all"])
