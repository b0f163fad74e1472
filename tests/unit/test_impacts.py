"""Impacts: approximate (covariance) and refit impacts, ranking, pulls, and the plot's bars.

The refit and the approximation agree exactly for a Gaussian likelihood: holding k at k̂ ± σ_k
moves the profiled POI by ±C_poi,k/σ_k = ±ρ σ_poi (with a sandwich covariance, the slope
C_poi,k/C_kk is the Hessian's). The end-to-end checks use that, first on a
numpy quadratic (no TensorFlow) and then on a toy `Likelihood` through `FitJob`.
"""

import math

import numpy as np
import pytest

from innfer_lib.core.constraints import constrained_parameters
from innfer_lib.core.errors import DataError
from innfer_lib.inference.covariance import covariance_result, sandwich_result
from innfer_lib.inference.impacts import (
    SHIFTS,
    approximate_impacts,
    collect_refit_impacts,
    impact_size,
    impacted_pois,
    poi_result,
    pulls,
    rank_impacts,
    refit_impact,
    refit_parameters,
    shifted_value,
)
from innfer_lib.inference.minimiser import minimise
from innfer_lib.plots.impacts import DOWN_LABEL, UP_LABEL, impacts_plot, poi_header

# --- a covariance file with a frozen parameter: columns != matrix_columns --------------------
COLUMNS = ["a", "frozen", "poi", "b"]
MATRIX_COLUMNS = ["a", "poi", "b"]
COV = np.array([[4.0, 1.2, -0.5], [1.2, 9.0, 2.4], [-0.5, 2.4, 1.0]])
BEST = [0.3, 2.0, 5.0, -0.4]
ROW = [0.0, 2.0, 4.5, 0.0]


def _covariance_record(cov=COV):
    sigmas = np.sqrt(np.abs(np.diag(cov)))
    best = dict(zip(COLUMNS, BEST, strict=True))
    return {
        "columns": COLUMNS,
        "matrix_columns": MATRIX_COLUMNS,
        "covariance": cov.tolist(),
        "positive_definite": True,
        "fit_valid": True,
        "best_fit": BEST,
        "row": ROW,
        "uncertainty": {c: float(s) for c, s in zip(MATRIX_COLUMNS, sigmas, strict=True)},
        "crossings": {
            c: {k: best[c] + k * float(s) for k in (-2, -1, 0, 1, 2)}
            for c, s in zip(MATRIX_COLUMNS, sigmas, strict=True)
        },
    }


def test_approximate_impacts_index_the_matrix_by_matrix_columns():
    np.linalg.cholesky(COV)  # a valid covariance
    result = approximate_impacts(_covariance_record(), ["poi"])
    entry = result["pois"]["poi"]
    assert entry["best_fit"] == 5.0 and result["method"] == "approximate"
    # ±C_poi,k/√C_kk by hand: b: 2.4/1 = 2.4, a: 1.2/2 = 0.6; ranked b first.
    assert [e["parameter"] for e in entry["impacts"]] == ["b", "a"]
    b, a = entry["impacts"]
    assert b["up"] == pytest.approx(2.4) and b["down"] == pytest.approx(-2.4)
    assert a["up"] == pytest.approx(0.6) and a["down"] == pytest.approx(-0.6)
    assert a["valid"] and b["valid"]
    # INNFER's index, columns.index("poi") = 2, is row `b` of the matrix: a would get -0.25.
    assert a["up"] != pytest.approx(COV[COLUMNS.index("poi"), 0] / 2.0)


def test_approximate_impacts_flag_a_negative_variance_and_name_the_file():
    cov = COV.copy()
    cov[0, 0] = -1.0
    entry = approximate_impacts(_covariance_record(cov), ["poi"])["pois"]["poi"]
    bad = next(e for e in entry["impacts"] if e["parameter"] == "a")
    assert not bad["valid"] and math.isnan(bad["up"])
    assert entry["impacts"][-1]["parameter"] == "a"  # no estimate ranks last
    with pytest.raises(DataError, match=r"cov.yaml: matrix_columns: POI 'frozen' does not float"):
        approximate_impacts(_covariance_record(), ["frozen"], "cov.yaml")


@pytest.mark.parametrize(
    "hessian",
    [
        [[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]],  # singular: no inverse
        [[1.0, 2.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 1.0]],  # indefinite: not a minimum
    ],
    ids=["singular", "indefinite"],
)
def test_approximate_impacts_from_a_hessian_that_is_not_positive_definite_are_invalid(hessian):
    """Its pseudo-inverse would give finite slopes that pass as valid impacts."""
    record = {"matrix_columns": MATRIX_COLUMNS, "hessian": hessian}
    entry = approximate_impacts(_covariance_record(), ["poi"], hessian_record=record)
    impacts = entry["pois"]["poi"]["impacts"]
    assert [e["parameter"] for e in impacts] == ["a", "b"]
    assert not any(e["valid"] for e in impacts)
    assert all(math.isnan(e["up"]) and math.isnan(e["down"]) for e in impacts)


def test_ranking_by_the_larger_shift_is_stable_and_puts_nan_last():
    entries = [
        {"parameter": "p1", "up": 0.1, "down": -0.3},
        {"parameter": "p2", "up": 0.5, "down": 0.2},
        {"parameter": "p3", "up": math.nan, "down": math.nan},
        {"parameter": "p4", "up": -0.3, "down": 0.3},
        {"parameter": "p5", "up": 0.0, "down": 0.0},
    ]
    ranked = rank_impacts(entries)
    assert [e["parameter"] for e in ranked] == ["p2", "p1", "p4", "p5", "p3"]
    assert impact_size(entries[0]) == 0.3 and impact_size(entries[2]) == -math.inf


def test_parameters_and_pois_that_take_part():
    floating = ["a", "mu", "poi", "poi2"]
    assert impacted_pois(floating, ["poi"]) == ["poi"]
    assert refit_parameters(floating, ["poi"]) == ["a", "mu", "poi2"]
    # Two POIs impact each other; a frozen POI is neither impacted nor refitted for.
    assert refit_parameters(floating, ["poi", "poi2"]) == floating
    assert impacted_pois(["a", "b"], ["poi"]) == [] and refit_parameters(["a"], ["poi"]) == []
    assert impacted_pois(["poi"], ["poi"]) == []
    assert constrained_parameters(["nu", "other"], ["nu", "poi"]) == ["nu"]
    assert constrained_parameters(["nu"], ["nu"], constraints=False) == []


# --- refit impacts from synthetic records -------------------------------------------------
def _refit(parameter, shift, poi_values, fixed_value, valid=True):
    return {
        "parameter": parameter,
        "shift": shift,
        "fixed_value": fixed_value,
        "clipped": False,
        "profiled": poi_values,
        "valid": valid,
    }


def test_refit_impacts_are_poi_shifts_from_the_best_fit():
    best = {"columns": ["p", "q", "k", "mu"], "best_fit": [10.0, 1.0, 0.2, 1.1], "row": [0] * 4}
    records = [
        _refit("k", "up", {"p": 10.5, "q": 0.9, "mu": 1.0}, 1.2),
        _refit("k", "down", {"p": 9.7, "q": 1.05, "mu": 1.2}, -0.8),
        _refit("mu", "up", {"p": 10.1, "q": 2.0, "k": 0.2}, 1.3, valid=False),
        _refit("mu", "down", {"p": 9.95, "q": 0.5, "k": 0.2}, 0.9),
        _refit("q", "up", {"p": 11.0, "k": 0.2, "mu": 1.1}, 1.5),
        _refit("q", "down", {"p": 9.0, "k": 0.2, "mu": 1.1}, 0.5),
        _refit("p", "up", {"q": 1.3, "k": 0.2, "mu": 1.1}, 10.4),
        _refit("p", "down", {"q": 0.8, "k": 0.2, "mu": 1.1}, 9.6),
    ]
    result = collect_refit_impacts(best, records, ["p", "q"])
    on_p = result["pois"]["p"]
    assert on_p["best_fit"] == 10.0 and result["method"] == "refit"
    assert [e["parameter"] for e in on_p["impacts"]] == ["q", "k", "mu"]
    q, k, mu = on_p["impacts"]
    assert (q["up"], q["down"]) == pytest.approx((1.0, -1.0))
    assert (k["up"], k["down"]) == pytest.approx((0.5, -0.3))
    assert (mu["up"], mu["down"]) == pytest.approx((0.1, -0.05))
    assert k["fixed"] == {"up": 1.2, "down": -0.8}
    assert k["valid"] and not mu["valid"]
    # The second POI: its own refits are left out, the first POI's are used.
    on_q = result["pois"]["q"]
    assert [e["parameter"] for e in on_q["impacts"]] == ["mu", "p", "k"]
    assert on_q["impacts"][0]["up"] == pytest.approx(1.0)
    assert on_q["impacts"][1]["up"] == pytest.approx(0.3)


def test_refit_collection_rejects_missing_and_duplicated_refits():
    best = {"columns": ["p", "k"], "best_fit": [1.0, 0.0]}
    up = _refit("k", "up", {"p": 1.1}, 1.0)
    with pytest.raises(DataError, match=r"'k': no \['down'\] refit"):
        collect_refit_impacts(best, [up], ["p"])
    with pytest.raises(DataError, match="b.yaml: a second up refit of 'k' .a.yaml"):
        collect_refit_impacts(best, [up, up], ["p"], ["a.yaml", "b.yaml"])
    down = _refit("k", "down", {}, -1.0)
    with pytest.raises(DataError, match="d.yaml: POI 'p' was not refitted"):
        collect_refit_impacts(best, [up, down], ["p"], ["u.yaml", "d.yaml"])


def test_shifted_value_reads_the_crossing_and_respects_limits():
    record = _covariance_record()
    assert shifted_value(record, "a", "up") == (pytest.approx(2.3), False)
    assert shifted_value(record, "a", "down") == (pytest.approx(-1.7), False)
    # A rate cannot go below 0: the crossing is moved onto the limit, and that is recorded.
    assert shifted_value(record, "a", "down", {"a": (-1.0, None)}) == (-1.0, True)
    with pytest.raises(DataError, match="cov.yaml: crossings: no entry for 'frozen'"):
        shifted_value(record, "frozen", "up", source="cov.yaml")
    with pytest.raises(DataError, match="shift 'sideways'"):
        shifted_value(record, "a", "sideways")


# --- pulls ----------------------------------------------------------------------------------
def test_pulls_of_constrained_nuisances_and_none_for_free_parameters():
    out = pulls(_covariance_record(), constrained=["a", "b", "frozen"])
    assert list(out) == MATRIX_COLUMNS  # the frozen parameter has no post-fit value
    assert out["a"]["pull"] == pytest.approx(0.3) and out["a"]["pull_error"] == pytest.approx(2.0)
    assert out["b"]["pull"] == pytest.approx(-0.4) and out["b"]["pull_error"] == pytest.approx(1.0)
    assert out["poi"]["pull"] is None and out["poi"]["pull_error"] is None
    assert out["poi"]["value"] == 5.0 and out["poi"]["sigma"] == pytest.approx(3.0)
    assert poi_result(_covariance_record(), "poi") == (5.0, pytest.approx(3.0))
    with pytest.raises(DataError, match="no entry for POI 'frozen'"):
        poi_result(_covariance_record(), "frozen")


# --- the plot ---------------------------------------------------------------------------------
def test_plot_draws_ranked_bars_of_the_impacts_and_the_pulls(tmp_path):
    record = _covariance_record()
    impacts = approximate_impacts(record, ["poi"])["pois"]["poi"]
    outputs = [str(tmp_path / "impacts.pdf"), str(tmp_path / "impacts.png")]
    header = poi_header("$m_t$", *poi_result(record, "poi"))
    drawn = impacts_plot(
        impacts,
        pulls(record, ["a"]),
        "poi",
        outputs,
        labels={"a": "nuisance a"},
        header=header,
        title="fit closure",
    )
    assert all((tmp_path / f"impacts.{ext}").stat().st_size > 0 for ext in ("pdf", "png"))
    assert header == "$m_t$ = 5.0 ± 3.0"
    # A unit in the axis label goes after the number, as a result is quoted.
    assert poi_header("$m_t$ [GeV]", 172.02, 0.31) == "$m_t$ = 172.02 ± 0.31 GeV"
    assert poi_header("[x] ratio", 1.0, 0.5) == "[x] ratio = 1.00 ± 0.50"
    pax, iax = drawn["axes"]
    # Ranked: b (2.4) on the top row, a (0.6) below it.
    assert drawn["parameters"] == ["b", "a"]
    labels = [t.get_text() for t in pax.get_yticklabels()]
    ticks = dict(zip(pax.get_yticks(), labels, strict=True))
    assert ticks == {1.0: "b", 0.0: "nuisance a"}
    up_bars, down_bars = iax.containers
    assert [p.get_width() for p in up_bars.patches] == pytest.approx([2.4, 0.6])
    assert [p.get_width() for p in down_bars.patches] == pytest.approx([-2.4, -0.6])
    # Each up bar sits above its row's centre, the down bar below; b's row is the higher one.
    up_y = [p.get_y() + p.get_height() / 2 for p in up_bars.patches]
    down_y = [p.get_y() + p.get_height() / 2 for p in down_bars.patches]
    assert up_y[0] > down_y[0] > up_y[1] > down_y[1]
    assert [t.get_text() for t in iax.get_legend().get_texts()] == [UP_LABEL, DOWN_LABEL]
    assert up_bars.patches[0].get_facecolor() != down_bars.patches[0].get_facecolor()
    # a is constrained: a pull of 0.3 ± 2.0 on its row; b is not: its value as text.
    (pull_bar,) = pax.containers
    (segment,) = pull_bar.lines[2][0].get_segments()
    np.testing.assert_allclose(segment, [[0.3 - 2.0, 0.0], [0.3 + 2.0, 0.0]])
    assert drawn["pulls"] == {"a": (pytest.approx(0.3), pytest.approx(2.0))}
    assert drawn["texts"] == {"b": "-0.4 ± 1.0"}
    assert "-0.4 ± 1.0" in [t.get_text() for t in pax.texts]
    assert pax.get_xlim()[1] >= 2.3 and iax.get_xlim()[1] >= 2.4


def test_plot_shows_at_most_thirty_parameters_most_important_first():
    entries = [{"parameter": f"n{i:02d}", "up": 0.01 * i, "down": -0.01 * i} for i in range(40)]
    ranked = rank_impacts(entries)
    pull_info = {
        e["parameter"]: {"constrained": True, "pull": 0.1, "pull_error": 0.9} for e in entries
    }
    drawn = impacts_plot({"best_fit": 1.0, "impacts": ranked}, pull_info, "poi")
    assert len(drawn["parameters"]) == 30 and drawn["n_hidden"] == 10
    assert drawn["parameters"][0] == "n39" and drawn["parameters"][-1] == "n10"
    up_bars = drawn["axes"][1].containers[0]
    assert max(p.get_width() for p in up_bars.patches) == pytest.approx(0.39)
    assert min(p.get_width() for p in up_bars.patches) == pytest.approx(0.10)


# --- end to end: refits of a Gaussian likelihood equal the approximation ---------------------
RHO, SIGMA_POI, SIGMA_K = -0.6, 2.0, 0.5
TRUE_COV = np.array(
    [[SIGMA_POI**2, RHO * SIGMA_POI * SIGMA_K], [RHO * SIGMA_POI * SIGMA_K, SIGMA_K**2]]
)


def _gaussian_fit(value_and_gradient, columns, start, hessian_fn):
    """Best fit, Hessian record and covariance file, as the workflow's rules would chain them."""
    best = minimise(value_and_gradient, columns, start, tolerance=1e-4)
    best["row"] = [0.0] * len(columns)
    theta = np.array(best["best_fit"])
    hessian = {
        "columns": columns,
        "matrix_columns": columns,
        "hessian": hessian_fn(theta),
        "best_fit": best["best_fit"],
        "row": best["row"],
        "fit_valid": best["valid"],
    }
    return best, hessian, covariance_result(hessian)


def _check_refits_match(minimise_fn, best, covariance, poi, k):
    approx = approximate_impacts(covariance, [poi])["pois"][poi]["impacts"][0]
    sigma_poi = covariance["uncertainty"][poi]
    matrix = np.array(covariance["covariance"])
    rho = matrix[0, 1] / math.sqrt(matrix[0, 0] * matrix[1, 1])
    records = [refit_impact(minimise_fn, k, s, best, covariance) for s in SHIFTS]
    for record, sign in zip(records, SHIFTS.values(), strict=True):
        assert record["valid"] and not record["clipped"]
        assert record["fixed_value"] == pytest.approx(
            record["best_fit_value"] + sign * covariance["uncertainty"][k]
        )
    refit = collect_refit_impacts(best, records, [poi])["pois"][poi]["impacts"][0]
    assert refit["parameter"] == approx["parameter"] == k
    assert refit["up"] == pytest.approx(rho * sigma_poi, rel=1e-3)
    assert refit["down"] == pytest.approx(-rho * sigma_poi, rel=1e-3)
    assert refit["up"] == pytest.approx(approx["up"], rel=1e-3)
    assert refit["down"] == pytest.approx(approx["down"], rel=1e-3)
    return rho, sigma_poi


def _quadratic_fit():
    """−ln L = ½(θ − c)ᵀ TRUE_COV⁻¹ (θ − c) over (poi, k): its best fit, Hessian, covariance."""
    inverse = np.linalg.inv(TRUE_COV)
    centre = np.array([3.0, 0.4])

    def value_and_gradient(theta):
        d = np.asarray(theta) - centre
        return 0.5 * float(d @ inverse @ d), inverse @ d

    columns = ["poi", "k"]

    def minimise_fn(start, fixed):
        return minimise(value_and_gradient, columns, start, fixed=fixed, tolerance=1e-4)

    fit = _gaussian_fit(value_and_gradient, columns, {"poi": 0.0, "k": 0.0}, lambda t: inverse)
    return minimise_fn, *fit


def test_refit_of_a_quadratic_likelihood_equals_rho_sigma_and_the_approximation():
    minimise_fn, best, _, covariance = _quadratic_fit()
    rho, sigma_poi = _check_refits_match(minimise_fn, best, covariance, "poi", "k")
    assert rho == pytest.approx(RHO) and sigma_poi == pytest.approx(SIGMA_POI)
    assert RHO * SIGMA_POI == pytest.approx(-1.2)


def test_with_a_sandwich_covariance_the_approximation_takes_its_slope_from_the_hessian():
    """A weighted fit reports H⁻¹DH⁻¹, but its refits profile along the likelihood (H).

    Held at k̂ ± σ_k (σ_k from the sandwich), the POI moves by (H⁻¹)_poi,k/(H⁻¹)_kk·σ_k;
    C_poi,k/√C_kk of the sandwich alone is a different number whenever D is not H.
    """
    minimise_fn, best, hessian, _ = _quadratic_fit()
    sandwich = sandwich_result(hessian, np.array([[0.2, 0.1], [0.1, 9.0]]))
    sigma_k = sandwich["uncertainty"]["k"]
    assert sigma_k != pytest.approx(SIGMA_K, rel=0.1)  # D is far from H: a real sandwich
    records = [refit_impact(minimise_fn, "k", s, best, sandwich) for s in SHIFTS]
    refit = collect_refit_impacts(best, records, ["poi"])["pois"]["poi"]["impacts"][0]
    approx = approximate_impacts(sandwich, ["poi"], hessian_record=hessian)["pois"]["poi"]
    assert approx["impacts"][0]["up"] == pytest.approx(RHO * SIGMA_POI / SIGMA_K * sigma_k)
    assert refit["up"] == pytest.approx(approx["impacts"][0]["up"], rel=1e-3)
    assert refit["down"] == pytest.approx(approx["impacts"][0]["down"], rel=1e-3)
    matrix = np.array(sandwich["covariance"])
    naive = matrix[0, 1] / math.sqrt(matrix[1, 1])
    assert abs(refit["up"] - naive) > 0.1 * abs(refit["up"])
    # Hessian and covariance must span the same floating parameters.
    with pytest.raises(DataError, match=r"hess.yaml: matrix_columns \['k', 'poi'\] differ"):
        approximate_impacts(
            sandwich,
            ["poi"],
            hessian_record={**hessian, "matrix_columns": ["k", "poi"]},
            hessian_source="hess.yaml",
        )


class _Shifted:
    """N(x; m + s·nu, 1): the nuisance moves the peak, so m and nu are correlated."""

    x_columns = ["x"]
    parameters = ["m", "nu"]
    smooth_in_parameters = True
    slope = 0.05

    def log_prob(self, x, params):
        z = x[:, 0] - params["m"] - self.slope * params["nu"]
        return -0.5 * z * z - 0.5 * np.log(2.0 * np.pi)


def test_refit_through_fit_job_on_a_toy_likelihood():
    """−ln L = Σw(x − m − s·nu)²/2 + nu²/2: Gaussian in (m, nu), so refits are exactly linear."""
    pytest.importorskip("tensorflow")
    from innfer_lib.inference.fit_job import FitJob
    from innfer_lib.inference.likelihood import Likelihood
    from innfer_lib.inference.model import Category, Process
    from innfer_lib.inference.problem import FitProblem

    rng = np.random.default_rng(3)
    x = rng.normal(0.5, 1.0, 400)[:, None]
    w = np.full(len(x), 0.25)  # Σw = 100 effective events
    columns = ["m", "nu"]
    like = Likelihood(
        columns,
        [Category("c", x, w, [Process("sig", _Shifted(), nominal=100.0)])],
        kind="unbinned",
        constrained=["nu"],
    )
    problem = FitProblem(like, columns, {"m": 0.0, "nu": 0.0}, {}, {}, {})
    minimiser = {"method": "minuit", "strategy": 1, "tolerance": 1e-4, "retries": 1}
    job = FitJob(None, problem, {"minimiser": {**minimiser, "fallback": True}}, 0)
    best, _, covariance = _gaussian_fit(
        like.value_and_gradient, columns, {"m": 0.0, "nu": 0.0}, like.hessian
    )
    job.best_fit = best
    rho, sigma_poi = _check_refits_match(job.minimise_fn(seed=0), best, covariance, "m", "nu")
    # H = [[W, W s], [W s, W s² + 1]] with W = Σw = 100, s = 0.05.
    s, big_w = _Shifted.slope, float(w.sum())
    expected = np.linalg.inv([[big_w, big_w * s], [big_w * s, big_w * s * s + 1.0]])
    np.testing.assert_allclose(covariance["covariance"], expected, rtol=1e-6)
    assert rho == pytest.approx(expected[0, 1] / math.sqrt(expected[0, 0] * expected[1, 1]))
    # nu is constrained: its pull bar is nû ± σ_nu in prior units; m has none.
    pull = pulls(covariance, ["nu"])
    assert pull["nu"]["pull_error"] == pytest.approx(math.sqrt(expected[1, 1]))
    assert pull["m"]["pull"] is None
