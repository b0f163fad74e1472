"""PlotDensity per Y column: the equal-statistics slices, the moments per slice and the plots."""

from __future__ import annotations

import numpy as np
import pytest

from innfer_lib.plots.density_y import density_profile_plot, density_slices_plot
from innfer_lib.plots.y_bins import Y_BINS, YSlice, slice_moments, y_slices


def test_continuous_column_gets_twenty_slices_of_equal_weight():
    rng = np.random.default_rng(1)
    y = rng.uniform(0.0, 10.0, 20_000)
    w = rng.uniform(0.5, 1.5, y.size)
    slices = y_slices(y, w)
    assert len(slices) == Y_BINS
    sums = np.array([w[s.mask(y)].sum() for s in slices])
    # weighted quantile edges: every slice holds 1/20 of the weight, to one event's weight
    np.testing.assert_allclose(sums, w.sum() / Y_BINS, atol=2 * w.max())
    # every event is in exactly one slice, the maximum included (the last slice is closed)
    counts = np.sum([s.mask(y) for s in slices], axis=0)
    assert np.all(counts == 1)
    assert slices[-1].last and not slices[0].last


def test_edges_follow_the_weights_not_the_event_counts():
    # Half the events, those below 1, carry a tenth of the weight: of the total 5500, 500 lie
    # below 1, so the weighted median is where [1, 2] adds 2250 more, at 1.45 (not 1).
    y = np.concatenate([np.linspace(0, 1, 5000, endpoint=False), np.linspace(1, 2, 5000)])
    w = np.where(y < 1, 0.1, 1.0)
    slices = y_slices(y, w, n_bins=2)
    assert slices[0].high == pytest.approx(1.45, abs=1e-3)


def test_discrete_column_gets_one_slice_per_value():
    y = np.repeat([171.5, 172.5, 173.5], [10, 500, 10])
    slices = y_slices(y, np.ones(y.size))
    assert [s.value for s in slices] == [171.5, 172.5, 173.5]
    assert slices[1].label("mtop") == "mtop = 172.5"
    assert [int(s.mask(y).sum()) for s in slices] == [10, 500, 10]


def test_discrete_slices_survive_float_noise():
    # A column standardised in float32 and back: each value is off by ~1e-7 relative, and the
    # synthetic rows carry the exact values; both must land in the same slices.
    exact = np.repeat([166.0, 167.0, 168.0], 100)
    noisy = exact * (1 + 1e-7 * np.random.default_rng(0).standard_normal(exact.size))
    slices = y_slices(noisy, np.ones(noisy.size))
    assert len(slices) == 3
    assert [int(s.mask(exact).sum()) for s in slices] == [100, 100, 100]
    assert [int(s.mask(noisy).sum()) for s in slices] == [100, 100, 100]


def test_slices_refuse_no_values():
    with pytest.raises(ValueError, match="no finite Y"):
        y_slices(np.array([np.nan]), np.array([1.0]))
    with pytest.raises(ValueError, match="n_bins"):
        y_slices(np.arange(5.0), np.ones(5), n_bins=0)


def test_slice_labels():
    assert YSlice(1.0, 2.0).label("y") == "1 ≤ y < 2"
    assert YSlice(1.0, 2.0, last=True).label("y") == "1 ≤ y ≤ 2"


def test_moments_per_slice():
    rng = np.random.default_rng(2)
    y = np.repeat([1.0, 2.0], 50_000)
    x = rng.normal(loc=3.0 * y, scale=y)
    m = slice_moments(x, np.ones(x.size), y, y_slices(y, np.ones(y.size)))
    np.testing.assert_allclose(m.mean, [3.0, 6.0], atol=0.03)
    np.testing.assert_allclose(m.std, [1.0, 2.0], rtol=0.02)
    # unweighted: σ/√n and σ/√(2n)
    np.testing.assert_allclose(m.mean_error, m.std / np.sqrt(50_000), rtol=1e-3)
    np.testing.assert_allclose(m.std_error, m.std / np.sqrt(100_000), rtol=1e-9)
    np.testing.assert_allclose(m.centre, [1.0, 2.0])


def test_moments_of_an_empty_slice_are_nan():
    m = slice_moments(np.ones(3), np.ones(3), np.zeros(3), [YSlice(5.0, 6.0, last=True)])
    assert np.isnan(m.mean[0]) and np.isnan(m.std_error[0])


def _samples(shift: float = 0.0, n: int = 4000, seed: int = 3):
    rng = np.random.default_rng(seed)
    y = rng.choice([1.0, 2.0, 3.0], n)
    sim = rng.normal(y, 0.5)
    syn = rng.normal(y + shift, 0.5)
    w = np.ones(n)
    return (sim, w), (syn, w), (y, y)


def test_slices_plot_compares_each_slice(tmp_path):
    sim, syn, y = _samples()
    slices = y_slices(y[0], sim[1])
    out = [str(tmp_path / "s.pdf"), str(tmp_path / "s.png")]
    drawn = density_slices_plot(sim, syn, y, slices, "x", "y", outputs=out, title="t")
    assert [d["label"] for d in drawn["slices"]] == ["y = 1", "y = 2", "y = 3"]
    for d in drawn["slices"]:
        assert d["sum_simulated"] == pytest.approx(d["sum_synthetic"])
        assert d["chi2"] / d["ndf"] < 3
    assert all((tmp_path / f).stat().st_size > 0 for f in ("s.pdf", "s.png"))


def test_profile_plot_sees_a_shift_the_slices_share():
    sim, syn, y = _samples(shift=0.2)
    slices = y_slices(y[0], sim[1])
    drawn = density_profile_plot(sim, syn, y, slices, "x", "y")
    # a 0.2 shift of every slice's mean with σ_mean ≈ 0.5/√1300 each: pulls around -10
    assert np.all(drawn["pull_mean"] < -5)
    assert np.all(np.abs(drawn["pull_std"]) < 4)
    same = density_profile_plot(*_samples()[:2], y, slices, "x", "y")
    assert np.all(np.abs(same["pull_mean"]) < 4)
