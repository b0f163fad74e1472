"""style.fix_ticks and style.title_y: fixed ticks and a pinned title change nothing shown."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.ticker import FixedLocator, NullLocator

from innfer_lib.plots.style import apply_style, fix_ticks, title_y


@pytest.fixture
def ax():
    apply_style()
    fig, ax = plt.subplots()
    ax.plot([0.0, 10.0], [0.0, 3.0])
    ax.set_xlim(0.0, 10.0)
    yield ax
    plt.close(fig)


def test_fix_ticks_keeps_major_ticks_and_halves_minor_intervals(ax):
    majors = [ax.xaxis.get_majorticklocs(), ax.yaxis.get_majorticklocs()]
    fix_ticks(ax)
    for axis, before in zip((ax.xaxis, ax.yaxis), majors, strict=True):
        assert isinstance(axis.get_major_locator(), FixedLocator)
        np.testing.assert_array_equal(axis.get_majorticklocs(), before)
        step = np.diff(before)[0]
        minor = axis.get_minorticklocs()
        # One minor tick halfway between neighbouring major ticks.
        np.testing.assert_allclose(np.diff(minor), step, rtol=1e-9)
        np.testing.assert_allclose((minor[0] - before[0]) % step, step / 2, rtol=1e-9)


def test_fix_ticks_without_divisions_keeps_the_styles_minor_ticks(ax):
    before = [ax.xaxis.get_minorticklocs(), ax.yaxis.get_minorticklocs()]
    fix_ticks(ax, minor_divisions=None)
    np.testing.assert_array_equal(ax.xaxis.get_minorticklocs(), before[0])
    np.testing.assert_array_equal(ax.yaxis.get_minorticklocs(), before[1])


def test_fix_ticks_leaves_minor_ticks_off(ax):
    ax.yaxis.set_minor_locator(NullLocator())
    fix_ticks(ax)
    assert len(ax.yaxis.get_minorticklocs()) == 0


def test_title_y_pins_only_where_automatic_placement_puts_the_title(ax):
    assert title_y(ax) == 1.0
    ax.set_ylim(1e7, 2e7)  # the y axis now shows an offset the title could cover
    assert title_y(ax) is None
    ax.set_ylim(0.0, 3.0)
    ax.xaxis.set_label_position("top")
    assert title_y(ax) is None


def test_pinned_title_lands_where_automatic_placement_put_it(ax):
    ax.set_title("title", fontsize=14)
    ax.figure.draw_without_rendering()
    automatic = ax.title.get_window_extent()
    ax.set_title("title", fontsize=14, y=title_y(ax))
    ax.figure.draw_without_rendering()
    np.testing.assert_allclose(ax.title.get_window_extent().bounds, automatic.bounds)
