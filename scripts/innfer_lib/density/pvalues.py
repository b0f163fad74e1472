"""Goodness of fit of a density by toys (INNFER's PValue* steps, models.md §5).

A metric between the simulated events and a synthetic sample means little on its own. The
chain asks whether it is compatible with the same metric between two synthetic samples of
equal statistical power:

1. *sim vs synth*: the metric between the simulated sample and a reference synthetic sample
   (seeded, N_eff unit-weight events per validation point, as INNFER), which is kept;
2. *synth vs synth*: per toy t, the metric between a fresh synthetic sample and the same
   reference; toys run in batches, one job per batch. INNFER's toys had N_eff unit-weight
   events; here a toy has as many events as the simulated sample, carrying the simulated
   weights in a random order (`performance.synthetic_points`, ``reweighted``), so it
   matches the simulation's weight distribution, negative weights included, and not only
   its N_eff (with N_eff toys, the KL divergence of weighted samples was far from
   calibrated, tests/perf/pvalue_calibration.py);
3. the p-value of each metric: the share of toys at least as large as the observed value,
   p = (1 + #{toys ≥ observed}) / (1 + N). INNFER used #/N, which can be 0 and is not a valid
   p-value; with the +1 it is exactly uniform (on its grid) when the density is right.

Every metric here is "larger = worse", so the p-value is one-sided.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from innfer_lib.core.seeds import stable_seed
from innfer_lib.density.performance import (
    DensityInputs,
    MetricOptions,
    PointSample,
    read_density_inputs,
    sample_metrics,
    simulated_points,
    summary_metric_keys,
    synthetic_points,
)
from innfer_lib.density.sampling import batch_seed

#: Families a p-value is computed for: those that compare samples.
PVALUE_FAMILIES = ("histogram", "multidim")
#: Seed index of the reference sample; toy t uses t + 1 (as INNFER).
REFERENCE_TOY = 0
_INDEX = "val_index"


def toy_batches(toys: int, per_job: int) -> list[tuple[int, int]]:
    """[start, stop) of each toy job: `toys` toys in jobs of at most `per_job`.

    Raises:
        ValueError: toys or per_job below 1.
    """
    if toys < 1 or per_job < 1:
        raise ValueError(f"toys and toys_per_job must be at least 1, got {toys} and {per_job}")
    return [(start, min(start + per_job, toys)) for start in range(0, toys, per_job)]


def reference_sample(density: Any, sims: Sequence[PointSample], seed: int) -> list[PointSample]:
    """The kept synthetic sample: N_eff events at each simulated sample's point."""
    return synthetic_points(density, sims, batch_seed(seed, REFERENCE_TOY), events="effective")


def toy_metrics(
    density: Any,
    reference: Sequence[PointSample],
    sims: Sequence[PointSample],
    toys: range,
    setup: PValueSetup,
) -> dict[int, dict[str, float]]:
    """The metrics of each toy: a fresh synthetic sample with the simulated weights against
    the reference.

    Toy ``t`` is drawn with ``batch_seed(seed, t + 1)`` and its metrics use the metric seed
    ``seed + t + 1``, so every toy is independent of the batch it runs in.
    """
    from tqdm import tqdm

    out = {}
    for t in tqdm(toys, desc="toys", mininterval=10):
        toy = synthetic_points(
            density, sims, batch_seed(setup.seed, t + 1), events=setup.toy_events
        )
        out[t] = sample_metrics(
            toy, reference, setup.options, setup.dataset, setup.x_columns, setup.seed + t + 1
        )
    return out


def samples_to_frame(samples: Sequence[PointSample], x_columns: Sequence[str]) -> pd.DataFrame:
    """Point samples as one table (X columns, weight, validation index) to keep on disk."""
    frames = []
    for s in samples:
        frame = pd.DataFrame(s.x, columns=list(x_columns))
        frame["wt"] = s.w
        frame[_INDEX] = s.index
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def frame_to_samples(
    frame: pd.DataFrame, like: Sequence[PointSample], x_columns: Sequence[str]
) -> list[PointSample]:
    """The kept reference back as point samples, in the order (and with the θ) of ``like``."""
    out = []
    for s in like:
        rows = frame[_INDEX].to_numpy() == s.index
        x = frame.loc[rows, list(x_columns)].to_numpy(np.float64)
        out.append(PointSample(s.index, s.theta, x, frame.loc[rows, "wt"].to_numpy(np.float64)))
    return out


def collect_toys(batches: Sequence[Mapping[Any, Mapping[str, float]]]) -> dict[str, list[float]]:
    """Toy metrics of every batch as ``{metric: [value per toy, in toy order]}``.

    Raises:
        ValueError: Toys do not all have the same metrics, or a toy appears twice.
    """
    toys: dict[int, Mapping[str, float]] = {}
    for batch in batches:
        for t, metrics in batch.items():
            if int(t) in toys:
                raise ValueError(f"toy {t} appears in two batches")
            toys[int(t)] = metrics
    order = sorted(toys)
    keys = set(toys[order[0]]) if order else set()
    for t in order:
        if set(toys[t]) != keys:
            raise ValueError(
                f"toy {t} has metrics {sorted(toys[t])}, toy {order[0]} {sorted(keys)}"
            )
    return {k: [float(toys[t][k]) for t in order] for k in sorted(keys)}


def p_value(observed: float, toys: Sequence[float] | np.ndarray) -> float:
    """(1 + #{toys ≥ observed}) / (1 + N): the chance of a value this large under the null."""
    values = np.asarray(toys, dtype=np.float64)
    values = values[np.isfinite(values)]
    if not np.isfinite(observed) or len(values) == 0:
        return float("nan")
    return float((1 + np.sum(values >= observed)) / (1 + len(values)))


def p_values(
    observed: Mapping[str, float], toys: Mapping[str, Sequence[float]], keys: Sequence[str]
) -> dict[str, dict[str, float]]:
    """Per metric key: observed value, p-value, toy mean and standard deviation, toy count.

    Raises:
        KeyError: A key is missing from the observed metrics or the toys.
    """
    out = {}
    for key in keys:
        if key not in observed or key not in toys:
            where = "sim-vs-synth metrics" if key not in observed else "toys"
            raise KeyError(f"metric {key!r} is not in the {where}")
        values = np.asarray(toys[key], dtype=np.float64)
        out[key] = {
            "observed": float(observed[key]),
            "p_value": p_value(observed[key], values),
            "toy_mean": float(np.nanmean(values)),
            "toy_std": float(np.nanstd(values)),
            "toys": int(len(values)),
        }
    return out


def calibration(
    density: Any,
    simulate: Any,
    datasets: int,
    toys: int,
    setup: PValueSetup,
    keys: Sequence[str],
) -> dict[str, dict[str, Any]]:
    """Are the chain's p-values uniform when the simulated sample is the density's own?

    Runs the chain once with ``density`` as the synthetic generator and ``datasets``
    independent simulated samples from ``simulate(j)`` (j = 1, 2, ...; sample 0 fixes the
    points and N_eff of the reference and the toys), and tests each metric's p-values against
    the uniform distribution with a Kolmogorov-Smirnov test (scipy).

    The simulated samples share one reference and one set of toys, as in the workflow. That
    correlates their p-values: a p-value is one minus the toys' empirical CDF at the observed
    value, and the toys' own sampling noise moves all of them together, which the
    one-sample KS test of uniformity does not know (its p-value comes out too small, the
    more so the fewer the toys). The exact test of the same hypothesis is the two-sample KS
    test of the observed values against the toy values: under the null they are draws of
    one distribution (given the reference). Both are returned; judge by the second.

    Returns:
        Per key: ``ks_p_value`` and ``ks_statistic`` (the p-values against the uniform
        distribution), ``ks_two_sample_p_value`` (observed values against toys), and the
        ``p_values``.
    """
    from scipy import stats

    first = simulate(0)
    reference = reference_sample(density, first, setup.seed)
    toy_values = collect_toys([toy_metrics(density, reference, first, range(toys), setup)])
    observed: dict[str, list[float]] = {k: [] for k in keys}
    values: dict[str, list[float]] = {k: [] for k in keys}
    for j in range(1, datasets + 1):
        metrics = sample_metrics(
            simulate(j),
            reference,
            setup.options,
            setup.dataset,
            setup.x_columns,
            setup.seed + toys + j,
        )
        for k in keys:
            observed[k].append(p_value(metrics[k], toy_values[k]))
            values[k].append(metrics[k])
    out = {}
    for k in keys:
        test = stats.kstest(observed[k], "uniform")
        out[k] = {
            "ks_p_value": float(test.pvalue),
            "ks_statistic": float(test.statistic),
            "ks_two_sample_p_value": float(stats.ks_2samp(values[k], toy_values[k]).pvalue),
            "p_values": observed[k],
        }
    return out


@dataclass(frozen=True)
class PValueSetup:
    """What every job of one chain (one process, category and density) shares."""

    options: MetricOptions
    dataset: str
    seed: int
    x_columns: list[str]
    #: The chain's events; only the jobs that read files have them.
    inputs: DensityInputs | None = None
    #: How toys are drawn (`performance.synthetic_points`): ``reweighted``, or INNFER's
    #: ``effective`` (kept to measure the difference, tests/perf/pvalue_calibration.py).
    toy_events: str = "reweighted"

    def simulated(self) -> list[PointSample]:
        """The simulated sample: the chosen split of the validation events at each point."""
        if self.inputs is None:
            raise ValueError("this setup has no events")
        y_columns = list(self.inputs.parameters["density"]["Y_columns"])
        return simulated_points(
            self.inputs.validation, self.inputs.points, self.x_columns, y_columns, self.dataset
        )

    def metrics(self, sims: Sequence[PointSample], reference: Sequence[PointSample]) -> dict:
        """The observed metrics: simulated events against the reference."""
        return sample_metrics(
            sims, reference, self.options, self.dataset, self.x_columns, self.seed
        )


def pvalue_setup(
    parameters_path: str,
    validation_paths: Sequence[str],
    vals: Sequence[int],
    points: Mapping[int, Mapping[str, float]],
    block: Mapping[str, Any],
    multidim: Sequence[str],
    seed: int,
) -> PValueSetup:
    """Read one chain's inputs; ``block`` is the workflow config's ``pvalues``.

    The seed is the workflow seed with the job's names mixed in by the caller, and is the
    same for every job of the chain: the toys' seeds derive from it and their indices.
    """
    options = pvalue_options(block, multidim)
    inputs = read_density_inputs(
        parameters_path, dict(zip(vals, validation_paths, strict=True)), points, {}
    )
    x_columns = list(inputs.parameters["density"]["X_columns"])
    return PValueSetup(options, block["dataset"], seed, x_columns, inputs)


def setup_from_job(job: Any) -> PValueSetup:
    """`pvalue_setup` from a rule job's inputs, params and wildcards (every chain rule's)."""
    w = job.wildcards
    return pvalue_setup(
        job.input.parameters,
        job.input.validation,
        job.params.vals,
        job.params.points,
        job.params.block,
        job.params.multidim,
        batch_seed(job.params.seed, *stable_seed("pvalues", w.model, w.category, w.density)),
    )


def pvalue_keys(
    block: Mapping[str, Any], multidim: Sequence[str], x_columns: Sequence[str]
) -> list[str]:
    """The metrics the chain gives a p-value (and a plot) for: one number per dataset each."""
    return summary_metric_keys(pvalue_options(block, multidim), x_columns)


def pvalue_options(block: Mapping[str, Any], multidim: Sequence[str]) -> MetricOptions:
    """The metrics of the chain: the config's ``pvalues`` families on its one dataset, with
    the multidim sub-metrics of ``density_performance_metrics``."""
    return MetricOptions(
        families=tuple(block["families"]), multidim=tuple(multidim), datasets=(block["dataset"],)
    )


def weighted_simulator(
    density: Any,
    points: Sequence[Mapping[str, float]],
    events: int,
    signed_weights: bool,
    seed: int,
) -> Any:
    """``simulate(j)`` for `calibration`: the j-th simulated sample of ``density``, per point.

    With ``signed_weights`` every event carries a Gamma(2, ½) weight, negative for 5 % of the
    events, drawn independently of x: the weighted events still follow ``density``, with
    N_eff ≈ 0.54 N and negative weights, as simulations have them.
    """

    def simulate(j: int) -> list[PointSample]:
        out = []
        for i, point in enumerate(points):
            rng = np.random.default_rng([seed, j, i])
            x = np.asarray(density.sample(events, point, seed=int(rng.integers(2**31))))
            if signed_weights:
                sign = np.where(rng.random(events) < 0.05, -1.0, 1.0)
                w = rng.gamma(2.0, 0.5, events) * sign
            else:
                w = np.ones(events)
            out.append(PointSample(i, dict(point), x.reshape(events, -1), w / w.sum()))
        return out

    return simulate
