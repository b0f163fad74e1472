"""Pseudo-datasets (toys) for coverage studies: extended-likelihood samples at a known truth.

A toy is what an experiment would record if the model were right: per category the total
count is Poisson(Σ_p ν_p(θ_true)), split among the processes in proportion to their expected
yields (a multinomial, so each process count is itself Poisson(ν_p)), each event drawn from
its process's density at the truth and unweighted. Fitting many of them measures how often
an interval contains the truth (coverage) and how the best fit scatters (pulls).

Toys are drawn from a generator density (a benchmark's true density when there is one, the
learned flow otherwise) and fitted with each density source of the fit set; every source sees
the same toys, so the learned flow's coverage is compared with the true density's on the same
data. Each toy's seed comes from (seed, fit set, point, toy index) only, never from the job's
batch layout or the fitting density, so a rerun, a different `per_job` or another density
gives the same events.

Works on `Sampler`s (numbers in, numbers out); no TensorFlow here.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from innfer_lib.core.errors import ConfigError, DataError
from innfer_lib.data.yields import expected_yield
from innfer_lib.density.sampling import Sampler, batch_seed

#: Draws of a process's events until every one is finite; a density that keeps producing
#: NaN or infinite events after this many rounds is not usable for toys.
MAX_REDRAWS = 20


def toy_seed(seed: int, fit: str, val: int, toy: int) -> int:
    """The seed of one toy: the user's seed, the fit set, the point and the toy index.

    The fit set's name enters through its CRC-32 (stable across Python runs, unlike `hash`),
    so two fit sets with toys at the same point draw independent toys.
    """
    return batch_seed(int(seed), zlib.crc32(fit.encode()), int(val), int(toy))


@dataclass
class ToyProcess:
    """One process of one category as the toy generator sees it."""

    name: str
    sampler: Sampler
    #: The process's parameters.yaml: the yields (`expected_yield`) and the X columns.
    parameters: Mapping[str, Any]


@dataclass
class Toy:
    """One pseudo-dataset: per category unweighted events, and the counts that made them."""

    index: int
    seed: int
    events: dict[str, np.ndarray]
    counts: dict[str, dict[str, int]]

    def weights(self, category: str) -> np.ndarray:
        """Unit weights: a toy is a counted dataset, not a weighted simulation."""
        return np.ones(len(self.events[category]), np.float64)


def expected_yields(
    processes: Sequence[ToyProcess], truth: Mapping[str, float]
) -> dict[str, float]:
    """ν_p(θ_true) per process (rate parameters and lnN nuisances included).

    Raises:
        DataError: a yield that is negative or not finite, naming the process.
    """
    out = {}
    for p in processes:
        value = float(expected_yield(p.parameters, truth))
        if not np.isfinite(value) or value < 0:
            raise DataError(f"toys: expected yield of '{p.name}' at {dict(truth)} is {value}")
        out[p.name] = value
    return out


def _finite_draw(process: ToyProcess, n: int, point: Mapping[str, float], seed: int) -> np.ndarray:
    """n finite events of one process; rows with NaN or infinities are redrawn, not dropped,
    so the toy keeps its Poisson count."""
    n_x = len(process.parameters["density"]["X_columns"])
    kept: list[np.ndarray] = []
    missing = n
    for attempt in range(MAX_REDRAWS):
        if missing == 0:
            break
        x = np.asarray(process.sampler.sample(missing, point, batch_seed(seed, attempt)))
        x = x.reshape(missing, n_x).astype(np.float64)
        good = x[np.all(np.isfinite(x), axis=1)]
        kept.append(good)
        missing -= len(good)
    if missing:
        raise DataError(
            f"toys: the density of '{process.name}' gave non-finite events at {dict(point)} "
            f"in {MAX_REDRAWS} rounds of draws"
        )
    return np.concatenate(kept) if kept else np.empty((0, n_x))


def draw_toy(
    categories: Mapping[str, Sequence[ToyProcess]],
    truth: Mapping[str, float],
    index: int,
    seed: int,
) -> Toy:
    """One toy: Poisson total per category, multinomial split, events at the truth.

    Args:
        categories: the generator's processes per category.
        truth: the point's parameters (density parameters, rate parameters, nuisances).
        index: the toy's index (recorded).
        seed: the toy's seed (`toy_seed`); category c, process p draw with
            `batch_seed(seed, c, p)` and the counts with the seed itself.

    Raises:
        ConfigError: a generator whose events carry weights (a density with ratio models
            gives weighted draws, and a toy must be unweighted).
        DataError: a category with no expected events.
    """
    rng = np.random.default_rng(seed)
    events: dict[str, np.ndarray] = {}
    counts: dict[str, dict[str, int]] = {}
    for c_index, (category, processes) in enumerate(categories.items()):
        yields = expected_yields(processes, truth)
        total = sum(yields.values())
        if total <= 0:
            raise DataError(f"toys: category '{category}' expects no events at {dict(truth)}")
        n = int(rng.poisson(total))
        split = rng.multinomial(n, [yields[p.name] / total for p in processes])
        parts = []
        for p_index, (process, n_p) in enumerate(zip(processes, split, strict=True)):
            if getattr(process.sampler, "event_weights", None) is not None:
                raise ConfigError(
                    f"toys: '{process.name}' in '{category}' has ratio models, whose draws are "
                    "weighted; toys need unweighted events (use the true density of a benchmark)"
                )
            point = {q: float(truth[q]) for q in process.sampler.parameters}
            draw_seed = batch_seed(seed, c_index, p_index)
            parts.append(_finite_draw(process, int(n_p), point, draw_seed))
        x = np.concatenate(parts)
        # Shuffled, so no code can rely on the process order of the events.
        events[category] = x[rng.permutation(len(x))]
        counts[category] = {p.name: int(k) for p, k in zip(processes, split, strict=True)}
    return Toy(index=int(index), seed=int(seed), events=events, counts=counts)


def toy_indices(n_toys: int, per_job: int, batch: int) -> range:
    """The toy indices of one batch job: [batch·per_job, min(n_toys, (batch+1)·per_job))."""
    start = batch * per_job
    if batch < 0 or start >= n_toys:
        raise ValueError(f"batch {batch} is outside the {n_batches(n_toys, per_job)} batches")
    return range(start, min(n_toys, start + per_job))


def n_batches(n_toys: int, per_job: int) -> int:
    """How many batch jobs fit `n_toys` toys, `per_job` each (the last may be shorter)."""
    return -(-int(n_toys) // int(per_job))
