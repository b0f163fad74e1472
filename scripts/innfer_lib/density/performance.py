"""Density performance metrics (INNFER's DensityPerformanceMetrics): can I trust this flow?

Per (process, category) and density, the families of `models.md` §4, with INNFER's keys:

* ``loss``: the weighted mean −log p(x | θ) of the training and test events, in physical units
  (INNFER's loss lives in the flow's standardised space, so a benchmark's true density could not
  be put beside it; here the truth's loss is the floor a flow can reach);
* ``histogram``: χ²/dof and KL divergence per variable and validation point, INNFER's binning
  (`two_sample.histogram_comparison`);
* ``multidim``: all validation points pooled, features X and Y: a boosted-tree two-sample
  test (AUC, accuracy), exact weighted W₁ per variable, sliced W₁ and a k-means χ²;
* ``inference``: fits of this density alone at each validation point
  (`density_fit.fit_density_parameters`), with their distance and χ² from the truth.

Simulated samples are the validation events of the chosen splits (INNFER's "sim types": val,
test_inf, ...) at the validation points that vary only the density's parameters; synthetic
samples are drawn from the density at the same points. Each point's weights are normalised to
unit sum in both samples, so the pooled comparisons weigh every point alike in both and see
only differences in x given θ.

This module does not import TensorFlow; the densities it is handed do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from innfer_lib.core.errors import ConfigError
from innfer_lib.core.seeds import stable_seed
from innfer_lib.data.schema import SPLIT_COLUMN, WEIGHT
from innfer_lib.data.splits import sim_type_mask
from innfer_lib.density import two_sample
from innfer_lib.density.sampling import (
    DEFAULT_BATCH_SIZE,
    batch_seed,
    parameter_ranges,
    standardisation_arrays,
)

#: Metric families (INNFER's --density-performance-metrics) and multidim sub-metrics
#: (--density-performance-metrics-multidim; `wasserstein` is both the per-variable and the
#: sliced distance). The workflow schema lists the same names; a test keeps them equal.
FAMILIES = ("loss", "histogram", "multidim", "inference")
MULTIDIM = ("bdt", "wasserstein", "kmeans")
#: Simulated samples a metric can be measured on (INNFER's data types of the validation files).
DATASETS = ("val", "test_inf", "train_inf", "full")


@dataclass(frozen=True)
class MetricOptions:
    """Which metrics to compute, from the workflow config's `density_performance_metrics`."""

    families: tuple[str, ...] = ("loss", "histogram", "multidim")
    multidim: tuple[str, ...] = MULTIDIM
    datasets: tuple[str, ...] = ("val", "test_inf")

    @classmethod
    def from_config(cls, block: Mapping[str, Any]) -> MetricOptions:
        """Check names against the known ones, so a typo fails here as well as in the schema."""
        options = cls(
            families=tuple(block.get("families", cls.families)),
            multidim=tuple(block.get("multidim", cls.multidim)),
            datasets=tuple(block.get("datasets", cls.datasets)),
        )
        for key, names, known in (
            ("families", options.families, FAMILIES),
            ("multidim", options.multidim, MULTIDIM),
            ("datasets", options.datasets, DATASETS),
        ):
            unknown = [n for n in names if n not in known]
            if unknown or not names:
                raise ConfigError(
                    f"density_performance_metrics.{key}: {unknown or 'an empty list'} "
                    f"{'is' if len(unknown) == 1 else 'are'} not known; choose from {list(known)}"
                )
        return options

    def restricted(self, families: Sequence[str]) -> MetricOptions:
        """The same choice limited to some families (the p-values use only sample metrics)."""
        return MetricOptions(
            tuple(f for f in self.families if f in families), self.multidim, self.datasets
        )


def density_validation_indices(
    points: Sequence[Mapping[str, float]],
    defaults: Mapping[str, float],
    density_parameters: Sequence[str],
) -> list[int]:
    """Validation points at which only the density's own parameters differ from the defaults.

    A point that moves a rate, a log-normal or a weight-only nuisance tests more than the flow
    (INNFER skips them too).
    """
    return [
        i
        for i, point in enumerate(points)
        if all(
            np.isclose(value, defaults[name])
            for name, value in point.items()
            if name not in density_parameters
        )
    ]


@dataclass(frozen=True)
class PointSample:
    """One sample at one validation point: events, weights (unit sum) and the point."""

    index: int
    theta: dict[str, float]
    x: np.ndarray
    w: np.ndarray

    @property
    def effective_events(self) -> float:
        return two_sample.effective_events(self.w)


def simulated_points(
    frames: Mapping[int, pd.DataFrame],
    points: Mapping[int, Mapping[str, float]],
    x_columns: Sequence[str],
    y_columns: Sequence[str],
    sim_type: str,
) -> list[PointSample]:
    """The validation events of one split at each point, weights normalised to unit sum.

    Points where the split is empty (a point left out of training has no test_inf events) or
    whose weights do not sum to a positive number are skipped.
    """
    samples = []
    for index, frame in frames.items():
        missing = [c for c in [*x_columns, WEIGHT, SPLIT_COLUMN] if c not in frame.columns]
        if missing:
            raise KeyError(f"validation point {index}: the events lack column(s) {missing}")
        sel = sim_type_mask(frame[SPLIT_COLUMN].to_numpy(), sim_type)
        w = frame.loc[sel, WEIGHT].to_numpy(np.float64)
        if len(w) == 0 or w.sum() <= 0:
            continue
        x = frame.loc[sel, list(x_columns)].to_numpy(np.float64)
        theta = {p: float(points[index][p]) for p in y_columns}
        samples.append(PointSample(index, theta, x, w / w.sum()))
    return samples


#: How `synthetic_points` sizes and weights a synthetic sample (see there).
SYNTHETIC_MODES = ("rows", "effective", "reweighted")


def synthetic_points(
    density: Any,
    like: Sequence[PointSample],
    seed: int,
    events: str = "rows",
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> list[PointSample]:
    """Events drawn from ``density`` at the points of ``like``, weights summing to 1 per point.

    Args:
        density: Anything with ``sample(n, params, seed)`` (`density.models.Density`).
        like: The simulated samples whose points (and sizes) to match.
        seed: Point ``i``, batch ``b`` is drawn with ``batch_seed(seed, i, b)``; the weight
            permutation of ``reweighted`` with ``batch_seed(seed, i, 2**31 - 1)``.
        events: ``rows``: as many unit-weight events as the simulated sample has (the
            metrics); ``effective``: its effective number of events, rounded, unit weights
            (INNFER's toys, and the p-values' reference sample); ``reweighted``: as many
            events as the simulated sample, carrying its weights in a random order. A
            density's events times weights drawn independently of x still follow the
            density, and the toy then has the simulated sample's weight distribution, not
            only its N_eff: metrics that feel more than the variance (a KL divergence in
            sparse bins, with negative weights) then fluctuate alike in toys and simulation.
        batch_size: Events per sampling call.
    """
    if events not in SYNTHETIC_MODES:
        raise ValueError(f"events must be one of {SYNTHETIC_MODES}, got {events!r}")
    out = []
    for sample in like:
        n = len(sample.x) if events != "effective" else max(2, round(sample.effective_events))
        parts = [
            np.asarray(
                density.sample(
                    min(batch_size, n - start), sample.theta, batch_seed(seed, sample.index, b)
                ),
                dtype=np.float64,
            ).reshape(-1, sample.x.shape[1])
            for b, start in enumerate(range(0, n, batch_size))
        ]
        x = np.concatenate(parts)
        if events == "reweighted":
            rng = np.random.default_rng(batch_seed(seed, sample.index, 2**31 - 1))
            w = sample.w[rng.permutation(n)] / np.sum(sample.w)
        else:
            w = np.full(n, 1.0 / n)
        out.append(PointSample(sample.index, sample.theta, x, w))
    return out


def _pooled(samples: Sequence[PointSample], with_theta: bool) -> tuple[np.ndarray, np.ndarray]:
    """All points' events in one array (with θ columns appended if asked) and their weights."""
    xs = []
    for s in samples:
        if with_theta:
            theta = np.tile(list(s.theta.values()), (len(s.x), 1)).reshape(len(s.x), -1)
            xs.append(np.hstack([s.x, theta]))
        else:
            xs.append(s.x)
    return np.concatenate(xs), np.concatenate([s.w for s in samples])


def sample_metrics(
    sims: Sequence[PointSample],
    synths: Sequence[PointSample],
    options: MetricOptions,
    dataset: str,
    x_columns: Sequence[str],
    seed: int = 42,
) -> dict[str, float]:
    """The histogram and multidim families of one dataset (``dataset``: its sim type).

    Also what the p-value chain computes for each toy, with a synthetic sample in place of the
    simulated one.
    """
    metrics: dict[str, float] = {}
    if not sims:
        return metrics
    if "histogram" in options.families:
        per_dof, kls = [], []
        for sim, synth in zip(sims, synths, strict=True):
            for j, column in enumerate(x_columns):
                result = two_sample.histogram_comparison(sim.x[:, j], sim.w, synth.x[:, j], synth.w)
                key = f"{dataset}_val_ind_{sim.index}_{column}"
                metrics[f"chi_squared_{key}"] = result.chi_squared
                metrics[f"dof_for_chi_squared_{key}"] = float(result.dof)
                metrics[f"chi_squared_per_dof_{key}"] = result.chi_squared_per_dof
                metrics[f"kl_divergence_{key}"] = result.kl_divergence
                per_dof.append(result.chi_squared_per_dof)
                kls.append(result.kl_divergence)
        metrics[f"chi_squared_per_dof_{dataset}_sum"] = float(np.sum(per_dof))
        metrics[f"chi_squared_per_dof_{dataset}_mean"] = float(np.mean(per_dof))
        metrics[f"kl_divergence_{dataset}_mean"] = float(np.mean(kls))
    if "multidim" in options.families:
        # The classifier and the k-means cells see (x, θ): what matters is x given θ, and
        # both samples have the same θ mix. The distances compare x alone.
        sim_xy, sim_w = _pooled(sims, with_theta=True)
        synth_xy, synth_w = _pooled(synths, with_theta=True)
        n_x = len(x_columns)
        if "bdt" in options.multidim:
            test = two_sample.classifier_two_sample(sim_xy, sim_w, synth_xy, synth_w, seed)
            metrics[f"bdt_auc_{dataset}"] = test.auc
            metrics[f"bdt_accuracy_{dataset}"] = test.accuracy
        if "wasserstein" in options.multidim:
            for j, column in enumerate(x_columns):
                metrics[f"wasserstein_unbinned_{dataset}_{column}"] = two_sample.wasserstein_1d(
                    sim_xy[:, j], synth_xy[:, j], sim_w, synth_w
                )
            metrics[f"wasserstein_sliced_{dataset}"] = two_sample.sliced_wasserstein(
                sim_xy[:, :n_x], sim_w, synth_xy[:, :n_x], synth_w, seed
            )
        if "kmeans" in options.multidim:
            metrics[f"k_means_chi_squared_{dataset}"] = two_sample.kmeans_chi_squared(
                sim_xy, sim_w, synth_xy, synth_w, seed
            )
    return metrics


def summary_metric_keys(
    options: MetricOptions, x_columns: Sequence[str], families: Sequence[str] = FAMILIES
) -> list[str]:
    """The one-number-per-dataset keys of a choice of metrics, known before anything runs.

    The workflow declares one plot per key (per-epoch plots, p-value plots), so this is their
    single source; a test checks that `performance_metrics` writes every one of them.
    """
    chosen = [f for f in options.families if f in families]
    keys = []
    if "loss" in chosen:
        keys += ["loss_train", "loss_test", "loss_difference", "loss_test_plus_difference"]
    for dt in options.datasets:
        if "histogram" in chosen:
            keys += [
                f"chi_squared_per_dof_{dt}_sum",
                f"chi_squared_per_dof_{dt}_mean",
                f"kl_divergence_{dt}_mean",
            ]
        if "multidim" in chosen:
            if "bdt" in options.multidim:
                keys += [f"bdt_auc_{dt}", f"bdt_accuracy_{dt}"]
            if "wasserstein" in options.multidim:
                keys += [f"wasserstein_unbinned_{dt}_{c}" for c in x_columns]
                keys.append(f"wasserstein_sliced_{dt}")
            if "kmeans" in options.multidim:
                keys.append(f"k_means_chi_squared_{dt}")
        if "inference" in chosen:
            keys += [f"inference_chi_squared_{dt}", f"inference_distance_{dt}"]
    return keys


def physical_events(
    frame: pd.DataFrame, parameters: Mapping[str, Any]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """X, Y (physical units) and weights of a stored, standardised training or test set."""
    info = parameters["density"]

    def unstandardised(columns: Sequence[str]) -> np.ndarray:
        values = frame[list(columns)].to_numpy(np.float64).reshape(len(frame), len(columns))
        mean, std = standardisation_arrays(info["standardisation"], columns)
        return values * std + mean

    x = unstandardised(info["X_columns"])
    y = unstandardised(info["Y_columns"])
    return x, y, frame[WEIGHT].to_numpy(np.float64)


def mean_negative_log_prob(
    density: Any, x: np.ndarray, y: np.ndarray, w: np.ndarray, y_columns: Sequence[str]
) -> float:
    """Σ w·(−log p(x | θ)) / Σ w, in float64, θ taken per event from ``y``.

    In chunks of events with their own θ rows (`Density.log_prob_rows`): a training set with a
    continuously shifted nuisance has about one θ per event, and evaluating once per distinct θ
    kept the top-mass example's metrics jobs busy for over 6 minutes each.
    """
    order = [list(y_columns).index(p) for p in density.parameters]
    rows = np.asarray(y, np.float64).reshape(len(x), -1)[:, order]
    total = 0.0
    for start in range(0, len(x), DEFAULT_BATCH_SIZE):
        chunk = slice(start, start + DEFAULT_BATCH_SIZE)
        log_p = density.log_prob_rows(np.asarray(x[chunk], np.float64), rows[chunk])
        total += float(np.sum(w[chunk] * log_p))
    return -total / float(np.sum(w))


def loss_metrics(
    density: Any,
    train: pd.DataFrame,
    test: pd.DataFrame,
    parameters: Mapping[str, Any],
) -> dict[str, float]:
    """INNFER's loss keys, as the weighted mean −log p in physical units."""
    y_columns = list(parameters["density"]["Y_columns"])
    losses = {}
    for split, frame in (("train", train), ("test", test)):
        x, y, w = physical_events(frame, parameters)
        losses[split] = mean_negative_log_prob(density, x, y, w, y_columns)
    difference = losses["test"] - losses["train"]
    return {
        "loss_train": losses["train"],
        "loss_test": losses["test"],
        "loss_difference": difference,
        "loss_test_plus_difference": losses["test"] + difference,
    }


def inference_metrics(
    density: Any,
    sims: Sequence[PointSample],
    dataset: str,
    limits: Mapping[str, tuple[float, float]],
    start: Mapping[str, float],
) -> dict[str, float]:
    """Fit the density's parameters to each point's events alone; distance and χ² to the truth.

    The events are weighted to their effective number (w·N_eff/Σw), so the fit's σ is that of
    a dataset with the sample's statistical power.
    """
    from innfer_lib.density.density_fit import fit_density_parameters

    metrics: dict[str, float] = {}
    chi2s, distances = [], []
    for sim in sims:
        if not sim.theta:
            continue
        fit = fit_density_parameters(density, sim.x, sim.w * sim.effective_events, limits, start)
        for name, truth in sim.theta.items():
            key = f"{dataset}_val_ind_{sim.index}_{name}"
            best = fit.values[name]
            sigma = fit.upper[name] if truth > best else fit.lower[name]
            chi2 = (truth - best) ** 2 / sigma**2 if sigma > 0 else float("nan")
            metrics[f"inference_best_fit_{key}"] = best
            metrics[f"inference_sigma_up_{key}"] = fit.upper[name]
            metrics[f"inference_sigma_down_{key}"] = fit.lower[name]
            metrics[f"inference_chi_squared_{key}"] = chi2
            metrics[f"inference_distance_{key}"] = abs(truth - best)
            chi2s.append(chi2)
            distances.append(abs(truth - best))
    if chi2s:
        metrics[f"inference_chi_squared_{dataset}"] = float(np.mean(chi2s))
        metrics[f"inference_distance_{dataset}"] = float(np.mean(distances))
    return metrics


@dataclass(frozen=True)
class DensityInputs:
    """What one (process, category) contributes to its metrics, read by the rule's script."""

    parameters: Mapping[str, Any]
    validation: Mapping[int, pd.DataFrame]
    points: Mapping[int, Mapping[str, float]]
    train: pd.DataFrame | None = None
    test: pd.DataFrame | None = None
    #: Where the inference fits start (INNFER: the defaults); None: the middle of each range.
    defaults: Mapping[str, float] | None = None


def performance_metrics(
    density: Any, inputs: DensityInputs, options: MetricOptions, seed: int
) -> dict[str, float]:
    """Every chosen metric of one density, as one flat mapping with INNFER's keys.

    Raises:
        ConfigError: The loss family was asked for without training and test events.
    """
    info = inputs.parameters["density"]
    x_columns, y_columns = list(info["X_columns"]), list(info["Y_columns"])
    metrics: dict[str, float] = {}
    if "loss" in options.families:
        if inputs.train is None or inputs.test is None:
            raise ConfigError("the loss metrics need the training and test events")
        metrics |= loss_metrics(density, inputs.train, inputs.test, inputs.parameters)
    limits = parameter_ranges(inputs.parameters)
    start = {
        p: float(inputs.defaults[p]) if inputs.defaults else 0.5 * sum(limits[p]) for p in y_columns
    }
    for k, dataset in enumerate(options.datasets):
        sims = simulated_points(inputs.validation, inputs.points, x_columns, y_columns, dataset)
        synths = synthetic_points(density, sims, batch_seed(seed, k))
        metrics |= sample_metrics(sims, synths, options, dataset, x_columns, seed)
        if "inference" in options.families:
            metrics |= inference_metrics(density, sims, dataset, limits, start)
    return metrics


def metric_seed(seed: int, model: str, category: str) -> int:
    """The synthetic samples' seed of one (process, category): the learned flow, the truth,
    every epoch and every search trial are compared with samples drawn the same way."""
    return batch_seed(seed, *stable_seed("metrics", model, category))


def read_density_inputs(
    parameters_path: str,
    validation_paths: Mapping[int, str],
    points: Mapping[int, Mapping[str, float]],
    defaults: Mapping[str, float],
    train_path: str | None = None,
    test_path: str | None = None,
) -> DensityInputs:
    """The files of one (process, category), read for `performance_metrics`."""
    from innfer_lib.core.io import read_parquet, read_yaml

    return DensityInputs(
        parameters=read_yaml(parameters_path),
        validation={int(i): read_parquet(p) for i, p in validation_paths.items()},
        points={int(i): dict(p) for i, p in points.items()},
        train=read_parquet(train_path) if train_path else None,
        test=read_parquet(test_path) if test_path else None,
        defaults=dict(defaults),
    )
