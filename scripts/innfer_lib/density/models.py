"""Density models as the likelihood and the samplers see them, in physical units.

Two kinds share one interface so that every fit can be repeated with the truth: a trained
flow (`learned`, which works in standardised space and needs the standardisation Jacobian
added back) and a benchmark's analytic density (`true`). Both are evaluated in float64, and
both draw events: the flow by its inverse, the benchmark by its own simulation.

This module imports neither TensorFlow nor the benchmarks at import time (the workflow's
rule files import its constants); the classes import them when they are built or used.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from innfer_lib.core.errors import ConfigError
from innfer_lib.core.io import read_yaml

if TYPE_CHECKING:
    from innfer_lib.density.flow import ConditionalFlow

LEARNED = "learned"
TRUE = "truth"


class Density(Protocol):
    """What the likelihood (log_prob) and MakeAsimov/EvaluateDensity (sample, flow) need.

    It satisfies :class:`innfer_lib.density.sampling.DensitySampler`, so every density can
    be sampled the same way, whatever its kind.
    """

    x_columns: list[str]
    parameters: list[str]
    #: log p is C² in the parameters, so the autodiff Hessian is the NLL's curvature.
    smooth_in_parameters: bool

    def log_prob(self, x: Any, params: Mapping[str, Any]) -> Any:
        """log p(x | params) per event as a float64 tensor; differentiable in params."""

    def log_prob_rows(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """log p(x_i | θ_i) per event as float64 NumPy, θ_i the i-th row of ``y`` (columns in
        `parameters` order): the mean loss of training and test sets, where a continuously
        shifted nuisance gives every event its own θ."""

    def sample(self, n: int, params: Mapping[str, float], seed: int) -> np.ndarray:
        """``n`` events of shape (n, n_x) at one parameter point, reproducibly for ``seed``."""

    @property
    def flow(self) -> ConditionalFlow | None:
        """The standardised-space flow behind the density, or None for an analytic one.

        EvaluateDensity samples a flow with one condition row per event, instead of once per
        distinct parameter point (:func:`innfer_lib.density.sampling.evaluate_density`).
        """


def log_prob_by_point(density: Density, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """`Density.log_prob_rows` of a density that takes one θ per call: once per distinct row."""
    import tensorflow as tf

    from innfer_lib.density.sampling import parameter_groups

    out = np.empty(len(x), np.float64)
    for point, rows in parameter_groups(np.asarray(y), density.parameters):
        params = {p: tf.constant(v, tf.float64) for p, v in point.items()}
        out[rows] = np.asarray(density.log_prob(tf.constant(x[rows], tf.float64), params))
    return out


class LearnedDensity:
    """A trained conditional flow wrapped with its standardisation.

    The flow models x̃ = (x − m)/s, so log p(x) = log q(x̃) − Σ log s_j; any pre-transform is
    inside the flow, Jacobian included. Training happens in
    float32; this keeps a float64 copy of the weights because Minuit needs a smooth NLL.
    """

    def __init__(
        self,
        flow: ConditionalFlow,
        standardisation: Mapping[str, Mapping[str, float]],
        x_columns: list[str],
        y_columns: list[str],
        shared_trace: bool = False,
    ) -> None:
        import tensorflow as tf

        self.flow = flow
        #: Evaluate through the flow's own traced function (`evaluation_log_prob`), which the
        #: graphs of every likelihood built on this flow share, instead of tracing its layers
        #: into each graph. Sharing pays from the second likelihood of a process on: its
        #: first trace costs more (8 s more on the four flows of
        #: tests/perf/bench_multi_flow.py), so `load_density` turns it on when it hands out a
        #: flow it loaded before.
        self.shared_trace = shared_trace
        self.x_columns = list(x_columns)
        self.parameters = list(y_columns)
        sx = [standardisation[c] for c in self.x_columns]
        sy = [standardisation[c] for c in self.parameters]
        self._x_mean = tf.constant([s["mean"] for s in sx], tf.float64)
        self._x_std = tf.constant([s["std"] for s in sx], tf.float64)
        self._y_mean = np.array([s["mean"] for s in sy], np.float64)
        self._y_std = np.array([s["std"] for s in sy], np.float64)
        self._log_jacobian = -float(np.sum(np.log([s["std"] for s in sx])))
        self.smooth_in_parameters = bool(flow.smooth_in_condition)

    def log_prob(self, x: Any, params: Mapping[str, Any]) -> Any:
        """log p(x | params): the flow's log-density of standardised x plus the Jacobian."""
        import tensorflow as tf

        # One θ row for all events: the flow broadcasts it, so conditioners that see only θ
        # (every one in 1-D) run once per call instead of once per event.
        if self.parameters:
            theta = tf.stack([tf.cast(params[p], tf.float64) for p in self.parameters])
            cond = ((theta - self._y_mean) / self._y_std)[tf.newaxis, :]
        else:
            cond = tf.zeros([1, 0], tf.float64)
        evaluate = self.flow.evaluation_log_prob() if self.shared_trace else self.flow.log_prob
        return self._log_prob(evaluate, x, tf.cast(cond, self.flow.dtype))

    def log_prob_rows(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The flow takes one condition row per event, so every θ is evaluated in one call; a
        1-D flow's conditioners run once per distinct θ (`ConditionalFlow.shared_condition`)."""
        import tensorflow as tf

        dtype = self.flow.dtype
        if self.parameters:
            rows = np.asarray(y, np.float64).reshape(len(x), len(self.parameters))
            standardised = tf.constant((rows - self._y_mean) / self._y_std, dtype)
            cond = self.flow.shared_condition(standardised)
        else:
            cond = tf.zeros([1, 0], dtype)
        return self._log_prob(self.flow.log_prob, tf.constant(x, tf.float64), cond).numpy()

    def _log_prob(self, evaluate: Any, x: Any, cond: Any) -> Any:
        """log p of physical x by `evaluate` (the flow's log_prob) at standardised conditions."""
        import tensorflow as tf

        x_std = (x - self._x_mean) / self._x_std
        log_q = evaluate(tf.cast(x_std, self.flow.dtype), cond)
        # A float32 flow (load_density's `precision`) is summed in float64 like the rest.
        return tf.cast(log_q, tf.float64) + self._log_jacobian

    def sample(self, n: int, params: Mapping[str, float], seed: int) -> np.ndarray:
        """Draw n events at one parameter point, in physical units."""
        import tensorflow as tf

        theta = (np.array([float(params[p]) for p in self.parameters]) - self._y_mean) / self._y_std
        cond = np.tile(theta, (n, 1)).reshape(n, len(self.parameters))
        x_std = self.flow.sample(tf.constant(cond, tf.float64), seed).numpy()
        return x_std * self._x_std.numpy() + self._x_mean.numpy()


class TrueDensity:
    """A benchmark's analytic density for one process, sampled by the benchmark's simulation."""

    def __init__(self, benchmark: str, process: str) -> None:
        from innfer_lib.data.benchmarks import get_benchmark

        self.benchmark = get_benchmark(benchmark)
        self.process = process
        self.x_columns = list(self.benchmark.variables)
        self.parameters = list(self.benchmark.density_parameters(process))
        self.smooth_in_parameters = True
        #: No flow: EvaluateDensity samples once per distinct parameter point.
        self.flow = None

    def log_prob(self, x: Any, params: Mapping[str, Any]) -> Any:
        """The benchmark's analytic log-density (TensorFlow ops, differentiable in params)."""
        return self.benchmark.log_prob_tf(self.process, x, {p: params[p] for p in self.parameters})

    def log_prob_rows(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Once per distinct θ row: a benchmark's analytic density takes one point per call."""
        return log_prob_by_point(self, x, y)

    def sample(self, n: int, params: Mapping[str, float], seed: int) -> np.ndarray:
        """Draw n events at params with the benchmark's own simulation, as an (n, n_x) array.

        A parameter-dependent process is drawn with the benchmark's event sampler at the
        point (Y1, and a weight-only nuisance where the benchmark has one), and the one
        parameter-free process (the background of the varying-yield scenario)
        from its truncated exponential; one NumPy generator seeded with ``seed`` feeds it.

        Raises:
            NotImplementedError: The process is parameter-free in another scenario.
        """
        from innfer_lib.data import benchmarks
        from innfer_lib.data.benchmark_densities import sample_background

        if not self.parameters and not isinstance(
            self.benchmark, benchmarks.Dim1GaussianWithExpBkgVaryingYield
        ):
            raise NotImplementedError(
                f"{self.benchmark.name}/{self.process}: no sampler for a parameter-free process"
            )
        rng = np.random.default_rng(seed)
        if not self.parameters:
            return sample_background(rng, int(n))[:, None]
        return np.asarray(self.benchmark.sample_point(rng, int(n), params), dtype=np.float64)


def learned_architecture(architecture: Mapping[str, Any], parameters: Mapping[str, Any]) -> dict:
    """The architecture record written next to trained weights.

    It carries the flow's fixed pre-transform (from PreProcess), so the record and the weights
    alone rebuild the whole map.
    """
    return {
        "type": "flow",
        "architecture": dict(architecture),
        "X_columns": list(parameters["density"]["X_columns"]),
        "Y_columns": list(parameters["density"]["Y_columns"]),
        "pretransform": parameters["density"].get("pretransform"),
    }


def true_architecture(benchmark: str, process: str, parameters: Mapping[str, Any]) -> dict:
    """The record that lets a benchmark's analytic density stand in for a trained model."""
    return {
        "type": "benchmark",
        "benchmark": benchmark,
        "process": process,
        "X_columns": list(parameters["density"]["X_columns"]),
        "Y_columns": list(parameters["density"]["Y_columns"]),
    }


def load_density(
    architecture_path: str | Path,
    parameters: Mapping[str, Any],
    weights: str | Path | None = None,
    precision: str = "float64",
) -> Density:
    """Load either kind of density from its architecture record.

    A flow's weights sit beside the record unless ``weights`` names another file of the
    same flow (the weights after one epoch, for the per-epoch metrics). `precision` is the
    dtype the flow is evaluated in ("float64", or "float32" whose per-event log-densities
    are then summed in float64); a benchmark's true density is always float64.
    """
    record = read_yaml(architecture_path)
    kind = record.get("type")
    if kind == "benchmark":
        return TrueDensity(record["benchmark"], record["process"])
    if kind == "flow":
        weights_file = weights or Path(architecture_path).with_name("weights.npz")
        flow, reused = _load_flow(
            _file_stamp(architecture_path), _file_stamp(weights_file), precision
        )
        return LearnedDensity(
            flow,
            parameters["density"]["standardisation"],
            record["X_columns"],
            record["Y_columns"],
            shared_trace=reused,
        )
    raise ConfigError(f"{architecture_path}: unknown density type {kind!r} (flow or benchmark)")


#: A file as the flow cache knows it: resolved path, modification time (ns) and size, so a
#: retrained model written to the same path is a new entry.
FileStamp = tuple[str, int, int]


def _file_stamp(path: str | Path) -> FileStamp:
    """A missing file gets no stamp (-1): loading it then raises the loader's own error."""
    try:
        stat = os.stat(path)
    except OSError:
        return (str(path), -1, -1)
    return (str(Path(path).resolve()), stat.st_mtime_ns, stat.st_size)


#: Flows loaded by this process, oldest first (at most _FLOWS_KEPT).
_FLOWS: dict[tuple[FileStamp, FileStamp, str], ConditionalFlow] = {}
_FLOWS_KEPT = 16


def _load_flow(
    architecture: FileStamp, weights: FileStamp, precision: str
) -> tuple[ConditionalFlow, bool]:
    """The flow of an architecture record and weights file, loaded once per process.

    A batch of fit-stage points (`points_per_job`) builds one likelihood per point from the
    same files. Sharing the flow shares its traced log-density (`evaluation_log_prob`), so
    each point after the second skips the flow's tracing: 3 s of each Hessian point of the
    README run's learned density. Nothing changes a loaded flow's weights.

    Returns:
        The flow, and whether this process had loaded it before.
    """
    key = (architecture, weights, precision)
    if key in _FLOWS:
        return _FLOWS[key], True
    from innfer_lib.density.flow import ConditionalFlow

    record = read_yaml(architecture[0])
    flow = ConditionalFlow.load(
        weights[0],
        n_x=len(record["X_columns"]),
        n_cond=len(record["Y_columns"]),
        architecture=record["architecture"],
        dtype=precision,
        pretransform=record.get("pretransform"),
    )
    _FLOWS[key] = flow
    if len(_FLOWS) > _FLOWS_KEPT:
        del _FLOWS[next(iter(_FLOWS))]
    return flow, False
