"""The DAG: job counts per rule from dry runs, config errors at parse time, lint, rendering."""

import shutil
import subprocess

import pytest
import yaml

from innfer_lib.core.analysis import load_analysis
from innfer_lib.data.benchmarks import get_benchmark
from tests.conftest import dry_run

TOP_MASS_WORKFLOW = "config/examples/top_mass/workflow.yaml"


def one_point_dry_run(snakemake, tmp_path, fits: dict, **config) -> dict[str, int]:
    """Job counts of fit sets on VaryingYield (POI, rate) at one point, evaluation off."""
    return dry_run(
        snakemake,
        tmp_path,
        benchmark={"name": "Dim1GaussianWithExpBkgVaryingYield", "events": 1000},
        validation_indices=[0],
        evaluation=False,
        fits=fits,
        **config,
    )


def expected_counts(name: str, n_vals: int | None = None, densities: int = 2) -> dict[str, int]:
    analysis = load_analysis(get_benchmark(name).analysis_config("inputs"))
    n_proc = len(analysis.processes)
    n_val = n_vals if n_vals is not None else len(analysis.validation_points)
    fits = n_val * densities
    training_columns = sum(
        len(analysis.variables) + len(analysis.model_parameters(p)) for p in analysis.processes
    )
    # One validation-input job per process showing every point. Per-parameter plots need two
    # parameters that each vary alone; in VaryingYield only mu_Gaussian does (every Y1 point
    # has mu != 1), so no benchmark gets them.
    varying = 0
    evaluation = {
        rule: n_proc
        for rule in (
            "evaluate_density",
            "plot_density",
            "make_asimov",
            "generator",
            "generator_summary",
            "flow",
            "epoch_performance_metrics_plot",
        )
    }
    return {
        **evaluation,
        # performance metrics of every density, and one overview plot, per process
        "density_performance_metrics": n_proc * densities,
        "density_metrics_plot": n_proc,
        # PlotDensity in slices of each Y column: one job per density parameter of a process
        "plot_density_y": sum(len(analysis.model_parameters(p)) for p in analysis.processes),
        "generator_combined": 1 if n_proc > 1 else 0,
        "data_categories": 1,
        "input_plot_training": training_columns,
        "input_plot_validation": n_proc + varying,
        "make_benchmark": 1,
        "load_data": len(analysis.raw["files"]),
        "preprocess_model": n_proc,
        "train_density": n_proc,
        "setup_density_from_benchmark": n_proc if densities == 2 else 0,
        "initial_fit": fits,
        "hessian": fits,
        "covariance": fits,
        "fit_result": fits,
        "summary": 1,
        "summary_chi_squared": 1,
        "summary_per_val": n_val,
        "results_table": 1,
        "density_comparison": 1,
        "all": 1,
    }


@pytest.mark.parametrize(
    "name",
    [
        "Dim1Gaussian",
        "Dim1GaussianWithExpBkg",
        "Dim1GaussianWithExpBkgVaryingYield",
        "Dim2",
        "Dim5",
    ],
)
def test_dry_run_job_counts(snakemake, tmp_path, name):
    counts = dry_run(snakemake, tmp_path, benchmark={"name": name, "events": 1000})
    expected = {k: v for k, v in expected_counts(name).items() if v}
    assert counts.pop("total") == sum(expected.values())
    assert counts == expected


def test_default_config_counts(snakemake, tmp_path):
    counts = dry_run(snakemake, tmp_path)
    assert counts["initial_fit"] == 18  # 9 validation points x (learned, truth)
    assert counts["train_density"] == 1


@pytest.mark.parametrize(
    ("per_job", "batches"),
    [
        (10, {"initial_fit_batch0": 2, "hessian_batch0": 2, "summary_per_val_batch0": 1}),
        (5, {}),
        (1, {}),
    ],
)
def test_points_per_job_runs_the_points_of_a_fit_set_in_batches(
    snakemake, tmp_path, per_job, batches
):
    """9 points per density: one job each at 10 per job, 5 + 4 at 5, every point alone at 1;
    the one-point data fit stays a job of the per-point rule; per-point outputs downstream.
    The closure summary's 9 per-point plots are batched the same way."""
    fits = {"closure": {}, "observed": {"data_type": "data"}}
    counts = dry_run(snakemake, tmp_path, points_per_job=per_job, fits=fits)
    if per_job == 5:
        batches = {f"{stage}_batch{k}": 2 for stage in ("initial_fit", "hessian") for k in (0, 1)}
        batches |= {"summary_per_val_batch0": 1, "summary_per_val_batch1": 1}
    batched = {rule: n for rule, n in counts.items() if "_batch" in rule}
    assert batched == batches
    per_point = 2 * 9 if per_job == 1 else 0
    assert counts["initial_fit"] == counts["hessian"] == per_point + 2  # + the data fits
    assert counts["fit_result"] == counts["covariance"] == 2 * 10
    # + the data fit's summary, of one point
    assert counts["summary_per_val"] == (9 if per_job == 1 else 0) + 1


def test_batched_d_matrices_follow_the_fit_set_that_asks_for_them(snakemake, tmp_path):
    fits = {"closure": {}, "sandwich": {"covariance": "dmatrix"}}
    counts = dry_run(snakemake, tmp_path, points_per_job=10, fits=fits)
    batched = {rule: n for rule, n in counts.items() if "_batch" in rule}
    # batch 0: closure's 9 points, batch 1: sandwich's; only sandwich reads D matrices; each
    # fit set's summary draws its 9 per-point plots in one job
    assert batched == {
        **{f"{stage}_batch{k}": 2 for stage in ("initial_fit", "hessian") for k in (0, 1)},
        "dmatrix_batch1": 2,
        "summary_per_val_batch0": 1,
        "summary_per_val_batch1": 1,
    }
    assert "dmatrix" not in counts and counts["covariance_with_dmatrix"] == 2 * 9


def test_pvalue_chain_batches_its_toys(snakemake, tmp_path):
    counts = dry_run(
        snakemake, tmp_path, targets=["pvalues"], pvalues={"toys": 45, "toys_per_job": 20}
    )
    # per density (learned, truth): the reference, 3 toy batches (20, 20, 5), collect, plot
    assert counts["pvalue_sim_vs_synth"] == 2
    assert counts["pvalue_synth_vs_synth"] == 6
    assert counts["pvalue_synth_vs_synth_collect"] == 2
    assert counts["pvalue_dataset_comparison_plot"] == 2
    assert "initial_fit" not in counts


@pytest.mark.parametrize(
    ("source", "search_jobs"),
    [
        ("best_of_scan", {"train_scan_trial": 32, "hyperparameter_scan_collect": 1}),
        ("best_of_tuning", {"bayesian_tuning_worker": 2, "bayesian_tuning_collect": 1}),
    ],
)
def test_the_fits_flow_trains_from_the_best_of_a_search(snakemake, tmp_path, source, search_jobs):
    counts = dry_run(snakemake, tmp_path, targets=["fits"], density_architecture=source)
    for rule, n in search_jobs.items():
        assert counts[rule] == n
    assert counts["train_density"] == 1 and counts["initial_fit"] == 18


def test_search_sizes_follow_the_config(snakemake, tmp_path):
    counts = dry_run(
        snakemake,
        tmp_path,
        targets=["bayesian_tuning"],
        bayesian_tuning={"workers": 5, "trials": 3},
    )
    assert counts["bayesian_tuning_worker"] == 5


def test_per_epoch_metrics_follow_save_model_per_epoch(snakemake, tmp_path):
    counts = dry_run(
        snakemake,
        tmp_path,
        density_architecture_overrides={"save_model_per_epoch": True},
    )
    assert counts["density_performance_metrics_per_epoch"] == 1
    assert "density_performance_metrics_per_epoch" not in dry_run(snakemake, tmp_path)


def test_evaluation_can_be_switched_off(snakemake, tmp_path):
    counts = dry_run(snakemake, tmp_path, evaluation=False)
    assert "make_asimov" not in counts and "generator" not in counts
    assert counts["train_density"] == 1


def test_subset_of_points_and_learned_only(snakemake, tmp_path):
    counts = dry_run(snakemake, tmp_path, validation_indices=[0, 4], densities=["learned"])
    assert counts["initial_fit"] == 2
    assert "setup_density_from_benchmark" not in counts


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"benchmark": {"name": "Dim7"}}, "benchmark.name"),
        ({"fits": {"closure": {"likelihood": "binnd"}}}, "fits.closure.likelihood"),
        ({"validation_indices": [99]}, "validation_indices"),
        ({"benchmark": {"name": "Dim2", "events": 10}}, "benchmark.events"),
    ],
)
def test_bad_workflow_config_names_the_key(snakemake, tmp_path, override, message):
    cfg = tmp_path / "config.yaml"
    base = yaml.safe_load(open("config/config.yaml"))
    base.update(override)
    cfg.write_text(yaml.safe_dump(base))
    proc = snakemake("-n", "--configfile", str(cfg), check=False)
    assert proc.returncode != 0
    assert message.split(".")[-1] in proc.stdout + proc.stderr


def test_bad_analysis_config_names_file_and_key(snakemake, tmp_path):
    raw = get_benchmark("Dim1Gaussian").analysis_config(str(tmp_path))
    del raw["models"]["Gaussian"]["density_models"][0]["file"]
    analysis = tmp_path / "analysis.yaml"
    analysis.write_text(yaml.safe_dump(raw))
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump({"analysis": str(analysis), "densities": ["learned"]}))
    proc = snakemake("-n", "--configfile", str(cfg), check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert str(analysis) in out and "models.Gaussian.density_models[0]" in out and "'file'" in out


def test_lint_is_clean(snakemake):
    proc = snakemake("--lint", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("kind", ["--dag", "--rulegraph"])
def test_graphs_render(snakemake, kind):
    proc = snakemake(kind)
    assert proc.stdout.lstrip().startswith("digraph")
    if shutil.which("dot") is None:
        pytest.skip("graphviz `dot` not installed; the graph text was checked")
    svg = subprocess.run(["dot", "-Tsvg"], input=proc.stdout, capture_output=True, text=True)
    assert svg.returncode == 0 and "<svg" in svg.stdout


def test_export_string_paths_give_the_same_dag(snakemake, tmp_path, monkeypatch):
    """INNFER's `${VAR}` paths (export_string first, then the environment) and its top-level
    nuisance_constraints: the top-mass example written that way has the same jobs."""
    text = open("config/examples/top_mass/analysis.yaml").read()
    # Quoted, as YAML needs `${...}` to be inside a flow sequence.
    for old, new in [
        ("results/inputs/Example_TopMass/ttbar.parquet", '"${INPUTS}/ttbar.parquet"'),
        ("results/inputs/Example_TopMass/wjets.root", '"$INPUTS/wjets.root"'),
        ("results/inputs/Example_TopMass/data.parquet", '"${DATA_DIR}/data.parquet"'),
    ]:
        assert old in text
        text = text.replace(old, new)
    raw = yaml.safe_load(text)
    raw["export_string"] = {"INPUTS": "results/inputs/Example_TopMass"}
    raw["nuisance_constraints"] = raw["inference"].pop("nuisance_constraints")
    analysis = tmp_path / "analysis.yaml"
    analysis.write_text(yaml.safe_dump(raw, sort_keys=False))
    monkeypatch.setenv("DATA_DIR", "results/inputs/Example_TopMass")
    workflow = yaml.safe_load(open(TOP_MASS_WORKFLOW))
    expected = dry_run(snakemake, tmp_path, base_config=TOP_MASS_WORKFLOW)
    assert (
        dry_run(
            snakemake,
            tmp_path,
            base_config=TOP_MASS_WORKFLOW,
            **{**workflow, "analysis": str(analysis)},
        )
        == expected
    )


def test_example_top_mass_counts(snakemake, tmp_path):
    """The two-category, two-process example: every job of the default DAG, counted by hand."""
    counts = dry_run(snakemake, tmp_path, base_config=TOP_MASS_WORKFLOW)
    assert counts == {
        "make_example": 1,
        "load_data": 2,  # ttbar (parquet), wjets (ROOT)
        "data_categories": 2,
        "preprocess_model": 4,  # 2 processes x 2 categories
        # the isr regression of each process: its training sets, network, spline and plots
        "preprocess_aux": 4,
        "train_regression": 4,
        "evaluate_regression": 4,
        "plot_regression": 4,
        # the flow events each process's S(isr, θ) averages over, per category
        "make_asimov_for_normalisation_spline": 4,
        # columns per category: density sets ttbar m_jet, pt, mtop, jes; wjets m_jet, pt, jes;
        # regression sets m_jet, pt, isr, wt_shift of each process
        "input_plot_training": 2 * (4 + 3) + 4 * 4,
        # ttbar: all points + mtop, jes, isr, mu_ttbar alone; wjets: all + jes, isr; x 2 cats
        # (isr varies the processes through their regressions)
        "input_plot_validation": 16,
        "train_density": 4,
        "initial_fit": 10,  # 10 validation points, learned density only
        "hessian": 10,
        "covariance": 10,
        "fit_result": 10,
        "summary": 1,
        "summary_chi_squared": 1,
        "summary_per_val": 10,
        "results_table": 1,
        "density_comparison": 1,
        # density evaluation: one job per process and category, the stacked view per category
        "evaluate_density": 4,
        "plot_density": 4,
        # PlotDensity per Y column: ttbar's mtop and jes, wjets's jes, in both categories
        "plot_density_y": 6,
        "make_asimov": 4,
        "generator": 4,
        "generator_summary": 4,
        "flow": 4,
        "epoch_performance_metrics_plot": 4,
        # the learned density's performance metrics and their overview plot
        "density_performance_metrics": 4,
        "density_metrics_plot": 4,
        "generator_combined": 2,
        # nuisance variations (issue 18): ttbar jes, isr, lumi; wjets also wjets_norm in two_b
        # (13 nuisances of a process and category): the sets and Asimovs per process and
        # category, two input plots per nuisance, a generator plot per variation (up, down)
        "preprocess_nuisance_variations": 4,
        "input_plot_nuisance_variations": 13,
        "input_plot_comparing_train_with_variations": 13,
        "make_asimov_nuisance_variations": 4,
        "generator_nuisance_variations": 26,
        "all": 1,
        "total": 80 + 7 * 4 + 2 + 10 + 1 + 10 + 1 + 4 * 4 + 12 + 4 + 8 + 60 + 6,
    }


def test_auxiliary_models_add_their_jobs(snakemake, tmp_path):
    """A regression model of one nuisance adds its training sets and their input plots."""
    raw = yaml.safe_load(open("config/examples/top_mass/analysis.yaml"))
    del raw["models"]["wjets"]["regression_models"]  # ttbar's isr regression only
    # ... and no isr weights on W+jets, which nothing would model any more (a config error)
    del raw["files"]["wjets"]["weight_shifts"]["isr"]
    analysis = tmp_path / "analysis.yaml"
    analysis.write_text(yaml.safe_dump(raw))
    counts = dry_run(snakemake, tmp_path, base_config=TOP_MASS_WORKFLOW, analysis=str(analysis))
    assert counts["preprocess_aux"] == 2  # one per category
    # 14 density columns plus m_jet, pt, isr and wt_shift of each regression set
    assert counts["input_plot_training"] == 14 + 2 * 4


def test_fit_set_options_select_their_jobs(snakemake, tmp_path):
    """Each fit-set option adds exactly its jobs (VaryingYield: Y1 and mu_Gaussian, 1 point)."""
    fits = {
        "closure": {},
        "everything": {
            "covariance": "dmatrix",
            "hessian": "parallel",
            "approximate_uncertainty": True,
            "scan": "pois",
            "scan_points": {"n_points": 7},
            "scan_2d": {"parameters": ["Y1", "mu_Gaussian"], "n_points": 3},
            "likelihood_debug": True,
            "postfit": True,
        },
        "frozen": {"freeze": "all-but-one", "hessian": "numerical"},
        "asimov_fit": {"data_type": "asimov"},
        "data_fit": {"data_type": "data"},
        "counting": {"likelihood": "poisson"},
    }
    counts = one_point_dry_run(snakemake, tmp_path, fits)
    # 7 fit sets (all-but-one makes two) x 2 densities; one summary per fit set, the two
    # single-parameter sets sharing their family's summary through the all-but-one collect.
    assert counts["initial_fit"] == 14 and counts["fit_result"] == 14
    assert counts["summary"] == 6 and counts["summary_all_but_one_collect"] == 2
    assert counts["results_table"] == 7
    # autodiff Hessians: closure, asimov, data, counting; numerical: the two frozen sets
    assert counts["hessian"] == 8 and counts["hessian_numerical"] == 4
    assert counts["hessian_parallel"] == 2 * 2 and counts["hessian_collect"] == 2
    assert counts["dmatrix"] == 2 and counts["covariance_with_dmatrix"] == 2
    assert counts["approximate_uncertainty"] == 4
    assert counts["scan"] == 7 * 2 and counts["scan_collect"] == 2 and counts["scan_plot"] == 2
    assert counts["scan_points_from_hessian"] == 2
    assert counts["scan_2d"] == 3 * 3 * 2 and counts["scan_2d_collect"] == 2
    assert counts["likelihood_debug"] == 2 and counts["postfit_plot"] == 2
    assert counts["make_postfit_asimov"] == 2 * 2  # two processes, two densities
    assert counts["make_asimov"] == 2  # the Asimov fit set needs each process's samples
    assert "toy_fit" not in counts and "toy_collect" not in counts


def test_toys_add_batches_per_density_and_point_and_one_collect(snakemake, tmp_path):
    """ceil(toys / per_job) toy_fit jobs per density and point, one toy_collect per density."""
    fits = {"closure": {}, "cov": {"toys": 120, "toy_options": {"per_job": 50}}}
    counts = one_point_dry_run(snakemake, tmp_path, fits)
    assert counts["toy_fit"] == 3 * 2 and counts["toy_collect"] == 2
    # the toys' generator is the benchmark's true density, set up even for learned-only fits
    assert counts["setup_density_from_benchmark"] == 2


def test_scan_overlays_add_one_job_per_density_point_and_parameter(snakemake, tmp_path):
    """A `scan_plots` overlay reads the fit sets' collected scans: no new fits or scans."""
    fits = {
        "closure": {"scan": ["Y1", "mu_Gaussian"], "scan_points": {"n_points": 5}},
        "stat": {"scan": ["Y1"], "scan_points": {"n_points": 5}, "freeze": "mu_Gaussian"},
    }
    without = one_point_dry_run(snakemake, tmp_path, fits)
    assert "scan_overlay" not in without
    counts = dry_run(
        snakemake,
        tmp_path,
        benchmark={"name": "Dim1GaussianWithExpBkgVaryingYield", "events": 1000},
        validation_indices=[0],
        evaluation=False,
        fits=fits,
        scan_plots={
            "breakdown": {"fits": ["closure", "stat"], "stat_only": "stat"},  # Y1 only
            "closure_only": {"fits": ["closure"], "densities": ["truth"], "rezero": True},
        },
    )
    # breakdown: Y1 x 2 densities; closure_only: Y1 and mu_Gaussian x the true density
    assert counts["scan_overlay"] == 2 + 2
    assert counts["total"] == without["total"] + 4
    assert counts["scan"] == without["scan"] and counts["scan_collect"] == without["scan_collect"]


def test_binned_post_fit_plots_replace_the_sampled_ones(snakemake, tmp_path):
    """A binned fit set's post-fit plot reads only the fit: no post-fit sampling jobs."""
    raw = yaml.safe_load(open("config/examples/top_mass/analysis.yaml"))
    edges = [120.0 + 10.0 * k for k in range(11)]
    raw["inference"]["binned_fit"] = {
        "files": {"ttbar": [{"file": "ttbar"}], "wjets": [{"file": "wjets"}]},
        "shape_poi_values": [171.5, 172.5, 173.5],
        "input": {c: {"variable": "m_jet", "binning": edges} for c in ("one_b", "two_b")},
    }
    analysis = tmp_path / "analysis.yaml"
    analysis.write_text(yaml.safe_dump(raw))
    counts = dry_run(
        snakemake,
        tmp_path,
        base_config=TOP_MASS_WORKFLOW,
        analysis=str(analysis),
        validation_indices=[0],
        evaluation=False,
        fits={
            "binned": {"likelihood": "binned_extended", "postfit": True},
            "unbinned": {"postfit": True},
        },
    )
    assert counts["postfit_plot_binned"] == 1  # one job per fit, each category's plot
    assert counts["postfit_plot"] == 1 and counts["make_postfit_asimov"] == 2 * 2


def test_minos_and_bootstrap_jobs(snakemake, tmp_path):
    """MINOS: one job per floating parameter; bootstrap: ceil(n/per_job) fit jobs, one collect
    and one plot per parameter; `summary_from` pulls in what it reads (VaryingYield: Y1 and
    mu_Gaussian, 1 point, 2 densities)."""
    fits = {
        "closure": {},
        "minos": {"minos": True},
        "boot": {"bootstrap": {"n": 10, "per_job": 4}, "summary_from": "bootstrap"},
        "from_minos": {"summary_from": "minos", "freeze": "Y1=0"},
    }
    counts = one_point_dry_run(snakemake, tmp_path, fits)
    assert counts["initial_fit"] == 4 * 2 and counts["fit_result"] == 4 * 2
    # minos: 2 parameters x 2 densities; from_minos: mu_Gaussian only (Y1 frozen) x 2
    assert counts["uncertainty_from_minimisation"] == 2 * 2 + 2
    assert counts["bootstrap_fit"] == 3 * 2  # batches of 4, 4, 2 replicas
    assert counts["bootstrap_collect"] == 2 * 2 and counts["bootstrap_plot"] == 2 * 2


def test_resampled_fit_sets_pull_in_their_pseudo_data(snakemake, tmp_path):
    """Pseudo-data are built only for `data_type: resampled` fit sets, one job per category
    and fitted point, shared by the densities and by every fit set that reads them."""
    counts = one_point_dry_run(
        snakemake, tmp_path, {"closure": {}, "observed": {"data_type": "data"}}
    )
    assert "resample_validation_for_data" not in counts
    fits = {"closure": {}, "fake": {"data_type": "resampled"}, "fake_poisson": {
        "data_type": "resampled", "likelihood": "poisson"}}  # fmt: skip
    counts = one_point_dry_run(snakemake, tmp_path, fits)
    assert counts["resample_validation_for_data"] == 1  # 1 category x 1 point
    assert counts["initial_fit"] == 3 * 2 and counts["results_table"] == 3
    counts = dry_run(snakemake, tmp_path, fits={"fake": {"data_type": "resampled"}})
    # Dim1Gaussian: 9 points x (learned, truth) fits of 9 pseudo-data sets
    assert counts["resample_validation_for_data"] == 9 and counts["initial_fit"] == 18
    assert counts["summary_per_val"] == 9  # like sim, every point has its own truth


def test_sim_to_data_adds_the_factor_jobs(snakemake, tmp_path):
    """Top mass (2 categories x 2 processes): one factor job per group; with `apply`, one job
    per process and category rewrites parameters.yaml; nothing else changes."""
    base = dry_run(snakemake, tmp_path, base_config=TOP_MASS_WORKFLOW)

    def added(sim_to_data):
        counts = dry_run(
            snakemake, tmp_path, base_config=TOP_MASS_WORKFLOW, sim_to_data=sim_to_data
        )
        extra = {k: v - base.get(k, 0) for k, v in counts.items() if v != base.get(k, 0)}
        return extra

    assert added({}) == {"sim_to_data_factors": 2, "total": 2}
    assert added({"groups": [["one_b", "two_b"]]}) == {"sim_to_data_factors": 1, "total": 1}
    applied = {"sim_to_data_factors": 2, "apply_sim_to_data_factors": 4, "total": 6}
    assert added({"processes": ["wjets"], "apply": True}) == applied
    # A category in no group still gets its parameters.yaml written, with factor 1.
    partial = {"sim_to_data_factors": 1, "apply_sim_to_data_factors": 4, "total": 5}
    assert added({"groups": [["two_b"]], "apply": True}) == partial


def test_unknown_scan_parameter_is_a_config_error(snakemake, tmp_path):
    cfg = tmp_path / "config.yaml"
    base = yaml.safe_load(open("config/config.yaml"))
    base["fits"] = {"closure": {"scan": ["Y7"]}}
    cfg.write_text(yaml.safe_dump(base))
    proc = snakemake("-n", "--configfile", str(cfg), check=False)
    assert proc.returncode != 0 and "fits.closure.scan: 'Y7'" in proc.stdout + proc.stderr


def two_top_mass_points_dry_run(snakemake, tmp_path, fits: dict, **config) -> dict[str, int]:
    """Job counts of fit sets on the top-mass example at two points, evaluation off."""
    return dry_run(
        snakemake,
        tmp_path,
        base_config=TOP_MASS_WORKFLOW,
        validation_indices=[0, 5],
        evaluation=False,
        fits=fits,
        **config,
    )


def test_impacts_option_schedules_refits_or_reads_the_covariance(snakemake, tmp_path):
    """`impacts: refit` adds two refits per floating non-POI parameter; `approximate` none."""
    analysis = load_analysis("config/examples/top_mass/analysis.yaml")
    assert analysis.pois == ["mtop"]
    # jes, isr, lumi, wjets_norm and mu_ttbar float besides the POI.
    n_other = len(analysis.fit_parameters) - len(analysis.pois)
    assert n_other == 5
    fit_sets = {
        "refit": {"impacts": "refit"},
        "approx": {"impacts": "approximate", "covariance": "dmatrix"},
        # Frozen parameters have no post-fit σ: they get no refits.
        "frozen": {"impacts": "refit", "freeze": "jes,lumi"},
        "plain": {},
    }
    counts = two_top_mass_points_dry_run(snakemake, tmp_path, fit_sets)
    fits = 2  # two validation points x the learned density
    assert counts["impact_fit"] == 2 * n_other * fits + 2 * (n_other - 2) * fits
    assert counts["impacts_collect"] == 2 * fits  # the two refit sets
    assert counts["approximate_impacts"] == fits  # only the approximate set
    assert counts["impacts_plot"] == 3 * fits  # one POI, three sets with impacts
    # The approximate set reads the sandwich covariance; nothing else is added for it.
    assert counts["covariance_with_dmatrix"] == fits


@pytest.mark.parametrize(("per_job", "refit_jobs", "frozen_jobs"), [(10, 1, 1), (5, 2, 2)])
def test_points_per_job_runs_the_impact_refits_of_a_point_in_batches(
    snakemake, tmp_path, per_job, refit_jobs, frozen_jobs
):
    """10 refits per point (5 parameters up and down) and 6 with two frozen: one job each at
    10 per job, 5 + 5 and 3 + 3 at 5; each refit keeps its file for impacts_collect."""
    fits = {
        "refit": {"impacts": "refit"},
        "frozen": {"impacts": "refit", "freeze": "jes,lumi"},
    }
    counts = two_top_mass_points_dry_run(snakemake, tmp_path, fits, points_per_job=per_job)
    batched = {rule: n for rule, n in counts.items() if rule.startswith("impact_fit_batch")}
    points = 2  # two validation points x the learned density
    assert sorted(batched) == sorted(
        f"impact_fit_batch{k}" for k in range(points * (refit_jobs + frozen_jobs))
    )
    assert set(batched.values()) == {1}  # the density is the batch rule's one wildcard
    assert "impact_fit" not in counts
    assert counts["impacts_collect"] == 2 * points


@pytest.mark.parametrize(("per_job", "jobs_1d", "jobs_2d"), [(10, 1, 1), (4, 2, 3)])
def test_points_per_job_runs_the_grid_points_of_a_scan_in_batches(
    snakemake, tmp_path, per_job, jobs_1d, jobs_2d
):
    """7 points of a 1-D scan: one job at 10 per job, 4 + 3 at 4; a 3 x 3 2-D grid: one job,
    or 3 + 3 + 3; per density, each grid point with its own file for the collect."""
    fits = {
        "closure": {
            "scan": "pois",
            "scan_points": {"n_points": 7},
            "scan_2d": {"parameters": ["Y1", "mu_Gaussian"], "n_points": 3},
        }
    }
    counts = one_point_dry_run(snakemake, tmp_path, fits, points_per_job=per_job)
    for rule, jobs in (("scan", jobs_1d), ("scan_2d", jobs_2d)):
        batched = {r: n for r, n in counts.items() if r.startswith(f"{rule}_batch")}
        assert len(batched) == jobs and set(batched.values()) == {2}, rule  # 2 densities
        assert rule not in counts
    assert counts["scan_collect"] == counts["scan_2d_collect"] == 2


def test_approximate_impacts_schedule_no_refits(snakemake, tmp_path):
    counts = one_point_dry_run(snakemake, tmp_path, {"closure": {"impacts": "approximate"}})
    assert "impact_fit" not in counts and "impacts_collect" not in counts
    # Y1 is the POI and mu_Gaussian the other floating parameter: one plot per density.
    assert counts["approximate_impacts"] == 2 and counts["impacts_plot"] == 2


def test_regression_models_add_their_jobs(snakemake, tmp_path):
    """The example's isr regressions: train, evaluate and plot per process and category
    (issue 15)."""
    counts = dry_run(snakemake, tmp_path, base_config=TOP_MASS_WORKFLOW)
    for rule in (
        "preprocess_aux",
        "train_regression",
        "make_asimov_for_normalisation_spline",
        "evaluate_regression",
        "plot_regression",
    ):
        assert counts[rule] == 4, rule  # ttbar and wjets, one per category
    # The stage targets: `train` trains and normalises, `evaluate` also plots.
    train = dry_run(snakemake, tmp_path, TOP_MASS_WORKFLOW, targets=["train"])
    assert train["train_regression"] == train["evaluate_regression"] == 4
    assert "plot_regression" not in train
    evaluate = dry_run(snakemake, tmp_path, TOP_MASS_WORKFLOW, targets=["evaluate"])
    assert evaluate["plot_regression"] == 4


def test_bad_regression_architecture_key_is_named(snakemake, tmp_path):
    proc_config = tmp_path / "config.yaml"
    base = yaml.safe_load(open("config/config.yaml"))
    base["regression_architecture_overrides"] = {"dense_layer": [8]}
    base["results_dir"] = str(tmp_path / "results")
    proc_config.write_text(yaml.safe_dump(base))
    proc = snakemake("-n", "--configfile", str(proc_config), check=False)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "regression_architecture_overrides.dense_layer" in out
    assert "did you mean 'dense_layers'" in out
    assert "Traceback" not in out


def test_shape_nuisance_benchmark_builds_the_regression_sets(snakemake, tmp_path):
    """Dim2GaussianWithShapeNuisance: PreProcess builds the regression sets of ν.

    Truth fits and no density evaluation: a learned fit, and the learned density's Asimovs,
    also need the trained regression model of ν, whose rule (train_regression) comes with the
    regression model itself.
    """
    counts = dry_run(
        snakemake,
        tmp_path,
        benchmark={"name": "Dim2GaussianWithShapeNuisance", "events": 1000},
        densities=["truth"],
        evaluation=False,
    )
    assert counts["preprocess_aux"] == 1
    # X1, X2 and Y1 of the density set; X1, X2, nu and wt_shift of the regression set.
    assert counts["input_plot_training"] == 3 + 4


def test_classifier_models_add_their_jobs(snakemake, tmp_path):
    """A classifier model of one nuisance: train, metrics, normalisation spline (with its
    Asimov) and plots per category (issue 15)."""
    raw = yaml.safe_load(open("config/examples/top_mass/analysis.yaml"))
    # ttbar's isr learned by a classifier instead of the example's regression
    raw["models"]["ttbar"]["classifier_models"] = raw["models"]["ttbar"].pop("regression_models")
    analysis = tmp_path / "analysis.yaml"
    analysis.write_text(yaml.safe_dump(raw))
    counts = dry_run(snakemake, tmp_path, base_config=TOP_MASS_WORKFLOW, analysis=str(analysis))
    assert counts["preprocess_aux"] == 4  # ttbar's classifier and wjets' regression sets
    for rule in (
        "train_classifier",
        "evaluate_classifier",
        "normalisation_spline_classifier",
        "plot_classifier",
    ):
        assert counts[rule] == 2, rule  # one per category
    assert counts["train_regression"] == 2  # wjets only
    # one normalisation Asimov per process and category with any ratio model
    assert counts["make_asimov_for_normalisation_spline"] == 4
    # `train` trains, evaluates (the metrics pruning reads) and normalises; `evaluate` plots.
    train = dry_run(
        snakemake, tmp_path, TOP_MASS_WORKFLOW, targets=["train"], analysis=str(analysis)
    )
    assert train["train_classifier"] == train["normalisation_spline_classifier"] == 2
    assert train["evaluate_classifier"] == 2 and "plot_classifier" not in train
    evaluate = dry_run(
        snakemake, tmp_path, TOP_MASS_WORKFLOW, targets=["evaluate"], analysis=str(analysis)
    )
    assert evaluate["plot_classifier"] == 2
    # Used as an interpolating classifier: the same jobs.
    interpolating = dry_run(
        snakemake,
        tmp_path,
        TOP_MASS_WORKFLOW,
        targets=["train"],
        analysis=str(analysis),
        classifier_types={"isr": "FCNN_ThreePointInterpolator"},
    )
    assert interpolating == train


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        (
            "classifier_architecture_overrides",
            {"normalise_batch_category": True},
            "classifier_architecture_overrides.normalise_batch_category",
        ),
        ("prune_classifier_models", {"roc_auc_val": 0.5}, "prune_classifier_models.roc_auc_val"),
    ],
)
def test_bad_classifier_config_key_is_named(snakemake, tmp_path, key, value, expected):
    proc_config = tmp_path / "config.yaml"
    base = yaml.safe_load(open("config/config.yaml"))
    base[key] = value
    base["results_dir"] = str(tmp_path / "results")
    proc_config.write_text(yaml.safe_dump(base))
    proc = snakemake("-n", "--configfile", str(proc_config), check=False)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert expected in out
    assert "Traceback" not in out


def test_ensemble_trains_and_fits_every_member(snakemake, tmp_path):
    """`ensemble: 3` on the two-process, two-category example: two more flows per process
    and category, each fitted at every point, and one ensemble summary; nothing else moves."""
    base = dry_run(snakemake, tmp_path, base_config=TOP_MASS_WORKFLOW)
    one = dry_run(
        snakemake,
        tmp_path,
        base_config=TOP_MASS_WORKFLOW,
        density_architecture_overrides={"ensemble": 1},
    )
    assert one == base  # K = 1 is today's DAG, job for job
    three = dry_run(
        snakemake,
        tmp_path,
        base_config=TOP_MASS_WORKFLOW,
        density_architecture_overrides={"ensemble": 3},
    )
    added = {k: three.get(k, 0) - base.get(k, 0) for k in three}
    assert {k: v for k, v in added.items() if v} == {
        "train_density_member": 2 * 4,  # members 1 and 2 x (ttbar, wjets) x 2 categories
        "initial_fit": 2 * 10,  # members 1 and 2 x 10 validation points, one fit set
        "ensemble_summary": 1,  # the one fit set, closure
        "total": 8 + 20 + 1,
    }
    # The stage targets: `train` trains the members, `summaries` builds the ensemble summary.
    train = dry_run(
        snakemake,
        tmp_path,
        TOP_MASS_WORKFLOW,
        targets=["train"],
        density_architecture_overrides={"ensemble": 3},
    )
    assert train["train_density_member"] == 8
    summaries = dry_run(
        snakemake,
        tmp_path,
        TOP_MASS_WORKFLOW,
        targets=["summaries"],
        density_architecture_overrides={"ensemble": 3},
    )
    assert summaries["ensemble_summary"] == 1


def test_a_member_fit_reads_that_member_of_every_flow(snakemake, tmp_path):
    """One fit with member 2 needs member 2 of every process and category, and the ratio
    models (which the members share with the main flow, so the main flow too), nothing of
    member 1."""
    target = tmp_path / "results" / "Example_TopMass" / "fits/closure/learned_2/val_0/best_fit.yaml"
    counts = dry_run(
        snakemake,
        tmp_path,
        TOP_MASS_WORKFLOW,
        targets=[str(target)],
        density_architecture_overrides={"ensemble": 3},
    )
    assert counts["train_density_member"] == 4
    assert counts["train_regression"] == 4
    assert counts["initial_fit"] == 1


def test_fit_set_granularity_options_select_their_jobs(snakemake, tmp_path):
    """Own validation points, constraints off, the all-but-one loop, scan values from a file
    and debug points (VaryingYield: Y1 and mu_Gaussian, points 0 and 4)."""
    points = tmp_path / "scan.csv"
    points.write_text("Y1\n0.5\n1.0\n1.5\n")
    fits = {
        "closure": {},
        "nominal": {
            "data_type": "asimov",
            "validation_points": [0],
            "scan": "pois",
            "scan_points": {"from": "input", "file": str(points)},
        },
        "unconstrained": {"constraints": False},
        "debugged": {"likelihood_debug": True, "debug_points": [{"Y1": 1.0}]},
        "each": {"freeze": "all-but-one"},
    }
    counts = dry_run(
        snakemake,
        tmp_path,
        benchmark={"name": "Dim1GaussianWithExpBkgVaryingYield", "events": 1000},
        validation_indices=[0, 4],
        evaluation=False,
        fits=fits,
    )
    # x 2 densities: closure, unconstrained, debugged 2 points each, nominal 1, each 2 x 2
    assert counts["initial_fit"] == 2 * (3 * 2 + 1 + 2 * 2)
    # three given values of Y1, at the one point of `nominal`
    assert counts["scan_points_from_input"] == 2 and counts["scan"] == 3 * 2
    assert "scan_points_from_hessian" not in counts
    assert counts["likelihood_debug"] == 2 * 2
    # one summary per fit set and the all-but-one family; per point only where it fits
    assert counts["summary"] == 5 and counts["summary_per_val"] == 2 + 1 + 2 + 2 + 2
    assert counts["summary_all_but_one_collect"] == 2 * 2


@pytest.mark.parametrize(("loop", "sets"), [(False, 2), (True, 6)])
def test_top_mass_all_but_one_loops_over_pois_and_rates_unless_asked(
    snakemake, tmp_path, loop, sets
):
    """mtop and mu_ttbar by default; with loop_over_nuisances also jes, isr, lumi, wjets_norm."""
    each = {"freeze": "all-but-one"}
    if loop:
        each["all_but_one"] = {"loop_over_nuisances": True}
    counts = dry_run(
        snakemake,
        tmp_path,
        base_config=TOP_MASS_WORKFLOW,
        targets=["fits"],
        fits={"closure": {}, "each": each},
    )
    assert counts["initial_fit"] == 10 + 10 * sets  # 10 validation points


def test_true_densities_only_train_nothing(snakemake, tmp_path):
    """`densities: [truth]` with evaluation off: no flow is trained (nothing reads one)."""
    counts = dry_run(
        snakemake,
        tmp_path,
        benchmark={"name": "Dim1GaussianWithExpBkgVaryingYield", "events": 1000},
        densities=["truth"],
        evaluation=False,
        validation_indices=[4],
    )
    assert "train_density" not in counts
    assert counts["setup_density_from_benchmark"] == 2 and counts["initial_fit"] == 1
