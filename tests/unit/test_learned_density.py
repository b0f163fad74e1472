"""The density a fit sees is normalised in physical units, the standardisation included."""

import numpy as np
import pytest

from innfer_lib.density.flow import ConditionalFlow
from innfer_lib.density.models import LearnedDensity


@pytest.mark.parametrize("design", ["affine", "spline"])
def test_physical_density_integrates_to_one(design):
    flow = ConditionalFlow(
        1,
        1,
        {
            "coupling_design": design,
            "num_coupling_layers": 2,
            "affine_units_per_dense_layer": 8,
            "spline_units_per_dense_layer": 8,
        },
        dtype="float64",
    )
    rng = np.random.default_rng(3)
    flow.set_weights([w + rng.normal(0, 0.1, w.shape) for w in flow.get_weights()])
    stand = {"x": {"mean": 172.0, "std": 3.0}, "m": {"mean": 172.5, "std": 2.0}}
    density = LearnedDensity(flow, stand, ["x"], ["m"])
    grid = np.linspace(172.0 - 45.0, 172.0 + 45.0, 40001)
    for m in (170.0, 172.5, 175.0):
        p = np.exp(density.log_prob(grid[:, None], {"m": m}).numpy())
        assert np.trapezoid(p, grid) == pytest.approx(1.0, abs=1e-4)
    # Without the −log σ term the integral would be σ = 3.
