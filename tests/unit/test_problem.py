"""build_problem for every data type and likelihood kind, from small files in tmp_path."""

import numpy as np
import pandas as pd
import pytest

from innfer_lib.core.analysis import load_analysis
from innfer_lib.core.errors import ConfigError
from innfer_lib.core.io import write_parquet, write_yaml
from innfer_lib.data.benchmarks import get_benchmark
from innfer_lib.data.splits import SPLIT_CODE
from innfer_lib.data.weighted_stats import effective_events
from innfer_lib.density.models import true_architecture
from innfer_lib.inference import problem as problem_module
from innfer_lib.inference.binned_inputs import binned_inputs
from innfer_lib.inference.fit_inputs import FitInputs, ProcessInputs, inputs_from_snakemake
from innfer_lib.inference.freeze import frozen_parameters
from innfer_lib.inference.model import BinnedCategory
from innfer_lib.inference.problem import build_problem, parameter_limits, truth_row

PROCESS, CATEGORY = "Gaussian", "inclusive"
EDGES = [160.0, 170.0, 173.0, 176.0, 190.0]
GRID_KEYS = ["174.0", "171.0", "172.5"]  # as YAML writes float keys: strings, unsorted
NOMINAL = {171.0: [300.0, 500.0, 150.0, 50.0], 172.5: [150.0, 400.0, 350.0, 100.0],
           174.0: [80.0, 300.0, 450.0, 170.0]}  # fmt: skip
VAL = 4  # validation.loop[4] = {Y1: 173.0, nu: 0.5}
SIM_COUNTS = [100.0, 380.0, 390.0, 130.0]


def _analysis(binned=True):
    raw = get_benchmark("Dim1Gaussian").analysis_config("/nonexistent")
    raw["nuisances"] = ["nu"]
    raw["inference"] = {
        "rate_parameters": [PROCESS],
        "nuisance_constraints": ["nu"],
        "lnN": {PROCESS: [{"parameter": "nu", "rate": 1.1}]},
    }
    raw["validation"]["loop"][VAL] = {"Y1": 173.0, "nu": 0.5}
    if binned:
        raw["inference"]["binned_fit"] = {
            "files": {PROCESS: [{"file": "base"}]},
            "shape_poi_values": [171.0, 172.5, 174.0],
            "input": {CATEGORY: {"variable": "X1", "binning": EDGES}},
        }
    return load_analysis(raw)


def _parameters(with_binned=True):
    params = {
        "file_name": PROCESS,
        "category": CATEGORY,
        "yields": {"nominal": 1000.0, "lnN": {"nu": [1 / 1.1, 1.1]}},
        "rate_parameter": "mu_Gaussian",
        "eff_events": {"val": {VAL: 250.0}},
        "density": {
            "X_columns": ["X1"],
            "Y_columns": ["Y1"],
            "standardisation": {"X1": {"mean": 172.5, "std": 2.0}, "Y1": {"mean": 172.5, "std": 3}},
            "initial_minmax": {"Y1": {"min": 160.0, "max": 185.0}},
            "training_range": {"Y1": [166.0, 180.0]},
        },
    }
    if with_binned:
        params["binned_fit_input"] = [
            {
                "bin_ind": i,
                "yields": {
                    key: {"nominal": NOMINAL[float(key)][i], "lnN": {"nu": [0.95, 1.05 + 0.01 * i]}}
                    for key in GRID_KEYS
                },
            }
            for i in range(len(EDGES) - 1)
        ]
        params["binned_fit_variable"] = "X1"
        params["binned_fit_edges"] = EDGES
        params["validation_binned_fit"] = {"val": {VAL: SIM_COUNTS}}
    return params


@pytest.fixture
def files(tmp_path):
    """parameters.yaml, validation events, truth architecture, an Asimov and two data files."""
    rng = np.random.default_rng(2)
    params = _parameters()
    write_yaml(tmp_path / "parameters.yaml", params)
    write_yaml(tmp_path / "architecture.yaml", true_architecture("Dim1Gaussian", PROCESS, params))
    n = 600
    split = np.where(np.arange(n) < 400, SPLIT_CODE["val"], SPLIT_CODE["train"])
    validation = pd.DataFrame(
        {
            "X1": rng.normal(173.0, 1.73, n),
            "Y1": 173.0,
            "wt": rng.uniform(0.5, 1.5, n),
            "split": split,
        }
    )
    write_parquet(tmp_path / "validation.parquet", validation)
    asimov = pd.DataFrame({"X1": rng.normal(173.0, 1.73, 300)})
    asimov["wt"] = 1100.0 / len(asimov)
    write_parquet(tmp_path / "asimov.parquet", asimov)
    write_parquet(tmp_path / "data.parquet", pd.DataFrame({"X1": rng.normal(172.5, 1.7, 250)}))
    weighted = pd.DataFrame({"X1": rng.normal(172.5, 1.7, 50), "wt": rng.uniform(0, 2, 50)})
    write_parquet(tmp_path / "data_weighted.parquet", weighted)
    inputs = ProcessInputs(
        parameters=str(tmp_path / "parameters.yaml"),
        validation=str(tmp_path / "validation.parquet"),
        architecture=str(tmp_path / "architecture.yaml"),
        asimov=str(tmp_path / "asimov.parquet"),
    )
    return {
        "dir": tmp_path,
        "inputs": FitInputs(
            {(PROCESS, CATEGORY): inputs}, {CATEGORY: str(tmp_path / "data.parquet")}
        ),
        "validation": validation,
        "asimov": asimov,
    }


class _Recorder:
    """Stands in for Likelihood: keeps the constructor arguments, skips TensorFlow."""

    def __init__(self, columns, categories, kind, constrained=(), constraint_centres=None):
        self.columns = list(columns)
        self.categories = list(categories)
        self.kind = kind
        self.constrained = list(constrained)
        self.centres = dict(constraint_centres or {})


@pytest.fixture
def recorded(monkeypatch):
    monkeypatch.setattr(problem_module, "Likelihood", _Recorder)


def _options(**changes):
    options = {"data_type": "sim", "split": "val", "likelihood": "unbinned_extended",
               "scale_to_eff_events": False}  # fmt: skip
    options.update(changes)
    return options


# --- sim -----------------------------------------------------------------------------------------
def test_sim_problem_uses_validation_events_normalised_to_the_truth_yield(files):
    analysis = _analysis()
    problem = build_problem(analysis, VAL, files["inputs"], _options())
    assert problem.columns == ["Y1", "mu_Gaussian", "nu"]
    assert problem.truth == {"Y1": 173.0, "mu_Gaussian": 1.0, "nu": 0.5}
    assert problem.limits == {"Y1": (166.0, 180.0), "mu_Gaussian": (0.0, None)}
    assert problem.fixed == {}
    info = problem.info["categories"][CATEGORY]
    assert info["events"] == 400 and info["weight_scale"] == 1.0
    # Σw is the process yield at the truth: 1000 × κ(ν = 0.5) with κ_up = 1.1.
    assert info["sum_weights"] == pytest.approx(1000.0 * 1.1**0.5)
    like = problem.likelihood
    value, grad = like.value_and_gradient(np.array([173.0, 1.0, 0.5]))
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    assert like.constrained == ["nu"]


def test_sim_scaling_to_effective_events_and_freeze(files, recorded):
    analysis = _analysis()
    problem = build_problem(
        analysis, VAL, files["inputs"], _options(scale_to_eff_events=True, freeze={"nu": None})
    )
    cat = problem.likelihood.categories[0]
    assert cat.weights.sum() == pytest.approx(effective_events(cat.weights))
    scale = problem.info["categories"][CATEGORY]["weight_scale"]
    assert cat.processes[0].nominal == pytest.approx(1000.0 * scale)
    assert problem.fixed == {"nu": 0.5}  # None means the truth value
    assert problem.likelihood.centres == {"Y1": 173.0, "mu_Gaussian": 1.0, "nu": 0.5}
    spec = build_problem(analysis, VAL, files["inputs"], _options(freeze="all-nuisances"))
    assert spec.fixed == {"nu": 0.5}
    with pytest.raises(ConfigError, match="unknown parameter.*mass"):
        build_problem(analysis, VAL, files["inputs"], _options(freeze={"mass": 1.0}))
    unconstrained = build_problem(analysis, VAL, files["inputs"], _options(constraints=False))
    assert unconstrained.likelihood.constrained == []


# --- asimov and data -----------------------------------------------------------------------------
def test_asimov_problem_takes_weights_as_they_are(files, recorded):
    problem = build_problem(
        _analysis(), VAL, files["inputs"], _options(data_type="asimov", scale_to_eff_events=True)
    )
    cat = problem.likelihood.categories[0]
    np.testing.assert_array_equal(cat.x[:, 0], files["asimov"]["X1"].to_numpy())
    assert cat.weights.sum() == pytest.approx(1100.0)
    assert problem.info["categories"][CATEGORY]["weight_scale"] == 1.0
    assert problem.likelihood.centres["nu"] == 0.5
    given = files["inputs"][(PROCESS, CATEGORY)]
    no_asimov = ProcessInputs(given.parameters, architecture=given.architecture)
    missing = FitInputs({(PROCESS, CATEGORY): no_asimov})
    with pytest.raises(ConfigError, match="asimov__Gaussian__inclusive"):
        build_problem(_analysis(), VAL, missing, _options(data_type="asimov"))


def test_data_problem_is_unweighted_and_centred_on_defaults(files, recorded):
    analysis = _analysis()
    problem = build_problem(analysis, VAL, files["inputs"], _options(data_type="data"))
    cat = problem.likelihood.categories[0]
    assert len(cat.weights) == 250 and np.all(cat.weights == 1.0)
    assert problem.truth == {"Y1": 172.5, "mu_Gaussian": 1.0, "nu": 0.0}
    assert problem.likelihood.centres["nu"] == 0.0
    assert problem.info["truth"] == "defaults"
    assert truth_row(analysis, VAL, "data") == analysis.defaults
    weighted = {CATEGORY: str(files["dir"] / "data_weighted.parquet")}
    problem = build_problem(
        analysis, VAL, files["inputs"], _options(data_type="data"), data=weighted
    )
    assert problem.likelihood.categories[0].weights.sum() == pytest.approx(
        pd.read_parquet(weighted[CATEGORY])["wt"].sum()
    )
    with pytest.raises(ConfigError, match="data__inclusive"):
        build_problem(analysis, VAL, files["inputs"], _options(data_type="data"), data={})


def test_resampled_problem_fits_events_like_data_with_the_point_as_truth(files, recorded):
    """Pseudo-data are read like observed data (unweighted, not rescaled), but their truth,
    and the centre of the constraints, is the validation point they were drawn at."""
    analysis = _analysis()
    problem = build_problem(
        analysis, VAL, files["inputs"], _options(data_type="resampled", scale_to_eff_events=True)
    )
    cat = problem.likelihood.categories[0]
    assert len(cat.weights) == 250 and np.all(cat.weights == 1.0)
    assert problem.info["categories"][CATEGORY]["weight_scale"] == 1.0
    assert problem.truth == {"Y1": 173.0, "mu_Gaussian": 1.0, "nu": 0.5}
    assert problem.likelihood.centres["nu"] == 0.5
    assert "truth" not in problem.info  # summaries compare with the truth, as for sim
    assert truth_row(analysis, VAL, "resampled") == analysis.validation_points[VAL]
    with pytest.raises(ConfigError, match="resampled fit: no events file.*data__inclusive"):
        build_problem(analysis, VAL, files["inputs"], _options(data_type="resampled"), data={})


def test_resampled_binned_problem_histograms_the_events(files, recorded):
    problem = build_problem(
        _analysis(), VAL, files["inputs"], _options(data_type="resampled", likelihood="binned")
    )
    x = pd.read_parquet(files["dir"] / "data.parquet")["X1"]
    expected = np.histogram(x, bins=EDGES)[0]
    np.testing.assert_array_equal(problem.likelihood.categories[0].counts, expected)


def test_unknown_options_are_config_errors(files):
    with pytest.raises(ConfigError, match="data_type"):
        build_problem(_analysis(), VAL, files["inputs"], _options(data_type="toys"))
    with pytest.raises(ConfigError, match="likelihood"):
        build_problem(_analysis(), VAL, files["inputs"], _options(likelihood="chi2"))


def test_inputs_from_snakemake_groups_named_inputs():
    named = {
        "parameters__Gaussian__inclusive": "p.yaml",
        "validation__Gaussian__inclusive__4": "v.parquet",
        "architecture__Gaussian__inclusive__truth": "a.yaml",
        "asimov__Gaussian__inclusive": "asimov.parquet",
        "data__inclusive": "data.parquet",
        "best_fit": "best.yaml",
    }
    inputs = inputs_from_snakemake(named)
    expected = ProcessInputs("p.yaml", "v.parquet", "a.yaml", "asimov.parquet")
    assert inputs[(PROCESS, CATEGORY)] == expected
    assert inputs.data == {CATEGORY: "data.parquet"}
    # The workflow's input_key("data", "all", category) form names the category last.
    assert inputs_from_snakemake({"data__all__inclusive": "d.parquet"}).data == {
        CATEGORY: "d.parquet"
    }
    with pytest.raises(ConfigError, match="parameters__Gaussian__inclusive"):
        inputs_from_snakemake({"asimov__Gaussian__inclusive": "x"})


def test_frozen_parameter_names_need_no_truth():
    analysis = _analysis(binned=False)
    assert frozen_parameters("all-but-Y1", analysis) == ["mu_Gaussian", "nu"]
    assert frozen_parameters("all-nuisances", analysis) == ["nu"]
    assert frozen_parameters("all-non-density", analysis) == ["mu_Gaussian", "nu"]
    assert frozen_parameters("nu=0.3,Y1", analysis) == ["Y1", "nu"]
    assert frozen_parameters(None, analysis) == []
    with pytest.raises(ConfigError, match="all-but-one"):
        frozen_parameters("all-but-one", analysis)


def test_limits_prefer_the_training_range():
    analysis = _analysis()
    params = _parameters(with_binned=False)
    assert parameter_limits(analysis, {(PROCESS, CATEGORY): params})["Y1"] == (166.0, 180.0)
    del params["density"]["training_range"]
    assert parameter_limits(analysis, {(PROCESS, CATEGORY): params})["Y1"] == (160.0, 185.0)
    narrowed = parameter_limits(analysis, {(PROCESS, CATEGORY): params}, {"Y1": [171.0, 174.0]})
    assert narrowed["Y1"] == (171.0, 174.0)


def test_limits_from_named_inputs_read_the_parameters_files(files):
    """A scan-points job's inputs: parameters files among other named inputs."""
    from innfer_lib.inference.fit_job import limits_from_inputs

    named = {
        "covariance": "cov.yaml",
        f"parameters__{PROCESS}__{CATEGORY}": files["inputs"][(PROCESS, CATEGORY)].parameters,
    }
    limits = limits_from_inputs(_analysis(), named)
    assert limits == {"Y1": (166.0, 180.0), "mu_Gaussian": (0.0, None)}


# --- binned --------------------------------------------------------------------------------------
def test_binned_inputs_become_grid_arrays():
    table = binned_inputs(_parameters(), ["Y1"])
    assert table.poi == "Y1" and table.grid == [171.0, 172.5, 174.0]
    assert table.variable == "X1" and table.edges.tolist() == EDGES
    np.testing.assert_array_equal(table.nominal, [NOMINAL[v] for v in table.grid])
    assert table.lnN["nu"].shape == (3, 2, 4)
    np.testing.assert_allclose(table.lnN["nu"][1, 1], [1.05, 1.06, 1.07, 1.08])
    np.testing.assert_allclose(table.lnN["nu"][:, 0], 0.95)
    flat = _parameters()
    for b in flat["binned_fit_input"]:
        b["yields"] = {"all": b["yields"]["172.5"]}
    single = binned_inputs(flat, ["Y1"])
    assert single.poi is None and single.grid == [] and single.nominal.shape == (1, 4)


def test_missing_binned_inputs_name_the_config_key(files):
    write_yaml(files["dir"] / "parameters.yaml", _parameters(with_binned=False))
    with pytest.raises(ConfigError, match=r"inference\.binned_fit"):
        build_problem(_analysis(), VAL, files["inputs"], _options(likelihood="binned_extended"))


def test_binned_sim_counts_and_templates(files, recorded):
    problem = build_problem(
        _analysis(), VAL, files["inputs"], _options(likelihood="binned", scale_to_eff_events=True)
    )
    (cat,) = problem.likelihood.categories
    assert isinstance(cat, BinnedCategory)
    # Kish ratio of one process: Σw/Σw² = N/(N²/n_eff) = n_eff/N, N the yield at the truth.
    scale = 250.0 / (1000.0 * 1.1**0.5)
    assert problem.info["categories"][CATEGORY]["weight_scale"] == pytest.approx(scale)
    np.testing.assert_allclose(cat.counts, np.array(SIM_COUNTS) * scale)
    (proc,) = cat.processes
    assert proc.poi == "Y1" and list(proc.grid) == [171.0, 172.5, 174.0]
    assert proc.rate_parameter == "mu_Gaussian"
    np.testing.assert_allclose(proc.nominal, np.array([NOMINAL[v] for v in proc.grid]) * scale)
    assert problem.limits["Y1"] == (171.0, 174.0)


@pytest.mark.parametrize("data_type", ["asimov", "data"])
def test_binned_counts_from_events_are_histograms(files, recorded, data_type):
    problem = build_problem(
        _analysis(), VAL, files["inputs"], _options(data_type=data_type, likelihood="binned")
    )
    events = (
        files["asimov"]
        if data_type == "asimov"
        else pd.read_parquet(files["dir"] / "data.parquet").assign(wt=1.0)
    )
    expected = np.histogram(events["X1"], bins=EDGES, weights=events["wt"])[0]
    np.testing.assert_allclose(problem.likelihood.categories[0].counts, expected)


def test_binned_extended_likelihood_is_finite_and_fits(files):
    from innfer_lib.inference.minimiser import minimise

    problem = build_problem(
        _analysis(), VAL, files["inputs"], _options(likelihood="binned_extended")
    )
    like = problem.likelihood
    value, grad = like.value_and_gradient(np.array([173.0, 1.0, 0.5]))
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    result = minimise(
        like.value_and_gradient, problem.columns, problem.truth, limits=problem.limits
    )
    assert result["valid"]
    assert 171.0 <= result["best_fit"][0] <= 174.0


# --- per-process fits ----------------------------------------------------------------------------
def _with_other_process():
    """The analysis with a second process, "Other", whose files this fit never reads."""
    analysis = _analysis(binned=False)
    raw = dict(analysis.raw)
    raw["models"] = {**raw["models"], "Other": {"density_models": [{"parameters": [],
                     "file": "base"}], "yields": [{"file": "base"}]}}  # fmt: skip
    raw["validation"] = {**raw["validation"], "files": {**raw["validation"]["files"],
                         "Other": [{"file": "base"}]}}  # fmt: skip
    return load_analysis(raw)


def test_a_per_process_fit_reads_its_process_and_holds_other_parameters(files, recorded):
    analysis = _with_other_process()
    with pytest.raises(ConfigError, match="no files for process 'Other'"):
        build_problem(analysis, VAL, files["inputs"], _options())
    problem = build_problem(analysis, VAL, files["inputs"], _options(processes=[PROCESS]))
    [category] = problem.likelihood.categories
    assert [p.name for p in category.processes] == [PROCESS]
    assert problem.info["processes"] == [PROCESS] and problem.info["categories"][CATEGORY][
        "events"] == 400  # fmt: skip
    # Y1 (shape) and mu_Gaussian (rate) float; nu changes only the yield (lnN): held at truth
    assert problem.fixed == {"nu": 0.5}
    frozen = build_problem(
        analysis, VAL, files["inputs"], _options(processes=[PROCESS], freeze={"Y1": 172.0})
    )
    assert frozen.fixed == {"nu": 0.5, "Y1": 172.0}
    with pytest.raises(ConfigError, match="'Nope'"):
        build_problem(analysis, VAL, files["inputs"], _options(processes=["Nope"]))


def test_constraints_off_removes_exactly_the_gaussian_term(files):
    """−ln L with and without the nu constraint differ by ½(nu − nu_truth)² (INNFER's
    --no-constraint), and only there."""
    analysis = _analysis(binned=False)
    on = build_problem(analysis, VAL, files["inputs"], _options())
    off = build_problem(analysis, VAL, files["inputs"], _options(constraints=False))
    for nu, term in [(0.5, 0.0), (1.5, 0.5), (-0.5, 0.5)]:
        theta = [173.0, 1.0, nu]  # Y1, mu_Gaussian, nu
        assert on.likelihood(theta) - off.likelihood(theta) == pytest.approx(term, abs=1e-9)
