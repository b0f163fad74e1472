"""Likelihood scans: grids, profiled points, crossings from the smooth curve, 2-D contours, plots.

Every likelihood here is known in closed form (quadratic, asymmetric quadratic, correlated
Gaussians), so the crossings, profiles and contours have exact expected values; the minimiser is
scipy's BFGS, so no TensorFlow is needed.
"""

import math
import subprocess
import sys

import numpy as np
import pytest
from scipy.optimize import minimize

from innfer_lib.inference.debug import likelihood_debug
from innfer_lib.inference.scan import (
    CONTOUR_LEVELS_2D,
    ProfileCurve,
    collect_scan,
    collect_scan_2d,
    interval,
    profile_curve,
)
from innfer_lib.inference.scan_grid import (
    scan_points_2d,
    scan_points_from_sigma,
    scan_points_in_range,
)
from innfer_lib.inference.scan_point import (
    profiled_scan_point,
    profiled_scan_point_2d,
    skipped_scan_point,
)
from innfer_lib.plots.scan import result_text, scan_plot, scan_plot_2d
from tests.plot_files import assert_written, plot_outputs

REL = 1e-3


# --------------------------------------------------------------------------------------------
# Test likelihoods and a scipy minimiser with minimiser.minimise's interface
# --------------------------------------------------------------------------------------------
def gaussian_nll(mean, cov):
    """−2 ln L of a multivariate Gaussian, (θ − μ)ᵀ C⁻¹ (θ − μ), on named parameters."""
    names = list(mean)
    mu = np.array([mean[n] for n in names])
    h = np.linalg.inv(np.asarray(cov, dtype=float))

    def nll(point):
        d = np.array([point[n] for n in names]) - mu
        return float(d @ h @ d)

    return nll


def asymmetric_nll(centre, sigma_down, sigma_up):
    def nll(point):
        x = point["x"]
        s = sigma_down if x < centre else sigma_up
        return ((x - centre) / s) ** 2

    return nll


def make_minimiser(nll, columns, calls=None):
    """(start, fixed) -> minimiser.minimise-like result, minimising ``nll`` (−2 ln L) with BFGS."""

    def minimise_fn(start, fixed):
        if calls is not None:
            calls.append((dict(start), dict(fixed)))
        free = [c for c in columns if c not in fixed]

        def f(v):
            return nll({**start, **fixed, **dict(zip(free, v, strict=True))})

        if free:
            res = minimize(f, [start[c] for c in free], method="BFGS", options={"gtol": 1e-9})
            values = {**start, **fixed, **dict(zip(free, res.x, strict=True))}
            fun = float(res.fun)
        else:
            values, fun = {**start, **fixed}, f([])
        return {
            "columns": list(columns),
            "best_fit": [float(values[c]) for c in columns],
            "best_fit_nll": fun,
            "valid": bool(np.isfinite(fun)),
            "status": "converged",
        }

    return minimise_fn


def best_fit_record(nll, columns, start, **extra):
    result = make_minimiser(nll, columns)(start, {})
    return {**result, "row": [start[c] for c in columns], **extra}


def _one_parameter_scan(nll, best, sigma, n_points=41, step=0.2):
    record = {"columns": ["x"], "best_fit": [best], "best_fit_nll": nll({"x": best}), "row": [best]}
    points = scan_points_from_sigma(best, sigma, n_points, step)
    evaluate = make_minimiser(nll, ["x"])
    return [profiled_scan_point(evaluate, "x", v, record, evaluate_fn=nll) for v in points], record


def test_modules_do_not_import_tensorflow():
    code = (
        "import sys, innfer_lib.inference.scan, innfer_lib.inference.scan_grid, "
        "innfer_lib.inference.scan_point, innfer_lib.inference.debug, innfer_lib.plots.scan; "
        "assert 'tensorflow' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# --------------------------------------------------------------------------------------------
# Scan points
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "n_points, step",
    [(41, 0.2), (7, 0.1), (13, 0.2), (15, 0.3), (31, 0.7), (43, 0.45), (1, 0.2), (3, 0.15)],
)
def test_scan_points_exact_count_centred_on_best_fit(n_points, step):
    best, sigma = 172.5, 0.37
    points = scan_points_from_sigma(best, sigma, n_points, step)
    assert len(points) == n_points
    assert points[n_points // 2] == best
    assert np.all(np.diff(points) > 0)
    np.testing.assert_allclose(np.diff(points), step * sigma, rtol=1e-9)
    np.testing.assert_allclose(np.array(points) + points[::-1], 2 * best, rtol=1e-12)


@pytest.mark.parametrize("n_points, step", [(7, 0.1), (15, 0.3), (31, 0.7), (43, 0.45)])
def test_innfer_ceil_gave_a_different_count(n_points, step):
    # INNFER: k = 1..ceil(S/s) with S = ((N-1)/2)·s; float rounding makes ceil overshoot.
    innfer = 2 * math.ceil(((n_points - 1) / 2) * step / step) + 1
    assert innfer != n_points
    assert len(scan_points_from_sigma(0.0, 1.0, n_points, step)) == n_points


def test_scan_points_clipped_to_limits():
    points = scan_points_from_sigma(0.5, 0.5, n_points=41, sigma_step=0.2, limits=(0.0, None))
    assert min(points) >= 0.0
    assert points == [v for v in scan_points_from_sigma(0.5, 0.5, 41, 0.2) if v >= 0.0]
    assert len(points) == 26  # k = -5 … 20: 0.5 - 5·0.1 = 0 is kept (limits are inclusive)
    both = scan_points_from_sigma(1.0, 1.0, 41, 0.2, limits=(0.0, 2.0))
    assert min(both) >= 0.0 and max(both) <= 2.0 and len(both) == 11


def test_scan_points_in_a_fixed_range():
    assert scan_points_in_range(-1.0, 1.0, 5) == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert scan_points_in_range(-1.0, 1.0, 5, limits=(0.0, None)) == [0.0, 0.5, 1.0]
    for low, high, n in ((1.0, 1.0, 3), (0.0, math.inf, 3), (0.0, 1.0, 0)):
        with pytest.raises(ValueError):
            scan_points_in_range(low, high, n)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_points": 40},
        {"n_points": 0},
        {"sigma": 0.0},
        {"sigma": float("nan")},
        {"best": float("inf")},
        {"sigma_step": -0.1},
    ],
)
def test_scan_points_reject_bad_input(kwargs):
    args = {"best": 1.0, "sigma": 1.0, **kwargs}
    with pytest.raises(ValueError):
        scan_points_from_sigma(**args)


def test_scan_points_2d_grid():
    points = scan_points_2d(1.0, 0.5, -2.0, 2.0, n_points=21, n_sigma=3)
    assert len(points) == 21 * 21
    a = sorted({p[0] for p in points})
    b = sorted({p[1] for p in points})
    np.testing.assert_allclose([a[0], a[-1], a[10]], [-0.5, 2.5, 1.0])
    np.testing.assert_allclose([b[0], b[-1], b[10]], [-8.0, 4.0, -2.0])
    assert points[0] == (a[0], b[0]) and points[1] == (a[0], b[1])  # a varies slowest
    # An axis crossing a limit keeps its resolution over the allowed part of the window.
    clipped = scan_points_2d(1.0, 0.5, -2.0, 2.0, n_points=21, limits_a=(1.0, None))
    a = sorted({p[0] for p in clipped})
    assert len(clipped) == 21 * 21 and len(a) == 21
    np.testing.assert_allclose([a[0], a[-1]], [1.0, 2.5])
    # A best fit at one limit with the window past the other still gives a full grid.
    edge = scan_points_2d(166.0, 10.0, 0.0, 1.0, n_points=3, limits_a=(166.0, 180.0))
    assert sorted({p[0] for p in edge}) == [166.0, 173.0, 180.0]
    with pytest.raises(ValueError, match="outside the limits"):
        scan_points_2d(200.0, 1.0, 0.0, 1.0, n_points=3, limits_a=(166.0, 180.0))
    with pytest.raises(ValueError):
        scan_points_2d(1.0, 0.5, -2.0, 2.0, n_points=20)


# --------------------------------------------------------------------------------------------
# Crossings on known one-parameter likelihoods
# --------------------------------------------------------------------------------------------
def test_quadratic_crossings_and_schema():
    sigma = 0.7
    nll = gaussian_nll({"x": 1.0}, [[sigma**2]])
    records, record = _one_parameter_scan(nll, 1.0, sigma)
    assert all(r["status"] == "evaluated" and r["profiled"] == {} for r in records)
    out = collect_scan(records, best_fit_nll=record["best_fit_nll"])
    assert out["varied_column"] == "x" and out["columns"] == ["x"] and out["row"] == [1.0]
    assert list(out["crossings"]) == [-2, -1, 0, 1, 2]
    assert all(isinstance(k, int) for k in out["crossings"])
    for k, v in out["crossings"].items():
        assert v == pytest.approx(1.0 + k * sigma, abs=REL * sigma)
    assert out["open"] == [] and out["non_monotone"] == [] and not out["minimum_at_edge"]
    assert out["n_failed"] == 0 and out["n_skipped"] == 0 and out["n_used"] == 41
    assert len(out["scan_values"]) == len(out["nlls"]) == 41
    assert min(out["nlls"]) == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(
        out["nlls"], ((np.array(out["scan_values"]) - 1.0) / sigma) ** 2, atol=1e-12
    )
    assert interval(out, 1) == pytest.approx((sigma, sigma), rel=REL)


@pytest.mark.parametrize("sigma_down, sigma_up", [(0.5, 1.5), (2.0, 0.6)])
def test_asymmetric_crossings(sigma_down, sigma_up):
    nll = asymmetric_nll(1.0, sigma_down, sigma_up)
    records, _ = _one_parameter_scan(nll, 1.0, max(sigma_down, sigma_up))
    out = collect_scan(records)
    expected = {
        -2: 1 - 2 * sigma_down,
        -1: 1 - sigma_down,
        0: 1.0,
        1: 1 + sigma_up,
        2: 1 + 2 * sigma_up,
    }
    for k, v in expected.items():
        scale = sigma_down if k < 0 else sigma_up
        assert out["crossings"][k] == pytest.approx(v, abs=REL * scale), k
    down, up = interval(out)
    assert down == pytest.approx(sigma_down, rel=REL) and up == pytest.approx(sigma_up, rel=REL)


def test_asymmetric_crossings_with_kink_off_the_grid():
    # The grid is centred 0.07 away from the kink, so the splines straddle it; the ±1σ/±2σ
    # crossings are far from the kink and still come out to 1e-3 of σ when re-zeroed on the
    # fitted minimum (the spline's own minimum undershoots next to the kink).
    nll = asymmetric_nll(1.0, 0.5, 1.5)
    records, _ = _one_parameter_scan(nll, 1.07, 1.0)
    out = collect_scan(records, best_fit_nll=0.0)
    for k, v in {-2: 0.0, -1: 0.5, 1: 2.5, 2: 4.0}.items():
        scale = 0.5 if k < 0 else 1.5
        assert out["crossings"][k] == pytest.approx(v, abs=REL * scale), k
    assert out["crossings"][0] == pytest.approx(1.0, abs=0.02)


def test_minimum_is_interpolated_not_the_grid_point():
    nll = gaussian_nll({"x": 1.0}, [[1.0]])
    records, _ = _one_parameter_scan(nll, 1.07, 1.0)  # grid points at 1.07 ± 0.2k
    out = collect_scan(records)
    assert out["crossings"][0] == pytest.approx(1.0, abs=1e-9)
    assert out["crossings"][1] == pytest.approx(2.0, abs=REL)
    assert out["crossings"][-1] == pytest.approx(0.0, abs=REL)
    # Re-zeroed on the interpolated minimum: the grid point at 1.07 sits at 0.07².
    assert min(out["nlls"]) == pytest.approx(0.07**2, abs=1e-9)


def test_failed_nan_and_skipped_points_are_dropped_and_counted():
    nll = gaussian_nll({"x": 0.0}, [[1.0]])
    records, record = _one_parameter_scan(nll, 0.0, 1.0)
    clean = collect_scan(records)
    records[3] = {**records[3], "nll": float("nan"), "valid": False, "status": "non-finite nll"}
    records[30] = {**records[30], "valid": False, "status": "invalid minimum"}
    records[25] = {**records[25], "nll": float("inf")}
    records.append(skipped_scan_point(record, "x"))
    records.reverse()  # order must not matter
    out = collect_scan(records)
    assert out["n_failed"] == 3 and out["n_skipped"] == 1
    assert out["n_points"] == 42 and out["n_used"] == 38
    assert all(np.isfinite(out["nlls"])) and np.all(np.diff(out["scan_values"]) > 0)
    for k in (-2, -1, 0, 1, 2):
        assert out["crossings"][k] == pytest.approx(clean["crossings"][k], abs=REL)


def test_duplicate_values_keep_the_lower_nll():
    nll = gaussian_nll({"x": 0.0}, [[1.0]])
    records, _ = _one_parameter_scan(nll, 0.0, 1.0)
    worse = {**records[5], "nll": records[5]["nll"] + 3.0}
    out = collect_scan([worse, *records])
    assert out["n_used"] == 41
    assert out["nlls"][5] == pytest.approx(records[5]["nll"])


def test_open_crossings_are_omitted_and_flagged():
    nll = gaussian_nll({"x": 0.0}, [[1.0]])
    narrow, _ = _one_parameter_scan(nll, 0.0, 1.0, n_points=9)  # ±0.8σ
    out = collect_scan(narrow)
    assert out["open"] == [-2, -1, 1, 2] and list(out["crossings"]) == [0]
    assert interval(out) == (None, None)
    shifted, _ = _one_parameter_scan(nll, 1.0, 1.0, n_points=21)  # −1 … 3: only the upper side
    out = collect_scan(shifted)
    assert out["open"] == [-2]
    assert out["crossings"][-1] == pytest.approx(-1.0, abs=REL)
    assert out["crossings"][2] == pytest.approx(2.0, abs=REL)
    assert "open" in result_text(collect_scan(narrow), "x")


def test_minimum_at_edge_and_non_monotone_side():
    nll = gaussian_nll({"x": 0.0}, [[1.0]])
    edge, _ = _one_parameter_scan(nll, 3.0, 1.0, n_points=21)  # 1 … 5: minimum outside
    out = collect_scan(edge, best_fit_nll=0.0)
    assert out["minimum_at_edge"] and out["crossings"][0] == pytest.approx(1.0)
    assert {-2, -1} <= set(out["open"]) and out["crossings"][2] == pytest.approx(2.0, abs=REL)

    def double_well(point):  # a second minimum (Δ = 0.5) at x = 3.5 behind a barrier of ≈ 7
        x = point["x"]
        return min(x**2, 9.0 * (x - 3.5) ** 2 + 0.5)

    records, _ = _one_parameter_scan(double_well, 0.0, 1.0)
    out = collect_scan(records)
    assert out["non_monotone"] == [1, 2]
    assert out["crossings"][1] == pytest.approx(1.0, abs=0.01)  # the innermost crossings
    assert out["crossings"][2] == pytest.approx(2.0, abs=0.01)


def test_best_fit_below_the_points_sets_the_reference():
    nll = gaussian_nll({"x": 0.0}, [[1.0]])
    records, _ = _one_parameter_scan(nll, 0.0, 1.0)
    out = collect_scan(records, best_fit_nll=-0.5)
    assert out["reference_nll"] == -0.5 and out["best_fit_delta"] == 0.0
    assert min(out["nlls"]) == pytest.approx(0.5)
    assert out["crossings"][1] == pytest.approx(math.sqrt(0.5), abs=REL)


def test_collect_rejects_mixed_or_empty_input():
    nll = gaussian_nll({"x": 0.0}, [[1.0]])
    records, _ = _one_parameter_scan(nll, 0.0, 1.0, n_points=3)
    with pytest.raises(ValueError):
        collect_scan([])
    with pytest.raises(ValueError):
        collect_scan([*records, {**records[0], "varied_column": "y"}])
    empty = collect_scan([{**r, "valid": False} for r in records])
    assert (
        empty["crossings"] == {} and empty["n_failed"] == 3 and empty["open"] == [-2, -1, 0, 1, 2]
    )


def test_profile_curve_passes_through_the_points():
    x = np.linspace(-2, 2, 11)
    y = x**2 + 0.3 * x**3 / 4
    cx, cy = profile_curve(x, y)
    np.testing.assert_allclose(np.interp(x, cx, cy), y, atol=1e-12)
    curve = ProfileCurve(x, y)
    np.testing.assert_allclose(curve(x), y, atol=1e-12)
    with pytest.raises(ValueError):
        ProfileCurve([0.0, 0.0, 1.0], [1.0, 0.0, 1.0])


# --------------------------------------------------------------------------------------------
# Profiled scans of a correlated Gaussian
# --------------------------------------------------------------------------------------------
MEAN = {"a": 1.0, "b": -0.5}
SA, SB, RHO = 0.8, 1.5, 0.6
COV = [[SA**2, RHO * SA * SB], [RHO * SA * SB, SB**2]]


def test_profiled_scan_reproduces_the_profile_likelihood():
    nll = gaussian_nll(MEAN, COV)
    columns = ["a", "b"]
    calls = []
    minimise_fn = make_minimiser(nll, columns, calls)
    record = best_fit_record(nll, columns, MEAN)
    points = scan_points_from_sigma(record["best_fit"][0], SA, 41, 0.2)
    records = [profiled_scan_point(minimise_fn, "a", v, record) for v in points]

    r = records[7]
    assert set(r) >= {
        "columns",
        "varied_column",
        "scan_value",
        "nll",
        "profiled",
        "valid",
        "status",
    }
    assert r["varied_column"] == "a" and r["columns"] == columns and list(r["profiled"]) == ["b"]
    # The fit started from the best fit with the scanned value inserted, and held only "a".
    start, fixed = calls[7]
    assert fixed == {"a": points[7]} and start["b"] == pytest.approx(record["best_fit"][1])
    # Profiled b follows the conditional mean μ_b + C_ab/C_aa (a − μ_a).
    for rec in records:
        expected_b = MEAN["b"] + COV[0][1] / COV[0][0] * (rec["scan_value"] - MEAN["a"])
        assert rec["profiled"]["b"] == pytest.approx(expected_b, abs=1e-5)

    out = collect_scan(records, best_fit_nll=record["best_fit_nll"])
    for k in (-2, -1, 0, 1, 2):  # profiled σ = √C_aa
        assert out["crossings"][k] == pytest.approx(MEAN["a"] + k * SA, abs=REL * SA), k


def test_scan_with_the_other_parameter_frozen_gives_the_conditional_width():
    nll = gaussian_nll(MEAN, COV)
    columns = ["a", "b"]
    calls = []
    minimise_fn = make_minimiser(nll, columns, calls)
    record = best_fit_record(nll, columns, MEAN, fixed={"b": MEAN["b"]})
    points = scan_points_from_sigma(MEAN["a"], SA, 41, 0.2)
    records = [profiled_scan_point(minimise_fn, "a", v, record, evaluate_fn=nll) for v in points]
    assert not calls  # every point was a single evaluation
    assert all(r["status"] == "evaluated" and r["frozen"] == {"b": MEAN["b"]} for r in records)
    sigma = 1.0 / math.sqrt(np.linalg.inv(COV)[0, 0])  # = σ_a √(1 − ρ²)
    assert sigma == pytest.approx(SA * math.sqrt(1 - RHO**2))
    out = collect_scan(records)
    for k in (-2, -1, 1, 2):
        assert out["crossings"][k] == pytest.approx(MEAN["a"] + k * sigma, abs=REL * sigma), k

    # Without evaluate_fn the minimiser is called with everything fixed, same numbers.
    fixed_only = profiled_scan_point(minimise_fn, "a", points[3], record)
    assert fixed_only["nll"] == pytest.approx(records[3]["nll"])
    assert calls[-1][1] == {"a": points[3], "b": MEAN["b"]}


def test_scan_point_warm_start_and_bad_input():
    nll = gaussian_nll(MEAN, COV)
    calls = []
    minimise_fn = make_minimiser(nll, ["a", "b"], calls)
    record = best_fit_record(nll, ["a", "b"], MEAN)
    profiled_scan_point(minimise_fn, "a", 1.5, record, start={"b": 0.25})
    assert calls[-1][0] == {"a": 1.5, "b": 0.25}
    with pytest.raises(ValueError):
        profiled_scan_point(minimise_fn, "c", 1.0, record)
    with pytest.raises(ValueError):
        profiled_scan_point(minimise_fn, "a", float("nan"), record)


def test_failed_fit_is_recorded_invalid():
    def broken(start, fixed):
        return {
            "columns": ["a", "b"],
            "best_fit": [1.0, float("nan")],
            "best_fit_nll": float("nan"),
        }

    record = {"columns": ["a", "b"], "best_fit": [1.0, 0.0]}
    out = profiled_scan_point(broken, "a", 1.0, record)
    assert not out["valid"] and out["status"] == "non-finite nll" and out["row"] is None


# --------------------------------------------------------------------------------------------
# 2-D scans
# --------------------------------------------------------------------------------------------
def _two_dimensional_scan():
    assert CONTOUR_LEVELS_2D[1] == pytest.approx(2.2958, abs=1e-4)
    assert CONTOUR_LEVELS_2D[2] == pytest.approx(6.1801, abs=1e-4)

    # A third parameter c is profiled at every point; the (a, b) profile is Gaussian with C[:2,:2].
    mean = {**MEAN, "c": 2.0}
    cov = [[SA**2, RHO * SA * SB, 0.3], [RHO * SA * SB, SB**2, -0.4], [0.3, -0.4, 1.0]]
    nll = gaussian_nll(mean, cov)
    columns = ["a", "b", "c"]
    minimise_fn = make_minimiser(nll, columns)
    record = best_fit_record(nll, columns, mean)
    grid = scan_points_2d(MEAN["a"], SA, MEAN["b"], SB, n_points=11, n_sigma=3)
    good = [profiled_scan_point_2d(minimise_fn, ("a", "b"), p, record) for p in grid]
    records = list(good)
    records[4] = {**records[4], "valid": False}
    records.append(
        {**skipped_scan_point(record, "a"), "varied_columns": ["a", "b"], "scan_values": None}
    )

    out = collect_scan_2d(records, best_fit_nll=record["best_fit_nll"])
    assert out["varied_columns"] == ["a", "b"] and out["n_failed"] == 1 and out["n_skipped"] == 1
    assert out["levels"] == CONTOUR_LEVELS_2D
    z = np.array(out["nlls"])
    assert z.shape == (11, 11) and np.isnan(z[0, 4]) and np.sum(np.isnan(z)) == 1
    h2 = np.linalg.inv(np.array(cov)[:2, :2])
    aa, bb = np.meshgrid(out["a_values"], out["b_values"], indexing="ij")
    d = np.stack([aa - MEAN["a"], bb - MEAN["b"]], axis=-1)
    expected = np.einsum("...i,ij,...j->...", d, h2, d)
    np.testing.assert_allclose(z[~np.isnan(z)], expected[~np.isnan(z)], atol=1e-6)

    full = collect_scan_2d(good)
    assert full["minimum"]["a"] == pytest.approx(MEAN["a"], abs=1e-6)
    assert full["minimum"]["b"] == pytest.approx(MEAN["b"], abs=1e-6)
    return full, h2


def test_two_dimensional_contours():
    _two_dimensional_scan()


def test_two_dimensional_contour_plot(tmp_path):
    full, h2 = _two_dimensional_scan()
    outputs = plot_outputs(tmp_path, "likelihood_scan_2d_a_b_0")
    drawn = scan_plot_2d(full, (1.1, -0.3), ("a", "b [GeV]"), outputs)
    assert_written(outputs, more_than=100)
    assert drawn["smoothed"]
    cov2 = np.linalg.inv(h2)
    for level in drawn["levels"]:
        vertices = np.concatenate(drawn["contours"][level])
        d = vertices - [MEAN["a"], MEAN["b"]]
        q = np.einsum("ni,ij,nj->n", d, h2, d)
        np.testing.assert_allclose(q, level, rtol=REL)  # every contour vertex is on the ellipse
        # Its projection onto a is ±√(q C_aa); the vertices sample the ellipse at the refined
        # grid spacing, so the outermost one can sit a little inside the tangent point.
        half_width = math.sqrt(level * cov2[0, 0])
        assert vertices[:, 0].max() - MEAN["a"] == pytest.approx(half_width, rel=5e-3)
        assert MEAN["a"] - vertices[:, 0].min() == pytest.approx(half_width, rel=5e-3)


# --------------------------------------------------------------------------------------------
# Plots
# --------------------------------------------------------------------------------------------
def test_scan_plot_with_overlay(tmp_path):
    nll = asymmetric_nll(1.0, 0.5, 1.5)
    records, _ = _one_parameter_scan(nll, 1.0, 1.0)
    total = collect_scan(records)
    stat, _ = _one_parameter_scan(asymmetric_nll(1.0, 0.3, 1.0), 1.0, 1.0)
    outputs = plot_outputs(tmp_path, "likelihood_scan_x_0")
    drawn = scan_plot(
        total, 1.2, "x", outputs, others={"stat. only": collect_scan(stat)}, name="total"
    )
    assert_written(outputs, more_than=100)
    assert drawn["ylim"] == (0.0, 9.0)
    assert drawn["text"] == "x = $1.00^{+1.50}_{-0.50}$"
    assert drawn["series"]["total"]["lines"] == pytest.approx([0.5, 2.5], abs=REL)
    assert set(drawn["series"]) == {"total", "stat. only"}
    lo, hi = drawn["xlim"]
    assert lo <= 0.0 and hi >= 4.0  # both 2σ crossings are in view

    narrow, _ = _one_parameter_scan(gaussian_nll({"x": 0.0}, [[1.0]]), 0.0, 1.0, n_points=13)
    one_sigma = collect_scan(narrow)  # ±1.2σ: no 2σ crossing
    drawn = scan_plot(one_sigma, None, "$\\mu$", plot_outputs(tmp_path, "narrow"))
    assert drawn["ylim"] == (0.0, 7.0)


# --------------------------------------------------------------------------------------------
# LikelihoodDebug
# --------------------------------------------------------------------------------------------
def test_likelihood_debug_table():
    def nll(point):
        if point["mu"] < 0:
            raise ValueError("negative yield")
        value = (point["mu"] - 1.0) ** 2 + point["nu"] ** 2
        return value, np.array([2 * (point["mu"] - 1.0), 2 * point["nu"]])

    rows = likelihood_debug(
        nll, [{"mu": 1.0}, {"mu": 2.0, "nu": 1.0}, {"mu": -1.0}], defaults={"mu": 1.0, "nu": 0.0}
    )
    assert rows[0] == {
        "mu": 1.0,
        "nu": 0.0,
        "nll": 0.0,
        "finite": True,
        "error": None,
        "grad_mu": 0.0,
        "grad_nu": 0.0,
        "delta_nll": 0.0,
    }
    assert rows[1]["nll"] == 2.0 and rows[1]["grad_mu"] == 2.0 and rows[1]["delta_nll"] == 2.0
    assert not rows[2]["finite"] and "negative yield" in rows[2]["error"]
    assert rows[2]["nll"] is None and rows[2]["delta_nll"] is None

    plain = likelihood_debug(lambda p: float("nan"), [{"x": 1.0}])
    assert plain[0]["finite"] is False and "grad_x" not in plain[0]
    named = likelihood_debug(lambda p: (1.0, {"x": 3.0}), [{"x": 1.0}])
    assert named[0]["grad_x"] == 3.0
