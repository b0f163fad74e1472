"""Throughput of a density flow against the machine's compute limit.

Run: python tests/perf/bench_flow.py [--dims 1 5] [--events 100000] [--architecture FILE]
Prints, per dimension: training events/s, log-prob events/s (batch 1e5), log-prob + θ-gradient
events/s, the flow's FLOPs per event, and the same machine's dense matrix-multiply GFLOP/s, so
each throughput can be read as a fraction of what the hardware does on the ideal kernel. The
bare training step and log-prob + θ-gradient are also timed compiled by XLA (`jit_compile`)
beside the plain graph, in the same run (`--no-xla` skips them).
`--architecture tests/perf/innfer_density_default.yaml` runs the original INNFER's own
architecture (ReLU, 256 spline units) instead of the project's default.
Nothing here is asserted (numbers belong in notes, not tests).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from innfer_lib.core.config_files import read_config_file  # noqa: E402
from innfer_lib.density.flow import ConditionalFlow  # noqa: E402
from innfer_lib.density.optimisers import make_optimizer  # noqa: E402
from innfer_lib.density.training import train_flow  # noqa: E402
from innfer_lib.density.training_options import resolve_training_options  # noqa: E402

ARCH = Path(__file__).resolve().parents[2] / "config" / "architecture" / "density_default.yaml"


def _timed(fn, repeats: int = 3) -> float:
    fn()  # trace / warm up
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def matmul_gflops(dtype: str, size: int = 2048) -> float:
    """Dense square matmul throughput: the practical compute ceiling of this device."""
    rng = np.random.default_rng(1)
    a = tf.constant(rng.normal(size=(size, size)).astype(dtype))
    b = tf.constant(rng.normal(size=(size, size)).astype(dtype))
    mm = tf.function(lambda a, b: tf.reduce_sum(tf.linalg.matmul(a, b)))
    t = _timed(lambda: mm(a, b).numpy(), repeats=5)
    return 2 * size**3 / t / 1e9


def _fraction(events_per_s: float, flops: float, peak: float) -> str:
    achieved = events_per_s * flops / 1e9
    return f"{achieved:.1f} GFLOP/s = {100 * achieved / peak:.0f}% of matmul"


def step_rates(flow: ConditionalFlow, arch: dict, x: np.ndarray, cond: np.ndarray) -> dict:
    """Events/s of the bare AdamW training step, as a plain graph and compiled by XLA.

    One flow, one optimiser and the same batches for both; each variant's first call (its
    trace and compilation) is left out.
    """
    batch = int(arch["batch_size"])
    steps = min(len(x) // batch, 25)
    opts = resolve_training_options({**arch, "epochs": 1})
    optimizer = make_optimizer(opts, float(opts["learning_rate"]), flow.trainable_variables)
    variables = list(flow.trainable_variables)
    xs = [tf.constant(x[i * batch : (i + 1) * batch]) for i in range(steps)]
    cs = [tf.constant(cond[i * batch : (i + 1) * batch]) for i in range(steps)]

    def step(xb: tf.Tensor, cb: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            loss = -tf.reduce_mean(flow.log_prob(xb, cb, training=True))
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
        return loss

    rates = {}
    for name, jit in (("graph", False), ("XLA", True)):
        fn = tf.function(step, jit_compile=jit)

        def epoch(fn=fn) -> None:
            for xb, cb in zip(xs, cs, strict=True):
                loss = fn(xb, cb)
            loss.numpy()

        rates[name] = steps * batch / _timed(epoch, repeats=2)
    return rates


def bench(
    n_x: int, n_events: int, epochs: int, peaks: dict[str, float], arch_path: Path, xla: bool
) -> None:
    arch = read_config_file(arch_path)
    arch.pop("type", None)
    rng = np.random.default_rng(0)
    cond = rng.normal(size=(n_events, 1)).astype(np.float32)
    x = (rng.normal(size=(n_events, n_x)) + cond).astype(np.float32)
    w = np.ones(n_events, np.float32)
    flow = ConditionalFlow(n_x, 1, arch)
    opts = dict(arch, epochs=epochs, early_stopping=False)
    hist = train_flow(
        flow,
        (x, cond, w),
        (x[:10_000], cond[:10_000], w[:10_000]),
        opts,
        progress=False,
        log=lambda s: None,
    )
    flops = flow.count_flops_per_event()
    print(f"D={n_x} FLOPs per event (log_prob): {flops}")
    # A training step is a forward pass plus a backward pass of about twice its cost.
    print(
        f"D={n_x} training: {hist['events_per_second']:.0f} events/s "
        f"(batch {arch['batch_size']}, {epochs} epochs of {n_events}); "
        f"{_fraction(hist['events_per_second'], 3 * flops, peaks['float32'])}"
    )
    if xla:
        for name, rate in step_rates(flow, arch, x, cond).items():
            print(
                f"D={n_x} training step alone, {name}: {rate:.0f} events/s; "
                f"{_fraction(rate, 3 * flops, peaks['float32'])}"
            )
    for dtype in ("float32", "float64"):
        f = ConditionalFlow(n_x, 1, arch, dtype=dtype)
        f.set_weights(flow.get_weights())
        xt = tf.constant(x.astype(dtype))
        ct = tf.constant(cond.astype(dtype))
        lp = tf.function(f.log_prob)
        t = _timed(lambda lp=lp, xt=xt, ct=ct: lp(xt, ct).numpy())
        print(
            f"D={n_x} log_prob {dtype}: {n_events / t:.0f} events/s (batch {n_events}); "
            f"{_fraction(n_events / t, flops, peaks[dtype])}"
        )

        theta = tf.constant([0.1], dtype)

        def nll_grad(theta, f=f, xt=xt):
            with tf.GradientTape() as tape:
                tape.watch(theta)
                c = tf.tile(theta[None, :], [tf.shape(xt)[0], 1])
                v = -tf.reduce_sum(f.log_prob(xt, c))
            return v, tape.gradient(v, theta)

        # The θ-gradient backpropagates through every layer but needs no weight gradients:
        # one transposed product per matmul, so about twice the forward FLOPs.
        for name, jit in (("", False), (", XLA", True))[: 2 if xla else 1]:
            fn = tf.function(nll_grad, jit_compile=jit)
            t = _timed(lambda fn=fn, theta=theta: fn(theta)[1].numpy())
            print(
                f"D={n_x} log_prob + d/dθ {dtype}{name}: {n_events / t:.0f} events/s; "
                f"{_fraction(n_events / t, 2 * flops, peaks[dtype])}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dims", type=int, nargs="+", default=[1, 5])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--architecture", type=Path, default=ARCH, help="architecture file")
    parser.add_argument("--no-xla", action="store_true", help="skip the XLA-compiled timings")
    args = parser.parse_args()
    devices = [d.name for d in tf.config.list_logical_devices()]
    print(f"TensorFlow {tf.__version__}, devices: {devices}")
    peaks = {dtype: matmul_gflops(dtype) for dtype in ("float32", "float64")}
    for dtype, peak in peaks.items():
        print(f"matmul 2048x2048 {dtype}: {peak:.1f} GFLOP/s")
    for d in args.dims:
        bench(d, args.events, args.epochs, peaks, args.architecture, not args.no_xla)


if __name__ == "__main__":
    main()
