"""Asimov datasets and EvaluateDensity: event counts, yields, capping, seeds, per-row θ."""

import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from innfer_lib.core.errors import DataError
from innfer_lib.data.yields import expected_yield, process_yield
from innfer_lib.density.sampling import (
    asimov_event_count,
    asimov_event_count_from_options,
    batch_seed,
    evaluate_density,
    make_asimov,
    parameter_groups,
)

X_COLS = ["x1", "x2"]
STAND = {
    "x1": {"mean": 5.0, "std": 2.0},
    "x2": {"mean": -1.0, "std": 0.5},
    "mass": {"mean": 172.5, "std": 2.0},
}


class GaussianDensity:
    """x1 ~ N(mass - 167.5, 1), x2 ~ N(-1, 0.5): a θ-dependent fake with a sampler."""

    parameters = ["mass"]
    x_columns = X_COLS
    flow = None  # sampled once per parameter point

    def __init__(self):
        self.calls = []

    def sample(self, n, params, seed):
        self.calls.append((n, dict(params), seed))
        rng = np.random.default_rng(seed)
        return np.column_stack(
            [rng.normal(params["mass"] - 167.5, 1.0, n), rng.normal(-1.0, 0.5, n)]
        )


class FakeFlow:
    """Standardised sampler with one condition row per event: x̃1 = cond, x̃2 = 0."""

    def __init__(self):
        self.calls = 0

    def sample(self, cond, seed):
        self.calls += 1
        cond = np.asarray(cond)
        return np.column_stack([cond[:, 0], np.zeros(len(cond))])


class FlowDensity:
    parameters = ["mass"]

    def __init__(self):
        self.flow = FakeFlow()


def _parameters(lo=(-100.0, -100.0), hi=(100.0, 100.0)):
    return {
        "yields": {"nominal": 250.0, "lnN": {"lumi": [0.9, 1.1]}},
        "rate_parameter": "mu_ttbar",
        "density": {
            "X_columns": X_COLS,
            "Y_columns": ["mass"],
            "standardisation": STAND,
            "initial_minmax": {
                "x1": {"min": lo[0], "max": hi[0]},
                "x2": {"min": lo[1], "max": hi[1]},
                "mass": {"min": 166.0, "max": 180.0},
                "wt": {"min": 0.1, "max": 10.0},
            },
        },
    }


POINT = {"mass": 172.5, "mu_ttbar": 1.3, "lumi": 1.0}


def test_module_does_not_import_tensorflow():
    code = "import sys, innfer_lib.density.sampling; assert 'tensorflow' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_event_count_rules():
    assert asimov_event_count(123.4, n_events=1000) == 1000
    assert asimov_event_count(123.4, scale=100) == 12340
    assert asimov_event_count(123.41, scale=100) == 12341
    assert asimov_event_count(1.2345, scale=10) == 13  # ceil
    assert asimov_event_count(0.3, scale=10) == 3  # 3.0000000000000004 must not become 4
    assert asimov_event_count(0.0, scale=100) == 0
    with pytest.raises(ValueError, match="exactly one"):
        asimov_event_count(10.0)
    with pytest.raises(ValueError, match="exactly one"):
        asimov_event_count(10.0, n_events=5, scale=2.0)
    for bad in (-1, 2.5, True):
        with pytest.raises(ValueError):
            asimov_event_count(10.0, n_events=bad)
    for bad in (0.0, -1.0, math.inf):
        with pytest.raises(ValueError):
            asimov_event_count(10.0, scale=bad)
    with pytest.raises(ValueError):
        asimov_event_count(-1.0, scale=10)


def test_event_count_from_the_workflow_asimov_options():
    """A fixed n_events replaces the scaling by the yield (250 × 1.3 × 1.1 = 357.5 here)."""
    parameters = _parameters()
    fixed = {"n_events": 1000, "scale": 10, "batch_size": 100}
    assert asimov_event_count_from_options(parameters, POINT, fixed) == 1000
    scaled = {"n_events": None, "scale": 10, "batch_size": 100}
    assert asimov_event_count_from_options(parameters, POINT, scaled) == 3575


def test_weights_sum_to_yield_with_rate_and_lnn():
    parameters = _parameters()
    expected = process_yield(parameters["yields"], POINT, "mu_ttbar")
    assert expected == pytest.approx(250.0 * 1.3 * 1.1)
    assert expected_yield(parameters, POINT) == pytest.approx(expected)
    n = asimov_event_count(expected, scale=10)
    frame = make_asimov(GaussianDensity(), parameters, POINT, n, seed=1, batch_size=1000)
    assert list(frame.columns) == [*X_COLS, "wt"]
    assert len(frame) == n
    assert frame["wt"].sum() == pytest.approx(expected, rel=1e-12)
    assert np.allclose(frame["wt"], expected / n)
    assert frame["x1"].mean() == pytest.approx(5.0, abs=0.1)
    assert frame.attrs["n_dropped"] == 0


def test_capping_drops_events_outside_initial_minmax_and_rescales():
    parameters = _parameters(lo=(4.0, -100.0), hi=(100.0, -0.5))
    frame = make_asimov(GaussianDensity(), parameters, POINT, 20_000, seed=3, batch_size=7000)
    assert frame["x1"].min() >= 4.0 and frame["x2"].max() <= -0.5
    # P(x1 > 4) ≈ 0.841, P(x2 < -0.5) ≈ 0.841 for the fake density
    assert len(frame) / 20_000 == pytest.approx(0.841 * 0.841, abs=0.02)
    assert frame.attrs["n_dropped"] == 20_000 - len(frame)
    assert frame["wt"].sum() == pytest.approx(expected_yield(parameters, POINT), rel=1e-12)

    uncapped = make_asimov(
        GaussianDensity(), parameters, POINT, 20_000, seed=3, batch_size=7000, cap=False
    )
    assert len(uncapped) == 20_000
    # Capping only removes rows: the kept ones are the same events in the same order.
    inside = (uncapped["x1"] >= 4.0) & (uncapped["x2"] <= -0.5)
    np.testing.assert_array_equal(uncapped.loc[inside, X_COLS].to_numpy(), frame[X_COLS])


def test_nan_rows_are_dropped_and_empty_result_fails():
    class Broken(GaussianDensity):
        def sample(self, n, params, seed):
            x = super().sample(n, params, seed)
            x[::2, 1] = np.nan
            return x

    frame = make_asimov(Broken(), _parameters(), POINT, 100, seed=0)
    assert len(frame) == 50 and np.isfinite(frame.to_numpy()).all()
    with pytest.raises(DataError, match="training range"):
        make_asimov(GaussianDensity(), _parameters(lo=(50, 50), hi=(60, 60)), POINT, 100, seed=0)


def test_reproducible_for_seed_and_batch_size():
    parameters = _parameters()
    a = make_asimov(GaussianDensity(), parameters, POINT, 2500, seed=7, batch_size=1000)
    b = make_asimov(GaussianDensity(), parameters, POINT, 2500, seed=7, batch_size=1000)
    c = make_asimov(GaussianDensity(), parameters, POINT, 2500, seed=8, batch_size=1000)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["x1"], c["x1"])
    density = GaussianDensity()
    make_asimov(density, parameters, POINT, 2500, seed=7, batch_size=1000)
    assert [call[0] for call in density.calls] == [1000, 1000, 500]
    assert len({call[2] for call in density.calls}) == 3  # one seed per batch
    assert density.calls[0][1] == {"mass": 172.5}  # only the density's parameters
    assert batch_seed(7, 0) == batch_seed(7, 0) < 2**31
    with pytest.raises(ValueError):
        batch_seed(-1, 0)


def test_add_truth_and_missing_parameter():
    frame = make_asimov(GaussianDensity(), _parameters(), POINT, 10, seed=0, add_truth=True)
    assert list(frame.columns) == [*X_COLS, "wt", "mass", "mu_ttbar", "lumi"]
    assert (frame["mu_ttbar"] == 1.3).all()
    with pytest.raises(KeyError, match="mass"):
        make_asimov(GaussianDensity(), _parameters(), {"mu_ttbar": 1.0}, 10, seed=0)
    zero = make_asimov(GaussianDensity(), _parameters(), POINT, 0, seed=0)
    assert len(zero) == 0 and list(zero.columns) == [*X_COLS, "wt"]


def test_true_density_is_sampled_through_the_benchmark():
    from innfer_lib.density.models import TrueDensity

    density = TrueDensity("Dim1Gaussian", "Gaussian")
    assert density.flow is None
    parameters = {
        "yields": {"nominal": 1000.0, "lnN": {}},
        "rate_parameter": None,
        "density": {
            "X_columns": ["X1"],
            "initial_minmax": {"X1": {"min": 150.0, "max": 200.0}},
        },
    }
    frame = make_asimov(density, parameters, {"Y1": 172.5}, 5000, seed=2)
    assert frame["X1"].mean() == pytest.approx(172.5, abs=0.1)
    assert frame["X1"].std() == pytest.approx(1.725, rel=0.05)
    assert frame["wt"].sum() == pytest.approx(1000.0)

    background = TrueDensity("Dim1GaussianWithExpBkgVaryingYield", "ExpBkg")
    x = background.sample(1000, {}, 0)
    assert x.shape == (1000, 1) and x.min() >= 160.0 and x.max() <= 185.0


def _standardised_frame(masses, rng):
    n = len(masses)
    frame = pd.DataFrame(
        {
            "x1": rng.normal(size=n),
            "x2": rng.normal(size=n),
            "mass": (np.asarray(masses) - 172.5) / 2.0,
            "wt": rng.uniform(0.5, 1.5, n),
        }
    )
    return frame


def test_evaluate_density_groups_by_theta_without_a_flow():
    rng = np.random.default_rng(0)
    masses = rng.choice([170.0, 172.5, 175.0], size=6000)
    frame = _standardised_frame(masses, rng)
    density = GaussianDensity()
    out = evaluate_density(density, frame, _parameters(), seed=4, batch_size=1500)
    assert list(out.columns) == [*X_COLS, "mass", "wt"]
    assert len(out) == len(frame)
    np.testing.assert_allclose(out["mass"], masses)
    np.testing.assert_array_equal(out["wt"], frame["wt"])
    for m in (170.0, 172.5, 175.0):
        sel = out["mass"] == m
        assert out.loc[sel, "x1"].mean() == pytest.approx(m - 167.5, abs=0.08)
    # one call per (distinct θ, batch), each with that θ
    assert {c[1]["mass"] for c in density.calls} == {170.0, 172.5, 175.0}
    assert all(n <= 1500 for n, _, _ in density.calls)
    again = evaluate_density(GaussianDensity(), frame, _parameters(), seed=4, batch_size=1500)
    pd.testing.assert_frame_equal(out, again)


def test_evaluate_density_uses_the_flow_per_row():
    rng = np.random.default_rng(1)
    masses = rng.uniform(166.0, 180.0, size=2500)  # continuous θ: one value per row
    frame = _standardised_frame(masses, rng)
    density = FlowDensity()
    out = evaluate_density(density, frame, _parameters(), seed=0, batch_size=1000)
    assert density.flow.calls == 3
    # The fake flow returns x̃1 = standardised mass, so x1 = mean + std·(mass − 172.5)/2.
    np.testing.assert_allclose(out["x1"], 5.0 + 2.0 * (masses - 172.5) / 2.0)
    np.testing.assert_allclose(out["x2"], -1.0)
    np.testing.assert_allclose(out["mass"], masses)


def test_real_flow_fits_the_api():
    # A real (tiny, untrained) flow inside LearnedDensity: about 3 s, mostly importing TF.
    pytest.importorskip("tensorflow")
    from innfer_lib.density.flow import ConditionalFlow
    from innfer_lib.density.models import LearnedDensity

    arch = {
        "coupling_design": "affine",
        "num_coupling_layers": 2,
        "affine_units_per_dense_layer": 8,
        "affine_num_dense_layers": 1,
    }
    flow = ConditionalFlow(2, 1, arch, dtype="float64")
    density = LearnedDensity(flow, STAND, X_COLS, ["mass"])
    parameters = _parameters()
    a = make_asimov(density, parameters, POINT, 3000, seed=5, batch_size=2000)
    b = make_asimov(density, parameters, POINT, 3000, seed=5, batch_size=2000)
    pd.testing.assert_frame_equal(a, b)
    assert len(a) == 3000
    # The untrained flow is close to the identity: x ≈ N(mean, std) in physical units.
    assert a["x1"].mean() == pytest.approx(5.0, abs=0.5)
    assert a["x2"].std() == pytest.approx(0.5, rel=0.5)
    assert a["wt"].sum() == pytest.approx(expected_yield(parameters, POINT))

    rng = np.random.default_rng(2)
    frame = _standardised_frame(rng.uniform(170, 175, size=500), rng)
    out = evaluate_density(density, frame, parameters, seed=1, batch_size=200)
    assert out.shape == (500, 4) and np.isfinite(out.to_numpy()).all()


def test_unconditional_flow_evaluates_and_samples():
    """A process without parameters (a background) has an empty condition per event."""
    pytest.importorskip("tensorflow")
    from innfer_lib.density.flow import ConditionalFlow
    from innfer_lib.density.models import LearnedDensity

    stand = {"x1": {"mean": 5.0, "std": 2.0}}
    parameters = {
        "yields": {"nominal": 300.0, "lnN": {}},
        "rate_parameter": None,
        "density": {
            "X_columns": ["x1"],
            "Y_columns": [],
            "standardisation": stand,
            "initial_minmax": {"x1": {"min": -100.0, "max": 100.0}},
        },
    }
    arch = {
        "coupling_design": "affine",
        "num_coupling_layers": 1,
        "affine_units_per_dense_layer": 4,
    }
    density = LearnedDensity(ConditionalFlow(1, 0, arch, dtype="float64"), stand, ["x1"], [])
    frame = pd.DataFrame({"x1": np.zeros(700), "wt": np.ones(700)})
    out = evaluate_density(density, frame, parameters, seed=3, batch_size=300)
    assert list(out.columns) == ["x1", "wt"] and len(out) == 700
    assert out["x1"].mean() == pytest.approx(5.0, abs=0.5)
    asimov = make_asimov(density, parameters, {}, 500, seed=2)
    assert asimov["wt"].sum() == pytest.approx(300.0)


@pytest.mark.parametrize("continuous", [False, True])
def test_parameter_groups_give_each_distinct_row_its_events_in_order(continuous):
    """A few simulated points, or one point per event (a continuously shifted nuisance): every
    event in exactly one group, in increasing order, at its own row."""
    rng = np.random.default_rng(2)
    n = 2000
    y = rng.normal(size=(n, 2)) if continuous else rng.integers(0, 4, size=(n, 2)).astype(float)
    groups = parameter_groups(y, ["m", "jes"])
    assert len(groups) == (n if continuous else len(np.unique(y, axis=0)))
    seen = np.concatenate([rows for _, rows in groups])
    assert sorted(seen) == list(range(n))
    for point, rows in groups:
        assert np.all(np.diff(rows) > 0)
        np.testing.assert_array_equal(y[rows], np.tile([point["m"], point["jes"]], (len(rows), 1)))
