"""ScanPlot overlays: re-zeroing on the smooth curve, the stat./syst. breakdown, the plot and the
`scan_plots` block's parse-time checks. Closed-form profiles only; no TensorFlow."""

import math

import numpy as np
import pytest
from scipy.optimize import brentq

from innfer_lib.core.config_files import ConfigKeyError
from innfer_lib.core.fit_sets import scan_plot_sets
from innfer_lib.inference.scan import breakdown, collect_scan, interval, rezero_scan
from innfer_lib.plots.scan import ScanStyle, breakdown_text, scan_plot
from tests.plot_files import assert_written, plot_outputs

REL = 1e-3


def _records(values, nlls, column="x"):
    return [
        {"varied_column": column, "columns": [column], "row": [1.3], "scan_value": float(v),
         "nll": float(y), "valid": True}
        for v, y in zip(values, nlls, strict=True)
    ]  # fmt: skip


def _parabola(centre, sigma, offset, grid):
    return ((grid - centre) / sigma) ** 2 + offset


def test_rezero_recovers_a_shifted_minimum():
    # The best fit's −2 ln L is 0.7 below every scan point, and collect_scan zeroes on it; the
    # profile's minimum, at 1.3, lies between grid points. Without re-zeroing the 1σ crossings
    # sit where the curve is 1 − 0.7 above its minimum, at ±σ·√0.3.
    sigma, centre, offset = 0.5, 1.3, 0.7
    grid = np.linspace(0.0, 2.5, 21)
    collected = collect_scan(_records(grid, _parabola(centre, sigma, offset, grid)), 0.0)
    assert collected["crossings"][0] == pytest.approx(centre, abs=1e-6)
    assert interval(collected)[1] == pytest.approx(sigma * math.sqrt(1 - offset), rel=REL)

    out = rezero_scan(collected)
    assert out["rezero_shift"] == pytest.approx(offset, abs=1e-9)
    assert out["crossings"][0] == pytest.approx(centre, abs=1e-6)
    for k in (-2, -1, 1, 2):
        assert out["crossings"][k] == pytest.approx(centre + k * sigma, abs=REL * sigma), k
    assert min(out["nlls"]) == pytest.approx(min(collected["nlls"]) - offset, abs=1e-12)
    assert out["reference_nll"] == pytest.approx(collected["reference_nll"] + offset)
    assert out["best_fit_delta"] == pytest.approx(-offset)
    # The input is not modified, and re-zeroing twice changes nothing more.
    assert collected["crossings"][1] != pytest.approx(out["crossings"][1])
    again = rezero_scan(out)
    assert again["rezero_shift"] == pytest.approx(0.0, abs=1e-12)
    assert again["crossings"] == pytest.approx(out["crossings"])


def test_rezero_of_an_asymmetric_minimum_between_grid_points():
    # A smooth asymmetric profile, 2(e^u − 1 − u) with u = (x − c)/s, offset by 3 above the
    # best fit and with its minimum off the grid: the curve's minimum becomes zero and the
    # crossings are those of the profile itself.
    centre, s = 0.93, 0.8

    def profile(x):
        u = (np.asarray(x) - centre) / s
        return 2.0 * (np.exp(u) - 1.0 - u)

    grid = np.linspace(-2.0, 3.0, 41)
    out = rezero_scan(collect_scan(_records(grid, profile(grid) + 3.0), best_fit_nll=0.0))
    assert out["rezero_shift"] == pytest.approx(3.0, abs=1e-3)
    assert out["crossings"][0] == pytest.approx(centre, abs=2e-3)
    for k in (-1, 1):
        expected = brentq(lambda x: profile(x) - 1.0, *sorted((centre, centre + 2.5 * k)))
        assert out["crossings"][k] == pytest.approx(expected, abs=2e-3)
    down, up = interval(out)
    assert down > up  # the profile rises faster above the minimum


def test_rezero_without_points_is_a_no_op():
    empty = {"crossings": {}, "scan_values": [], "nlls": []}
    assert rezero_scan(empty) == {**empty, "rezero_shift": 0.0}


def _collected(down, up, centre=1.0):
    # The minimum on the grid: each side's spline is then exact for its parabola.
    grid = np.union1d(
        np.linspace(centre - 3 * down, centre, 21), np.linspace(centre, centre + 3 * up, 21)
    )
    y = np.where(grid < centre, ((grid - centre) / down) ** 2, ((grid - centre) / up) ** 2)
    return collect_scan(_records(grid, y))


def test_breakdown_in_quadrature_per_side():
    total, stat = _collected(0.5, 1.3), _collected(0.3, 1.2)
    parts = breakdown(total, stat)
    assert parts["total"]["down"] == pytest.approx(0.5, rel=REL)
    assert parts["stat"]["up"] == pytest.approx(1.2, rel=REL)
    assert parts["syst"]["down"] == pytest.approx(0.4, rel=5e-3)  # √(0.5² − 0.3²)
    assert parts["syst"]["up"] == pytest.approx(0.5, rel=5e-3)  # √(1.3² − 1.2²)
    assert parts["stat_exceeds_total"] == []


def test_breakdown_with_a_wider_stat_interval_or_an_open_side():
    parts = breakdown(_collected(0.5, 1.0), _collected(0.6, 0.8))
    assert parts["syst"]["down"] == 0.0 and parts["stat_exceeds_total"] == ["down"]
    open_up = _collected(0.5, 1.0)
    open_up["crossings"] = {k: v for k, v in open_up["crossings"].items() if k != 1}
    parts = breakdown(open_up, _collected(0.3, 0.8))
    assert parts["syst"]["up"] is None and parts["total"]["up"] is None
    assert "open" in breakdown_text(parts, 1.0, "x")


def test_overlay_plot_with_styles_and_breakdown(tmp_path):
    total, stat, other = _collected(0.5, 1.3), _collected(0.3, 1.2), _collected(0.45, 1.25)
    outputs = plot_outputs(tmp_path, "overlay")
    drawn = scan_plot(
        total,
        1.1,
        r"$\mu$",
        outputs,
        others={"stat. only": stat, "other": other},
        name="total",
        styles={"stat. only": ScanStyle("tab:red", "dashed")},
        stat_only="stat. only",
    )
    assert_written(outputs, more_than=1000)
    assert set(drawn["series"]) == {"total", "stat. only", "other"}
    assert drawn["breakdown"]["syst"]["down"] == pytest.approx(0.4, rel=5e-3)
    assert drawn["series"]["stat. only"]["lines"] == pytest.approx([0.7, 2.2], abs=1e-3)
    text = breakdown_text(drawn["breakdown"], 1.0, r"$\mu$")
    assert r"\mathrm{stat.}" in text and r"\mathrm{syst.}" in text
    assert scan_plot(total, None, "x", plot_outputs(tmp_path, "plain"))["breakdown"] is None


FITS = {
    "total": {"scan": ["mu", "nu"]},
    "stat": {"scan": ["mu"]},
    "other": {"scan": ["nu"]},
}


def test_scan_plot_sets_fill_and_shared_parameters():
    out = scan_plot_sets({"b": {"fits": ["total", "stat"], "stat_only": "stat"}}, FITS, ["learned"])
    assert out["b"]["parameters"] == ["mu"] and out["b"]["densities"] == ["learned"]
    assert out["b"]["rezero"] is False and out["b"]["labels"] == {}
    assert scan_plot_sets(None, FITS, ["learned"]) == {}


@pytest.mark.parametrize(
    "block, key, match",
    [
        ({"fits": ["total", "nope"]}, ("fits",), "nope"),
        ({"fits": ["stat", "other"]}, ("fits",), "no parameter in common"),
        ({"fits": ["total", "stat"], "parameters": ["nu"]}, ("parameters",), "stat"),
        ({"fits": ["total", "stat"], "stat_only": "total"}, ("stat_only",), "after the first"),
        ({"fits": ["total"], "densities": ["truth"]}, ("densities",), "truth"),
        ({"fits": ["total"], "labels": {"stat": "s"}}, ("labels", "stat"), "not one of"),
        ({"fits": ["total"], "colours": {"total": "notacolour"}}, ("colours", "total"), "colour"),
    ],
)
def test_scan_plot_sets_reject_bad_blocks(block, key, match):
    with pytest.raises(ConfigKeyError, match=match) as err:
        scan_plot_sets({"b": block}, FITS, ["learned"])
    assert err.value.problem.path == ("scan_plots", "b", *key)
