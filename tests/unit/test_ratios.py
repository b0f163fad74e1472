"""Weight-ratio models in the likelihood and MakeAsimov (issue 15), checked with ExactRatio.

The benchmark Dim2GaussianWithShapeNuisance has a weight-only nuisance ν whose ratio
r(x, ν) S(ν) is known exactly, so the nominal truth density times ExactRatio must equal the
benchmark's p(x | Y1, ν) to rounding, integrate to one, and give autodiff derivatives (gradient,
Hessian, D matrix) that agree with finite differences.
"""

import numpy as np
import pandas as pd
import pytest

tf = pytest.importorskip("tensorflow")

from innfer_lib.core.errors import ConfigError  # noqa: E402
from innfer_lib.data import benchmarks as bm  # noqa: E402
from innfer_lib.data.benchmark_densities import SHAPE_YIELD_RATE  # noqa: E402
from innfer_lib.density.models import TrueDensity  # noqa: E402
from innfer_lib.density.sampling import make_asimov  # noqa: E402
from innfer_lib.inference.likelihood import Likelihood  # noqa: E402
from innfer_lib.inference.model import Category, Process  # noqa: E402
from innfer_lib.ratios.exact import ExactRatio  # noqa: E402
from innfer_lib.ratios.reweighted import ReweightedDensity  # noqa: E402

NAME = "Dim2GaussianWithShapeNuisance"
NU = bm.SHAPE_NUISANCE


class NominalTruth:
    """The benchmark's exact density at ν = 0, depending on Y1 only (a flow's stand-in)."""

    x_columns = ["X1", "X2"]
    parameters = ["Y1"]
    smooth_in_parameters = True
    flow = None

    def __init__(self):
        self.truth = TrueDensity(NAME, "Signal")

    def log_prob(self, x, params):
        return self.truth.log_prob(x, {"Y1": params["Y1"], NU: tf.constant(0.0, tf.float64)})

    def sample(self, n, params, seed):
        return self.truth.sample(n, {"Y1": params["Y1"], NU: 0.0}, seed)


def _reweighted() -> ReweightedDensity:
    return ReweightedDensity(NominalTruth(), [ExactRatio(NAME, "Signal", NU)], "model 'Signal'")


def _events(n: int = 400, y: float = 172.8, nu: float = 0.4, seed: int = 3) -> np.ndarray:
    return bm.get_benchmark(NAME).sample_point(np.random.default_rng(seed), n, {"Y1": y, NU: nu})


def test_benchmark_is_registered_and_its_truth_depends_on_nu():
    bench = bm.get_benchmark(NAME)
    assert NAME in bm.SCENARIOS
    assert bench.process_parameters("Signal") == ["Y1"]
    assert TrueDensity(NAME, "Signal").parameters == ["Y1", NU]
    raw = bench.analysis_config("inputs")
    assert raw["models"]["Signal"]["density_models"][0]["parameters"] == ["Y1"]
    assert [e["parameter"] for e in raw["models"]["Signal"]["regression_models"]] == [NU]
    assert NU in raw["files"]["base"]["weight_shifts"]
    assert {"Y1": 172.5, NU: 1.0} in raw["validation"]["loop"]
    assert {"Y1": 172.5, NU: -1.0} in raw["validation"]["loop"]


def test_weight_shift_expression_is_the_exact_ratio_times_the_yield_factor():
    from innfer_lib.core.expressions import evaluate

    bench = bm.get_benchmark(NAME)
    expr = bench.analysis_config("inputs")["files"]["base"]["weight_shifts"][NU]
    x = _events()
    nu = 0.7
    frame = pd.DataFrame({"X1": x[:, 0], "X2": x[:, 1], NU: np.full(len(x), nu)})
    ratio = ExactRatio(NAME, "Signal", NU)
    expected = np.exp(ratio.log_weight(x, nu).numpy() + SHAPE_YIELD_RATE * nu)
    np.testing.assert_allclose(np.asarray(evaluate(frame, expr, "weight_shifts")), expected)


@pytest.mark.parametrize("y, nu", [(172.8, 0.4), (170.0, -1.3), (176.0, 2.5)])
def test_reweighted_nominal_truth_is_the_exact_density(y, nu):
    x = _events(y=y, nu=nu)
    params = {"Y1": tf.constant(y, tf.float64), NU: tf.constant(nu, tf.float64)}
    got = _reweighted().log_prob(x, params).numpy()
    exact = bm.get_benchmark(NAME).log_prob("Signal", x, {"Y1": y, NU: nu})
    np.testing.assert_allclose(got, exact, rtol=0, atol=1e-10)


@pytest.mark.parametrize("y, nu", [(172.5, 1.0), (171.0, -2.0)])
def test_reweighted_density_integrates_to_one(y, nu):
    sigma = 0.01 * y
    x1 = np.linspace(y - 9 * sigma, y + 9 * sigma, 401)
    x2 = np.linspace(-12.0, 12.0, 401)
    g1, g2 = np.meshgrid(x1, x2, indexing="ij")
    x = np.column_stack([g1.ravel(), g2.ravel()])
    p = np.exp(_reweighted().log_prob(x, {"Y1": y, NU: nu}).numpy()).reshape(g1.shape)
    integral = np.trapezoid(np.trapezoid(p, x2, axis=1), x1)
    assert integral == pytest.approx(1.0, abs=1e-8)


def test_density_protocol_members():
    d = _reweighted()
    assert d.parameters == ["Y1", NU]
    assert d.x_columns == ["X1", "X2"] and d.flow is None and d.smooth_in_parameters
    assert d.ratio_limits() == {NU: bm.SHAPE_NU_RANGE}
    x = d.sample(50, {"Y1": 172.5, NU: 2.0}, seed=4)
    assert x.shape == (50, 2)
    np.testing.assert_array_equal(x, NominalTruth().sample(50, {"Y1": 172.5}, 4))


def test_ratio_columns_are_picked_from_the_density_columns():
    """A ratio reading X2 alone, in a density whose columns are (X1, X2)."""

    class X2Tilt:
        parameter, x_columns, nu_range, smooth_in_parameter = "a", ["X2"], (-1.0, 1.0), True
        theta_parameters = ()

        def log_weight(self, x, nu, theta=None):
            return nu * x[:, 0] - 0.5 * nu**2

    d = ReweightedDensity(NominalTruth(), [X2Tilt()], "m")
    x = _events(20)
    np.testing.assert_allclose(
        d.log_weight(x, {"a": 0.5}).numpy(), 0.5 * x[:, 1] - 0.125, rtol=1e-14
    )
    with pytest.raises(ConfigError, match="reads \\['X3'\\]"):
        X2Tilt.x_columns = ["X3"]
        ReweightedDensity(NominalTruth(), [X2Tilt()], "m")


def test_nu_outside_the_trained_range_is_a_clear_error():
    d = _reweighted()
    with pytest.raises(ConfigError) as err:
        d.log_prob(_events(5), {"Y1": 172.5, NU: 3.5})
    message = str(err.value)
    assert "model 'Signal'" in message and "nu = 3.5" in message and "[-3, 3]" in message
    with pytest.raises(ConfigError, match="nu = -4"):
        d.event_weights(_events(5), {"Y1": 172.5, NU: -4.0})
    # A parameter already modelled by the density cannot also get a ratio.
    with pytest.raises(ConfigError, match="twice"):
        ReweightedDensity(TrueDensity(NAME, "Signal"), [ExactRatio(NAME, "Signal", NU)], "m")


# --- derivatives in ν against finite differences -----------------------------------------
COLUMNS = ["Y1", NU]
THETA = np.array([172.7, 0.35])


def _likelihood(kind: str) -> Likelihood:
    x = _events(300, y=172.5, nu=0.3, seed=9)
    w = np.random.default_rng(2).uniform(0.5, 1.5, len(x))
    cat = Category("c", x, w, [Process("Signal", _reweighted(), 300.0)])
    return Likelihood(COLUMNS, [cat], kind=kind, constrained=[NU], constraint_centres={NU: 0.0})


def _numpy_nll(like: Likelihood, theta: np.ndarray) -> float:
    return like.value_and_gradient(theta)[0]


def _exact_log_p(x: np.ndarray, theta: np.ndarray) -> np.ndarray:
    return bm.get_benchmark(NAME).log_prob("Signal", x, dict(zip(COLUMNS, theta, strict=True)))


@pytest.mark.parametrize("kind", ["unbinned_extended", "unbinned"])
def test_gradient_hessian_and_dmatrix_match_finite_differences(kind):
    like = _likelihood(kind)
    (cat,) = like.event_categories
    steps = np.array([1e-4, 1e-5])
    _, grad = like.value_and_gradient(THETA)
    fd_grad = np.zeros(2)
    fd_hess = np.zeros((2, 2))
    for i in range(2):
        e = np.zeros(2)
        e[i] = steps[i]
        fd_grad[i] = (_numpy_nll(like, THETA + e) - _numpy_nll(like, THETA - e)) / (2 * steps[i])
        fd_hess[i] = (
            like.value_and_gradient(THETA + e)[1] - like.value_and_gradient(THETA - e)[1]
        ) / (2 * steps[i])
    np.testing.assert_allclose(grad, fd_grad, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(like.hessian(THETA), 0.5 * (fd_hess + fd_hess.T), rtol=1e-6)
    # D from per-event scores of the independent numpy density (shape-only scores too: the
    # density is normalised, so ∂ln Λ/∂θ = 0 for a process without yield parameters).
    scores = np.zeros((len(cat.weights), 2))
    for i in range(2):
        e = np.zeros(2)
        e[i] = steps[i]
        scores[:, i] = (_exact_log_p(cat.x, THETA + e) - _exact_log_p(cat.x, THETA - e)) / (
            2 * steps[i]
        )
    d = (cat.weights[:, None] ** 2 * scores).T @ scores
    d[1, 1] += 1.0  # the constraint's Fisher information
    np.testing.assert_allclose(like.dmatrix(THETA), d, rtol=1e-6)


# --- MakeAsimov -----------------------------------------------------------------------------
def _asimov_parameters() -> dict:
    return {
        "density": {
            "X_columns": ["X1", "X2"],
            "initial_minmax": {
                "X1": {"min": 150.0, "max": 200.0},
                "X2": {"min": -20.0, "max": 20.0},
            },
        },
        "yields": {"nominal": 500.0, "lnN": {}},
    }


def test_make_asimov_applies_the_ratio_weights_and_rescales_to_the_yield():
    d = _reweighted()
    point = {"Y1": 172.5, NU: 1.0}
    events = make_asimov(d, _asimov_parameters(), point, 40_000, seed=5, batch_size=10_000)
    w = events["wt"].to_numpy()
    assert w.sum() == pytest.approx(500.0, rel=1e-12)
    x = events[["X1", "X2"]].to_numpy()
    ratio = np.exp(ExactRatio(NAME, "Signal", NU).log_weight(x, 1.0).numpy())
    np.testing.assert_allclose(w, 500.0 * ratio / ratio.sum(), rtol=1e-12)
    # The weighted X2 mean is ν E[g(X1)] = SHAPE_SLOPE at Y1 = 172.5, not the nominal 0.
    from innfer_lib.data.benchmark_densities import SHAPE_SLOPE

    assert np.average(x[:, 1], weights=w) == pytest.approx(SHAPE_SLOPE, abs=0.01)
    # At ν = 0 the weights are flat, as without a ratio model.
    flat = make_asimov(d, _asimov_parameters(), {"Y1": 172.5, NU: 0.0}, 100, seed=5)
    np.testing.assert_allclose(flat["wt"], 5.0, rtol=1e-12)


def test_make_asimov_refuses_nu_outside_the_range():
    with pytest.raises(ConfigError, match="nu = 3.2"):
        make_asimov(_reweighted(), _asimov_parameters(), {"Y1": 172.5, NU: 3.2}, 100, seed=1)


# --- wiring: build_problem loads each regression model and wraps the learned density --------
def _fit_files(tmp_path, validation_nu: float = 0.0):
    """parameters.yaml, validation events and the truth record of the benchmark's process."""
    from innfer_lib.core.analysis import load_analysis
    from innfer_lib.core.io import write_parquet, write_yaml
    from innfer_lib.data.splits import SPLIT_CODE
    from innfer_lib.density.models import true_architecture
    from innfer_lib.inference.fit_inputs import ProcessInputs
    from innfer_lib.ratios.loading import RatioFiles

    raw = bm.get_benchmark(NAME).analysis_config("/nonexistent")
    raw["validation"]["loop"][-1] = {"Y1": 172.5, NU: validation_nu}
    analysis = load_analysis(raw)
    val = len(analysis.validation_points) - 1
    params = {
        "yields": {"nominal": 1000.0, "lnN": {NU: [np.exp(-0.1), np.exp(0.1)]}},
        "eff_events": {"val": {val: 300.0}},
        "density": {
            "X_columns": ["X1", "X2"],
            "Y_columns": ["Y1"],
            "training_range": {"Y1": [166.0, 180.0]},
        },
    }
    write_yaml(tmp_path / "parameters.yaml", params)
    write_yaml(tmp_path / "architecture.yaml", true_architecture(NAME, "Signal", params))
    x = _events(300, y=172.5, nu=0.5, seed=7)
    frame = pd.DataFrame({"X1": x[:, 0], "X2": x[:, 1], "wt": 1.0, "split": SPLIT_CODE["val"]})
    write_parquet(tmp_path / "validation.parquet", frame)
    files = ProcessInputs(
        parameters=str(tmp_path / "parameters.yaml"),
        validation=str(tmp_path / "validation.parquet"),
        architecture=str(tmp_path / "architecture.yaml"),
        ratios={NU: RatioFiles("regression", "w.npz", "arch.yaml", "norm.yaml", "params.yaml")},
    )
    return analysis, val, files


@pytest.fixture
def learned_is_nominal_truth(monkeypatch):
    """The learned density is the ν = 0 truth and every regression model is exact."""
    from innfer_lib.inference import problem
    from innfer_lib.ratios import loading

    monkeypatch.setattr(problem, "load_density", lambda path, params: NominalTruth())
    monkeypatch.setattr(loading, "load_ratio", lambda f: ExactRatio(NAME, "Signal", NU))


def test_fit_wraps_the_density_with_its_regression_models(
    tmp_path, learned_is_nominal_truth, monkeypatch
):
    from innfer_lib.inference.fit_inputs import FitInputs
    from innfer_lib.inference.problem import build_problem

    analysis, val, files = _fit_files(tmp_path)
    prob = build_problem(analysis, val, FitInputs({("Signal", "inclusive"): files}), {})
    (cat,) = prob.likelihood.event_categories
    assert isinstance(cat.processes[0].density, ReweightedDensity)
    assert prob.limits[NU] == bm.SHAPE_NU_RANGE
    # The same likelihood as the exact truth density's, which depends on ν itself.
    from innfer_lib.inference import problem

    monkeypatch.setattr(problem, "load_density", lambda path, params: TrueDensity(NAME, "Signal"))
    truth = build_problem(analysis, val, FitInputs({("Signal", "inclusive"): files}), {})
    assert type(truth.likelihood.event_categories[0].processes[0].density) is TrueDensity
    theta = np.array([172.9, 0.4])
    assert prob.columns == truth.columns == ["Y1", NU]
    v_learned, g_learned = prob.likelihood.value_and_gradient(theta)
    v_truth, g_truth = truth.likelihood.value_and_gradient(theta)
    assert v_learned == pytest.approx(v_truth, rel=1e-12)
    np.testing.assert_allclose(g_learned, g_truth, rtol=1e-9)


@pytest.mark.parametrize("where", ["validation", "freeze"])
def test_fit_refuses_a_fixed_nu_outside_the_ratio_range(tmp_path, learned_is_nominal_truth, where):
    from innfer_lib.inference.fit_inputs import FitInputs
    from innfer_lib.inference.problem import build_problem

    analysis, val, files = _fit_files(tmp_path, 3.5 if where == "validation" else 0.0)
    options = {"freeze": {NU: -3.2}} if where == "freeze" else {}
    with pytest.raises(ConfigError) as err:
        build_problem(analysis, val, FitInputs({("Signal", "inclusive"): files}), options)
    assert "process 'Signal', category 'inclusive'" in str(err.value)
    assert "[-3, 3]" in str(err.value) and ("3.5" in str(err.value) or "-3.2" in str(err.value))


def test_ratio_inputs_are_grouped_per_process_and_parameter():
    from innfer_lib.inference.fit_inputs import inputs_from_snakemake, ratio_inputs
    from innfer_lib.ratios.loading import RatioFiles

    named = {
        "parameters__Signal__inclusive": "p.yaml",
        "regression_model__Signal__inclusive__nu": "w.npz",
        "regression_architecture__Signal__inclusive__nu": "r.yaml",
        "regression_spline__Signal__inclusive__nu": "s.yaml",
        "regression_parameters__Signal__inclusive__nu": "a.yaml",
    }
    expected = {NU: RatioFiles("regression", "w.npz", "r.yaml", "s.yaml", "a.yaml")}
    assert inputs_from_snakemake(named)[("Signal", "inclusive")].ratios == expected
    del named["regression_spline__Signal__inclusive__nu"]
    with pytest.raises(ConfigError, match="regression_spline"):
        ratio_inputs(named)


@pytest.mark.parametrize("kind", ["regression", "classifier"])
def test_ratio_model_files_round_trip_through_named_inputs(kind):
    """The workflow names a fit's ratio inputs from `ratio_model_files` (rules/common.smk) and
    the job reads them back with `ratio_inputs`: the same files, under the run's paths."""
    from innfer_lib.core.analysis import load_analysis
    from innfer_lib.core.paths import INPUT_KEY_SEPARATOR, Paths
    from innfer_lib.data.benchmarks import get_benchmark
    from innfer_lib.inference.fit_inputs import RATIO_INPUT_FIELDS, ratio_inputs
    from innfer_lib.ratios.loading import ratio_model_files

    raw = get_benchmark("Dim2GaussianWithShapeNuisance").analysis_config("in", kind)
    paths = Paths.for_analysis("res", raw["name"])
    files = ratio_model_files(load_analysis(raw), paths, "Signal", "inclusive")
    assert list(files) == [NU] and files[NU].kind == kind
    assert files[NU].model == f"res/{raw['name']}/models/Signal/inclusive/{kind}/nu/weights.npz"
    assert "{" not in "".join(vars(files[NU]).values())
    named = {
        INPUT_KEY_SEPARATOR.join([f"{kind}_{name}", "Signal", "inclusive", NU]): getattr(
            files[NU], field
        )
        for name, field in RATIO_INPUT_FIELDS.items()
    }
    assert ratio_inputs(named) == {("Signal", "inclusive"): files}
    # a flow conditioned on ν itself needs no ratio model
    raw["models"]["Signal"]["density_models"][0]["parameters"].append(NU)
    assert ratio_model_files(load_analysis(raw), paths, "Signal", "inclusive") == {}


def test_a_pruned_classifier_adds_nothing(tmp_path):
    """The spline file of a pruned classifier says so; the density is then left unchanged."""
    from innfer_lib.core.io import write_yaml
    from innfer_lib.ratios.loading import PRUNED, RatioFiles, load_ratio, reweight

    spline = tmp_path / "normalisation.yaml"
    write_yaml(spline, {PRUNED: True})
    files = RatioFiles("classifier", "w.npz", "a.yaml", str(spline), "p.yaml")
    assert load_ratio(files) is None
    density = NominalTruth()
    assert reweight(density, {NU: files}, "process 'Signal'") is density
    with pytest.raises(ConfigError, match="'ratio' is not one of"):
        load_ratio(RatioFiles("ratio", "w.npz", "a.yaml", str(spline), "p.yaml"))


def test_weight_factor_in_tensorflow_is_the_weight_shift_applied():
    """`asym_log_normal.weight_factor` with TensorFlow ops is the factor two_weight_variation
    applies (so an exact ratio in a fit is the simulation's weighting), with the top-mass
    example's ISR ratios, including ν beyond ±1 and ratios outside the clip range."""
    from innfer_lib.data.asym_log_normal import two_weight_variation, weight_factor
    from innfer_lib.data.examples import TTBAR_ISR_SIZE, isr_ratios

    rng = np.random.default_rng(5)
    pt = 370.0 + rng.exponential(150.0, 500)
    up, down = isr_ratios(pt, TTBAR_ISR_SIZE)
    up_tf, down_tf = isr_ratios(tf.constant(pt, tf.float64), TTBAR_ISR_SIZE, tanh=tf.tanh)
    np.testing.assert_allclose(up_tf.numpy(), up, rtol=1e-15)
    np.testing.assert_allclose(down_tf.numpy(), down, rtol=1e-15)
    ops = {"clip": tf.clip_by_value, "where": tf.where, "exp": tf.exp, "log": tf.math.log}
    # Scale 9 pushes the ratios past their [0.5, 2] clip and the factor past its [0, 2] one.
    cases = [(1.0, nu) for nu in (-3.0, -0.7, -0.2, 0.0, 0.4, 2.5)] + [(9.0, 1.3), (9.0, -2.0)]
    for scale, nu in cases:
        r_up, r_down = 1.0 + scale * (up - 1.0), 1.0 + scale * (down - 1.0)
        frame = pd.DataFrame({"wt": 1.0, "isr": nu, "u": r_up, "d": r_down})
        applied = two_weight_variation(frame, "isr", "u", "d")["wt"].to_numpy()
        factor = weight_factor(tf.constant(nu, tf.float64), r_down, r_up, **ops).numpy()
        np.testing.assert_allclose(factor, applied, rtol=1e-13)
        np.testing.assert_array_equal(weight_factor(np.float64(nu), r_down, r_up), applied)
