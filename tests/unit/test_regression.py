"""The regression FCNN of a weight variation: training, resume, options, S(ν) and log_weight."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from innfer_lib.core.errors import ConfigError, DataError
from innfer_lib.data.schema import WEIGHT, WEIGHT_SHIFT
from innfer_lib.data.weighted_stats import standardisation_of, standardise
from innfer_lib.density.checkpoint import CHECKPOINT_FILE
from innfer_lib.ratios.contract import WeightRatio
from innfer_lib.ratios.evaluation import physical_table, regression_spline
from innfer_lib.ratios.fcnn import FCNN
from innfer_lib.ratios.fcnn_options import check_regression_options
from innfer_lib.ratios.normalisation import NormalisationSpline
from innfer_lib.ratios.normalisation_surface import (
    GRID_POINTS,
    fit_normalisation,
    spline_grid,
)
from innfer_lib.ratios.regression import (
    R_FLOOR,
    LearnedRegression,
    RegressedRatio,
    load_regression,
)
from innfer_lib.ratios.train_job import load_regression_architecture, train_regression

SMALL = {
    "dense_layers": [32, 32],
    "activation": "tanh",
    "dropout": 0.0,
    "l2_lambda": 1e-6,
    "epochs": 12,
    "batch_size": 256,
    "learning_rate": 5e-3,
}


def spline_over_events(nu, weights, ratio_at):
    """θ-free S(ν) over one set of events at the knots of the training ν (`spline_grid`)."""
    return fit_normalisation("nu", spline_grid(nu), weights, ratio_at)[0].splines[0]


def exp_ratio_sample(n: int, seed: int) -> pd.DataFrame:
    """x ~ U(-1, 1), ν ~ U(-1, 1), wt_shift = exp(ν x), positive weights."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, n)
    nu = rng.uniform(-1.0, 1.0, n)
    return pd.DataFrame(
        {"x": x, "nu": nu, WEIGHT_SHIFT: np.exp(nu * x), WEIGHT: rng.uniform(0.5, 1.5, n)}
    )


def standardised_sets(train: pd.DataFrame, test: pd.DataFrame):
    """What PreProcess writes: standardised tables and their parameters.yaml."""
    stand = standardisation_of(train, ["x", "nu", WEIGHT_SHIFT])
    parameters = {
        "X_columns": ["x", "nu"],
        "y_columns": [WEIGHT_SHIFT],
        "conditional_variable": "nu",
        "standardisation": stand,
    }
    return standardise(train, stand), standardise(test, stand), parameters


def twin(net: FCNN) -> FCNN:
    out = FCNN(net.n_in, net.architecture, dtype="float64")
    out.set_weights(net.get_weights())
    return out


def test_fcnn_learns_a_known_ratio():
    """r = exp(ν x) to a few per cent on held-out events."""
    raw_train, raw_test = exp_ratio_sample(20000, 0), exp_ratio_sample(5000, 1)
    train, test, parameters = standardised_sets(raw_train, raw_test)
    net, history = train_regression(train, test, parameters, SMALL, progress=False)
    assert history["test_loss"][-1] < history["test_loss"][0]
    spline = spline_over_events(
        raw_train["nu"].to_numpy(),
        raw_train[WEIGHT].to_numpy(),
        lambda nu: np.ones(len(raw_train)),
    )
    model = LearnedRegression(twin(net), parameters, spline)
    predicted = model.ratio_of_inputs(raw_test[["x", "nu"]].to_numpy())
    relative = np.abs(predicted / raw_test[WEIGHT_SHIFT].to_numpy() - 1.0)
    assert np.average(relative, weights=raw_test[WEIGHT]) < 0.02
    assert np.quantile(relative, 0.95) < 0.06


@pytest.mark.parametrize("loss", ["mse", "gamma_deviance"])
def test_reported_loss_is_the_loss_plus_the_l2_penalty(loss):
    raw = exp_ratio_sample(500, 2)
    train, test, parameters = standardised_sets(raw, raw)
    arch = {**SMALL, "loss": loss, "epochs": 0, "l2_lambda": 0.5}
    net, history = train_regression(train, test, parameters, arch, progress=False)
    out = net(train[["x", "nu"]].to_numpy(np.float32)).numpy().astype(np.float64)
    if loss == "mse":  # the squared error of the standardised ratio
        per_event = (train[WEIGHT_SHIFT].to_numpy() - out) ** 2
    else:  # the gamma deviance of the physical ratio, the output being ln r̂
        r = raw[WEIGHT_SHIFT].to_numpy()
        per_event = r * np.exp(-out) + out - np.log(r) - 1.0
    w = train[WEIGHT].to_numpy(np.float64)
    l2 = 0.5 * sum(np.sum(k**2) for k in net.get_weights()[0:4:2])
    expected = np.sum(w * per_event) / np.sum(w) + l2
    assert history["train_loss"][0] == pytest.approx(expected, rel=1e-4)


GAMMA = {**SMALL, "loss": "gamma_deviance"}


def test_gamma_deviance_regresses_the_mean_ratio_not_the_mean_log():
    """With a ratio that varies at fixed (x, ν), r = exp(ν x)·m with m = 0.5 or 1.5, the
    regression must give E[r | x, ν] = exp(ν x): a fit of ln r would give exp(ν x + E ln m),
    14 % low. The output is positive by construction."""
    raw_train, raw_test = exp_ratio_sample(20000, 0), exp_ratio_sample(5000, 1)
    for seed, raw in enumerate((raw_train, raw_test)):
        m = np.random.default_rng(10 + seed).choice([0.5, 1.5], len(raw))
        raw[WEIGHT_SHIFT] = raw[WEIGHT_SHIFT] * m
    train, test, parameters = standardised_sets(raw_train, raw_test)
    net, history = train_regression(train, test, parameters, GAMMA, progress=False)
    assert net.log_link and history["test_loss"][-1] < history["test_loss"][0]
    model = RegressedRatio(twin(net), parameters)
    predicted = model.ratio_of_inputs(raw_test[["x", "nu"]].to_numpy())
    log_error = np.log(predicted) - raw_test["nu"].to_numpy() * raw_test["x"].to_numpy()
    assert abs(np.average(log_error, weights=raw_test[WEIGHT])) < 0.02
    # The labels scatter by ±50 % at fixed (x, ν), so the fit is noisier than on exact ratios.
    assert np.quantile(np.abs(log_error), 0.95) < 0.1


def test_gamma_deviance_rejects_ratios_that_are_not_positive():
    raw = exp_ratio_sample(500, 2)
    raw.loc[3, WEIGHT_SHIFT] = 0.0
    train, test, parameters = standardised_sets(raw, raw)
    with pytest.raises(DataError) as err:
        train_regression(train, test, parameters, GAMMA, progress=False, where=("t.pq", "s.pq"))
    message = str(err.value)
    assert message.startswith("t.pq: column 'wt_shift' has 1 ratios") and "loss: mse" in message


class Interrupted(Exception):
    """A job killed right after an epoch's checkpoint was written."""


def test_resume_after_a_kill_gives_the_uninterrupted_weights(tmp_path):
    raw_train, raw_test = exp_ratio_sample(3000, 3), exp_ratio_sample(600, 4)
    train, test, parameters = standardised_sets(raw_train, raw_test)
    # Dropout on: its generator state must be part of the checkpoint too.
    arch = {**SMALL, "epochs": 4, "dropout": 0.1, "batch_size": 512}
    straight, h_straight = train_regression(train, test, parameters, arch, progress=False)

    from innfer_lib.density import training

    original = training.train_model

    def killed(*args, **kwargs):
        def hook(epoch: int, test_loss: float) -> None:
            if epoch == 2:
                raise Interrupted

        return original(*args, **kwargs, on_epoch_end=hook)

    ckpt = tmp_path / "ckpt"
    training.train_model = killed
    try:
        with pytest.raises(Interrupted):
            train_regression(train, test, parameters, arch, progress=False, checkpoint_dir=ckpt)
    finally:
        training.train_model = original
    assert (ckpt / CHECKPOINT_FILE).exists()
    resumed, h_resumed = train_regression(
        train, test, parameters, arch, progress=False, checkpoint_dir=ckpt
    )
    for a, b in zip(straight.get_weights(), resumed.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    timing = {"seconds", "events_per_second", "placement"}
    strip = lambda h: {k: v for k, v in h.items() if k not in timing}  # noqa: E731
    assert strip(h_straight) == strip(h_resumed)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"dense_layer": [8]}, "dense_layer: unknown key; did you mean 'dense_layers'?"),
        ({"lr_scheduler_options": {"alpah": 1.0}}, "lr_scheduler_options.alpah: unknown key"),
        ({"normalise_batch_categories": True}, "normalise_batch_categories: balances"),
        ({"type": "BayesFlow"}, "type must be one of ('FCNN',)"),
        ({"dense_layers": [8, 0]}, "dense_layers[1] must be an integer >= 1"),
        ({"activation": "rleu"}, "activation must be one of"),
        ({"optimizer_name": "Adamw"}, "optimizer_name must be one of"),
        ({"loss": "mae"}, "loss must be one of ('mse', 'gamma_deviance'), got 'mae'"),
    ],
)
def test_bad_architecture_keys_are_named(options, message):
    with pytest.raises(ValueError) as err:
        check_regression_options(options)
    assert message in str(err.value)


def test_architecture_file_errors_name_the_file(tmp_path):
    path = tmp_path / "regression.yaml"
    path.write_text("type: FCNN\nl2_lamda: 0.1\n")
    with pytest.raises(ConfigError) as err:
        load_regression_architecture(path)
    assert str(path) in str(err.value) and "l2_lamda" in str(err.value)
    # INNFER's classifier spelling of the layers (a mapping) and its switch, off, are accepted.
    path.write_text("dense_layers: {layer_1: 64, layer_2: 64}\nnormalise_batch_categories: false\n")
    assert load_regression_architecture(path, seed=3)["seed"] == 3


def test_spline_of_an_exact_ratio_is_the_closed_form():
    """x ~ N(0, 1) by quadrature, r = exp(ν x): S(ν) = 1/E[exp(ν x)] = exp(−ν²/2)."""
    x = np.linspace(-10.0, 10.0, 4001)
    values = np.linspace(-1.0, 1.0, 9)  # the trained ν values: one knot per value
    w = np.exp(-0.5 * x**2)
    spline = spline_over_events(values, w, lambda nu: np.exp(nu * x))
    assert spline.knots == pytest.approx(tuple(values))
    np.testing.assert_allclose(spline.value(values), np.exp(-0.5 * values**2), rtol=1e-9)
    # Between the knots too, and its slope, also near the ends (INNFER's clamped spline had
    # S' = 0 there).
    mid = np.linspace(-1.0, 1.0, 101)
    np.testing.assert_allclose(spline.value(mid), np.exp(-0.5 * mid**2), rtol=2e-4)
    nu_var = tf.Variable(-0.95, dtype=tf.float64)
    with tf.GradientTape() as tape:
        log_s = spline.log_value_tf(nu_var)
    assert float(tape.gradient(log_s, nu_var)) == pytest.approx(0.95, abs=2e-3)
    # Round trip through its YAML form, and the TensorFlow evaluation agrees.
    again = NormalisationSpline.from_dict(spline.to_dict())
    assert again == spline
    for v in (-1.0, -0.3, 0.0, 0.6, 1.0):
        assert math.exp(float(spline.log_value_tf(v))) == pytest.approx(
            float(spline.value(v)), rel=1e-12
        )
    with pytest.raises(ValueError, match=r"nu = 1.5 is outside its range \[-1.0, 1.0\]"):
        spline.log_value_tf(1.5)


def test_grid_follows_the_trained_values():
    rng = np.random.default_rng(0)
    nu = rng.uniform(-2.0, 2.0, 200_000)
    # A continuous shift: GRID_POINTS equal steps over the trained range.
    grid = spline_grid(nu)
    assert len(grid) == GRID_POINTS and (grid[0], grid[-1]) == (nu.min(), nu.max())
    spline = spline_over_events(nu, np.ones(50), lambda v: np.ones(50))
    assert spline.nu_range == (nu.min(), nu.max())
    np.testing.assert_allclose(spline.values, 1.0)
    # A discrete shift: only the values the network learned.
    discrete = rng.choice([-1.0, 0.0, 0.5, 1.0], 1000)
    np.testing.assert_array_equal(spline_grid(discrete), [-1.0, 0.0, 0.5, 1.0])
    with pytest.raises(ValueError, match="two distinct ν values"):
        spline_grid(np.zeros(10))


def test_spline_over_events_is_smooth_where_bins_were_noisy():
    """S of a finite sample with a weak ratio is that sample's Σw/Σw·r at every ν, knots or
    not: no knot-to-knot sampling noise whose slope and curvature a fit would read as a yield
    change of every event (INNFER binned the per-event ν; see ratios.normalisation)."""
    rng = np.random.default_rng(4)
    x = rng.normal(0.0, 1.0, 3000)
    w = np.where(rng.random(3000) < 0.02, -1.0, 1.0)  # a few negative weights, as in ttbar
    nu = rng.uniform(-3.0, 3.0, 6000)  # two copies per event, each with its own ν

    def ratio_at(v):
        return np.exp(0.05 * v * np.tanh(x))

    def direct(v):
        return w.sum() / np.sum(w * ratio_at(v))

    spline = spline_over_events(nu, w, ratio_at)
    between = np.linspace(-2.9, 2.9, 57)
    np.testing.assert_allclose(spline.value(between), [direct(v) for v in between], rtol=1e-9)
    h = 1e-2
    for v in (-1.3, 0.2, 2.1):
        curvature = (
            np.log(spline.value(v + h)) - 2 * np.log(spline.value(v)) + np.log(spline.value(v - h))
        ) / h**2
        exact = (np.log(direct(v + h)) - 2 * np.log(direct(v)) + np.log(direct(v - h))) / h**2
        assert curvature == pytest.approx(exact, abs=1e-6)


def test_regression_spline_uses_every_asimov_event_at_every_nu():
    """evaluate_regression's S: r̂ of each normalisation-Asimov event at each ν knot of the
    training set's ν, weighted per θ grid point, clipped at R_FLOOR."""
    model = small_regression()
    parameters = {"X_columns": ["x", "nu"], "y_columns": [WEIGHT_SHIFT], "standardisation": {}}
    rng = np.random.default_rng(2)
    train = pd.DataFrame(
        {"x": rng.uniform(-2, 2, 400), "nu": rng.uniform(-1, 1, 400), WEIGHT: rng.random(400)}
    )
    train = physical_table(train.assign(**{WEIGHT_SHIFT: 1.0}), parameters)
    x = rng.uniform(-2, 2, 300)
    grid = {"mu": [0.0, 1.0, 2.0]}
    columns = rng.random((300, 3))
    events = pd.DataFrame(
        {"x": x, WEIGHT: 1.0} | {f"wt_theta_{g}": columns[:, g] for g in range(3)}
    )
    before = events.copy()
    surface = regression_spline(model, events, grid, train, "test")
    pd.testing.assert_frame_equal(events, before)  # the caller's events are not changed
    assert surface.nu_range == (train["nu"].min(), train["nu"].max())
    for v in (surface.knots[0], 0.013, surface.knots[-1]):
        r = model.anchored_ratio_of_inputs(np.column_stack([x, np.full(len(x), v)]))
        for g, mu in enumerate(grid["mu"]):
            expected = columns[:, g].sum() / np.sum(columns[:, g] * r)
            assert float(surface.value(v, {"mu": mu})) == pytest.approx(expected, rel=1e-8)
    with pytest.raises(DataError, match=r"test: no column\(s\) \['wt_theta_2'\]"):
        regression_spline(model, events.drop(columns="wt_theta_2"), grid, train, "test")


def small_regression(activation: str = "tanh", loss: str = "mse") -> LearnedRegression:
    parameters = {
        "X_columns": ["x", "nu"],
        "y_columns": [WEIGHT_SHIFT],
        "conditional_variable": "nu",
        "standardisation": {
            "x": {"mean": 0.5, "std": 2.0},
            "nu": {"mean": 0.0, "std": 1.2},
            WEIGHT_SHIFT: {"mean": 1.0, "std": 0.1},
        },
    }
    arch = {"dense_layers": [16, 16], "activation": activation, "loss": loss}
    net = FCNN(2, arch, seed=5, dtype="float64")
    x = np.linspace(-2.0, 2.0, 2001)
    nu = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    spline = spline_over_events(nu, np.ones_like(x), lambda v: np.exp(0.2 * v * x))
    return LearnedRegression(net, parameters, spline)


@pytest.mark.parametrize("loss", ["mse", "gamma_deviance"])
def test_log_weight_derivative_matches_finite_differences(loss):
    model = small_regression(loss=loss)
    ratio: WeightRatio = model  # mypy checks the contract
    assert ratio.parameter == "nu"
    assert model.smooth_in_parameter and model.nu_range == (-2.0, 2.0)
    x = np.linspace(-1.0, 2.0, 7).reshape(-1, 1)
    for nu0 in (-1.3, 0.2, 1.7):
        nu = tf.Variable(nu0, dtype=tf.float64)
        with tf.GradientTape() as tape:
            value = model.log_weight(x, nu)
        grad = tape.jacobian(value, nu).numpy()
        assert value.dtype == tf.float64
        h = 1e-6
        fd = (model.log_weight(x, nu0 + h).numpy() - model.log_weight(x, nu0 - h).numpy()) / (2 * h)
        np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-9)


def test_log_weight_is_the_clipped_ratio_times_the_spline():
    model = small_regression()
    x = np.array([[0.0], [1.0]])
    inputs = np.column_stack([x[:, 0], np.full(2, 0.5)])
    at_zero = np.column_stack([x[:, 0], np.zeros(2)])
    expected = (
        np.log(model.ratio_of_inputs(inputs))
        - np.log(model.ratio_of_inputs(at_zero))
        + np.log(model.normalisation.value(0.5))
    )
    # Anchored: exactly the normalisation at ν = 0.
    np.testing.assert_allclose(
        model.log_weight(x, 0.0).numpy(), np.log(model.normalisation.value(0.0)), rtol=1e-12
    )
    np.testing.assert_allclose(model.log_weight(x, 0.5).numpy(), expected, rtol=1e-12)
    assert not small_regression("relu").smooth_in_parameter
    # A hopeless prediction is clipped at the floor, not turned into NaN.
    model._y_mean = -10.0
    assert np.all(model._log_clipped(x, 0.5).numpy() == pytest.approx(math.log(R_FLOOR)))
    assert np.all(np.isfinite(model.log_weight(x, 0.5).numpy()))


def test_load_regression_round_trip(tmp_path):
    from innfer_lib.core.io import write_yaml

    model = small_regression()
    weights = tmp_path / "weights.npz"
    model.network.save(str(weights))
    write_yaml(tmp_path / "architecture.yaml", {"type": "FCNN", **model.network.architecture})
    write_yaml(
        tmp_path / "parameters.yaml",
        {
            "X_columns": ["x", "nu"],
            "y_columns": [WEIGHT_SHIFT],
            "conditional_variable": "nu",
            "standardisation": {
                "x": {"mean": 0.5, "std": 2.0},
                "nu": {"mean": 0.0, "std": 1.2},
                WEIGHT_SHIFT: {"mean": 1.0, "std": 0.1},
            },
        },
    )
    write_yaml(tmp_path / "normalisation.yaml", model.normalisation.to_dict())
    loaded = load_regression(
        weights,
        tmp_path / "architecture.yaml",
        tmp_path / "parameters.yaml",
        tmp_path / "normalisation.yaml",
    )
    x = np.array([[0.3], [-1.0]])
    np.testing.assert_array_equal(loaded.log_weight(x, 0.7), model.log_weight(x, 0.7))
