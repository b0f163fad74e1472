"""Unit tests of the flow training loop: learning, bookkeeping, seeding and early stopping."""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml

from innfer_lib.density.flow import ConditionalFlow
from innfer_lib.density.optimisers import CosineDecayWithWarmUp
from innfer_lib.density.training import train_flow
from innfer_lib.density.training_options import resolve_training_options

TINY_ARCH = {
    "coupling_design": "affine",
    "num_coupling_layers": 2,
    "affine_units_per_dense_layer": 16,
    "affine_num_dense_layers": 1,
}
HISTORY_KEYS = {
    "epoch",
    "train_loss",
    "test_loss",
    "learning_rate",
    "best_epoch",
    "events_per_second",
    "seconds",
}


def gaussian_data(n: int, seed: int, n_cond: int = 1) -> tuple[np.ndarray, ...]:
    """x ~ N(θ, 1) with θ ~ U(-1, 1) and random positive weights (unconditional: N(0.5, 1))."""
    rng = np.random.default_rng(seed)
    theta = rng.uniform(-1.0, 1.0, size=(n, n_cond)).astype(np.float32)
    mean = theta[:, :1] if n_cond else 0.5
    x = (mean + rng.normal(size=(n, 1))).astype(np.float32)
    w = rng.uniform(0.2, 2.0, size=n).astype(np.float32)
    return x, theta, w


def quiet(_: str) -> None:
    pass


def run(options: dict, n_train: int = 4000, n_cond: int = 1, seed: int = 0):
    flow = ConditionalFlow(1, n_cond, TINY_ARCH)
    history = train_flow(
        flow,
        gaussian_data(n_train, seed, n_cond),
        gaussian_data(1000, seed + 100, n_cond),
        options,
        progress=False,
        log=quiet,
    )
    return flow, history


def test_training_lowers_test_loss_and_restores_best() -> None:
    lines: list[str] = []
    flow = ConditionalFlow(1, 1, TINY_ARCH)
    train, test = gaussian_data(8000, 0), gaussian_data(2000, 1)
    history = train_flow(
        flow,
        train,
        test,
        {"epochs": 4, "batch_size": 256, "learning_rate": 5e-3},
        progress=False,
        log=lines.append,
    )
    assert HISTORY_KEYS <= set(history)
    assert history["epoch"] == list(range(len(history["test_loss"])))
    assert len(history["train_loss"]) == len(history["learning_rate"]) == len(history["epoch"])
    assert len(lines) >= len(history["epoch"])
    best = history["best_epoch"]
    assert best > 0
    assert history["test_loss"][best] == min(history["test_loss"])
    # Exact NLL of N(θ, 1) is 0.5·log(2π) + 0.5 ≈ 1.419; the untrained flow is N(0, 1).
    assert history["test_loss"][best] < history["test_loss"][0] - 0.05
    assert history["test_loss"][best] < 0.5 * math.log(2 * math.pi) + 0.5 + 0.05
    # The flow returned holds the best epoch's weights.
    x, cond, w = test
    loss = float(np.sum(-w * flow.log_prob(x, cond).numpy()) / np.sum(w))
    assert loss == pytest.approx(history["test_loss"][best], abs=1e-5)
    assert history["events_per_second"] > 0 and history["seconds"] > 0
    # Where training ran is logged and kept: on this GPU-less machine, the CPU.
    placement = history["placement"]
    assert placement["gpus"] == [] and "CPU" in placement["step_on"]
    assert all("CPU" in d for d in placement["weights_on"])
    assert sum(line.startswith("training on CPU: step ran on ") for line in lines) == 1
    # Plain Python types only, so the history can be written with yaml.safe_dump.
    yaml.safe_dump(history)


def test_same_seed_same_weights() -> None:
    options = {"epochs": 2, "batch_size": 512, "seed": 3}
    flow_a, hist_a = run(options)
    flow_b, hist_b = run(options)
    assert hist_a["test_loss"] == hist_b["test_loss"]
    for a, b in zip(flow_a.get_weights(), flow_b.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    flow_c, _ = run({**options, "seed": 4})
    assert any(
        not np.array_equal(a, c)
        for a, c in zip(flow_a.get_weights(), flow_c.get_weights(), strict=True)
    )


@pytest.mark.parametrize(
    ("patience", "wait_till", "expected_last"), [(3, 5, 5), (4, 2, 4), (2, 0, 2)]
)
def test_early_stopping_uses_configured_patience_and_wait_till(
    patience: int, wait_till: int, expected_last: int
) -> None:
    # A zero learning rate means no epoch ever improves on epoch 0.
    options = {
        "epochs": 20,
        "batch_size": 2048,
        "learning_rate": 0.0,
        "lr_scheduler_name": "Constant",
        "patience": patience,
        "wait_till": wait_till,
    }
    flow, history = run(options, n_train=2048)
    assert history["epoch"][-1] == expected_last
    assert history["best_epoch"] == 0
    assert history["stopped_early"] is True
    assert len(set(history["test_loss"])) == 1


def test_tolerance_and_disabled_early_stopping() -> None:
    base = {"epochs": 6, "batch_size": 1024, "learning_rate": 5e-3, "patience": 2, "wait_till": 0}
    # Real training, but a 100% relative improvement is unreachable: stop after `patience`.
    _, strict = run({**base, "tolerance": 1.0})
    assert strict["epoch"][-1] == 2 and strict["best_epoch"] == 0
    _, off = run({**base, "tolerance": 1.0, "early_stopping": False})
    assert off["epoch"][-1] == 6 and off["stopped_early"] is False


def test_unconditional_training_with_adam_and_clipping() -> None:
    options = {
        "epochs": 2,
        "batch_size": 512,
        "learning_rate": 5e-3,
        "optimizer_name": "Adam",
        "gradient_clipping_norm": 1.0,
        "lr_scheduler_name": "CosineDecay",
    }
    _, history = run(options, n_cond=0)
    assert history["test_loss"][history["best_epoch"]] < history["test_loss"][0]


def test_cosine_decay_with_warm_up_schedule() -> None:
    schedule = CosineDecayWithWarmUp(peak=1e-3, total_steps=100, warmup_steps=10, floor=5e-6)
    lr = [float(schedule(step)) for step in range(101)]
    assert lr[0] == pytest.approx(1e-4)
    assert lr[9] == pytest.approx(1e-3)
    assert lr[10] == pytest.approx(1e-3)
    assert lr[55] == pytest.approx(5e-6 + (1e-3 - 5e-6) * 0.5, rel=1e-5)
    assert lr[100] == pytest.approx(5e-6)
    assert all(a >= b for a, b in zip(lr[10:], lr[11:], strict=False))


def test_option_validation() -> None:
    opts = resolve_training_options({"lr_scheduler_options": {"alpha": 0.0}, "flow_key": 1})
    assert opts["lr_scheduler_options"] == {
        "alpha": 0.0,
        "warmup_fraction": 0.1,
        "step_power": 1.0,
        "decay_rate": 0.9,
        "decay_steps": None,
        "staircase": False,
    }
    assert opts["patience"] == 3 and opts["wait_till"] == 5 and opts["batch_size"] == 2048
    with pytest.raises(ValueError):
        resolve_training_options({"optimizer_name": "SGDX"})
    with pytest.raises(ValueError):
        resolve_training_options({"lr_scheduler_name": "Bogus"})


def test_the_running_training_loss_is_the_epochs_step_losses_and_changes_no_weight() -> None:
    """epoch_train_loss "running" (default) records Σw·loss/Σw over the epoch's steps, the first
    (timed-apart) batch and the short last one included: with no weight change it is the full
    pass's value. Either choice trains the same weights."""
    frozen = {"epochs": 2, "batch_size": 300, "learning_rate": 0.0, "weight_decay": 0.0}
    _, full = run({**frozen, "epoch_train_loss": "full"})
    _, running = run(frozen)
    assert running["train_loss"][0] == full["train_loss"][0]
    np.testing.assert_allclose(running["train_loss"][1:], full["train_loss"][1:], rtol=1e-6)
    assert running["test_loss"] == full["test_loss"]

    moving = {"epochs": 2, "batch_size": 300, "learning_rate": 5e-3}
    flow_full, full = run({**moving, "epoch_train_loss": "full"})
    flow_running, running = run(moving)
    for a, b in zip(flow_full.get_weights(), flow_running.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert running["test_loss"] == full["test_loss"]
    # Mid-epoch weights are worse than the epoch's last: the running mean lies above.
    assert running["train_loss"][1] > full["train_loss"][1]


def test_an_unknown_epoch_train_loss_is_rejected_by_name() -> None:
    with pytest.raises(ValueError, match="epoch_train_loss must be one of"):
        resolve_training_options({"epoch_train_loss": "average"})
