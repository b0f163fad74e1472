"""Analytic benchmark scenarios of INNFER: simulation, analysis config and exact densities.

The benchmarks exist so that a trained density model and the full inference chain can be checked
against a known truth. That only works if the truth is exact, so every density here is normalised
in closed form (the original normalised the exponential background with a 100-point Riemann sum
and was 1.5 % off) and each formula is written once over a tiny backend shim, so the numpy
reference and the differentiable TensorFlow version used by gradient-based fits cannot drift apart.

Heavy libraries (pandas, scipy, tensorflow) are imported lazily inside the functions that need
them: Snakemake imports this module while parsing the workflow, where seconds of import time for
every rule would add up.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd
    import tensorflow as tf

__all__ = [
    "DATA_Y",
    "DEFAULT_Y",
    "DROP_FROM_TRAINING",
    "N_DATA_EVENTS",
    "PARAMETER_RANGE",
    "SCENARIOS",
    "TRUE_VALUES",
    "VALIDATION_VALUES",
    "Benchmark",
    "get_benchmark",
]

POI = "Y1"
RATE_PARAMETER = "mu_Gaussian"

TRUE_VALUES: tuple[float, ...] = tuple(
    round(v, 6)
    for v in (
        *(166.0, 167.0, 168.0, 169.0, 170.0),
        *(170.5 + 0.5 * i for i in range(10)),
        *(176.0, 177.0, 178.0, 179.0, 180.0),
    )
)
VALIDATION_VALUES: tuple[float, ...] = tuple(round(171.0 + 0.5 * i, 6) for i in range(9))
DROP_FROM_TRAINING: tuple[float, ...] = tuple(round(170.5 + i, 6) for i in range(5))
DEFAULT_Y: float = 172.5
DATA_Y: float = 172.345
PARAMETER_RANGE: tuple[float, float] = (166.0, 180.0)

#: Number of data events the original benchmarks used; simulate_data's natural argument.
N_DATA_EVENTS: int = 1000
#: Sum of weights per simulated Y1 value (and for the parameter-free background file).
SUM_WEIGHTS: float = 1000.0
#: Signal fraction of the fixed-yield mixture and true mu_Gaussian of the varying-yield data.
SIGNAL_FRACTION: float = 0.3
#: Validation values of mu_Gaussian for the varying-yield scenario.
VALIDATION_MU: tuple[float, ...] = (0.2, 0.4)
#: Rate parameters default to 1 in INNFER, so that is the nominal validation point.
DEFAULT_MU: float = 1.0

# Truncated exponential background: rate 0.1 on [160, 185].
BKG_LOW: float = 160.0
BKG_HIGH: float = 185.0
BKG_RATE: float = 0.1
# log of the truncation mass 1 - exp(-rate * (high - low)), via expm1 for full precision.
_BKG_LOG_NORM: float = math.log(-math.expm1(-BKG_RATE * (BKG_HIGH - BKG_LOW)))
_LOG_2PI: float = math.log(2.0 * math.pi)
_LOG_2: float = math.log(2.0)

SCENARIOS: tuple[str, ...] = (
    "Dim1Gaussian",
    "Dim1GaussianWithExpBkg",
    "Dim1GaussianWithExpBkgVaryingYield",
    "Dim2",
    "Dim5",
)


# --------------------------------------------------------------------------------------------
# Parameter maps. Plain arithmetic, so they work on floats, per-event numpy arrays (sampling)
# and TF scalars (densities) alike: one definition for sampling and density.
# --------------------------------------------------------------------------------------------
def gaussian_sigma(y: Any) -> Any:
    """Width of the signal peak: a 1 % resolution, as in the original."""
    return 0.01 * y


def chi2_dof(y: Any) -> Any:
    """Degrees of freedom of the X2 chi-squared."""
    return 3.5 + 0.1 * (y - 173.0)


def exponential_scale(y: Any) -> Any:
    """Scale (mean) of the X3 exponential."""
    return 20.0 + 20.0 * y / (y - 160.0) ** 2


def beta_shapes(y: Any) -> tuple[Any, Any]:
    """Shapes (a, b) of the X4 beta; b < 1 makes the density diverge at X4 = 1."""
    return 0.5 + 0.01 * y, 0.05 * (y - 165.0)


def weibull_shape_scale(y: Any) -> tuple[Any, Any]:
    """Shape k and scale lambda of the X5 Weibull."""
    return (y - 160.0) ** 2, 0.05 * y


# --------------------------------------------------------------------------------------------
# Backend shim
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Ops:
    """The handful of elementwise operations the log-densities need, bound to one backend."""

    log: Callable[[Any], Any]
    exp: Callable[[Any], Any]
    log1p: Callable[[Any], Any]
    lgamma: Callable[[Any], Any]
    where: Callable[[Any, Any, Any], Any]
    logaddexp: Callable[[Any, Any], Any]

    def restrict(self, inside: Any, value: Any) -> Any:
        """Set the log-density to -inf off the support (not NaN, so fits can skip such events)."""
        return self.where(inside, value, -math.inf)


@functools.cache
def _numpy_ops() -> _Ops:
    from scipy.special import gammaln

    return _Ops(
        log=np.log,
        exp=np.exp,
        log1p=np.log1p,
        lgamma=gammaln,
        where=np.where,
        logaddexp=np.logaddexp,
    )


@functools.cache
def _tf_ops() -> _Ops:
    import tensorflow as tf

    def where(cond: Any, a: Any, b: Any) -> Any:
        # tf.where refuses to mix a float64 tensor with a Python float (converted to float32).
        return tf.where(cond, tf.cast(a, tf.float64), tf.cast(b, tf.float64))

    def logaddexp(a: Any, b: Any) -> Any:
        # reduce_logsumexp handles -inf entries without NaN values or gradients.
        return tf.reduce_logsumexp(tf.stack([a, b], axis=0), axis=0)

    return _Ops(
        log=tf.math.log,
        exp=tf.math.exp,
        log1p=tf.math.log1p,
        lgamma=tf.math.lgamma,
        where=where,
        logaddexp=logaddexp,
    )


# --------------------------------------------------------------------------------------------
# Log-densities, each written once over the shim. Off-support inputs are first replaced by a
# harmless in-support value before any log is taken, then masked: a plain where() on a value
# that is inf/NaN off the support would turn the gradient inside the support into NaN in TF.
# --------------------------------------------------------------------------------------------
def log_gaussian(ops: _Ops, x: Any, y: Any) -> Any:
    """Log of N(x; y, (0.01 y)^2)."""
    sigma = gaussian_sigma(y)
    return -0.5 * ((x - y) / sigma) ** 2 - ops.log(sigma) - 0.5 * _LOG_2PI


def log_background(ops: _Ops, x: Any) -> Any:
    """Log of the exponential (rate 0.1) truncated to [160, 185], normalised exactly."""
    inside = (x >= BKG_LOW) & (x <= BKG_HIGH)
    value = math.log(BKG_RATE) - BKG_RATE * (x - BKG_LOW) - _BKG_LOG_NORM
    return ops.restrict(inside, value)


def log_mixture(ops: _Ops, x: Any, y: Any) -> Any:
    """Log of 0.3 Gaussian + 0.7 background, computed stably in log space."""
    return ops.logaddexp(
        math.log(SIGNAL_FRACTION) + log_gaussian(ops, x, y),
        math.log(1.0 - SIGNAL_FRACTION) + log_background(ops, x),
    )


def log_chi2(ops: _Ops, x: Any, y: Any) -> Any:
    """Log of the chi-squared density of X2 (support x > 0)."""
    half_k = 0.5 * chi2_dof(y)
    inside = x > 0.0
    xs = ops.where(inside, x, 1.0)
    value = (half_k - 1.0) * ops.log(xs) - 0.5 * xs - half_k * _LOG_2 - ops.lgamma(half_k)
    return ops.restrict(inside, value)


def log_exponential(ops: _Ops, x: Any, y: Any) -> Any:
    """Log of the exponential density of X3 (support x >= 0)."""
    scale = exponential_scale(y)
    return ops.restrict(x >= 0.0, -ops.log(scale) - x / scale)


def log_beta(ops: _Ops, x: Any, y: Any) -> Any:
    """Log of the beta density of X4 (support 0 < x < 1)."""
    a, b = beta_shapes(y)
    inside = (x > 0.0) & (x < 1.0)
    xs = ops.where(inside, x, 0.5)
    log_norm = ops.lgamma(a) + ops.lgamma(b) - ops.lgamma(a + b)
    value = (a - 1.0) * ops.log(xs) + (b - 1.0) * ops.log1p(-xs) - log_norm
    return ops.restrict(inside, value)


def log_weibull(ops: _Ops, x: Any, y: Any) -> Any:
    """Log of the Weibull density of X5 (support x > 0)."""
    k, lam = weibull_shape_scale(y)
    inside = x > 0.0
    # (x / lam)^k as exp(k * log(x / lam)): k reaches 400, and the log form keeps the gradient
    # free of inf * 0 for events on the far tail.
    z = ops.log(ops.where(inside, x, lam)) - ops.log(lam)
    value = ops.log(k) - ops.log(lam) + (k - 1.0) * z - ops.exp(k * z)
    return ops.restrict(inside, value)


# --------------------------------------------------------------------------------------------
# Samplers (vectorised over events; y is the per-event Y1 array)
# --------------------------------------------------------------------------------------------
def sample_gaussian(rng: np.random.Generator, y: np.ndarray) -> np.ndarray:
    """Draw X ~ N(y, (0.01 y)^2) per event."""
    return rng.normal(y, gaussian_sigma(y))


def sample_background(rng: np.random.Generator, n: int) -> np.ndarray:
    """Draw the truncated exponential exactly by inverting its CDF (no rejection loop)."""
    u = rng.random(n)
    mass = -math.expm1(-BKG_RATE * (BKG_HIGH - BKG_LOW))
    return BKG_LOW - np.log1p(-u * mass) / BKG_RATE


def sample_beta(rng: np.random.Generator, y: np.ndarray) -> np.ndarray:
    """Draw X4 ~ Beta(a(y), b(y)), redrawing values that float64 rounds onto the boundary.

    With b as small as 0.05 a sizeable fraction of true draws lies within 2**-53 of 1 and is
    returned as exactly 1.0, where the density is infinite and the log-density -inf (the original
    redrew those too). Redrawing conditions the sample on the representable open interval; only
    the lowest Y1 points (b <= 0.1) lose a noticeable mass this way. The loop runs over redraw
    rounds on the shrinking set of offenders, never over events.
    """
    a, b = beta_shapes(y)
    x = rng.beta(a, b)
    bad = (x <= 0.0) | (x >= 1.0)
    while bad.any():
        x[bad] = rng.beta(a[bad], b[bad])
        bad = (x <= 0.0) | (x >= 1.0)
    return x


def _sample_weibull(rng: np.random.Generator, y: np.ndarray) -> np.ndarray:
    k, lam = weibull_shape_scale(y)
    return lam * rng.weibull(k)


def sample_signal(rng: np.random.Generator, y: np.ndarray, n_variables: int) -> np.ndarray:
    """Draw the first n_variables of (X1..X5), independent given Y1, as an (n, d) array."""
    samplers: list[Callable[[], np.ndarray]] = [
        lambda: sample_gaussian(rng, y),
        lambda: rng.chisquare(chi2_dof(y)),
        lambda: rng.exponential(exponential_scale(y)),
        lambda: sample_beta(rng, y),
        lambda: _sample_weibull(rng, y),
    ]
    return np.column_stack([draw() for draw in samplers[:n_variables]])


_SIGNAL_FACTORS = (log_gaussian, log_chi2, log_exponential, log_beta, log_weibull)


def _weights_per_value(y: np.ndarray) -> np.ndarray:
    """Weights giving sum(wt) = 1000 for every simulated Y1 value, as the original did."""
    _, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    return SUM_WEIGHTS / counts[inverse].astype(np.float64)


def _check_n(n_events: int) -> int:
    if isinstance(n_events, bool) or int(n_events) != n_events or n_events < 1:
        raise ValueError(f"n_events must be a positive integer, got {n_events!r}")
    return int(n_events)


@dataclass(frozen=True)
class _Process:
    """One INNFER model: its name, the file base it is trained on, and its parquet stem."""

    name: str
    file_base: str
    stem: str
    parameters: tuple[str, ...]


class Benchmark:
    """One analytic benchmark scenario.

    The base class covers the single-process scenarios whose only process depends on Y1;
    subclasses override the sampler and the density, and the varying-yield scenario overrides
    the file layout.
    """

    name: str
    variables: list[str]
    processes: list[str]
    _procs: tuple[_Process, ...]
    _split: str = "0.4:0.3:0.3"
    _rate_parameters: tuple[str, ...] = ()

    def __init__(self) -> None:
        # Instance copies, so a caller mutating its lists cannot leak into other instances.
        self.variables = list(type(self).variables)
        self.processes = [p.name for p in self._procs]

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    # ---- layout ----------------------------------------------------------------------------
    def file_stems(self) -> dict[str, str]:
        """Map file base to parquet stem, so rules can name their outputs."""
        return {p.file_base: p.stem for p in self._procs}

    def process_parameters(self, process: str) -> list[str]:
        """Parameters the process shape depends on (the background has none)."""
        return list(self._process(process).parameters)

    def true_parameters(self) -> dict[str, float]:
        """Parameter values the data were generated at, for closure checks of the fit."""
        return {POI: DATA_Y}

    def _process(self, process: str) -> _Process:
        for p in self._procs:
            if p.name == process:
                return p
        raise ValueError(f"{self.name} has no process {process!r}; valid: {self.processes}")

    # ---- simulation ------------------------------------------------------------------------
    def sample_x(self, rng: np.random.Generator, y: np.ndarray) -> np.ndarray:
        """Draw the (n, d) observables given per-event Y1 values."""
        return sample_signal(rng, y, len(self.variables))

    def _frame(self, columns: Mapping[str, np.ndarray]) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame({k: np.asarray(v, dtype=np.float64) for k, v in columns.items()})

    def simulate(self, n_events: int, seed: int) -> dict[str, pd.DataFrame]:
        """Simulate the training files, keyed by parquet stem.

        Y1 is drawn uniformly from TRUE_VALUES per event and the weights normalise every Y1 value
        to the same total, so the flow learns the shape and not the accidental multinomial
        counts.
        """
        n = _check_n(n_events)
        rng = np.random.default_rng(seed)
        y = rng.choice(np.asarray(TRUE_VALUES), size=n)
        x = self.sample_x(rng, y)
        columns = {POI: y, **{v: x[:, i] for i, v in enumerate(self.variables)}}
        columns["wt"] = _weights_per_value(y)
        return {self._procs[0].stem: self._frame(columns)}

    def simulate_data(self, n_events: int, seed: int) -> pd.DataFrame:
        """Simulate the pseudo-data at Y1 = DATA_Y: X columns only, exactly n_events rows.

        No Poisson fluctuation of the count, as in the original, so fits of the same seed are
        directly comparable between scenarios.
        """
        n = _check_n(n_events)
        rng = np.random.default_rng(seed)
        x = self.sample_x(rng, np.full(n, DATA_Y))
        return self._frame({v: x[:, i] for i, v in enumerate(self.variables)})

    # ---- densities -------------------------------------------------------------------------
    def _log_density(self, ops: _Ops, process: str, cols: Sequence[Any], params: Any) -> Any:
        """Sum of the independent factors of the signal density; subclasses may override."""
        y = params[POI]
        factors = _SIGNAL_FACTORS[: len(cols)]
        total = factors[0](ops, cols[0], y)
        for factor, col in zip(factors[1:], cols[1:], strict=True):
            total = total + factor(ops, col, y)
        return total

    def _check_inputs(self, process: str, params: Mapping[str, Any]) -> None:
        missing = [p for p in self._process(process).parameters if p not in params]
        if missing:
            raise ValueError(f"{self.name}/{process}: missing parameter(s) {missing}")

    def log_prob(self, process: str, x: np.ndarray, params: Mapping[str, float]) -> np.ndarray:
        """Exact normalised log p(x | params) of a process shape (no yield), float64.

        Off the support the result is -inf rather than NaN so a caller can mask such events.
        """
        self._check_inputs(process, params)
        arr = np.asarray(x, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != len(self.variables):
            raise ValueError(
                f"{self.name}: x must have shape (n, {len(self.variables)}), got {arr.shape}"
            )
        cols = [arr[:, i] for i in range(arr.shape[1])]
        values = {k: float(params[k]) for k in self._process(process).parameters}
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out = self._log_density(_numpy_ops(), process, cols, values)
        return np.broadcast_to(np.asarray(out, dtype=np.float64), (arr.shape[0],)).copy()

    def log_prob_tf(self, process: str, x: Any, params: Mapping[str, Any]) -> tf.Tensor:
        """Same as log_prob in TensorFlow float64, differentiable w.r.t. the parameter values.

        Gradients stay finite for every event inside the support, also when the batch contains
        off-support events (their value is -inf with zero gradient).
        """
        import tensorflow as tf

        self._check_inputs(process, params)
        xt = tf.cast(tf.convert_to_tensor(x), tf.float64)
        if xt.shape.rank != 2 or xt.shape[1] != len(self.variables):
            raise ValueError(
                f"{self.name}: x must have shape (n, {len(self.variables)}), got {xt.shape}"
            )
        cols = [xt[:, i] for i in range(len(self.variables))]
        values = {k: tf.cast(params[k], tf.float64) for k in self._process(process).parameters}
        out = self._log_density(_tf_ops(), process, cols, values)
        return tf.broadcast_to(out, tf.shape(xt)[:1])

    # ---- analysis config -------------------------------------------------------------------
    def _validation_loop(self) -> list[dict[str, float]]:
        return [{POI: float(v)} for v in VALIDATION_VALUES]

    def _default_point(self) -> dict[str, float]:
        point = {POI: DEFAULT_Y}
        point.update({f"mu_{r}": DEFAULT_MU for r in self._rate_parameters})
        return point

    def analysis_config(self, input_dir: str) -> dict[str, Any]:
        """The INNFER analysis config implied by the scenario, ready for yaml.safe_dump.

        The nominal (default) point is always part of the validation loop: downstream steps
        look it up there, and the original varying-yield config crashed for lacking it.
        """
        loop = self._validation_loop()
        if self._default_point() not in loop:
            loop.append(self._default_point())
        models: dict[str, Any] = {}
        validation_files: dict[str, Any] = {}
        drop: dict[str, Any] = {}
        files: dict[str, Any] = {}
        for p in self._procs:
            models[p.name] = {
                "density_models": [
                    {
                        "parameters": list(p.parameters),
                        "file": p.file_base,
                        "shifts": {},
                        "n_copies": 1,
                    }
                ],
                "yields": [{"file": p.file_base}],
            }
            validation_files[p.name] = [{"file": p.file_base}]
            drop[p.name] = {POI: list(DROP_FROM_TRAINING)} if POI in p.parameters else {}
            files[p.file_base] = {
                "inputs": [os.path.join(input_dir, f"{p.stem}.parquet")],
                "weight": "wt",
                "parameters": list(p.parameters),
            }
        return {
            "name": f"Benchmark_{self.name}",
            "variables": list(self.variables),
            "pois": [POI],
            "nuisances": [],
            "default_values": {POI: DEFAULT_Y},
            "inference": {
                "nuisance_constraints": [],
                "rate_parameters": list(self._rate_parameters),
                "lnN": {},
            },
            "models": models,
            "validation": {"loop": loop, "files": validation_files},
            "preprocess": {
                "train_test_val_split": self._split,
                "drop_from_training": drop,
                "save_extra_columns": {},
            },
            "files": files,
            "data_file": os.path.join(input_dir, "data.parquet"),
        }


class Dim1Gaussian(Benchmark):
    """X1 ~ N(Y1, (0.01 Y1)^2): the simplest closure test."""

    name = "Dim1Gaussian"
    variables = ["X1"]
    _procs = (_Process("Gaussian", "base", "Gaussian", (POI,)),)


def _n_signal_rounded(n: int) -> int:
    """round(0.3 n) in exact integer arithmetic (half up), immune to float representation."""
    return (3 * n + 5) // 10


class Dim1GaussianWithExpBkg(Benchmark):
    """A fixed 30/70 mix of the Gaussian peak and the truncated exponential in one process."""

    name = "Dim1GaussianWithExpBkg"
    variables = ["X1"]
    _procs = (_Process("GaussianWithExpBkg", "base", "GaussianWithExpBkg", (POI,)),)

    def sample_x(self, rng: np.random.Generator, y: np.ndarray) -> np.ndarray:
        # Exactly round(0.3 n) signal events at random positions, so the mixture fraction is
        # not itself a random variable of the sample.
        n = y.shape[0]
        signal = np.zeros(n, dtype=bool)
        signal[rng.choice(n, size=_n_signal_rounded(n), replace=False)] = True
        x = np.empty(n)
        x[signal] = sample_gaussian(rng, y[signal])
        x[~signal] = sample_background(rng, int((~signal).sum()))
        return x[:, None]

    def _log_density(self, ops: _Ops, process: str, cols: Sequence[Any], params: Any) -> Any:
        return log_mixture(ops, cols[0], params[POI])


class Dim1GaussianWithExpBkgVaryingYield(Benchmark):
    """Gaussian signal and exponential background as separate processes with a free signal rate.

    This is the scenario that exercises rate parameters: the fit must recover mu_Gaussian = 0.3
    from 300 signal events on top of 1000 background events.
    """

    name = "Dim1GaussianWithExpBkgVaryingYield"
    variables = ["X1"]
    _procs = (
        _Process("Gaussian", "base_gaussian", "Gaussian", (POI,)),
        _Process("ExpBkg", "base_expbkg", "ExpBkg", ()),
    )
    _split = "0.8:0.1:0.1"
    _rate_parameters = ("Gaussian",)

    def true_parameters(self) -> dict[str, float]:
        """Data truth including the signal rate (signal = 0.3 x background count)."""
        return {POI: DATA_Y, RATE_PARAMETER: SIGNAL_FRACTION}

    def simulate(self, n_events: int, seed: int) -> dict[str, pd.DataFrame]:
        """Simulate n_events of each process; the background carries no parameter column."""
        n = _check_n(n_events)
        rng = np.random.default_rng(seed)
        y = rng.choice(np.asarray(TRUE_VALUES), size=n)
        signal = self._frame({POI: y, "X1": sample_gaussian(rng, y), "wt": _weights_per_value(y)})
        bkg = self._frame({"X1": sample_background(rng, n), "wt": np.full(n, SUM_WEIGHTS / n)})
        return {"Gaussian": signal, "ExpBkg": bkg}

    def simulate_data(self, n_events: int, seed: int) -> pd.DataFrame:
        """Data of n_events background plus int(0.3 n_events) signal events, shuffled."""
        n = _check_n(n_events)
        rng = np.random.default_rng(seed)
        n_signal = (3 * n) // 10  # int(0.3 n) without float rounding surprises
        x = np.concatenate(
            [sample_gaussian(rng, np.full(n_signal, DATA_Y)), sample_background(rng, n)]
        )
        return self._frame({"X1": x[rng.permutation(x.shape[0])]})

    def _log_density(self, ops: _Ops, process: str, cols: Sequence[Any], params: Any) -> Any:
        if process == "Gaussian":
            return log_gaussian(ops, cols[0], params[POI])
        return log_background(ops, cols[0])

    def _validation_loop(self) -> list[dict[str, float]]:
        return [
            {POI: float(v), RATE_PARAMETER: float(mu)}
            for v in VALIDATION_VALUES
            for mu in VALIDATION_MU
        ]


class Dim2(Benchmark):
    """X1 Gaussian and X2 chi-squared, independent given Y1."""

    name = "Dim2"
    variables = ["X1", "X2"]
    _procs = (_Process("Signal", "base", "Signal", (POI,)),)


class Dim5(Benchmark):
    """Five independent observables with differently shaped Y1 dependences."""

    name = "Dim5"
    variables = ["X1", "X2", "X3", "X4", "X5"]
    _procs = (_Process("Signal", "base", "Signal", (POI,)),)
    _split = "0.8:0.1:0.1"


_REGISTRY: dict[str, type[Benchmark]] = {
    cls.name: cls
    for cls in (
        Dim1Gaussian,
        Dim1GaussianWithExpBkg,
        Dim1GaussianWithExpBkgVaryingYield,
        Dim2,
        Dim5,
    )
}


def get_benchmark(name: str) -> Benchmark:
    """Return the scenario by name; unknown names fail loudly with the valid choices."""
    try:
        return _REGISTRY[name]()
    except KeyError:
        raise ValueError(f"unknown benchmark {name!r}; valid: {', '.join(SCENARIOS)}") from None
