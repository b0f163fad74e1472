"""Synthetic datasets drawn from a density model: MakeAsimov and EvaluateDensity (spec §3, §7).

An "Asimov" dataset stands in for the expected data at one parameter point: many events drawn
from the density, weighted so that together they carry exactly the expected yield. Validation
plots and metrics compare it with the simulated validation events at the same point, and the
Asimov fits use it as pseudo-data.

Everything here works with any object that states the `Sampler` contract (its parameters and
``sample(n, params, seed) -> (n, n_x) array`` in physical units): a `LearnedDensity`, a
benchmark's `TrueDensity`, a test double, so the logic can be tested without TensorFlow.
EvaluateDensity also asks a `DensitySampler` for the flow behind it, which it samples with
one condition row per event.

Reproducibility: every sampling call gets its own seed derived from the user's seed and the
call's index (`batch_seed`), and nothing reads a global random state. The result is therefore
fixed by (seed, batch_size): the same pair always gives the same events, but a different batch
size gives a different (equally valid) sample, because each call draws its own latent stream.
The workflow passes a fixed batch size (not one that depends on CPU or GPU), so outputs do not
change with the hardware; INNFER's batch size came from EVENTS_PER_BATCH, which did.

Differences from INNFER, on purpose:
* capping uses only the raw training range (`initial_minmax`); INNFER also cut on the
  transformed range first, which for a plain standardisation is the same box;
* rows with NaN or infinite values are dropped, not redrawn once; the weights are then
  rescaled, so Σwt equals the yield whatever was dropped;
* a density with ratio models (`ratios.reweighted.ReweightedDensity`) is sampled at nominal
  weights and each event's weight multiplied by its `event_weights` (r·S) before the common
  rescaling to the yield, as INNFER's MakeAsimov did (`--no-spline` and the classifier options
  do not exist: S cancels in the rescaling of a single-process Asimov anyway).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import pandas as pd

from innfer_lib.core.errors import DataError
from innfer_lib.data.schema import WEIGHT
from innfer_lib.data.yields import expected_yield

DEFAULT_ASIMOV_SCALE = 100.0
DEFAULT_BATCH_SIZE = 100_000
# Relative slack when rounding yield × scale up: 0.3 × 10 is 3.0000000000000004 in floating
# point, and a plain ceil would ask for 4 events instead of 3.
_CEIL_SLACK = 1e-12
_SEED_BITS = 31


class Sampler(Protocol):
    """What `make_asimov` needs from a density: its parameters and draws at one point."""

    #: Names of the parameters the density depends on; ``sample`` is given exactly these.
    parameters: list[str]

    def sample(self, n: int, params: Mapping[str, float], seed: int) -> np.ndarray:
        """Return ``n`` events of shape (n, n_x) in physical units, reproducibly for ``seed``."""


class ConditionalSampler(Protocol):
    """A flow in standardised space, such as `innfer_lib.density.flow.ConditionalFlow`."""

    def sample(self, cond: np.ndarray, seed: int) -> Any:
        """One standardised x per row of ``cond``, shape (n, n_x) (array or tensor)."""


class DensitySampler(Sampler, Protocol):
    """What `evaluate_density` needs: a `Sampler` and, for a learned density, its flow.

    `innfer_lib.density.models.Density` states the same members, so every density is one.
    """

    @property
    def flow(self) -> ConditionalSampler | None:
        """The flow behind the density (sampled per event), or None (sampled per point)."""


def asimov_event_count(
    expected_yield: float, n_events: int | None = None, scale: float | None = None
) -> int:
    """Number of events to draw for an Asimov dataset (INNFER's MakeAsimov rule).

    INNFER either draws a fixed number of events (normalisation-spline Asimovs, metrics) or
    scales the count with the yield, so that each synthetic event carries about 1/scale of an
    expected event and a bigger process gets proportionally more statistics.

    Args:
        expected_yield: Expected number of events of the process at the point (≥ 0).
        n_events: Fixed number of events.
        scale: Events per expected event; the count is ceil(yield × scale).

    Returns:
        The number of events, ≥ 0 (0 only for a zero yield with ``scale``).

    Raises:
        ValueError: Neither or both of ``n_events`` and ``scale`` are given, or a value is
            negative, not finite or (for ``n_events``) not an integer.
    """
    if n_events is not None and scale is None:
        if isinstance(n_events, bool) or int(n_events) != n_events or n_events < 0:
            raise ValueError(f"n_events must be a non-negative integer, got {n_events!r}")
        return int(n_events)
    if n_events is not None or scale is None:
        raise ValueError("give exactly one of n_events and scale")
    yield_value = float(expected_yield)
    scale_value = float(scale)
    if not math.isfinite(yield_value) or yield_value < 0:
        raise ValueError(f"expected yield must be finite and non-negative, got {expected_yield!r}")
    if not math.isfinite(scale_value) or scale_value <= 0:
        raise ValueError(f"scale must be finite and positive, got {scale!r}")
    return int(math.ceil(yield_value * scale_value * (1.0 - _CEIL_SLACK)))


def asimov_event_count_from_options(
    parameters: Mapping[str, Any], point: Mapping[str, float], options: Mapping[str, Any]
) -> int:
    """Events to draw for a process's Asimov dataset at a point, from the `asimov` options.

    A fixed ``n_events``, when given, replaces the scaling of the expected yield by ``scale``
    (the workflow schema's `asimov` block; `asimov_event_count` does the counting).

    Args:
        parameters: The process's ``parameters.yaml`` (its yields).
        point: The parameter values the yield is taken at.
        options: ``n_events`` (or None) and ``scale``.
    """
    scale = None if options["n_events"] else options["scale"]
    return asimov_event_count(
        expected_yield(parameters, point), n_events=options["n_events"], scale=scale
    )


class WeightedSampler(Sampler, Protocol):
    """A `Sampler` whose draws carry per-event weights (a density with ratio models)."""

    def event_weights(self, x: np.ndarray, params: Mapping[str, float]) -> np.ndarray:
        """Relative weight of each of the events x (shape (n, n_x)) at params."""


def batch_seed(seed: int, *indices: int) -> int:
    """Seed of one sampling call, derived from the user's seed and the call's indices.

    Consecutive integers as seeds would make two datasets whose seeds differ by one share all
    but one batch; hashing through `numpy.random.SeedSequence` gives independent streams. The
    value stays below 2**31 so every backend (TF's stateless ops included) takes it.
    """
    if isinstance(seed, bool) or int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    state = np.random.SeedSequence([int(seed), *(int(i) for i in indices)]).generate_state(
        1, np.uint64
    )
    return int(state[0] >> np.uint64(64 - _SEED_BITS))


def training_box(
    parameters: Mapping[str, Any], columns: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Raw (physical) min and max of each training column, from ``initial_minmax``.

    Raises:
        KeyError: ``initial_minmax`` lacks a column, naming it, because capping without the
            range would silently keep everything.
    """
    ranges = parameters["density"]["initial_minmax"]
    missing = [c for c in columns if c not in ranges]
    if missing:
        raise KeyError(f"density.initial_minmax has no range for {missing}")
    lo = np.array([float(ranges[c]["min"]) for c in columns])
    hi = np.array([float(ranges[c]["max"]) for c in columns])
    return lo, hi


def parameter_ranges(parameters: Mapping[str, Any]) -> dict[str, tuple[float, float]]:
    """(low, high) of each parameter the density is conditioned on, where it is meaningful.

    The training range (for a shifted nuisance the shift's support) when PreProcess recorded
    one, else the min and max of the training events (``initial_minmax``).
    """
    density = parameters.get("density") or {}
    ranges = density.get("training_range") or {}
    out = {}
    for col in density.get("Y_columns", []):
        if col in ranges:
            low, high = (float(v) for v in ranges[col])
        else:
            mm = density["initial_minmax"][col]
            low, high = float(mm["min"]), float(mm["max"])
        out[col] = (low, high)
    return out


def _as_events(values: Any, n: int, n_x: int, where: str) -> np.ndarray:
    """Check a sampler's output and give it shape (n, n_x) in float64."""
    x = np.asarray(values, dtype=np.float64)
    if x.ndim == 1 and n_x == 1:
        x = x[:, None]
    if x.shape != (n, n_x):
        raise ValueError(f"{where}: expected samples of shape {(n, n_x)}, got {x.shape}")
    return x


def _point_params(sampler: Sampler, point: Mapping[str, float]) -> dict[str, float]:
    """The parameter values the sampler needs, failing with the names of missing ones."""
    missing = [p for p in sampler.parameters if p not in point]
    if missing:
        raise KeyError(f"the point {dict(point)} lacks the density parameter(s) {missing}")
    return {p: float(point[p]) for p in sampler.parameters}


def standardisation_arrays(
    stand: Mapping[str, Mapping[str, float]], columns: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Means and standard deviations of columns from ``density.standardisation``."""
    mean = np.array([float(stand[c]["mean"]) for c in columns])
    std = np.array([float(stand[c]["std"]) for c in columns])
    return mean, std


def _check_batch_size(batch_size: int) -> int:
    if isinstance(batch_size, bool) or int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    return int(batch_size)


def make_asimov(
    density: Sampler,
    parameters: Mapping[str, Any],
    point: Mapping[str, float],
    n_events: int,
    seed: int,
    batch_size: int = DEFAULT_BATCH_SIZE,
    cap: bool = True,
    add_truth: bool = False,
) -> pd.DataFrame:
    """Draw a weighted synthetic dataset at one parameter point (MakeAsimov, density only).

    Events are drawn in batches of ``batch_size`` (batch ``b`` with seed
    ``batch_seed(seed, b)``), so the result is fixed by (seed, batch_size). With ``cap``,
    events outside the raw training range of any X column are dropped: the flow was never
    trained there, and its tails can produce values the analysis could not contain. Rows with
    NaN or infinite values are always dropped. Every kept event gets the weight
    yield / n_kept, so Σwt is the expected yield at the point however many were dropped. A
    `WeightedSampler` (a density with ratio models) weights the kept events by its
    ``event_weights`` first; Σwt is still the yield.

    Args:
        density: A `Sampler`, such as any `innfer_lib.density.models.Density`.
        parameters: The process's ``parameters.yaml`` (``density.X_columns``,
            ``density.initial_minmax``, ``yields``, ``rate_parameter``).
        point: Parameter values: the density's parameters, and optionally the rate parameter
            and lnN nuisances, which set the yield.
        n_events: Number of events to draw (see `asimov_event_count`); fewer may be kept.
        seed: Non-negative integer seed.
        batch_size: Events per sampling call; part of what fixes the sample (see above).
        cap: Drop events outside ``initial_minmax``.
        add_truth: Append one column per entry of ``point`` holding its value, so a
            combined dataset still records where each event came from.

    Returns:
        A DataFrame with the X columns, ``wt`` and, with ``add_truth``, the point's parameters.
        ``attrs`` records ``n_sampled``, ``n_dropped`` and ``expected_yield``.

    Raises:
        KeyError: The point lacks a density parameter, or ``initial_minmax`` a column.
        ValueError: Bad ``n_events``, ``seed`` or ``batch_size``, a sampler output of the wrong
            shape, or a truth column that would overwrite an X column or the weight.
        DataError: The yield is negative or not finite, or no event survived the capping.
    """
    x_columns = list(parameters["density"]["X_columns"])
    params = _point_params(density, point)
    batch_size = _check_batch_size(batch_size)
    n = asimov_event_count(0.0, n_events=n_events)
    total = expected_yield(parameters, point)
    if not math.isfinite(total) or total < 0:
        raise DataError(f"expected yield at {dict(point)} is {total}; it must be finite and >= 0")
    if add_truth:
        clash = [k for k in point if k in x_columns or k == WEIGHT]
        if clash:
            raise ValueError(f"truth column(s) {clash} would overwrite X columns or the weight")
    lo, hi = training_box(parameters, x_columns) if cap else (None, None)

    kept: list[np.ndarray] = []
    for index, start in enumerate(range(0, n, batch_size)):
        size = min(batch_size, n - start)
        x = _as_events(
            density.sample(size, params, batch_seed(seed, index)),
            size,
            len(x_columns),
            f"batch {index}",
        )
        keep = np.all(np.isfinite(x), axis=1)
        if cap:
            keep &= np.all((x >= lo) & (x <= hi), axis=1)
        kept.append(x[keep])
    x = np.concatenate(kept) if kept else np.empty((0, len(x_columns)))

    if n and not len(x):
        raise DataError(
            f"none of the {n} events sampled at {dict(point)} is finite and inside the training "
            "range (density.initial_minmax); the density model is not usable there"
        )
    frame = pd.DataFrame(x, columns=x_columns)
    relative = np.ones(len(x))
    event_weights = getattr(density, "event_weights", None)
    if event_weights is not None and len(x):
        relative = np.asarray(event_weights(x, params), np.float64)
        if not np.all(np.isfinite(relative)) or relative.sum() <= 0:
            raise DataError(
                f"the ratio-model weights of the events sampled at {dict(point)} are not "
                "finite and positive in sum; the ratio models are not usable there"
            )
    frame[WEIGHT] = total * relative / relative.sum() if len(x) else 0.0
    if add_truth:
        for name, value in point.items():
            frame[name] = float(value)
    frame.attrs.update({"n_sampled": n, "n_dropped": n - len(x), "expected_yield": float(total)})
    return frame


def sample_conditional(
    flow: ConditionalSampler,
    y_physical: np.ndarray,
    parameters: Mapping[str, Any],
    seed: int,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> np.ndarray:
    """One physical-unit event per row of per-event parameters, from a conditional flow.

    `LearnedDensity.sample` takes one parameter point; EvaluateDensity needs a different θ for
    every event, which the flow itself supports (one condition row per event). This standardises
    θ with the ``parameters.yaml`` standardisation (the one the flow was trained with), calls
    ``flow.sample(cond, seed)`` in batches (batch ``b`` seeded with ``batch_seed(seed, b)``) and
    undoes the X standardisation.

    Args:
        flow: A `ConditionalSampler`, such as `innfer_lib.density.flow.ConditionalFlow`.
        y_physical: Parameter values per event, shape (n, n_Y) in the order of ``Y_columns``.
        parameters: The process's ``parameters.yaml``.
        seed: Non-negative integer seed.
        batch_size: Events per flow call.

    Returns:
        Samples of shape (n, n_x) in physical units.
    """
    info = parameters["density"]
    x_columns, y_columns = list(info["X_columns"]), list(info["Y_columns"])
    stand = info["standardisation"]
    batch_size = _check_batch_size(batch_size)
    y = np.asarray(y_physical, dtype=np.float64)
    # An unconditional density (no Y columns) still has one (empty) row per event.
    y = y.reshape(len(y), len(y_columns))
    y_mean, y_std = standardisation_arrays(stand, y_columns)
    x_mean, x_std = standardisation_arrays(stand, x_columns)
    cond = (y - y_mean) / y_std
    out = np.empty((len(y), len(x_columns)))
    for index, start in enumerate(range(0, len(y), batch_size)):
        stop = min(start + batch_size, len(y))
        draw = flow.sample(cond[start:stop], batch_seed(seed, index))
        out[start:stop] = _as_events(draw, stop - start, len(x_columns), f"batch {index}")
    return out * x_std + x_mean


def evaluate_density(
    density: DensitySampler,
    frame: pd.DataFrame,
    parameters: Mapping[str, Any],
    seed: int,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> pd.DataFrame:
    """One synthetic event per training/test row, at that row's parameters (EvaluateDensity).

    PlotDensity compares these with the simulated rows using the rows' own parameters and
    weights, so any mismatch is the density's, not a difference in the parameter mix. θ varies
    from row to row, so there is no capping (as in INNFER).

    A density with a ``flow`` (a `LearnedDensity`) is sampled once per batch with one
    condition row per event (`sample_conditional`). One without (``flow`` None) is sampled once per
    distinct θ (group ``g``, batch ``b`` seeded with ``batch_seed(seed, g, b)``, groups in
    sorted θ order), which is fast for the discrete θ values simulations usually have and
    correct, if slow, for continuous θ.

    Args:
        density: A `DensitySampler`, such as any `innfer_lib.density.models.Density`.
        frame: A stored train or test set: X and Y columns standardised with
            ``parameters["density"]["standardisation"]``, and ``wt``.
        parameters: The process's ``parameters.yaml``.
        seed: Non-negative integer seed.
        batch_size: Events per sampling call.

    Returns:
        A DataFrame with the synthetic X columns and the rows' Y columns, all in physical
        units, and the rows' ``wt``, in the row order of ``frame``.

    Raises:
        KeyError: ``frame`` lacks a Y column or ``wt``.
    """
    info = parameters["density"]
    x_columns, y_columns = list(info["X_columns"]), list(info["Y_columns"])
    stand = info["standardisation"]
    missing = [c for c in [*y_columns, WEIGHT] if c not in frame.columns]
    if missing:
        raise KeyError(f"the frame lacks column(s) {missing}")
    n = len(frame)
    y_std = frame[y_columns].to_numpy(np.float64).reshape(n, len(y_columns))
    y_mean, y_scale = standardisation_arrays(stand, y_columns)
    y = y_std * y_scale + y_mean

    if density.flow is not None:
        x = sample_conditional(density.flow, y, parameters, seed, batch_size)
    else:
        x = _sample_by_group(density, y, y_columns, len(x_columns), seed, batch_size)

    out = pd.DataFrame(x, columns=x_columns)
    for i, column in enumerate(y_columns):
        out[column] = y[:, i]
    out[WEIGHT] = frame[WEIGHT].to_numpy(np.float64)
    return out


def parameter_groups(
    y: np.ndarray, y_columns: Sequence[str]
) -> list[tuple[dict[str, float], np.ndarray]]:
    """Each distinct parameter row of ``y`` (sorted) with the indices of its events.

    Simulated sets hold few distinct points, so a density evaluated or sampled once per
    point instead of once per event is fast. Without parameters every event is one group.
    The events are split by one stable sort, so a set with one point per event (a
    continuously shifted nuisance) costs O(n log n), not one pass over the set per point.
    """
    n = len(y)
    if n == 0:
        return []
    if not y_columns:
        return [({}, np.arange(n))]
    groups, inverse, counts = np.unique(
        np.asarray(y).reshape(n, -1), axis=0, return_inverse=True, return_counts=True
    )
    by_group = np.split(np.argsort(inverse.reshape(-1), kind="stable"), np.cumsum(counts)[:-1])
    return [
        ({c: float(v) for c, v in zip(y_columns, row, strict=True)}, rows)
        for row, rows in zip(groups, by_group, strict=True)
    ]


def _sample_by_group(
    sampler: Sampler,
    y: np.ndarray,
    y_columns: Sequence[str],
    n_x: int,
    seed: int,
    batch_size: int,
) -> np.ndarray:
    """Sample every distinct parameter row once for all its events, then scatter back."""
    batch_size = _check_batch_size(batch_size)
    x = np.empty((len(y), n_x))
    for g, (params, rows) in enumerate(parameter_groups(y, y_columns)):
        for b, start in enumerate(range(0, len(rows), batch_size)):
            chunk = rows[start : start + batch_size]
            draw = sampler.sample(len(chunk), params, batch_seed(seed, g, b))
            x[chunk] = _as_events(draw, len(chunk), n_x, f"group {g} batch {b}")
    return x
