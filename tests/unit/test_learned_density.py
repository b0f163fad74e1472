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


def twin_flows(seed: int) -> tuple[dict[str, ConditionalFlow], np.random.Generator]:
    """A 2-D interleaved flow with perturbed (non-identity) weights, in float64 and float32."""
    arch = {"coupling_design": "interleaved", "num_coupling_layers": 4}
    flows = {d: ConditionalFlow(2, 1, arch, dtype=d) for d in ("float64", "float32")}
    rng = np.random.default_rng(seed)
    weights = [w + rng.normal(0, 0.05, w.shape) for w in flows["float64"].get_weights()]
    for flow in flows.values():
        flow.set_weights(weights)
    return flows, rng


def test_a_float32_flow_is_summed_in_float64_and_agrees_to_float32_precision():
    """load_density's precision="float32": the same weights, log-densities returned as float64
    (summed with the float64 parts of −ln L) and within float32 rounding of the float64 flow."""
    import tensorflow as tf

    flows, rng = twin_flows(seed=5)
    stand = {c: {"mean": 0.0, "std": 2.0} for c in ("x1", "x2", "m")}
    x = rng.normal(size=(500, 2))
    logs = {
        d: LearnedDensity(flow, stand, ["x1", "x2"], ["m"]).log_prob(x, {"m": tf.constant(0.3)})
        for d, flow in flows.items()
    }
    assert logs["float32"].dtype == tf.float64
    assert np.allclose(logs["float32"].numpy(), logs["float64"].numpy(), rtol=0, atol=1e-4)
    assert not np.array_equal(logs["float32"].numpy(), logs["float64"].numpy())


def test_the_points_of_a_batch_share_one_flow_and_its_trace(tmp_path):
    """A batch job builds one likelihood per point from the same files (points_per_job): the
    flow is loaded once and, from the second point on, its log-density traced once; a
    retrained model is a new flow."""
    import os

    import tensorflow as tf

    from innfer_lib.core.io import write_yaml
    from innfer_lib.density.models import learned_architecture, load_density
    from innfer_lib.inference.likelihood import Likelihood
    from innfer_lib.inference.model import Category, Process

    arch = {"coupling_design": "spline", "num_coupling_layers": 2}
    parameters = {
        "density": {
            "X_columns": ["x"],
            "Y_columns": ["m"],
            "standardisation": {"x": {"mean": 1.0, "std": 2.0}, "m": {"mean": 0.0, "std": 1.0}},
        }
    }
    write_yaml(tmp_path / "architecture.yaml", learned_architecture(arch, parameters))
    flow = ConditionalFlow(1, 1, arch, dtype="float64")
    rng = np.random.default_rng(7)
    flow.set_weights([w + rng.normal(0, 0.05, w.shape) for w in flow.get_weights()])
    flow.save(str(tmp_path / "weights.npz"))

    def point_likelihood(m: float) -> tuple:
        density = load_density(tmp_path / "architecture.yaml", parameters)
        x = rng.normal(1.0 + m, 2.0, size=(300, 1))
        process = Process(name="p", density=density, nominal=300.0)
        category = Category(name="c", x=x, weights=np.ones(300), processes=[process])
        return density, Likelihood(["m"], [category])

    first, nll = point_likelihood(0.2)
    expected = nll.value_and_gradient([0.1])
    # The first likelihood traces the layers into its own graphs (the cheaper first trace);
    # from the second on, the graphs call the flow's one traced function.
    assert not first.shared_trace
    second, nll2 = point_likelihood(-0.3)
    third, nll3 = point_likelihood(0.5)
    assert second.flow is first.flow and third.flow is first.flow
    assert second.shared_trace and third.shared_trace
    nll2.value_and_gradient([0.1])
    nll3.value_and_gradient([0.1])
    assert first.flow.evaluation_log_prob().experimental_get_tracing_count() == 1
    # The same answer either way, and as a flow of its own (nothing leaks between points).
    alone = LearnedDensity(flow, parameters["density"]["standardisation"], ["x"], ["m"])
    x = tf.constant(np.linspace(-3, 5, 11)[:, None], tf.float64)
    for density in (first, second):
        assert np.allclose(
            density.log_prob(x, {"m": 0.1}), alone.log_prob(x, {"m": 0.1}), atol=1e-12
        )
    assert np.isfinite(expected[0])
    # Rewritten weights (a retraining into the same path) are loaded afresh.
    flow.set_weights([w * 1.01 for w in flow.get_weights()])
    flow.save(str(tmp_path / "weights.npz"))
    stat = os.stat(tmp_path / "weights.npz")
    os.utime(tmp_path / "weights.npz", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    assert load_density(tmp_path / "architecture.yaml", parameters).flow is not first.flow


@pytest.mark.parametrize(("n_x", "distinct"), [(1, 3), (2, None)])
def test_per_event_rows_give_the_log_density_at_each_events_point(n_x, distinct):
    """log_prob_rows, which the loss metrics use: one θ per event (a continuously shifted
    nuisance, 2-D) or a few shared ones (1-D, conditioners once per row) give log_prob at each
    event's own point; the mean loss is the same as one call per event."""
    import tensorflow as tf

    from innfer_lib.density.performance import mean_negative_log_prob

    arch = {"coupling_design": "spline", "num_coupling_layers": 2}
    flow = ConditionalFlow(n_x, 2, arch, dtype="float64")
    rng = np.random.default_rng(8)
    flow.set_weights([w + rng.normal(0, 0.1, w.shape) for w in flow.get_weights()])
    x_cols = [f"x{i}" for i in range(n_x)]
    stand = {c: {"mean": 1.0, "std": 2.0} for c in [*x_cols, "m", "jes"]}
    density = LearnedDensity(flow, stand, x_cols, ["m", "jes"])
    n = 60
    x = rng.normal(size=(n, n_x))
    if distinct:
        y = rng.choice(rng.normal(size=(distinct, 2)), size=n, axis=0)
    else:
        y = rng.normal(size=(n, 2))
    rows = density.log_prob_rows(x, y)
    one_by_one = [
        density.log_prob(x[i : i + 1], {"m": tf.constant(y[i, 0]), "jes": tf.constant(y[i, 1])})
        for i in range(n)
    ]
    np.testing.assert_allclose(rows, np.concatenate(one_by_one), rtol=1e-12)
    w = rng.uniform(0.5, 1.5, n)
    # The frame's Y columns in another order than the density's parameters.
    loss = mean_negative_log_prob(density, x, y[:, ::-1], w, ["jes", "m"])
    assert loss == pytest.approx(-np.sum(w * rows) / np.sum(w), rel=1e-12)


def test_normalisation_weights_from_a_float32_twin_keep_each_grid_points_sum():
    """make_asimov_for_normalisation_spline draws from the float64 flow and weights with its
    float32 twin: the events are the float64 flow's, and each grid point's summed weight (what
    S(ν, θ) averages over) is that of an all-float64 run to float32 precision."""
    from innfer_lib.ratios.normalisation_asimov import normalisation_asimov

    flows, _ = twin_flows(seed=11)
    stand = {"x1": {"mean": 170.0, "std": 5.0}, "x2": {"mean": 0.0, "std": 2.0}}
    stand["m"] = {"mean": 172.5, "std": 1.0}
    densities = {d: LearnedDensity(flow, stand, ["x1", "x2"], ["m"]) for d, flow in flows.items()}
    parameters = {
        "density": {
            "X_columns": ["x1", "x2"],
            "Y_columns": ["m"],
            "training_range": {"m": [171.0, 174.0]},
            "initial_minmax": {
                "x1": {"min": 100.0, "max": 240.0},
                "x2": {"min": -30.0, "max": 30.0},
            },
        },
        "yields": {"nominal": 100.0, "lnN": {}},
    }

    def run(weighting):
        return normalisation_asimov(
            densities["float64"],
            parameters,
            {"m": 172.5},
            seed=3,
            batch_size=1800,
            n_events=3600,
            weighting=weighting,
        )

    (exact, grid), (fast, fast_grid) = run(None), run(densities["float32"])
    assert fast_grid == grid
    columns = [f"wt_theta_{g}" for g in range(len(grid["m"]))]
    np.testing.assert_array_equal(fast[["x1", "x2"]].to_numpy(), exact[["x1", "x2"]].to_numpy())
    np.testing.assert_allclose(fast[columns].sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(fast[columns].sum(), exact[columns].sum(), rtol=1e-5)
    assert not np.array_equal(fast[columns].to_numpy(), exact[columns].to_numpy())
