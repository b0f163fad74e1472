"""Optimisers, learning-rate schedules, per-epoch outputs and resumable training of train_flow.

The resume tests demand bitwise equality with an uninterrupted run: anything looser would hide
a forgotten piece of state (an optimiser slot, the step counter, the early-stopping counter),
because such omissions change the result only slightly.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from innfer_lib.density.checkpoint import CHECKPOINT_FILE, checkpoint_epoch, remove_checkpoint
from innfer_lib.density.flow import ConditionalFlow
from innfer_lib.density.optimisers import OPTIMIZER_CLASSES, CosineDecayWithWarmUp, make_lr_schedule
from innfer_lib.density.training import epoch_order, train_flow
from innfer_lib.density.training_options import LR_SCHEDULERS, OPTIMIZERS, resolve_training_options

REPO = Path(__file__).resolve().parents[2]
TINY_ARCH = {
    "coupling_design": "affine",
    "num_coupling_layers": 2,
    "affine_units_per_dense_layer": 16,
    "affine_num_dense_layers": 1,
}
# Wall-clock fields are the only ones allowed to differ between a resumed and a straight run.
TIMING_KEYS = {"seconds", "events_per_second"}


def gaussian_data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x ~ N(θ, 1) with θ ~ U(-1, 1) and random positive weights."""
    rng = np.random.default_rng(seed)
    theta = rng.uniform(-1.0, 1.0, size=(n, 1)).astype(np.float32)
    x = (theta + rng.normal(size=(n, 1))).astype(np.float32)
    w = rng.uniform(0.2, 2.0, size=n).astype(np.float32)
    return x, theta, w


TRAIN = gaussian_data(2000, 0)
TEST = gaussian_data(500, 1)


class Interrupted(Exception):
    """Stands in for a job killed right after an epoch's checkpoint was written."""


def train(options: dict, checkpoint_dir: Path | None = None, stop_after: int | None = None, **kw):
    """Train a fresh tiny flow; stop_after raises once that epoch's checkpoint is on disk.

    Keywords: train (data instead of TRAIN), arch (architecture instead of TINY_ARCH).
    """
    lines: list[str] = []

    def hook(epoch: int, test_loss: float) -> None:
        if stop_after is not None and epoch == stop_after:
            raise Interrupted(epoch)

    flow = ConditionalFlow(1, 1, kw.get("arch", TINY_ARCH))
    history = train_flow(
        flow,
        kw.get("train", TRAIN),
        TEST,
        options,
        progress=False,
        log=lines.append,
        checkpoint_dir=checkpoint_dir,
        on_epoch_end=hook,
    )
    return flow, history, lines


def assert_same_run(flow_a, hist_a: dict, flow_b, hist_b: dict) -> None:
    for a, b in zip(flow_a.get_weights(), flow_b.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    strip = lambda h: {k: v for k, v in h.items() if k not in TIMING_KEYS}  # noqa: E731
    assert strip(hist_a) == strip(hist_b)


# --- optimisers and schedules --------------------------------------------------------------


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_every_optimizer_trains_one_epoch(name: str) -> None:
    flow, history, _ = train(
        {"epochs": 1, "batch_size": 256, "learning_rate": 1e-2, "optimizer_name": name}
    )
    assert history["epoch"] == [0, 1]
    assert all(math.isfinite(v) for v in history["train_loss"] + history["test_loss"])
    # Every optimiser moves the weights (Adadelta only slightly with Keras' defaults).
    fresh = ConditionalFlow(1, 1, TINY_ARCH).get_weights()
    assert any(not np.array_equal(a, b) for a, b in zip(flow.get_weights(), fresh, strict=True))


LR = 1e-2
S = 4  # steps per epoch: 1000 events in batches of 250
T = 3 * S


@pytest.mark.parametrize(
    ("name", "sched", "formula"),
    [
        # W = round(0.25·12) = 3; warm-up lr·(s+1)/W, then the step_power-shaped cosine.
        (
            "CosineDecayWithWarmUp",
            {"alpha": 1e-4, "warmup_fraction": 0.25, "step_power": 0.5},
            lambda s: (
                LR * (s + 1) / 3
                if s < 3
                else 1e-4
                + (LR - 1e-4) * 0.5 * (1 + math.cos(math.pi * ((min(s, T) - 3) / 9) ** 0.5))
            ),
        ),
        ("CosineDecay", {}, lambda s: LR * 0.5 * (1 + math.cos(math.pi * min(s, T) / T))),
        ("ExponentialDecay", {}, lambda s: LR * 0.9 ** (s / S)),
        (
            "ExponentialDecay",
            {"decay_rate": 0.5, "decay_steps": 3, "staircase": True},
            lambda s: LR * 0.5 ** (s // 3),
        ),
        ("Constant", {}, lambda s: LR),
        (None, {}, lambda s: LR),
    ],
)
def test_schedules_follow_their_formulas(name, sched: dict, formula) -> None:
    options = {
        "epochs": 3,
        "batch_size": 250,
        "learning_rate": LR,
        "lr_scheduler_name": name,
        "lr_scheduler_options": sched,
        "early_stopping": False,
    }
    # The history records the rate for the next step after each epoch: s = epoch·S.
    _, history, _ = train(options, train=gaussian_data(1000, 0))
    expected = [formula(epoch * S) for epoch in history["epoch"]]
    np.testing.assert_allclose(history["learning_rate"], expected, rtol=1e-5)
    # Between epoch boundaries as well, through the same builder train_flow uses.
    schedule = make_lr_schedule(resolve_training_options(options), S)
    for step in (0, 1, 2, 5, 7, 11, 12, 20):
        value = float(schedule(step)) if callable(schedule) else float(schedule)
        assert value == pytest.approx(formula(step), rel=1e-5), step


def test_step_power_matches_innfer_shape() -> None:
    peak, floor, total, warm, p = 1e-3, 0.0, 1000, 100, 0.2
    schedule = CosineDecayWithWarmUp(peak, total, warm, floor, step_power=p)
    for step in (100, 101, 150, 400, 999, 1000, 1500):
        # INNFER: lr0·½(1 + cos(π(step − W)^p / (T − W)^p))·(1 − a) + a, here with a = 0.
        progress = min(step - warm, total - warm) ** p / (total - warm) ** p
        expected = peak * 0.5 * (1 + math.cos(math.pi * progress))
        # float32 arithmetic: absolute error ~1e-7 of the peak near the end of the decay.
        assert float(schedule(step)) == pytest.approx(expected, rel=1e-5, abs=1e-10)
    # p < 1 decays faster early on than the plain cosine.
    plain = CosineDecayWithWarmUp(peak, total, warm, floor)
    assert float(schedule(200)) < float(plain(200))


def test_unknown_names_list_the_choices() -> None:
    with pytest.raises(ValueError, match="Adadelta") as err:
        resolve_training_options({"optimizer_name": "Nadam"})
    assert all(name in str(err.value) for name in OPTIMIZERS)
    with pytest.raises(ValueError, match="ExponentialDecay") as err:
        resolve_training_options({"lr_scheduler_name": "Cyclic"})
    assert all(name in str(err.value) for name in LR_SCHEDULERS)
    with pytest.raises(ValueError, match="decay_steps"):
        resolve_training_options({"lr_scheduler_options": {"decay_steps": 0}})
    with pytest.raises(ValueError, match="save_model_per_epoch"):
        train({"epochs": 1, "save_model_per_epoch": True})


def test_epoch_order_is_a_pure_function_of_seed_and_epoch() -> None:
    a = epoch_order(7, 3, 1000)
    assert sorted(a) == list(range(1000))
    np.testing.assert_array_equal(a, epoch_order(7, 3, 1000))
    assert not np.array_equal(a, epoch_order(7, 4, 1000))
    assert not np.array_equal(a, epoch_order(8, 3, 1000))


def test_every_optimizer_name_has_its_class() -> None:
    # The names are validated without TensorFlow; the classes live with the optimisers.
    assert tuple(OPTIMIZER_CLASSES) == OPTIMIZERS


def test_training_mode_is_requested_by_the_training_step_only() -> None:
    calls: list[bool] = []

    class Recording(ConditionalFlow):
        def log_prob(self, x, cond, training=False):
            calls.append(training)
            return super().log_prob(x, cond, training)

    flow = Recording(1, 1, TINY_ARCH)
    train_flow(flow, TRAIN, TEST, {"epochs": 1, "batch_size": 512}, progress=False, log=print)
    # Traced once each: the loss evaluation without dropout, the training step with it.
    assert sorted(set(calls)) == [False, True]


# --- resuming ------------------------------------------------------------------------------

RESUME_OPTIONS = {"epochs": 4, "batch_size": 256, "learning_rate": 5e-3, "early_stopping": False}


@pytest.mark.parametrize("optimizer", ["AdamW", "Adadelta"])
def test_resume_after_interruption_is_identical(tmp_path: Path, optimizer: str) -> None:
    options = {**RESUME_OPTIONS, "optimizer_name": optimizer}
    flow_ref, hist_ref, _ = train(options)
    with pytest.raises(Interrupted):
        train(options, tmp_path, stop_after=2)
    assert checkpoint_epoch(tmp_path) == 2
    flow, history, lines = train(options, tmp_path)
    assert any("resuming from epoch 2" in line for line in lines)
    assert not any(line.startswith(("epoch 1/", "epoch 2/")) for line in lines)
    assert_same_run(flow_ref, hist_ref, flow, history)
    assert checkpoint_epoch(tmp_path) == 4


def test_resume_with_dropout_continues_the_mask_stream(tmp_path: Path) -> None:
    arch = {**TINY_ARCH, "affine_dropout": True, "affine_dropout_prob": 0.2}
    flow_ref, hist_ref, _ = train(RESUME_OPTIONS, arch=arch)
    # Dropout is really on in the training steps (the losses differ from a run without it).
    _, hist_plain, _ = train(RESUME_OPTIONS)
    assert hist_ref["train_loss"][1:] != hist_plain["train_loss"][1:]
    with pytest.raises(Interrupted):
        train(RESUME_OPTIONS, tmp_path, stop_after=2, arch=arch)
    flow, history, _ = train(RESUME_OPTIONS, tmp_path, arch=arch)
    assert_same_run(flow_ref, hist_ref, flow, history)


def test_resume_keeps_the_early_stopping_counter(tmp_path: Path) -> None:
    # A 100% relative improvement is unreachable: every epoch is bad, stop at epoch 3.
    options = {**RESUME_OPTIONS, "epochs": 8, "early_stopping": True, "tolerance": 1.0}
    options.update(patience=3, wait_till=0)
    flow_ref, hist_ref, _ = train(options)
    assert hist_ref["epoch"][-1] == 3 and hist_ref["stopped_early"]
    with pytest.raises(Interrupted):
        train(options, tmp_path, stop_after=2)
    flow, history, _ = train(options, tmp_path)
    assert_same_run(flow_ref, hist_ref, flow, history)
    # A finished state is returned again without training (or a second early stop).
    flow_again, hist_again, lines = train(options, tmp_path)
    assert any("already finished" in line for line in lines)
    assert_same_run(flow_ref, hist_ref, flow_again, hist_again)


def test_mismatching_or_corrupt_checkpoint_trains_from_scratch(tmp_path: Path) -> None:
    options = {**RESUME_OPTIONS, "epochs": 2}
    flow_ref, hist_ref, _ = train(options)
    with pytest.raises(Interrupted):
        train({**options, "learning_rate": 1e-3}, tmp_path, stop_after=1)
    flow, history, lines = train(options, tmp_path)
    assert any("other data, architecture or options" in line for line in lines)
    assert_same_run(flow_ref, hist_ref, flow, history)

    (tmp_path / CHECKPOINT_FILE).write_bytes(b"PK\x03\x04 truncated")
    (tmp_path / f".{CHECKPOINT_FILE}.abc.npz").write_bytes(b"half-written")
    assert checkpoint_epoch(tmp_path) is None
    flow, history, lines = train(options, tmp_path)
    assert any("unreadable" in line for line in lines)
    assert_same_run(flow_ref, hist_ref, flow, history)
    remove_checkpoint(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_epoch_models_and_tensorboard(tmp_path: Path) -> None:
    tb_dir = tmp_path / "tb"
    options = {**RESUME_OPTIONS, "epochs": 2, "save_model_per_epoch": True}
    options["tensorboard_dir"] = str(tb_dir)
    flow, history, _ = train(options, tmp_path / "ckpt")
    saved = [
        ConditionalFlow.load(str(tmp_path / "ckpt" / f"epoch_{k}.npz"), 1, 1, TINY_ARCH)
        for k in (0, 1, 2)
    ]
    for a, b in zip(
        saved[0].get_weights(), ConditionalFlow(1, 1, TINY_ARCH).get_weights(), strict=True
    ):
        np.testing.assert_array_equal(a, b)
    best = saved[history["best_epoch"]]
    for a, b in zip(best.get_weights(), flow.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)

    scalars: dict[str, dict[int, float]] = {}
    for event_file in tb_dir.iterdir():
        for event in tf.compat.v1.train.summary_iterator(str(event_file)):
            for value in event.summary.value:
                number = float(tf.make_ndarray(value.tensor))
                scalars.setdefault(value.tag, {})[event.step] = number
    assert set(scalars) == {"train_loss", "test_loss", "learning_rate"}
    for key, values in scalars.items():
        assert sorted(values) == [0, 1, 2]
        np.testing.assert_allclose([values[k] for k in (0, 1, 2)], history[key], rtol=1e-6)


# --- a real kill -------------------------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import tensorflow as tf
    # One thread each: the reference and the victim share the test machine's cores.
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    from innfer_lib.density.flow import ConditionalFlow
    from innfer_lib.density.training import train_flow

    ckpt, out = sys.argv[1], sys.argv[2]
    rng = np.random.default_rng(0)
    theta = rng.uniform(-1, 1, size=(8000, 1)).astype(np.float32)
    x = (theta + rng.normal(size=(8000, 1))).astype(np.float32)
    w = rng.uniform(0.2, 2.0, size=8000).astype(np.float32)
    arch = {"coupling_design": "interleaved", "num_coupling_layers": 2,
            "affine_units_per_dense_layer": 16, "spline_units_per_dense_layer": 16,
            "spline_bins": 8}
    options = {"epochs": 6, "batch_size": 64, "learning_rate": 3e-3, "early_stopping": False}
    flow = ConditionalFlow(1, 1, arch)
    history = train_flow(flow, (x[:6000], theta[:6000], w[:6000]),
                         (x[6000:], theta[6000:], w[6000:]), options, progress=False,
                         log=lambda s: print(s, flush=True), checkpoint_dir=ckpt)
    np.savez(out + ".npz", *flow.get_weights())
    with open(out + ".json", "w") as f:
        json.dump(history, f)
    """
)


def launch(script: Path, ckpt: Path, out: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO / "scripts"), "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.Popen(
        [sys.executable, str(script), str(ckpt), str(out)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(proc: subprocess.Popen, timeout: float = 120) -> str:
    output, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, output
    return output


@pytest.mark.slow
def test_sigkill_then_rerun_gives_the_uninterrupted_result(tmp_path: Path) -> None:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    ref = launch(script, tmp_path / "ckpt_ref", tmp_path / "ref")
    victim = launch(script, tmp_path / "ckpt", tmp_path / "run")
    deadline = time.monotonic() + 120
    while (checkpoint_epoch(tmp_path / "ckpt") or 0) < 2:
        assert victim.poll() is None, victim.communicate()[0]
        assert time.monotonic() < deadline, "no checkpoint of epoch 2 within 120 s"
        time.sleep(0.02)
    victim.send_signal(signal.SIGKILL)
    victim.communicate(timeout=30)
    assert victim.returncode == -signal.SIGKILL
    killed_at = checkpoint_epoch(tmp_path / "ckpt")
    assert killed_at is not None and 2 <= killed_at < 6
    assert not (tmp_path / "run.json").exists()

    output = finish(launch(script, tmp_path / "ckpt", tmp_path / "run"))
    assert f"resuming from epoch {killed_at}" in output
    finish(ref)

    with np.load(tmp_path / "ref.npz") as a, np.load(tmp_path / "run.npz") as b:
        ref_w = [a[k] for k in a.files]
        run_w = [b[k] for k in b.files]
    max_diff = max(float(np.max(np.abs(r - s))) for r, s in zip(ref_w, run_w, strict=True))
    hist_ref = json.loads((tmp_path / "ref.json").read_text())
    hist_run = json.loads((tmp_path / "run.json").read_text())
    same_history = {k: v for k, v in hist_ref.items() if k not in TIMING_KEYS} == {
        k: v for k, v in hist_run.items() if k not in TIMING_KEYS
    }
    print(f"killed after epoch {killed_at}: max|Δweight| = {max_diff}, same history {same_history}")
    assert max_diff == 0.0
    assert same_history
