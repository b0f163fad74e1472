"""Freeze specs, minimiser choice and fallback, approximate uncertainty, numerical Hessians."""

import math

import numpy as np
import pytest

from innfer_lib.core.analysis import load_analysis
from innfer_lib.core.errors import ConfigError, DataError
from innfer_lib.core.fit_sets import (
    TOY_SECONDS,
    TOY_SETUP_MINUTES,
    expand_fit_sets,
    summary_sets,
    toy_job_minutes,
)
from innfer_lib.data.benchmarks import get_benchmark
from innfer_lib.inference import minimiser
from innfer_lib.inference.approximate import approximate_uncertainty
from innfer_lib.inference.covariance import covariance_result, sandwich_result
from innfer_lib.inference.freeze import freeze_sets, parse_freeze
from innfer_lib.inference.hessian import (
    hessian_by_differences,
    hessian_collect,
    hessian_column,
    hessian_column_record,
    parallel_hessian_column,
)
from innfer_lib.inference.minimiser import minimise

COLUMNS = ["Y1", "mu_sig", "nu", "nu_two"]
TRUTH = {"Y1": 172.5, "mu_sig": 1.2, "nu": 0.3, "nu_two": -0.5}
NUISANCES = ["nu", "nu_two"]


def test_a_fixed_scan_range_is_for_a_scanned_parameter_with_low_below_high():
    analysis = load_analysis(get_benchmark("Dim1Gaussian").analysis_config("inputs"))
    ok = {"scan": ["Y1"], "scan_points": {"n_points": 3, "range": {"Y1": [172.0, 173.0]}}}
    assert expand_fit_sets({"c": ok}, analysis)["c"]["scan_points"]["range"] == {
        "Y1": [172.0, 173.0]
    }
    bad = {
        "not scanned": {"scan": None, "scan_points": {"range": {"Y1": [172.0, 173.0]}}},
        "needs low < high, got": {"scan": ["Y1"], "scan_points": {"range": {"Y1": [2.0, 1.0]}}},
    }
    for message, options in bad.items():
        with pytest.raises(ConfigError, match=rf"fits\.c\.scan_points\.range\.Y1.*{message}"):
            expand_fit_sets({"c": options}, analysis)


def test_summary_labels_reach_the_summary():
    """A free-form mapping with a {} default is a value: the labels were once dropped."""
    summaries = {"both": {"fits": ["a", "b"], "labels": {"a": "flow", "b": "truth"}}}
    fits = {"a": {}, "b": {}}
    filled = summary_sets(summaries, fits, ["learned"])["both"]
    assert filled["labels"] == {"a": "flow", "b": "truth"}


# --- freeze specs ------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["binned", "binned_extended"])
def test_postfit_plots_of_a_binned_fit_set_are_accepted(kind):
    """A binned fit set's post-fit plot draws counts against bin yields (postfit_plot_binned)."""
    analysis = load_analysis(get_benchmark("Dim1Gaussian").analysis_config("inputs"))
    fits = expand_fit_sets({"closure": {"postfit": True, "likelihood": kind}}, analysis)
    assert fits["closure"]["postfit"] is True


def test_freeze_explicit_values_and_bare_names():
    assert parse_freeze("mu_sig=2, nu=-1.5", COLUMNS, TRUTH) == {"mu_sig": 2.0, "nu": -1.5}
    assert parse_freeze("nu", COLUMNS, TRUTH) == {"nu": 0.3}
    assert parse_freeze({"nu": None, "Y1": 170}, COLUMNS, TRUTH) == {"nu": 0.3, "Y1": 170.0}
    assert parse_freeze(None, COLUMNS, TRUTH) == {}
    assert parse_freeze("", COLUMNS, TRUTH) == {}


def test_freeze_keyword_forms_freeze_at_truth():
    assert parse_freeze("all-nuisances", COLUMNS, TRUTH, NUISANCES) == {"nu": 0.3, "nu_two": -0.5}
    non_density = parse_freeze("all-non-density", COLUMNS, TRUTH, density_parameters=["Y1", "nu"])
    assert non_density == {"mu_sig": 1.2, "nu_two": -0.5}
    (only,) = freeze_sets("all-but-mu_sig-nu_two", COLUMNS, TRUTH)
    assert only.tag == "_floating_only_mu_sig_nu_two"
    assert only.floating == ["mu_sig", "nu_two"]
    assert only.fixed == {"Y1": 172.5, "nu": 0.3}


def test_freeze_all_but_one_gives_one_set_per_column():
    sets = freeze_sets("all-but-one", COLUMNS, TRUTH)
    assert [s.tag for s in sets] == [f"_floating_only_{c}" for c in COLUMNS]
    for s, col in zip(sets, COLUMNS, strict=True):
        assert s.floating == [col]
        assert s.fixed == {c: TRUTH[c] for c in COLUMNS if c != col}
    looped = freeze_sets("all-but-one", COLUMNS, TRUTH, loop_columns=["Y1", "mu_sig"])
    assert [s.floating for s in looped] == [["Y1"], ["mu_sig"]]
    # INNFER: nothing to freeze with a single parameter.
    assert [s.fixed for s in freeze_sets("all-but-one", ["Y1"], TRUTH)] == [{}]
    with pytest.raises(ConfigError, match="freeze_sets"):
        parse_freeze("all-but-one", COLUMNS, TRUTH)


def test_freeze_names_with_dashes_are_matched_against_known_columns():
    columns = ["a-b", "c", "d"]
    (only,) = freeze_sets("all-but-a-b-c", columns, {"a-b": 1.0, "c": 2.0, "d": 3.0})
    assert only.floating == ["a-b", "c"] and only.fixed == {"d": 3.0}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("mass=3", r"'mass=3'.*unknown parameter.*mass"),
        ("all-but-Y1-bogus", r"'all-but-Y1-bogus'.*unknown parameter.*bogus"),
        ("nu=abc", r"value of 'nu' is 'abc'"),
        ("nu=1,nu=2", "more than once"),
        ("all-everything", "unknown form"),
        ("all-but-", "name the floating"),
        ("nu=inf", "finite"),
    ],
)
def test_freeze_errors_name_spec_and_parameter(spec, message):
    with pytest.raises(ConfigError, match=message):
        freeze_sets(spec, COLUMNS, TRUTH, NUISANCES)


def test_freeze_without_truth_value_is_an_error():
    with pytest.raises(ConfigError, match="no truth value"):
        parse_freeze("all-nuisances", COLUMNS, {"Y1": 1.0}, NUISANCES)


# --- minimisers --------------------------------------------------------------------------------
def _quadratic(centre, inverse_cov):
    centre = np.asarray(centre, float)
    inverse_cov = np.asarray(inverse_cov, float)

    def value_and_gradient(theta):
        d = np.asarray(theta) - centre
        return 0.5 * float(d @ inverse_cov @ d) + 7.0, inverse_cov @ d

    return value_and_gradient


QUAD = _quadratic([1.0, -2.0, 0.5], [[4.0, 1.0, 0.0], [1.0, 3.0, 0.5], [0.0, 0.5, 2.0]])
START = {"a": 0.0, "b": 0.0, "c": 0.0}


@pytest.mark.parametrize("method", ["minuit", "scipy"])
def test_both_minimisers_find_the_minimum_and_say_which(method):
    result = minimise(QUAD, ["a", "b", "c"], START, method=method)
    assert result["valid"] and result["status"] == "converged"
    assert result["minimiser"] == method and not result["fallback_used"]
    np.testing.assert_allclose(result["best_fit"], [1.0, -2.0, 0.5], atol=1e-3)
    assert result["best_fit_nll"] == pytest.approx(14.0, abs=1e-4)
    assert result["edm"] <= result["edm_goal"]


@pytest.mark.parametrize("method", ["minuit", "scipy"])
def test_fixed_parameters_and_limits_are_respected(method):
    result = minimise(
        QUAD, ["a", "b", "c"], START, limits={"a": (1.5, None)}, fixed={"b": -1.0}, method=method
    )
    assert result["valid"]
    a, b, c = result["best_fit"]
    assert b == -1.0 and a == pytest.approx(1.5, abs=1e-6)
    # With a at its bound and b fixed, c minimises 0.5·2·(c−0.5)² + 0.5·(b+2)(c−0.5)·2.
    assert c == pytest.approx(0.5 - 0.5 * (b + 2.0) / 2.0, abs=1e-3)
    assert result["at_limit"]
    assert result["fixed"] == {"b": -1.0}


def test_everything_fixed_is_one_evaluation():
    result = minimise(QUAD, ["a", "b", "c"], {}, fixed={"a": 1.0, "b": -2.0, "c": 0.5})
    assert result["valid"] and result["minimiser"] == "none"
    assert result["best_fit"] == [1.0, -2.0, 0.5] and result["likelihood_evaluations"] == 1
    assert result["best_fit_nll"] == pytest.approx(14.0)


def test_unknown_fixed_parameter_or_method_is_a_config_error():
    with pytest.raises(ConfigError, match="zz"):
        minimise(QUAD, ["a", "b", "c"], START, fixed={"zz": 1.0})
    with pytest.raises(ConfigError, match="minimiser"):
        minimise(QUAD, ["a", "b", "c"], START, method="simplex")


def test_minuit_is_given_the_hessian_from_gradient_differences():
    """The matrix Minuit gets is the curvature; with it MIGRAD needs few evaluations."""
    objective = minimiser._CachedObjective(QUAD)
    h = objective.hessian(np.array([0.3, -1.0, 2.0]), [0, 1, 2], [(None, None)] * 3)
    np.testing.assert_allclose(h, [[4.0, 1.0, 0.0], [1.0, 3.0, 0.5], [0.0, 0.5, 2.0]], atol=1e-6)
    # A fixed column is left out (unit diagonal) and costs no evaluation.
    objective = minimiser._CachedObjective(QUAD)
    h = objective.hessian(np.array([0.3, -1.0, 2.0]), [0, 2], [(None, None)] * 3)
    assert objective.calls == 3 and h[1, 1] == 1.0 and h[0, 1] == h[1, 0] == 0.0
    np.testing.assert_allclose(h[np.ix_([0, 2], [0, 2])], [[4.0, 0.0], [0.0, 2.0]], atol=1e-6)
    # Minuit estimated these second derivatives from values: 37 evaluations, now 12.
    result = minimise(QUAD, ["a", "b", "c"], START)
    assert result["valid"] and result["likelihood_evaluations"] <= 15


def test_the_hessian_step_stays_inside_limits_and_where_the_nll_is_finite():
    seen = []

    def walled(theta):
        seen.append(np.array(theta))
        if theta[0] > 1.0 or theta[1] < -2.0:
            return math.inf, np.zeros(3)
        return QUAD(theta)

    objective = minimiser._CachedObjective(walled)
    # a sits at its upper limit: the step goes down. b sits at a wall with no limit: the
    # step down is not finite and is tried upwards.
    limits = [(None, 1.0), (None, None), (None, None)]
    h = objective.hessian(np.array([1.0, -2.0, 0.5]), [0, 1, 2], limits)
    assert all(t[0] <= 1.0 for t in seen)
    np.testing.assert_allclose(h, [[4.0, 1.0, 0.0], [1.0, 3.0, 0.5], [0.0, 0.5, 2.0]], atol=1e-6)


def test_the_hessian_step_is_retaken_at_a_tenth_of_the_error_it_implies():
    """A parameter of size 1000 with σ = 10⁻³: 10⁻⁴·|θ| = 0.1 is 100σ, far outside the bowl."""
    centre, sigma = 1000.0, 1e-3

    def bowl(theta):
        z = (theta[0] - centre) / sigma
        return 0.5 * z**2 + z**4, np.array([(z + 4.0 * z**3) / sigma])

    objective = minimiser._CachedObjective(bowl)
    h = objective.hessian(np.array([centre]), [0], [(None, None)])
    # The first step alone gives 1/σ² + 4·(0.1/σ)²/σ² = 4·10¹⁰; the retaken one the curvature.
    np.testing.assert_allclose(h[0, 0], 1.0 / sigma**2, rtol=0.01)
    assert objective.calls == 3


def test_scipy_fallback_when_every_migrad_attempt_is_invalid(monkeypatch):
    real = minimiser.RUNNERS["minuit"]

    def always_invalid(*args, **kwargs):
        attempt = real(*args, **kwargs)
        attempt.valid = False
        return attempt

    monkeypatch.setitem(minimiser.RUNNERS, "minuit", always_invalid)
    result = minimise(QUAD, ["a", "b", "c"], START, retries=1)
    assert result["valid"] and result["status"] == "converged"
    assert result["minimiser"] == "scipy" and result["fallback_used"]
    assert [a["minimiser"] for a in result["attempts"]][:2] == ["minuit", "minuit"]
    np.testing.assert_allclose(result["best_fit"], [1.0, -2.0, 0.5], atol=1e-3)
    no_fallback = minimise(QUAD, ["a", "b", "c"], START, retries=1, fallback=False)
    assert no_fallback["status"] == "failed" and no_fallback["minimiser"] == "minuit"
    assert not no_fallback["valid"]


def test_non_finite_objective_fails_without_raising():
    def nan_everywhere(theta):
        return math.nan, np.full(len(theta), math.nan)

    result = minimise(nan_everywhere, ["a", "b"], {"a": 1.0, "b": 2.0}, retries=1)
    assert result["status"] == "failed" and not result["valid"]
    assert result["best_fit"] == [1.0, 2.0]
    assert math.isnan(result["best_fit_nll"])
    assert result["nonfinite_evaluations"] == result["likelihood_evaluations"] > 0


def test_unbounded_objective_fails_with_best_point_found():
    def downhill(theta):
        return -float(theta[0]) + float(theta[1]) ** 2, np.array([-1.0, 2.0 * theta[1]])

    result = minimise(downhill, ["a", "b"], {"a": 0.0, "b": 1.0}, retries=1, max_calls=200)
    assert result["status"] == "failed"
    assert result["best_fit"][0] > 1.0
    assert result["best_fit_nll"] < 0


@pytest.mark.parametrize("method", ["minuit", "scipy"])
def test_nan_region_is_counted_and_avoided(method):
    """x − 0.1 ln x: Newton-like first steps from x = 5 land at x < 0, where it is NaN."""

    def log_barrier(theta):
        x = np.float64(theta[0])
        with np.errstate(invalid="ignore", divide="ignore"):
            return float(x - 0.1 * np.log(x)), np.array([1.0 - 0.1 / x])

    result = minimise(log_barrier, ["x"], {"x": 5.0}, method=method, fallback=False)
    assert result["valid"] and result["minimiser"] == method
    assert result["best_fit"][0] == pytest.approx(0.1, abs=2e-3)
    assert result["nonfinite_evaluations"] > 0


# --- approximate uncertainty ---------------------------------------------------------------------
def _asymmetric_nll(centre, up, down, other_centre=3.0):
    def nll(theta):
        d = theta[0] - centre
        s = up if d > 0 else down
        return 0.5 * (d / s) ** 2 + 0.5 * (theta[1] - other_centre) ** 2 + 11.0

    return nll


def test_approximate_uncertainty_is_exact_for_a_parabola():
    nll = _asymmetric_nll(2.0, 0.4, 0.4)
    res = approximate_uncertainty(nll, [2.0, 3.0], "x", ["x", "y"])
    assert res["valid"] and res["restarts"] == 0
    assert res["uncertainty"]["up"] == pytest.approx(0.4, rel=1e-10)
    assert res["uncertainty"]["down"] == pytest.approx(0.4, rel=1e-10)
    assert res["crossings"] == pytest.approx({-2: 1.2, -1: 1.6, 0: 2.0, 1: 2.4, 2: 2.8})
    assert res["step"] == pytest.approx(0.1)


def test_approximate_uncertainty_keeps_sides_apart():
    res = approximate_uncertainty(
        _asymmetric_nll(200.0, 0.3, 0.7), {"x": 200.0, "y": 3.0}, "x", ["x", "y"]
    )
    assert res["step"] == pytest.approx(0.2)
    assert res["uncertainty"]["up"] == pytest.approx(0.3, rel=1e-10)
    assert res["uncertainty"]["down"] == pytest.approx(0.7, rel=1e-10)
    assert res["uncertainty"]["symmetrised"] == pytest.approx(0.5, rel=1e-10)
    assert res["crossings"] == pytest.approx({-2: 198.6, -1: 199.3, 0: 200.0, 1: 200.3, 2: 200.6})
    assert res["symmetrised_crossings"] == pytest.approx(
        {-2: 199.0, -1: 199.5, 0: 200.0, 1: 200.5, 2: 201.0}
    )


def test_approximate_uncertainty_moves_a_wrong_best_fit():
    nll = _asymmetric_nll(1.0, 0.5, 0.5)
    res = approximate_uncertainty(nll, [1.2, 3.0], "x", ["x", "y"])
    assert res["best_fit_moved"] and res["restarts"] == 2
    assert res["best_fit"] == pytest.approx([1.0, 3.0])
    assert res["uncertainty"]["up"] == pytest.approx(0.5, rel=1e-9)
    assert res["uncertainty"]["down"] == pytest.approx(0.5, rel=1e-9)
    stuck = approximate_uncertainty(nll, [1.2, 3.0], "x", ["x", "y"], max_restarts=1)
    assert not stuck["valid"]


# --- Hessians ------------------------------------------------------------------------------------


class _Normal:
    """N(x; m, 1) with the mean a parameter (TF float64)."""

    x_columns = ["x"]
    parameters = ["m"]
    smooth_in_parameters = True

    def log_prob(self, x, params):
        return -0.5 * (x[:, 0] - params["m"]) ** 2 - 0.5 * np.log(2.0 * np.pi)


class _Exponential:
    """exp(−x/τ)/τ on x > 0 with τ a parameter; a second shape so H has off-diagonals."""

    x_columns = ["x"]
    parameters = ["tau"]
    smooth_in_parameters = True

    def log_prob(self, x, params):
        import tensorflow as tf

        tau = params["tau"]
        return -tf.abs(x[:, 0]) / tau - tf.math.log(tau)


@pytest.fixture(scope="module")
def toy_likelihood():
    pytest.importorskip("tensorflow")
    from innfer_lib.inference.likelihood import Likelihood
    from innfer_lib.inference.model import Category, Process

    rng = np.random.default_rng(11)
    x = np.concatenate([rng.normal(1.0, 1.0, 300), rng.exponential(2.0, 500)])[:, None]
    w = rng.uniform(0.5, 1.5, len(x))
    processes = [
        Process("sig", _Normal(), nominal=300.0, rate_parameter="mu"),
        Process("bkg", _Exponential(), nominal=500.0, lnN={"nu": (0.9, 1.15)}),
    ]
    columns = ["m", "mu", "nu", "tau"]
    like = Likelihood(columns, [Category("c", x, w, processes)], constrained=["nu"])
    return like, np.array([0.9, 1.1, 0.2, 2.1])


def test_hessian_numerical_matches_autodiff(toy_likelihood):
    like, theta = toy_likelihood
    exact = like.hessian(theta)
    numeric, _ = hessian_by_differences(like.value_and_gradient, theta)
    np.testing.assert_allclose(numeric, exact, rtol=1e-4, atol=1e-6 * np.abs(exact).max())
    assert np.array_equal(numeric, numeric.T)
    sub, _ = hessian_by_differences(like.value_and_gradient, theta, steps=1e-4, indices=[0, 3])
    np.testing.assert_allclose(sub, exact[np.ix_([0, 3], [0, 3])], rtol=1e-4)


def test_hessian_columns_collect_to_the_autodiff_hessian(toy_likelihood, tmp_path):
    from innfer_lib.core.io import write_yaml

    like, theta = toy_likelihood
    best = {"columns": like.columns, "best_fit": theta.tolist(), "row": [1, 1, 0, 2], "valid": True}
    matrix_columns = ["m", "mu", "tau"]
    files = []
    for name in reversed(matrix_columns):
        col = hessian_column(like, theta, name)
        assert np.allclose(col, hessian_column(like, theta, like.columns.index(name)))
        path = tmp_path / f"col_{name}.yaml"
        write_yaml(path, hessian_column_record(best, matrix_columns, name, col))
        files.append(str(path))
    record = hessian_collect(files)
    idx = [like.columns.index(c) for c in matrix_columns]
    exact = like.hessian(theta)[np.ix_(idx, idx)]
    np.testing.assert_allclose(record["hessian"], exact, rtol=1e-4)
    assert record["matrix_columns"] == matrix_columns and record["fit_valid"]
    assert record["asymmetry"] < 1e-5
    # The collected record feeds the covariance step like the single-job Hessian.
    assert covariance_result(record)["positive_definite"]
    with pytest.raises(DataError, match=r"missing \['m'\]"):
        hessian_collect(files[:2])
    with pytest.raises(DataError, match=r"duplicated \['tau'\]"):
        hessian_collect([*files, files[0]])


def test_parallel_hessian_with_a_frozen_first_parameter(toy_likelihood):
    """`hessian: parallel` with `freeze`: a frozen parameter before the floating ones."""
    like, theta = toy_likelihood
    best = {"columns": like.columns, "best_fit": theta.tolist(), "row": [1, 1, 0, 2], "valid": True}
    matrix_columns = ["mu", "nu", "tau"]  # "m" frozen, and it is the first column
    records = [
        parallel_hessian_column(like, theta, best, matrix_columns, c) for c in matrix_columns
    ]
    idx = [like.columns.index(c) for c in matrix_columns]
    exact = like.hessian(theta)[np.ix_(idx, idx)]
    np.testing.assert_allclose(hessian_collect(records)["hessian"], exact, rtol=1e-4)
    # A column already cut down to the matrix columns is refused, not indexed by position
    # among all columns (an IndexError here before; wrong entries with other layouts).
    cut = hessian_column(like, theta, "tau")[idx]
    with pytest.raises(ValueError, match="full-length"):
        hessian_column_record(best, matrix_columns, "tau", cut)


def test_hessian_column_and_dmatrix_files_share_one_header():
    """FitJob.matrix_record, hessian_column_record and hessian_collect: the same bookkeeping."""
    from types import SimpleNamespace

    from innfer_lib.inference.fit_job import FitJob

    best = {"columns": ["m", "mu", "nu"], "best_fit": [0.5, 1.0, 2.0], "row": [1, 1, 0]}
    best |= {"valid": False, "nll": 3.0}
    problem = SimpleNamespace(columns=best["columns"], fixed={"m": 0.5})
    job = FitJob(None, problem, {}, 0, best)  # only best_fit and problem.columns/fixed are read
    h = np.array([[2.0, 0.5], [0.5, 1.0]])
    columns = [
        hessian_column_record(best, job.free, c, [0.0, *h[:, i]]) for i, c in enumerate(job.free)
    ]
    head = ["columns", "matrix_columns"]
    tail = ["best_fit", "row", "fit_valid"]
    expected_keys = [
        (job.matrix_record("D_matrix", h), [*head, "D_matrix", *tail]),
        (columns[0], [*head, "column", "hessian_column", *tail]),
        (hessian_collect(columns), [*head, "hessian", *tail, "asymmetry"]),
    ]
    for record, keys in expected_keys:
        assert list(record) == keys
        assert record["columns"] == ["m", "mu", "nu"] and record["matrix_columns"] == ["mu", "nu"]
        assert record["best_fit"] == [0.5, 1.0, 2.0] and record["row"] == [1, 1, 0]
        assert record["fit_valid"] is False


def test_sandwich_result_reduces_to_inverse_hessian():
    h = np.array([[4.0, 1.0], [1.0, 3.0]])
    record = {
        "columns": ["a", "b", "c"],
        "matrix_columns": ["a", "b"],
        "hessian": h,
        "best_fit": [1.0, 2.0, 3.0],
        "row": [1.0, 2.0, 3.0],
    }
    plain = covariance_result(record)
    same = sandwich_result(record, h)
    np.testing.assert_allclose(same["covariance"], plain["covariance"], rtol=1e-12)
    assert same["positive_definite"] and same["method"] == "sandwich"
    assert set(same) >= set(plain)
    # D given as a record in another column order is realigned; C = H⁻¹(2H)H⁻¹ = 2H⁻¹.
    d = {"matrix_columns": ["b", "a"], "D_matrix": (2 * h)[::-1, ::-1]}
    double = sandwich_result(record, d)
    for c in ("a", "b"):
        assert double["uncertainty"][c] == pytest.approx(math.sqrt(2) * plain["uncertainty"][c])
    assert double["crossings"]["a"][1] == pytest.approx(1.0 + double["uncertainty"]["a"])
    with pytest.raises(DataError, match="lacks"):
        sandwich_result(record, {"matrix_columns": ["a"], "D_matrix": [[1.0]]})


@pytest.mark.parametrize(
    ("hessian", "positive_definite"),
    [
        ([[4.0, 1.0], [1.0, 3.0]], True),
        ([[1.0, 1.0], [1.0, 1.0]], False),  # singular
        ([[1.0, 2.0], [2.0, 1.0]], False),  # indefinite
        ([[math.nan, 0.0], [0.0, 1.0]], False),  # numpy's Cholesky "factorises" these
        ([[math.inf, 0.0], [0.0, 1.0]], False),
    ],
)
def test_covariance_and_sandwich_agree_whether_the_hessian_is_positive_definite(
    hessian, positive_definite
):
    """H is factorised once, in covariance_from_hessian; its flag serves both files.

    The covariance file said positive_definite: true for a Hessian with NaN or infinite
    entries (only the sandwich checked finiteness); now both say false.
    """
    record = {
        "columns": ["a", "b"],
        "matrix_columns": ["a", "b"],
        "hessian": hessian,
        "best_fit": [1.0, 2.0],
        "row": [1.0, 2.0],
    }
    assert covariance_result(record)["positive_definite"] is positive_definite
    unit_d = np.eye(2)
    assert sandwich_result(record, unit_d)["positive_definite"] is positive_definite
    # The sandwich C is checked as well: a D with NaN entries makes it invalid.
    nan_d = np.full((2, 2), math.nan)
    assert not sandwich_result(record, nan_d)["positive_definite"]


def test_toy_job_minutes_scale_with_the_batch_and_its_sources():
    """A toy batch requests a runtime its toys fit in: 30 minutes at least, more with
    per_job, scans (per point and parameter), MINOS and bootstrap replicas."""
    base = {"sources": ["hessian", "sandwich"], "per_job": 50, "scan_points": 7, "bootstraps": 20}
    assert toy_job_minutes(base, 2) == 30  # 50 × 3 s = 2.5 min: the floor
    scan = {**base, "sources": ["scan"], "per_job": 250}
    per_toy = TOY_SECONDS["fit"] + 7 * 2 * TOY_SECONDS["scan_point"]
    assert toy_job_minutes(scan, 2) == TOY_SETUP_MINUTES + math.ceil(250 * per_toy / 60)
    boot = {**base, "sources": ["bootstrap"], "per_job": 250}
    assert toy_job_minutes(boot, 2) > toy_job_minutes({**boot, "bootstraps": 10}, 2) > 30
    assert toy_job_minutes({**scan, "sources": ["minos"]}, 3) > toy_job_minutes(
        {**scan, "sources": ["minos"]}, 1
    )
