"""Density comparison: every source a curve in 1-D; beyond, only the sources given samplers."""

import subprocess
import sys

import numpy as np
import pytest

from innfer_lib.plots.comparison import N_BINS, Source, density_plot, panels


class Gaussian:
    """A unit-width Gaussian in every column around the parameter ``m``: density and sampler."""

    def __init__(self, n_x):
        self.n_x = n_x

    def log_prob(self, x, params):
        z = np.asarray(x, float) - params["m"]
        return np.sum(-0.5 * z**2 - 0.5 * np.log(2 * np.pi), axis=1)

    def sample(self, n, params, seed):
        return np.random.default_rng(seed).normal(params["m"], 1.0, (n, self.n_x))


def _events(n_x, n=5000):
    rng = np.random.default_rng(1)
    return rng.normal(0.5, 1.0, (n, n_x)), np.full(n, 200.0 / n)


def _sources(density):
    """A learned source (sampled beyond 1-D) and a true one (not), both the same Gaussian."""
    return {
        "learned": Source([(density, 200.0)], samplers=[(density, 200.0)]),
        "truth": Source([(density, 200.0)]),
    }


def test_one_dimension_draws_every_source_as_a_curve():
    x, w = _events(1)
    sources = _sources(Gaussian(1))
    (panel,) = panels(x, w, ["x"], sources, {"m": 0.5})
    assert list(panel["curves"]) == ["learned", "truth"] and panel["hists"] == {}
    for name in sources:
        assert panel["binned"][name].shape == (N_BINS,)
        # The bins cover the 0.1-99.9 % quantiles: almost all of the yield.
        assert np.sum(panel["binned"][name]) == pytest.approx(200.0 * 0.998, rel=0.01)


def test_more_dimensions_sample_only_the_sources_with_samplers():
    x, w = _events(2)
    sources = _sources(Gaussian(2))
    out = panels(x, w, ["x", "y"], sources, {"m": 0.5}, seed=4)
    for panel in out:
        assert panel["curves"] == {}
        assert list(panel["hists"]) == ["learned"] and list(panel["binned"]) == ["learned"]
        assert panel["hists"]["learned"] is panel["binned"]["learned"]
        assert np.sum(panel["hists"]["learned"]) == pytest.approx(200.0, rel=0.01)
    density_plot(out, [])


def test_plots_and_results_import_without_tensorflow():
    code = (
        "import importlib, pkgutil, sys, innfer_lib.plots, innfer_lib.results\n"
        "for pkg in (innfer_lib.plots, innfer_lib.results):\n"
        "    for m in pkgutil.iter_modules(pkg.__path__):\n"
        "        importlib.import_module(f'{pkg.__name__}.{m.name}')\n"
        "assert 'tensorflow' not in sys.modules, 'tensorflow imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
