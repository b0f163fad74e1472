"""The classifier FCNN of a weight variation: training, batch balancing, resume, options,
log_weight, its normalisation spline, ROC AUC and pruning (issue 15)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
import yaml

from innfer_lib.core.errors import ConfigError, ModelFileError
from innfer_lib.core.io import write_yaml
from innfer_lib.data.schema import CLASSIFIER_TRUTH, WEIGHT
from innfer_lib.data.weighted_stats import standardisation_of, standardise
from innfer_lib.density.checkpoint import CHECKPOINT_FILE
from innfer_lib.ratios.classifier import (
    ClassifiedRatio,
    InterpolatedRatio,
    LearnedClassifier,
    classifier_ratio,
    load_classifier,
)
from innfer_lib.ratios.contract import WeightRatio
from innfer_lib.ratios.evaluation import weighted_roc_auc
from innfer_lib.ratios.fcnn import FCNN, balance_batch_categories
from innfer_lib.ratios.fcnn_options import (
    CLASSIFIER_TRAINING_DEFAULTS,
    DEFAULT_CLASSIFIER_ARCHITECTURE,
    check_classifier_options,
    resolve_fcnn_architecture,
    resolve_fcnn_training,
)
from innfer_lib.ratios.normalisation_surface import fit_spline_on_grid
from innfer_lib.ratios.pruning import pruned
from innfer_lib.ratios.train_job import load_classifier_architecture, train_classifier

SMALL = {
    "dense_layers": [32, 32],
    "activation": "tanh",
    "dropout": 0.0,
    "l2_lambda": 1e-6,
    "epochs": 15,
    "batch_size": 512,
    "learning_rate": 5e-3,
    "lr_scheduler_name": "CosineDecay",
}


def classes(n: int, seed: int) -> pd.DataFrame:
    """x ~ N(0, 1), ν ~ U(−1, 1) in both classes; class 1 weighted by exp(ν x − ν²/2)."""
    rng = np.random.default_rng(seed)
    parts = []
    for truth in (0.0, 1.0):
        x, nu = rng.normal(0.0, 1.0, n), rng.uniform(-1.0, 1.0, n)
        w = np.exp(nu * x - 0.5 * nu**2) if truth else np.ones(n)
        parts.append(pd.DataFrame({"x": x, "nu": nu, CLASSIFIER_TRUTH: truth, WEIGHT: w}))
    return pd.concat(parts, ignore_index=True)


def balanced_sets(train: pd.DataFrame, test: pd.DataFrame):
    """What PreProcess writes: classes balanced in weight, X standardised, parameters.yaml.

    Returns the sets, the parameters and ln(s₀/s₁), the constant the balancing multiplies the
    true ratio by.
    """
    sums = [float(train.loc[train[CLASSIFIER_TRUTH] == c, WEIGHT].sum()) for c in (0.0, 1.0)]
    for frame in (train, test):
        for c, total in zip((0.0, 1.0), sums, strict=True):
            frame.loc[frame[CLASSIFIER_TRUTH] == c, WEIGHT] *= max(sums) / total
    stand = standardisation_of(train, ["x", "nu"])
    parameters = {
        "X_columns": ["x", "nu"],
        "y_columns": [CLASSIFIER_TRUTH],
        "conditional_variable": "nu",
        "standardisation": stand,
        "training_range": {"nu": [-1.0, 1.0]},
    }
    offset = math.log(sums[0] / sums[1])
    return standardise(train, stand), standardise(test, stand), parameters, offset


def twin(net: FCNN) -> FCNN:
    out = FCNN(net.n_in, net.architecture, dtype="float64", kind="classifier")
    out.set_weights(net.get_weights())
    return out


def test_classifier_learns_a_known_ratio():
    """exp(logit₁ − logit₀) = exp(ν x − ν²/2) to a few %: anchored at ν = 0, the ratio loses
    the classes' balancing constant, which the raw logits carry."""
    train, test, parameters, offset = balanced_sets(classes(30000, 0), classes(5000, 1))
    net, history = train_classifier(train, test, parameters, SMALL, progress=False)
    assert history["test_loss"][-1] < history["test_loss"][0]
    model = ClassifiedRatio(twin(net), parameters)
    rng = np.random.default_rng(5)
    x, nu = rng.normal(0.0, 1.0, 5000), rng.uniform(-1.0, 1.0, 5000)
    keep = np.abs(x) < 2.0
    x, nu = x[keep], nu[keep]
    log_ratio = model.log_ratio_of_inputs(np.column_stack([x, nu]))
    relative = np.abs(np.exp(log_ratio - (nu * x - 0.5 * nu**2)) - 1.0)
    assert np.mean(relative) < 0.04
    assert np.quantile(relative, 0.95) < 0.10
    raw = model._logit_difference(np.column_stack([x, nu]))
    raw_relative = np.abs(np.exp(raw - (nu * x - 0.5 * nu**2 + offset)) - 1.0)
    assert np.mean(raw_relative) < 0.04


def test_reported_loss_is_the_cross_entropy_plus_l2():
    train, test, parameters, _ = balanced_sets(classes(400, 2), classes(100, 3))
    arch = {**SMALL, "epochs": 0, "l2_lambda": 0.5}
    net, history = train_classifier(train, test, parameters, arch, progress=False)
    x = train[["x", "nu"]].to_numpy(np.float32)
    y = train[CLASSIFIER_TRUTH].to_numpy()
    w = train[WEIGHT].to_numpy(np.float64)
    logits = net(x).numpy().astype(np.float64)
    log_p = logits - np.logaddexp(logits[:, :1], logits[:, 1:])
    cross_entropy = -np.sum(w * np.where(y == 1.0, log_p[:, 1], log_p[:, 0])) / np.sum(w)
    l2 = 0.5 * sum(np.sum(k**2) for k in net.get_weights()[0:4:2])
    assert history["train_loss"][0] == pytest.approx(cross_entropy + l2, rel=1e-4)
    # The logit form has no clipping: a confidently wrong event costs its full log-loss.
    far = FCNN(1, {"dense_layers": [1]}, kind="classifier")
    far.set_weights([np.zeros((1, 1)), np.zeros(1), np.zeros((1, 2)), np.array([0.0, 40.0])])
    loss = far.per_event_loss([tf.zeros((1, 1)), tf.zeros(1)], training=False)
    assert float(loss[0]) == pytest.approx(40.0, rel=1e-6)


def test_normalise_batch_categories_equalises_class_sums():
    truth = tf.constant([0.0, 0.0, 1.0, 1.0, 1.0])
    w = tf.constant([1.0, 3.0, 2.0, 2.0, 6.0])
    out = balance_batch_categories(truth, w).numpy()
    # class sums 4 and 10: both become 4, shapes within a class kept.
    assert out[:2].sum() == pytest.approx(4.0) and out[2:].sum() == pytest.approx(4.0)
    np.testing.assert_allclose(out[2:] / out[2], [1.0, 1.0, 3.0])
    # A one-class batch is left alone rather than zeroed.
    np.testing.assert_array_equal(balance_batch_categories(truth[2:], w[2:]).numpy(), w[2:])
    # The network applies it in training steps when (and only when) the option is on.
    net = FCNN(1, {"dense_layers": [2]}, kind="classifier")
    on = net.batch_weights([tf.zeros((5, 1)), truth], w).numpy()
    np.testing.assert_allclose(on, out)
    off = FCNN(1, {"dense_layers": [2], "normalise_batch_categories": False}, kind="classifier")
    np.testing.assert_array_equal(off.batch_weights([tf.zeros((5, 1)), truth], w).numpy(), w)


class Interrupted(Exception):
    """A job killed right after an epoch's checkpoint was written."""


def test_resume_after_a_kill_gives_the_uninterrupted_weights(tmp_path):
    train, test, parameters, _ = balanced_sets(classes(1500, 3), classes(300, 4))
    # Dropout and per-batch balancing on: the generator state must be checkpointed too.
    arch = {**SMALL, "epochs": 4, "dropout": 0.1, "normalise_batch_categories": True}
    straight, h_straight = train_classifier(train, test, parameters, arch, progress=False)

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
            train_classifier(train, test, parameters, arch, progress=False, checkpoint_dir=ckpt)
    finally:
        training.train_model = original
    assert (ckpt / CHECKPOINT_FILE).exists()
    resumed, h_resumed = train_classifier(
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
        ({"normalise_batch_category": True}, "did you mean 'normalise_batch_categories'?"),
        ({"lr_scheduler_options": {"alpah": 1.0}}, "lr_scheduler_options.alpah: unknown key"),
        ({"normalise_batch_categories": "yes"}, "normalise_batch_categories must be"),
        ({"type": "BayesFlow"}, "type must be one of ('FCNN', 'FCNN_TwoPointInterpolator'"),
        ({"dense_layers": {"layer_1": 0}}, "dense_layers[0] must be an integer >= 1"),
        ({"loss": "mse"}, "loss: chooses a regression's loss; a classifier always trains"),
    ],
)
def test_bad_classifier_keys_are_named(options, message):
    with pytest.raises(ValueError) as err:
        check_classifier_options(options)
    assert message in str(err.value)


def test_classifier_default_file_holds_innfers_defaults(tmp_path):
    path = "config/architecture/classifier_default.yaml"
    raw = yaml.safe_load(open(path))
    check_classifier_options(raw)
    arch = resolve_fcnn_architecture(raw, "classifier")
    # INNFER's classifier defaults but for the activation (smooth in ν, as the regression's).
    assert {**arch, "activation": "relu"} == DEFAULT_CLASSIFIER_ARCHITECTURE
    training = resolve_fcnn_training(raw, "classifier")
    # INNFER's training defaults but for the epochs (60, measured on the shape benchmark).
    for key, value in {**CLASSIFIER_TRAINING_DEFAULTS, "epochs": 60}.items():
        if key == "lr_scheduler_options":
            assert {k: training[key][k] for k in value} == value
        else:
            assert training[key] == value, key
    bad = tmp_path / "classifier.yaml"
    bad.write_text("type: FCNN\nl2_lamda: 0.1\n")
    with pytest.raises(ConfigError) as err:
        load_classifier_architecture(bad)
    assert str(bad) in str(err.value) and "l2_lamda" in str(err.value)


SMALL_PARAMETERS = {
    "X_columns": ["x", "nu"],
    "y_columns": [CLASSIFIER_TRUTH],
    "conditional_variable": "nu",
    "standardisation": {"x": {"mean": 0.5, "std": 2.0}, "nu": {"mean": 0.0, "std": 1.2}},
}


def small_classifier(activation: str = "tanh", kind: str = "FCNN") -> LearnedClassifier:
    parameters = SMALL_PARAMETERS
    net = FCNN(
        2,
        {"dense_layers": [16, 16], "activation": activation},
        seed=5,
        kind="classifier",
        dtype="float64",
    )
    x = np.linspace(-3.0, 3.0, 2001)
    w = np.exp(-0.5 * x**2)
    spline, _ = fit_spline_on_grid("nu", (-2.0, 2.0), w, lambda nu: np.exp(0.2 * nu * x), 20)
    return LearnedClassifier(classifier_ratio(net, parameters, kind), spline)


def test_log_weight_is_the_logit_difference_plus_ln_s_and_differentiable():
    model = small_classifier()
    ratio: WeightRatio = model  # mypy checks the contract
    assert ratio.parameter == "nu" and ratio.x_columns == ["x"]
    assert model.smooth_in_parameter and model.nu_range == (-2.0, 2.0)
    assert not small_classifier("relu").smooth_in_parameter
    x = np.linspace(-1.0, 2.0, 7).reshape(-1, 1)
    inputs = np.column_stack([x[:, 0], np.full(7, 0.5)])
    expected = model.ratio.log_ratio_of_inputs(inputs) + np.log(model.normalisation.value(0.5))
    np.testing.assert_allclose(model.log_weight(x, 0.5).numpy(), expected, rtol=1e-12)
    # Anchored: at ν = 0 only the normalisation is left, whatever the network says there.
    np.testing.assert_allclose(
        model.log_weight(x, 0.0).numpy(), np.log(model.normalisation.value(0.0)), rtol=1e-12
    )
    for nu0 in (-1.3, 0.2, 1.7):
        nu = tf.Variable(nu0, dtype=tf.float64)
        with tf.GradientTape() as tape:
            value = model.log_weight(x, nu)
        grad = tape.jacobian(value, nu).numpy()
        assert value.dtype == tf.float64
        h = 1e-6
        fd = (model.log_weight(x, nu0 + h).numpy() - model.log_weight(x, nu0 - h).numpy()) / (2 * h)
        np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-9)
    with pytest.raises(ValueError, match="outside its range"):
        model.log_weight(x, 2.5)


def test_spline_on_a_grid_is_the_closed_form():
    """x ~ N(0, 1) by quadrature, r = exp(ν x): S(ν) = exp(−ν²/2), on the trained range."""
    x = np.linspace(-10.0, 10.0, 4001)
    w = np.exp(-0.5 * x**2)
    spline, errors = fit_spline_on_grid("nu", (-1.5, 1.0), w, lambda nu: np.exp(nu * x))
    assert spline.nu_range == (-1.5, 1.0) and len(spline.knots) == 100 and errors.shape == (100,)
    mid = np.linspace(-1.5, 1.0, 333)
    np.testing.assert_allclose(spline.value(mid), np.exp(-0.5 * mid**2), rtol=1e-7)
    with pytest.raises(ValueError, match="low < high"):
        fit_spline_on_grid("nu", (1.0, 1.0), w, lambda nu: np.exp(nu * x))


def test_load_classifier_round_trip_and_wrong_files(tmp_path):
    model = small_classifier()
    weights = tmp_path / "weights.npz"
    model.ratio.network.save(str(weights))
    write_yaml(tmp_path / "architecture.yaml", {"type": "FCNN", **model.ratio.network.architecture})
    parameters = {
        "X_columns": ["x", "nu"],
        "y_columns": [CLASSIFIER_TRUTH],
        "conditional_variable": "nu",
        "standardisation": {"x": {"mean": 0.5, "std": 2.0}, "nu": {"mean": 0.0, "std": 1.2}},
    }
    write_yaml(tmp_path / "parameters.yaml", parameters)
    write_yaml(tmp_path / "normalisation.yaml", model.normalisation.to_dict())
    paths = [weights, *(tmp_path / f for f in ("architecture.yaml", "parameters.yaml"))]
    loaded = load_classifier(*paths, tmp_path / "normalisation.yaml")
    x = np.array([[0.3], [-1.0]])
    np.testing.assert_array_equal(loaded.log_weight(x, 0.7), model.log_weight(x, 0.7))
    # A regression's weights are not a classifier's.
    regression = FCNN(2, {"dense_layers": [16, 16], "activation": "tanh"}, dtype="float64")
    regression.save(str(weights))
    with pytest.raises(ModelFileError, match="train_classifier"):
        load_classifier(*paths, tmp_path / "normalisation.yaml")


def test_weighted_roc_auc():
    rng = np.random.default_rng(0)
    truth = np.r_[np.zeros(5000), np.ones(5000)]
    w = rng.uniform(0.1, 2.0, 10000)
    separable = np.r_[rng.uniform(-2.0, -1.0, 5000), rng.uniform(1.0, 2.0, 5000)]
    assert weighted_roc_auc(truth, separable, w) == pytest.approx(1.0)
    identical = rng.normal(0.0, 1.0, 10000)
    assert weighted_roc_auc(truth, identical, w) == pytest.approx(0.5, abs=0.02)
    # Ties count one half, and weights count as repeated events.
    assert weighted_roc_auc([0, 1], [0.3, 0.3], [1.0, 1.0]) == pytest.approx(0.5)
    assert weighted_roc_auc([0, 0, 1], [0.1, 0.5, 0.3], [3.0, 1.0, 1.0]) == pytest.approx(0.75)
    with pytest.raises(ValueError, match="both classes"):
        weighted_roc_auc([1, 1], [0.1, 0.2], [1.0, 1.0])


def test_pruning():
    metrics = {"roc_auc_train": 0.51, "roc_auc_test": 0.503}
    assert pruned(metrics, {"roc_auc_test": 0.505})
    assert not pruned(metrics, {"roc_auc_test": 0.505, "roc_auc_train": 0.505})
    assert not pruned(metrics, {})
    assert not pruned({"roc_auc_test": 0.7}, {"roc_auc_test": 0.505})
    with pytest.raises(ValueError, match="roc_auc_val"):
        pruned(metrics, {"roc_auc_val": 0.5})
    with pytest.raises(ValueError, match="prune_classifier_models.roc_auc_test"):
        pruned(metrics, {"roc_auc_test": "high"})


@pytest.mark.parametrize("kind", ["FCNN_TwoPointInterpolator", "FCNN_ThreePointInterpolator"])
def test_interpolating_classifiers(kind, tmp_path):
    """ln r = ν log κ(ν; k₋, k₊) from the classifier at ν = ±1: exact there, 0 at ν = 0,
    C² in ν (autodiff against finite differences, across the |ν| = ½ joins) even with relu."""
    model = small_classifier("relu", kind)
    plain = model.ratio
    assert isinstance(plain, InterpolatedRatio) and model.smooth_in_parameter
    x = np.linspace(-1.0, 2.0, 7).reshape(-1, 1)
    network = ClassifiedRatio.log_ratio_function(plain, x)  # the plain (anchored) classifier
    net_up, net_down = network(1.0), network(-1.0)
    expected_down = -net_up if kind == "FCNN_TwoPointInterpolator" else net_down
    np.testing.assert_allclose(plain.log_ratio_at(x, 1.0), net_up, rtol=1e-12)
    np.testing.assert_allclose(plain.log_ratio_at(x, -1.0), expected_down, rtol=1e-12)
    np.testing.assert_allclose(plain.log_ratio_at(x, 0.0), 0.0, atol=1e-15)
    np.testing.assert_allclose(plain.log_ratio_at(x, 1.7), 1.7 * net_up, rtol=1e-12)
    np.testing.assert_allclose(plain.log_ratio(x, 0.3).numpy(), plain.log_ratio_at(x, 0.3))
    for nu0 in (-1.6, -0.5, -0.2, 0.4999, 0.5, 1.3):
        for order in (1, 2):
            nu = tf.Variable(nu0, dtype=tf.float64)
            with tf.GradientTape() as outer:
                with tf.GradientTape() as inner:
                    value = model.log_weight(x, nu)
                grad = inner.jacobian(value, nu)
            if order == 1:
                h = 1e-6
                f = lambda v: model.log_weight(x, v).numpy()  # noqa: E731
                fd = (f(nu0 + h) - f(nu0 - h)) / (2 * h)
                np.testing.assert_allclose(grad.numpy(), fd, rtol=1e-5, atol=1e-8)
            else:
                second = outer.jacobian(grad, nu).numpy()
                # C², not C³: a difference straddling |ν| = ½ is only first-order accurate.
                h = 1e-6
                g = lambda v: _gradient(model, x, v)  # noqa: E731
                fd = (g(nu0 + h) - g(nu0 - h)) / (2 * h)
                np.testing.assert_allclose(second, fd, rtol=1e-4, atol=1e-6)
    # The spline file records the type, and load_classifier rebuilds the same use.
    weights = tmp_path / "weights.npz"
    plain.network.save(str(weights))
    write_yaml(tmp_path / "architecture.yaml", {"type": "FCNN", **plain.network.architecture})
    write_yaml(tmp_path / "parameters.yaml", SMALL_PARAMETERS)
    write_yaml(tmp_path / "normalisation.yaml", {"type": kind, **model.normalisation.to_dict()})
    paths = [tmp_path / f for f in ("architecture.yaml", "parameters.yaml", "normalisation.yaml")]
    loaded = load_classifier(weights, *paths)
    assert isinstance(loaded.ratio, InterpolatedRatio)
    np.testing.assert_array_equal(loaded.log_weight(x, 0.7), model.log_weight(x, 0.7))


def _gradient(model: LearnedClassifier, x: np.ndarray, nu0: float) -> np.ndarray:
    nu = tf.Variable(nu0, dtype=tf.float64)
    with tf.GradientTape() as tape:
        value = model.log_weight(x, nu)
    return tape.jacobian(value, nu).numpy()
