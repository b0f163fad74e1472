"""Performance metrics and p-values through the workflow, on a deliberately under-trained flow.

One tiny run (Dim1Gaussian, 20,000 events, a small flow trained for one epoch with
`save_model_per_epoch`) of the metrics of the flow and of the true density, the metrics after
each epoch and the p-value chain: the truth must look like its own simulation (BDT AUC
0.5 ± 0.02, χ²/dof ≈ 1) and the under-trained flow must not.
"""

import numpy as np
import pytest
import yaml

from innfer_lib.core.paths import Paths, plot_files
from innfer_lib.density.performance import MetricOptions, summary_metric_keys

pytestmark = pytest.mark.slow

METRICS = {"families": ["loss", "histogram", "multidim", "inference"], "datasets": ["val"]}
PVALUES = {"toys": 8, "toys_per_job": 4, "families": ["histogram", "multidim"], "dataset": "val"}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from tests.conftest import SMALL_FLOW, run_snakemake

    tmp = tmp_path_factory.mktemp("metrics")
    cfg = tmp / "config.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "results_dir": str(tmp / "results"),
                "benchmark": {"name": "Dim1Gaussian", "events": 20_000},
                "density_architecture_overrides": {
                    **SMALL_FLOW,
                    "epochs": 1,
                    "save_model_per_epoch": True,
                },
                "density_performance_metrics": METRICS,
                "pvalues": PVALUES,
            }
        )
    )
    paths = Paths.for_analysis(tmp / "results", "Benchmark_Dim1Gaussian")
    where = dict(model="Gaussian", category="inclusive")
    targets = [
        paths.density_metrics.format(density=d, **where) for d in ("learned", "truth")
    ] + plot_files(paths.epoch_metrics_merged_plot.format(**where))
    proc = run_snakemake(
        "--cores", "2", *targets, "pvalues", "--configfile", str(cfg), timeout=1500
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return paths, where


def read(path):
    with open(path) as f:
        return yaml.safe_load(f)


def test_truth_looks_like_its_simulation_and_the_one_epoch_flow_does_not(run):
    paths, where = run
    truth = read(paths.density_metrics.format(density="truth", **where))
    learned = read(paths.density_metrics.format(density="learned", **where))
    assert abs(truth["bdt_auc_val"] - 0.5) < 0.02
    assert abs(truth["bdt_accuracy_val"] - 0.5) < 0.02
    assert 0.7 < truth["chi_squared_per_dof_val_mean"] < 1.3
    assert learned["bdt_auc_val"] > truth["bdt_auc_val"] + 0.02
    assert learned["chi_squared_per_dof_val_mean"] > 2 * truth["chi_squared_per_dof_val_mean"]
    assert learned["loss_test"] > truth["loss_test"]
    keys = summary_metric_keys(MetricOptions.from_config(METRICS), ["X1"])
    assert set(keys) <= set(truth) and set(keys) <= set(learned)
    # the truth's own fits land near the truth (inference family, Y1 in GeV)
    assert truth["inference_distance_val"] < 0.2
    assert truth["inference_best_fit_val_val_ind_4_Y1"] == pytest.approx(173.0, abs=0.3)


def test_metrics_per_epoch_show_training(run):
    paths, where = run
    per_epoch = read(paths.epoch_metrics.format(**where))
    assert sorted(per_epoch) == [0, 1]
    assert per_epoch[0]["loss_test"] > per_epoch[1]["loss_test"]
    # epoch 1 is the best (and only trained) epoch: its metrics are the final flow's, to the
    # last digit, since every job draws its synthetic samples with the same seeds
    assert per_epoch[1] == read(paths.density_metrics.format(density="learned", **where))
    for f in plot_files(paths.epoch_metrics_merged_plot.format(**where)):
        assert open(f, "rb").read(4)


def test_p_values_of_every_metric(run):
    paths, where = run
    for density in ("learned", "truth"):
        table = read(paths.pvalues.format(density=density, **where))
        assert set(table) == set(
            summary_metric_keys(
                MetricOptions(families=("histogram", "multidim"), datasets=("val",)), ["X1"]
            )
        )
        for row in table.values():
            assert row["toys"] == 8 and 1 / 9 <= row["p_value"] <= 1.0
    learned = read(paths.pvalues.format(density="learned", **where))
    # eight toys resolve p down to 1/9: the one-epoch flow's AUC is beyond every toy's
    assert learned["bdt_auc_val"]["p_value"] == pytest.approx(1 / 9)
    assert np.isfinite(learned["bdt_auc_val"]["toy_mean"])
