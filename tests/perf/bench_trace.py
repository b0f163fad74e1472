"""Trace (graph build) and run time of the flow's likelihood paths, per spline implementation.

Every fit job wraps log_prob, its θ-gradient and its θ-Hessian in ``tf.function`` and pays the
trace and the first execution (Grappler optimisation) once per process, so those one-off costs
matter as much as the steady-state run time. This script measures all three for the default
architecture and prints one line per measurement; nothing is asserted.

Run: python tests/perf/bench_trace.py [--architecture YAML] [--dims 1 5] [--dtypes float64 float32]
     [--events 3000 100000] [--implementations innfer tfp] [--no-hessian]
     [--hessian-max-events N] [--single-row-cond]

Columns: ``trace`` is get_concrete_function (Python tracing and gradient construction),
``first`` the first execution of the traced graph, ``trace+first`` their sum (what a fit job
pays once), ``steady`` the best of ``--repeats`` later calls, ``ops`` the node count of the
graph including its function library (the while-loop body of the Hessian lives there).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from innfer_lib.core.config_files import read_config_file  # noqa: E402
from innfer_lib.density.flow import ConditionalFlow  # noqa: E402

ARCH = Path(__file__).resolve().parents[2] / "config" / "architecture" / "density_default.yaml"
N_COND = 1


def _n_ops(concrete: Any) -> int:
    graph_def = concrete.graph.as_graph_def()
    return len(graph_def.node) + sum(len(f.node_def) for f in graph_def.library.function)


def _build_flow(n_x: int, dtype: str, implementation: str, arch_path: Path) -> ConditionalFlow:
    """Flow with small random weights, so no coupling is the identity."""
    arch = read_config_file(arch_path)
    arch.pop("type", None)
    arch["spline_implementation"] = implementation
    flow = ConditionalFlow(n_x, N_COND, arch, dtype=dtype)
    rng = np.random.default_rng(0)
    flow.set_weights([w + rng.normal(0.0, 0.02, w.shape) for w in flow.get_weights()])
    return flow


def _functions(
    flow: ConditionalFlow, n_x: int, single_row: bool
) -> dict[str, tuple[Callable, list]]:
    """Fresh tf.functions (no shared trace cache) for the three measured paths.

    With single_row, θ is passed as one (1, n_cond) row that the flow broadcasts, instead of
    tile(θ); in 1-D the conditioner networks then run once per call instead of per event.
    """
    dt = flow.dtype
    x_spec = tf.TensorSpec([None, n_x], dt)
    c_spec = tf.TensorSpec([None, N_COND], dt)
    t_spec = tf.TensorSpec([N_COND], dt)

    def log_prob(x: tf.Tensor, cond: tf.Tensor) -> tf.Tensor:
        return flow.log_prob(x, cond)

    def nll(x: tf.Tensor, theta: tf.Tensor) -> tf.Tensor:
        cond = theta[tf.newaxis, :]
        if not single_row:
            cond = tf.tile(cond, tf.stack([tf.shape(x)[0], 1]))
        return -tf.reduce_sum(flow.log_prob(x, cond))

    def value_and_grad(x: tf.Tensor, theta: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        with tf.GradientTape() as tape:
            tape.watch(theta)
            value = nll(x, theta)
        return value, tape.gradient(value, theta)

    def hessian(x: tf.Tensor, theta: tf.Tensor) -> tf.Tensor:
        # Same construction as the likelihood's per-batch Hessian.
        with tf.GradientTape() as outer:
            outer.watch(theta)
            with tf.GradientTape() as inner:
                inner.watch(theta)
                value = nll(x, theta)
            grad = inner.gradient(value, theta)
        return outer.jacobian(grad, theta, experimental_use_pfor=False)

    suffix = "/1row" if single_row else ""
    paths = {
        "value+grad": (tf.function(value_and_grad, input_signature=[x_spec, t_spec]), ["x", "t"]),
        "hessian": (tf.function(hessian, input_signature=[x_spec, t_spec]), ["x", "t"]),
    }
    if not single_row:
        paths = {
            "log_prob": (tf.function(log_prob, input_signature=[x_spec, c_spec]), ["x", "cond"])
        } | paths
    return {name + suffix: value for name, value in paths.items()}


def _measure(fn: Callable, args: list[tf.Tensor], repeats: int) -> dict[str, float]:
    t0 = time.perf_counter()
    concrete = fn.get_concrete_function(*args)
    t1 = time.perf_counter()
    _ = [np.asarray(o) for o in tf.nest.flatten(fn(*args))]
    t2 = time.perf_counter()
    steady = float("inf")
    for _ in range(repeats):
        t3 = time.perf_counter()
        _ = [np.asarray(o) for o in tf.nest.flatten(fn(*args))]
        steady = min(steady, time.perf_counter() - t3)
    return {
        "trace": t1 - t0,
        "first": t2 - t1,
        "steady": steady,
        "ops": _n_ops(concrete),
    }


def main() -> None:
    """Parse the options and print one line per (implementation, D, dtype, events, path)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--architecture", type=Path, default=ARCH, help="architecture YAML")
    parser.add_argument("--dims", type=int, nargs="+", default=[1, 5])
    parser.add_argument("--dtypes", nargs="+", default=["float64", "float32"])
    parser.add_argument("--events", type=int, nargs="+", default=[3000, 100_000])
    parser.add_argument("--implementations", nargs="+", default=["innfer", "tfp"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-hessian", action="store_true", help="skip the Hessian path")
    parser.add_argument(
        "--hessian-max-events",
        type=int,
        default=None,
        help="skip Hessians on more events (the 5-D float64 Hessian of 1e5 events needs >23 GB)",
    )
    parser.add_argument(
        "--single-row-cond",
        action="store_true",
        help="also time (b) and (c) with θ passed as one broadcast row instead of tile(θ)",
    )
    args = parser.parse_args()
    print(f"TensorFlow {tf.__version__}, {os.cpu_count()} CPU cores")
    header = (
        f"{'impl':6} {'D':>2} {'dtype':7} {'events':>7} {'path':16} {'trace':>8} {'first':>8} "
        f"{'trace+first':>11} {'steady':>8} {'ops':>7}"
    )
    print(header, flush=True)
    for implementation in args.implementations:
        for n_x in args.dims:
            for dtype in args.dtypes:
                flow = _build_flow(n_x, dtype, implementation, args.architecture)
                rng = np.random.default_rng(1)
                for n_events in args.events:
                    cond_np = rng.normal(size=(n_events, N_COND))
                    x_np = rng.normal(size=(n_events, n_x)) + cond_np
                    inputs = {
                        "x": tf.constant(x_np, flow.dtype),
                        "cond": tf.constant(cond_np, flow.dtype),
                        "t": tf.constant([0.1] * N_COND, flow.dtype),
                    }
                    functions = _functions(flow, n_x, single_row=False)
                    if args.single_row_cond:
                        functions |= _functions(flow, n_x, single_row=True)
                    for path, (fn, names) in functions.items():
                        if path.startswith("hessian") and (
                            args.no_hessian
                            or (args.hessian_max_events and n_events > args.hessian_max_events)
                        ):
                            print(
                                f"{implementation:6} {n_x:>2} {dtype:7} {n_events:>7} {path:16} "
                                "skipped"
                            )
                            continue
                        r = _measure(fn, [inputs[k] for k in names], args.repeats)
                        print(
                            f"{implementation:6} {n_x:>2} {dtype:7} {n_events:>7} {path:16} "
                            f"{r['trace']:8.2f} {r['first']:8.2f} "
                            f"{r['trace'] + r['first']:11.2f} {r['steady']:8.3f} "
                            f"{r['ops']:>7}",
                            flush=True,
                        )


if __name__ == "__main__":
    main()
