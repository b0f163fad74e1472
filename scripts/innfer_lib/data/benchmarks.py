"""Analytic benchmark scenarios of INNFER: simulation, analysis config and exact densities.

The benchmarks exist so that a trained density model and the full inference chain can be checked
against a known truth. A scenario (`Benchmark` and its subclasses, by name from `get_benchmark`)
fixes the processes, files and parameter points of INNFER's benchmark configs and combines the
exact densities and samplers of `benchmark_densities` into simulated files, pseudo-data, the
analysis config and log p(x | Y1) in numpy or TensorFlow.

Heavy libraries (pandas, scipy, tensorflow) are imported lazily inside the functions that need
them: Snakemake imports this module while parsing the workflow, where seconds of import time for
every rule would add up.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from innfer_lib.core.errors import ConfigError
from innfer_lib.data.benchmark_densities import (
    SIGNAL_FACTORS,
    SIGNAL_FRACTION,
    Ops,
    log_background,
    log_gaussian,
    log_mixture,
    log_shape_weight,
    log_shape_weight_expression,
    log_unit_gaussian,
    numpy_ops,
    sample_background,
    sample_gaussian,
    sample_shape_x2,
    sample_signal,
    shape_slope,
    tf_ops,
)

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
#: Validation values of mu_Gaussian for the varying-yield scenario.
VALIDATION_MU: tuple[float, ...] = (0.2, 0.4)
#: Rate parameters default to 1 in INNFER, so that is the nominal validation point.
DEFAULT_MU: float = 1.0

SCENARIOS: tuple[str, ...] = (
    "Dim1Gaussian",
    "Dim1GaussianWithExpBkg",
    "Dim1GaussianWithExpBkgVaryingYield",
    "Dim2",
    "Dim5",
    "Dim2GaussianWithShapeNuisance",
)


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
    #: INNFER's layout puts every event of a DROP_FROM_TRAINING value into validation, so those
    #: points get 1/val_fraction times the events of the others. When set, those values are
    #: drawn only as often as the validation split of a training value holds
    #: (`_value_probabilities`).
    _size_validation_only_values: bool = False

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

    def density_parameters(self, process: str) -> list[str]:
        """Parameters the exact density depends on: the shape ones plus weight-only nuisances.

        A nuisance carried only by event weights is no parameter of the process's files or of
        its learned density (a ratio model adds it), but the analytic truth depends on it.
        """
        return self.process_parameters(process)

    def weight_ratio(self, process: str, parameter: str) -> tuple[list[str], Any]:
        """The exact ln r(x, ν) + ln S(ν) of a weight-only nuisance (`ratios.exact`).

        Returns the observables it reads and a function of (their columns, ν) written in
        plain arithmetic, so numpy arrays and TensorFlow tensors both work.

        Raises:
            ValueError: the scenario has no such weight-only nuisance.
        """
        raise ValueError(f"{self.name}/{process}: no weight-only nuisance {parameter!r}")

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

    def sample_point(
        self, rng: np.random.Generator, n: int, params: Mapping[str, float]
    ) -> np.ndarray:
        """Draw n events at one point of `density_parameters` (for TrueDensity.sample)."""
        return self.sample_x(rng, np.full(int(n), float(params[POI])))

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
        y = rng.choice(np.asarray(TRUE_VALUES), size=n, p=self._value_probabilities())
        x = self.sample_x(rng, y)
        columns = {POI: y, **{v: x[:, i] for i, v in enumerate(self.variables)}}
        columns["wt"] = _weights_per_value(y)
        return {self._procs[0].stem: self._frame(columns)}

    def _value_probabilities(self) -> np.ndarray | None:
        """How often each TRUE_VALUES entry is drawn: uniformly (None), or sized validation.

        Sized: a validation-only value is drawn val_fraction times as often as a training
        value, so every validation point holds about as many events as the validation split
        of a training value, and all of them are a small fraction of the training set. A
        learned-vs-true closure then compares the model's error with the statistical error of
        a sample much smaller than the one it learned from, as for an analysis's data.
        """
        if not self._size_validation_only_values:
            return None
        shares = [float(v) for v in self._split.split(":")]
        val_share = shares[2] / sum(shares)
        p = np.array([val_share if v in DROP_FROM_TRAINING else 1.0 for v in TRUE_VALUES])
        return p / p.sum()

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
    def _log_density(self, ops: Ops, process: str, cols: Sequence[Any], params: Any) -> Any:
        """Sum of the independent factors of the signal density; subclasses may override."""
        y = params[POI]
        factors = SIGNAL_FACTORS[: len(cols)]
        total = factors[0](ops, cols[0], y)
        for factor, col in zip(factors[1:], cols[1:], strict=True):
            total = total + factor(ops, col, y)
        return total

    def _check_inputs(self, process: str, params: Mapping[str, Any]) -> None:
        missing = [p for p in self.density_parameters(process) if p not in params]
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
        values = {k: float(params[k]) for k in self.density_parameters(process)}
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out = self._log_density(numpy_ops(), process, cols, values)
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
        # dtype_hint: a Python float would otherwise become float32 before the cast.
        values = {
            k: tf.cast(tf.convert_to_tensor(params[k], dtype_hint=tf.float64), tf.float64)
            for k in self.density_parameters(process)
        }
        out = self._log_density(tf_ops(), process, cols, values)
        return tf.broadcast_to(out, tf.shape(xt)[:1])

    # ---- analysis config -------------------------------------------------------------------
    def _validation_loop(self) -> list[dict[str, float]]:
        return [{POI: float(v)} for v in VALIDATION_VALUES]

    def _default_point(self) -> dict[str, float]:
        point = {POI: DEFAULT_Y}
        point.update({f"mu_{r}": DEFAULT_MU for r in self._rate_parameters})
        return point

    def analysis_config(self, input_dir: str, ratio_model: str | None = None) -> dict[str, Any]:
        """The INNFER analysis config implied by the scenario, ready for yaml.safe_dump.

        The nominal (default) point is always part of the validation loop: downstream steps
        look it up there, and the original varying-yield config crashed for lacking it.

        Raises:
            ConfigError: `ratio_model` given for a scenario without a weight-only nuisance.
        """
        if ratio_model is not None:
            raise ConfigError(
                f"benchmark.ratio_model: {ratio_model!r} is for a weight-only nuisance, and "
                f"{self.name} has none (Dim2GaussianWithShapeNuisance has)"
            )
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

    def _log_density(self, ops: Ops, process: str, cols: Sequence[Any], params: Any) -> Any:
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

    def _log_density(self, ops: Ops, process: str, cols: Sequence[Any], params: Any) -> Any:
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


#: The weight-only nuisance of Dim2GaussianWithShapeNuisance and its value in the pseudo-data.
SHAPE_NUISANCE = "nu"
DATA_NU: float = 0.3
#: Range of ν the ratio model is trained on (a continuous shift, flat in ν).
SHAPE_NU_RANGE: tuple[float, float] = (-3.0, 3.0)
#: The models that can learn ν's weight ratio (`benchmark.ratio_model`).
RATIO_MODELS = ("regression", "classifier")
#: Draws of ν per event in the ratio model's training set.
SHAPE_NU_COPIES = 2


class Dim2GaussianWithShapeNuisance(Benchmark):
    """Dim1Gaussian's X1 plus an X2 ~ N(0, 1) that a weight-only nuisance ν tilts.

    The simulation carries no ν: INNFER users write it as a `weight_shifts` entry, w(ν) =
    w r(x, ν) with ln r = aν + ν g(X1) X2 − ν² g(X1)²/2 (`benchmark_densities`), and model
    it with a regression (or classifier) of r outside the flow, the flow seeing Y1 only.
    Weighting by r moves X2 to N(ν g(X1), 1) and scales the yield by e^{aν} exactly, for every
    Y1, so p(x | Y1, ν) = N(X1; Y1, (0.01 Y1)²) N(X2; ν g(X1), 1) is exact and a ratio
    model r·S(ν) with S = e^{−aν} reproduces it exactly: a closure test of the ratio chain.

    A normalisation independent of Y1 has a price: the per-event ∂²ln p/∂Y1∂ν vanishes, so
    ν and Y1 are uncorrelated in the shape. Any r with a Y1-dependent normalisation (e.g. a
    tilt of X1) correlates them, but then no r(x, ν) S(ν) model is exact (S cannot depend on
    Y1), and the benchmark could no longer tell a modelling error from a learning error.

    Its validation points are sized like the validation split of a training value (0.8:0.1:0.1,
    `_size_validation_only_values`): with INNFER's layout a point held out of training gets all
    its value's events, 1/6 of the whole training set at 0.4:0.3:0.3, and a learned-vs-true
    shift within 0.25 σ_T there asks the flow for an X1 mean good to 0.004 GeV at 200k events,
    below the ±0.007 GeV statistical error of its own training sample.
    """

    name = "Dim2GaussianWithShapeNuisance"
    variables = ["X1", "X2"]
    _procs = (_Process("Signal", "base", "Signal", (POI,)),)
    _split = "0.8:0.1:0.1"
    _size_validation_only_values = True

    def density_parameters(self, process: str) -> list[str]:
        return [*self.process_parameters(process), SHAPE_NUISANCE]

    def weight_ratio(self, process: str, parameter: str) -> tuple[list[str], Any]:
        """The exact ln r + ln S of ν: the columns it reads and f(cols, ν) (any backend)."""
        self._process(process)
        if parameter != SHAPE_NUISANCE:
            raise ValueError(f"{self.name}/{process}: no weight-only nuisance {parameter!r}")
        return list(self.variables), lambda cols, nu: log_shape_weight(cols[0], cols[1], nu)

    def true_parameters(self) -> dict[str, float]:
        return {POI: DATA_Y, SHAPE_NUISANCE: DATA_NU}

    def sample_x(self, rng: np.random.Generator, y: np.ndarray, nu: float = 0.0) -> np.ndarray:
        """Draw (X1, X2) given per-event Y1 at one ν (the nominal simulation has ν = 0)."""
        x1 = sample_gaussian(rng, y)
        return np.column_stack([x1, sample_shape_x2(rng, x1, nu)])

    def sample_point(
        self, rng: np.random.Generator, n: int, params: Mapping[str, float]
    ) -> np.ndarray:
        y = np.full(int(n), float(params[POI]))
        return self.sample_x(rng, y, float(params[SHAPE_NUISANCE]))

    def simulate_data(self, n_events: int, seed: int) -> pd.DataFrame:
        """Pseudo-data at Y1 = DATA_Y and ν = DATA_NU (X columns only, exactly n_events)."""
        n = _check_n(n_events)
        rng = np.random.default_rng(seed)
        x = self.sample_x(rng, np.full(n, DATA_Y), DATA_NU)
        return self._frame({v: x[:, i] for i, v in enumerate(self.variables)})

    def _log_density(self, ops: Ops, process: str, cols: Sequence[Any], params: Any) -> Any:
        x1, x2 = cols
        nu = params[SHAPE_NUISANCE]
        return log_gaussian(ops, x1, params[POI]) + log_unit_gaussian(x2, nu * shape_slope(x1))

    def _validation_loop(self) -> list[dict[str, float]]:
        loop = [{POI: float(v), SHAPE_NUISANCE: 0.0} for v in VALIDATION_VALUES]
        return loop + [{POI: DEFAULT_Y, SHAPE_NUISANCE: nu} for nu in (-1.0, 1.0)]

    def _default_point(self) -> dict[str, float]:
        return {POI: DEFAULT_Y, SHAPE_NUISANCE: 0.0}

    def analysis_config(self, input_dir: str, ratio_model: str | None = None) -> dict[str, Any]:
        """The base config plus ν: a weight shift of the file and a ratio model of it.

        Args:
            input_dir: Directory of the simulated files.
            ratio_model: "regression" (the default) or "classifier": which model learns r.

        Raises:
            ConfigError: another `ratio_model`.
        """
        kind = ratio_model or "regression"
        if kind not in RATIO_MODELS:
            raise ConfigError(
                f"benchmark.ratio_model: {ratio_model!r} is not one of {list(RATIO_MODELS)}"
            )
        raw = super().analysis_config(input_dir)
        nu = SHAPE_NUISANCE
        (proc,) = self._procs
        raw["nuisances"] = [nu]
        raw["default_values"][nu] = 0.0
        raw["inference"]["nuisance_constraints"] = [nu]
        x1, x2 = self.variables
        raw["files"][proc.file_base]["weight_shifts"] = {
            nu: f"exp({log_shape_weight_expression(nu, x1, x2)})"
        }
        raw["models"][proc.name][f"{kind}_models"] = [
            {
                "parameter": nu,
                "file": proc.file_base,
                "shifts": {nu: {"type": "continuous", "range": list(SHAPE_NU_RANGE)}},
                "n_copies": SHAPE_NU_COPIES,
                # r does not depend on Y1: learn it from the training events of every Y1
                # (the default point itself is a validation value, kept out of training).
                "pool_over": [POI],
            }
        ]
        return raw


_REGISTRY: dict[str, type[Benchmark]] = {
    cls.name: cls
    for cls in (
        Dim1Gaussian,
        Dim1GaussianWithExpBkg,
        Dim1GaussianWithExpBkgVaryingYield,
        Dim2,
        Dim5,
        Dim2GaussianWithShapeNuisance,
    )
}


def get_benchmark(name: str) -> Benchmark:
    """Return the scenario by name; unknown names fail loudly with the valid choices."""
    try:
        return _REGISTRY[name]()
    except KeyError:
        raise ValueError(f"unknown benchmark {name!r}; valid: {', '.join(SCENARIOS)}") from None


def benchmark_analysis_config(spec: Mapping[str, Any], input_dir: str) -> dict[str, Any]:
    """The analysis config of the workflow config's ``benchmark`` block.

    The workflow (at parse time) and MakeBenchmark (which writes it next to the events) both
    call this, so they cannot disagree. ``benchmark.preprocess`` is merged over the scenario's
    own ``preprocess`` block, so a preprocessing option (a pre-transform, say) can be tried on
    a benchmark; the analysis schema then checks its keys like any user's.
    """
    raw = get_benchmark(spec["name"]).analysis_config(input_dir, spec.get("ratio_model"))
    raw["preprocess"].update(spec.get("preprocess") or {})
    return raw
