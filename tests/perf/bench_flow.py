"""Throughput of the default density flow against the machine's compute limit.

Run: python tests/perf/bench_flow.py [--dims 1 5] [--events 100000]
Prints, per dimension: training events/s, log-prob events/s (batch 1e5), log-prob + θ-gradient
events/s, the flow's FLOPs per event, and the same machine's dense matrix-multiply GFLOP/s, so
each throughput can be read as a fraction of what the hardware does on the ideal kernel.
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
from innfer_lib.density.training import train_flow  # noqa: E402

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


def bench(n_x: int, n_events: int, epochs: int, peaks: dict[str, float]) -> None:
    arch = read_config_file(ARCH)
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

        @tf.function
        def nll_grad(theta, f=f, xt=xt):
            with tf.GradientTape() as tape:
                tape.watch(theta)
                c = tf.tile(theta[None, :], [tf.shape(xt)[0], 1])
                v = -tf.reduce_sum(f.log_prob(xt, c))
            return v, tape.gradient(v, theta)

        t = _timed(lambda nll_grad=nll_grad, theta=theta: nll_grad(theta)[1].numpy())
        print(
            f"D={n_x} log_prob + d/dθ {dtype}: {n_events / t:.0f} events/s; "
            f"{_fraction(n_events / t, 3 * flops, peaks[dtype])}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dims", type=int, nargs="+", default=[1, 5])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    devices = [d.name for d in tf.config.list_logical_devices()]
    print(f"TensorFlow {tf.__version__}, devices: {devices}")
    peaks = {dtype: matmul_gflops(dtype) for dtype in ("float32", "float64")}
    for dtype, peak in peaks.items():
        print(f"matmul 2048x2048 {dtype}: {peak:.1f} GFLOP/s")
    for d in args.dims:
        bench(d, args.events, args.epochs, peaks)


if __name__ == "__main__":
    main()
