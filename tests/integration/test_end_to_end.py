"""One tiny run of the default chain: simulate, preprocess, train, fit, Hessian, summary."""

import shutil

import numpy as np
import pytest
import yaml

from innfer_lib.core.paths import Paths, plot_files

pytestmark = pytest.mark.slow

VALS = [3, 6]  # 172.5 (validation only: dropped from training) and 174.0 (also trained)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from tests.conftest import SMALL_FLOW, run_snakemake

    tmp = tmp_path_factory.mktemp("e2e")
    cfg = tmp / "config.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "results_dir": str(tmp / "results"),
                "benchmark": {"name": "Dim1Gaussian", "events": 20_000},
                "validation_indices": VALS,
                # a 3-point scan of Y1 (Dim1Gaussian floats Y1 alone: no impact refits)
                "fits": {"closure": {"scan": "pois", "scan_points": {"n_points": 3}}},
                "density_architecture_overrides": {
                    **SMALL_FLOW,
                    "epochs": 3,
                },
            }
        )
    )
    proc = run_snakemake("--cores", "2", "--configfile", str(cfg), timeout=900)
    return tmp, cfg, proc, Paths.for_analysis(tmp / "results", "Benchmark_Dim1Gaussian")


def test_summary_numbers(run):
    _, _, _, paths = run
    summary = yaml.safe_load(open(Paths.format(paths.summary, summary="closure")))
    assert [p["val"] for p in summary["points"]] == VALS
    for point in summary["points"]:
        for density in ("learned", "truth"):
            res = point["results"]["closure"][density]["Y1"]
            assert res["fit_valid"] and res["intervals_valid"]
            assert res["crossings"][-1] < res["best_fit"] < res["crossings"][1]
        # The true density attains the Cramér-Rao bound: σ(Y1) = 0.01·Y1/√N_eff for
        # N(Y1, (0.01·Y1)²) up to the tiny information in the width (a 0.01% effect).
        truth = point["results"]["closure"]["truth"]["Y1"]
        fit = yaml.safe_load(
            open(Paths.format(paths.best_fit, fit="closure", density="truth", val=point["val"]))
        )
        n_eff = fit["data"]["categories"]["inclusive"]["effective_events"]
        expected = 0.01 * point["truth"]["Y1"] / np.sqrt(n_eff)
        assert truth["sigma"] == pytest.approx(expected, rel=0.03)
        assert abs(truth["pull"]) < 4
        assert "sigma_ratio_learned_over_true" in point["learned_vs_true"]["closure"]
    chi2 = yaml.safe_load(open(Paths.format(paths.summary_chi_squared, summary="closure")))
    pulls = [p["results"]["closure"]["truth"]["Y1"]["pull"] for p in summary["points"]]
    assert chi2["chi2"]["closure"]["truth"]["Y1"]["chi2"] == pytest.approx(sum(x**2 for x in pulls))
    with open(Paths.format(paths.results_table, fit="closure") + ".csv") as fh:
        table = fh.read().splitlines()
    assert len(table) == 1 + 2 * len(VALS)  # header + (learned, truth) × points, Y1 only


def test_plots_and_models_exist(run):
    _, _, _, paths = run
    files = plot_files(Paths.format(paths.summary_plot, summary="closure"))
    for v in VALS:
        files += plot_files(Paths.format(paths.summary_per_val_plot, summary="closure", val=v))
    files += plot_files(Paths.format(paths.loss_plot, model="Gaussian", category="inclusive"))
    for v in VALS:
        files += plot_files(Paths.format(paths.density_plot, val=v))
    for f in files:
        with open(f, "rb") as fh:
            head = fh.read(8)
        assert head.startswith(b"%PDF") or head.startswith(b"\x89PNG")
    history = yaml.safe_load(
        open(Paths.format(paths.training_history, model="Gaussian", category="inclusive"))
    )
    assert history["best_epoch"] >= 1
    assert history["test_loss"][history["best_epoch"]] < history["test_loss"][0]


def test_rerun_has_nothing_to_do(run):
    from tests.conftest import run_snakemake

    _, cfg, _, _ = run
    proc = run_snakemake("-n", "--configfile", str(cfg))
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_points_in_jobs_of_their_own_give_the_batched_results(run, tmp_path):
    """The run fitted its 2 points per density in one job (`points_per_job`, default 10) and
    the 3 scan points of each point in one job; refitted one point (one scan point) per job
    (`points_per_job: 1`), every best fit, Hessian and scan point is the same."""
    from tests.conftest import run_snakemake

    tmp, cfg, proc, paths = run
    for batch in ("initial_fit_batch0", "scan_batch0"):
        assert batch in proc.stdout + proc.stderr
    copy = tmp_path / "results"
    shutil.copytree(tmp / "results", copy)  # keeps the files' times: only the forced jobs run
    config = {**yaml.safe_load(cfg.read_text()), "results_dir": str(copy), "points_per_job": 1}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    points = [
        {"fit": "closure", "density": density, "val": val}
        for density in ("learned", "truth")
        for val in VALS
    ]
    batched = [
        (Paths.format(pattern, **where), key)
        for where in points
        for pattern, key in ((paths.best_fit, "best_fit"), (paths.hessian, "hessian"))
    ] + [
        (Paths.format(paths.scan_point, **where, parameter="Y1", index=index), "row")
        for where in points
        for index in range(3)
    ]
    alone = [path.replace(str(tmp / "results"), str(copy)) for path, _ in batched]
    out = run_snakemake(
        *("--cores", "2", "--configfile", str(tmp_path / "config.yaml")),
        *("--forcerun", "initial_fit", "hessian", "scan", *alone),
        timeout=900,
    )
    log = out.stdout + out.stderr
    assert "_batch" not in log
    assert log.count("rule initial_fit:") == log.count("rule hessian:") == 2 * len(VALS)
    assert log.count("rule scan:") == 2 * 3 * len(VALS)
    for (path, key), single in zip(batched, alone, strict=True):
        a, b = yaml.safe_load(open(path)), yaml.safe_load(open(single))
        np.testing.assert_allclose(b[key], a[key], rtol=1e-7, err_msg=single)


# Plot directories (under plots/) of the stages whose rules register their plots for
# `snakemake --report`; summary.smk and impacts.smk add theirs separately.
REPORTED_PLOT_DIRS = (
    "input_training",
    "input_validation",
    "train_density",
    "plot_density",
    "generator",
    "generator_summary",
    "flow",
    "scan",
    "postfit",
    "summary",
    "densities",
)


def report_contents(zip_path):
    """(results, categories) of a `snakemake --report x.zip` archive: path -> entry, names."""
    import json
    import re
    import zipfile

    with zipfile.ZipFile(zip_path) as archive:
        html = archive.read("report/report.html").decode()

    def variable(name):
        return json.loads(re.search(rf"var {name} = (\{{.*?\}});\n", html, re.S).group(1))

    return variable("results"), variable("categories")


def test_report_lists_every_plot(run):
    """The zip report (no network needed) lists every PNG of the reported stages, captioned."""
    from tests.conftest import REPO, run_snakemake

    tmp, cfg, _, paths = run
    report = tmp / "report.zip"
    run_snakemake("--report", str(report), "--configfile", str(cfg), timeout=300)
    results, categories = report_contents(report)
    listed = {(REPO / p).resolve() for p in results}
    plots = REPO / paths.root / "plots"
    expected = {p.resolve() for d in REPORTED_PLOT_DIRS for p in (plots / d).rglob("*.png")}
    assert expected and expected <= listed
    for path, entry in results.items():
        assert entry["mime_type"] == "image/png", path
        assert entry["caption"] and "{{" not in entry["caption"], path
        assert entry["labels"] and entry["labels"]["plot"], path
    assert {"1 Data", "2 Density models", "3 Density evaluation", "5 Summaries"} <= set(categories)
