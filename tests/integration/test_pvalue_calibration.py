"""The p-value chain is calibrated: with the true density as the synthetic generator, the
p-values of 100 independent weighted simulated samples are uniform (issue 16)."""

import pytest

from innfer_lib.density.models import TrueDensity
from innfer_lib.density.performance import MetricOptions, summary_metric_keys
from innfer_lib.density.pvalues import PValueSetup, calibration, weighted_simulator

pytestmark = pytest.mark.slow

POINTS = ({"Y1": 171.0}, {"Y1": 173.0}, {"Y1": 175.0})


def test_p_values_of_the_truth_against_its_own_simulation_are_uniform():
    density = TrueDensity("Dim1Gaussian", "Gaussian")
    options = MetricOptions(families=("histogram", "multidim"), datasets=("val",))
    keys = summary_metric_keys(options, ["X1"])
    setup = PValueSetup(options, "val", 3, ["X1"])
    simulate = weighted_simulator(density, POINTS, 600, signed_weights=True, seed=7)
    result = calibration(density, simulate, 100, 300, setup, keys)
    # The datasets share the toys, so the exact test of uniform p-values is the two-sample
    # KS test of the observed metrics against the toys (pvalues.calibration).
    ks = {key: row["ks_two_sample_p_value"] for key, row in result.items()}
    assert set(ks) == set(keys)
    assert all(p > 0.01 for p in ks.values()), ks
    assert all(len(row["p_values"]) == 100 for row in result.values())
