"""Distances between two weighted samples: is the synthetic sample the simulated one's twin?

Every function takes a "simulated" and a "synthetic" sample with per-event weights (signed:
simulations carry negative weights) and returns numbers that are small or at their null value
(AUC 0.5, χ²/dof 1) when both samples come from one distribution. The density performance
metrics and the p-value toys call the same functions, so a metric's toy distribution is the
distribution of exactly the number reported.

No TensorFlow here: the metrics jobs import TensorFlow only to sample and evaluate densities.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: INNFER's histogram binning: 40 equal bins between these quantiles of the synthetic sample.
HISTOGRAM_BINS = 40
HISTOGRAM_QUANTILES = (0.002, 0.998)
#: Random directions of the sliced Wasserstein distance (INNFER: 100).
SLICED_DIRECTIONS = 100
#: Clusters of the k-means χ² (INNFER: 50) and the events that place their centroids.
KMEANS_CLUSTERS = 50
KMEANS_FIT_EVENTS = 20_000


def _check_sample(x: np.ndarray, w: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64).reshape(-1)
    if x.ndim == 1:
        x = x[:, None]
    if len(x) != len(w):
        raise ValueError(f"{name}: {len(x)} events but {len(w)} weights")
    if len(x) == 0:
        raise ValueError(f"{name}: no events")
    if not np.isfinite(x).all() or not np.isfinite(w).all():
        raise ValueError(f"{name}: non-finite values or weights")
    if w.sum() <= 0:
        raise ValueError(f"{name}: the weights sum to {w.sum():g}; a sample needs a positive sum")
    return x, w


def effective_events(w: np.ndarray) -> float:
    """Kish's effective sample size (Σw)²/Σw²: the statistical power of a weighted sample."""
    w = np.asarray(w, dtype=np.float64)
    return float(w.sum() ** 2 / np.sum(w**2))


def histogram_edges(synthetic: np.ndarray, bins: int = HISTOGRAM_BINS) -> np.ndarray:
    """INNFER's binning of one variable, taken from the synthetic sample.

    Equal bins between the 0.2 % and 99.8 % quantiles, or, for a variable with fewer distinct
    values than bins (a discrete one), one bin per value with edges half-way between them.
    """
    values = np.asarray(synthetic, dtype=np.float64).reshape(-1)
    unique = np.unique(values)
    if len(unique) < bins:
        if len(unique) == 1:
            return np.array([unique[0] - 0.5, unique[0] + 0.5])
        mids = 0.5 * (unique[1:] + unique[:-1])
        return np.concatenate([[2 * unique[0] - mids[0]], mids, [2 * unique[-1] - mids[-1]]])
    low, high = np.quantile(values, HISTOGRAM_QUANTILES)
    if high <= low:
        high = low + 1.0
    return np.linspace(low, high, bins + 1)


@dataclass(frozen=True)
class BinnedComparison:
    """χ² of two unit-normalised histograms, and the KL divergence of synthetic from simulated."""

    chi_squared: float
    dof: int
    kl_divergence: float

    @property
    def chi_squared_per_dof(self) -> float:
        return self.chi_squared / self.dof if self.dof > 0 else float("nan")


def binned_comparison(
    sim_bins: np.ndarray,
    w_sim: np.ndarray,
    synth_bins: np.ndarray,
    w_synth: np.ndarray,
    n_bins: int,
) -> BinnedComparison:
    """Compare two samples already assigned to bins 0..n_bins−1 (−1: outside every bin).

    Both histograms are normalised to unit sum over the bins, with σ_b = √(Σ_b w²)/Σw, and
    bins empty in either sample are dropped (INNFER). Unlike INNFER, dof is the number of bins
    kept minus one: normalising both histograms removes one degree of freedom. χ²/dof is then
    close to 1 when the samples agree; bins with a few events (the outer bins of 40 for a few
    thousand events) pull it somewhat below (about 0.92 for two samples of 3,000 Gaussian
    events), since dropping empty bins keeps the sparse bins where the samples happen to agree.
    """
    hists, sigmas = [], []
    for idx, w in ((sim_bins, w_sim), (synth_bins, w_synth)):
        inside = idx >= 0
        counts = np.bincount(idx[inside], weights=w[inside], minlength=n_bins)
        sumw2 = np.bincount(idx[inside], weights=w[inside] ** 2, minlength=n_bins)
        total = counts.sum()
        if total <= 0:
            return BinnedComparison(float("nan"), 0, float("nan"))
        hists.append(counts / total)
        sigmas.append(np.sqrt(sumw2) / total)
    s, m = hists
    keep = (s > 0) & (m > 0)
    variance = sigmas[0][keep] ** 2 + sigmas[1][keep] ** 2
    chi2 = float(np.sum((s[keep] - m[keep]) ** 2 / variance))
    kl = float(np.sum(m[keep] * np.log(m[keep] / s[keep])))
    return BinnedComparison(chi2, int(keep.sum()) - 1, kl)


def histogram_comparison(
    sim: np.ndarray, w_sim: np.ndarray, synth: np.ndarray, w_synth: np.ndarray
) -> BinnedComparison:
    """χ² and KL of one variable in INNFER's binning (`histogram_edges` of the synthetic)."""
    sim_x, w_sim = _check_sample(sim, w_sim, "simulated")
    synth_x, w_synth = _check_sample(synth, w_synth, "synthetic")
    edges = histogram_edges(synth_x[:, 0])
    n_bins = len(edges) - 1

    def assign(values: np.ndarray) -> np.ndarray:
        idx = np.searchsorted(edges, values, side="right") - 1
        idx[values == edges[-1]] = n_bins - 1
        idx[(idx < 0) | (idx >= n_bins)] = -1
        return idx

    return binned_comparison(assign(sim_x[:, 0]), w_sim, assign(synth_x[:, 0]), w_synth, n_bins)


def wasserstein_1d(u: np.ndarray, v: np.ndarray, w_u: np.ndarray, w_v: np.ndarray) -> float:
    """The exact weighted 1-Wasserstein distance ∫|F_u − F_v| dx of two 1-D samples.

    The CDFs are the samples' step functions; between consecutive points of the pooled sample
    both are constant, so the integral is a finite sum. This equals
    `scipy.stats.wasserstein_distance` for non-negative weights (a test checks it) and, unlike
    scipy, accepts negative weights, whose step CDFs are still well defined. INNFER's version
    measured the first interval from 0 and interpolated the CDFs (models.md §4 [BUG]).
    """
    u = np.asarray(u, dtype=np.float64).reshape(-1)
    v = np.asarray(v, dtype=np.float64).reshape(-1)
    pooled = np.concatenate([u, v])
    order = np.argsort(pooled, kind="stable")
    du = np.concatenate([np.asarray(w_u, np.float64) / np.sum(w_u), np.zeros(len(v))])[order]
    dv = np.concatenate([np.zeros(len(u)), np.asarray(w_v, np.float64) / np.sum(w_v)])[order]
    gaps = np.diff(pooled[order])
    return float(np.sum(np.abs(np.cumsum(du)[:-1] - np.cumsum(dv)[:-1]) * gaps))


def _standardised(
    sim: np.ndarray, w_sim: np.ndarray, synth: np.ndarray, w_synth: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Both samples checked and scaled by the simulated one's weighted mean and spread.

    Multidimensional distances must not depend on units: a variable in GeV would outweigh
    one in radians. A feature constant in the simulation keeps its scale.
    """
    sim_x, w_sim = _check_sample(sim, w_sim, "simulated")
    synth_x, w_synth = _check_sample(synth, w_synth, "synthetic")
    mean = np.average(sim_x, axis=0, weights=w_sim)
    std = np.sqrt(np.average((sim_x - mean) ** 2, axis=0, weights=w_sim))
    std = np.where(std > 0, std, 1.0)
    return (sim_x - mean) / std, w_sim, (synth_x - mean) / std, w_synth


def sliced_wasserstein(
    sim: np.ndarray,
    w_sim: np.ndarray,
    synth: np.ndarray,
    w_synth: np.ndarray,
    seed: int = 42,
    directions: int = SLICED_DIRECTIONS,
) -> float:
    """Mean 1-D W₁ over random unit directions, in features standardised with the simulation.

    INNFER projected the raw features, so a variable in GeV outweighed one in radians; here
    every feature has unit weighted spread in the simulated sample before projecting.
    """
    a, w_sim, b, w_synth = _standardised(sim, w_sim, synth, w_synth)
    if a.shape[1] == 1:
        # Every unit direction in 1-D is ±1, and W₁ does not see the sign.
        return wasserstein_1d(a[:, 0], b[:, 0], w_sim, w_synth)
    rng = np.random.default_rng(seed)
    dirs = rng.normal(size=(directions, a.shape[1]))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    return float(np.mean([wasserstein_1d(a @ d, b @ d, w_sim, w_synth) for d in dirs]))


def kmeans_chi_squared(
    sim: np.ndarray,
    w_sim: np.ndarray,
    synth: np.ndarray,
    w_synth: np.ndarray,
    seed: int = 42,
    clusters: int = KMEANS_CLUSTERS,
) -> float:
    """χ²/dof of the two samples' weighted counts in k-means cells placed on both of them.

    A multidimensional histogram whose cells follow the data: KMeans (scikit-learn) places
    the centroids on both samples pooled (standardised with the simulated one; at most
    `KMEANS_FIT_EVENTS` events, weighted by |w|), every event goes to its nearest centroid,
    and the cell contents are compared as in `binned_comparison`. INNFER placed the centroids
    on the simulated events alone. Pooled cells treat the two samples alike; for two samples
    of one distribution the two choices gave the same mean χ²/dof (1.05 ± 0.05 pooled,
    1.02 ± 0.05 simulation only; 20 pairs of 6,000 2-D Gaussian events, 50 cells).
    """
    from sklearn.cluster import KMeans

    a, w_sim, b, w_synth = _standardised(sim, w_sim, synth, w_synth)
    pooled = np.concatenate([a, b])
    # Each sample carries half the pooled weight, whatever the sizes.
    pooled_w = np.concatenate(
        [np.abs(w_sim) / np.sum(np.abs(w_sim)), np.abs(w_synth) / np.sum(np.abs(w_synth))]
    )
    rng = np.random.default_rng(seed)
    fit_rows = (
        rng.choice(len(pooled), KMEANS_FIT_EVENTS, replace=False)
        if len(pooled) > KMEANS_FIT_EVENTS
        else np.arange(len(pooled))
    )
    k = min(clusters, len(fit_rows))
    model = KMeans(n_clusters=k, n_init=3, random_state=seed)
    model.fit(pooled[fit_rows], sample_weight=pooled_w[fit_rows])
    result = binned_comparison(model.predict(a), w_sim, model.predict(b), w_synth, k)
    return result.chi_squared_per_dof


def weighted_auc(labels: np.ndarray, score: np.ndarray, w: np.ndarray) -> float:
    """ROC AUC as the weighted probability that a positive outscores a negative (ties: ½).

    The Mann-Whitney form: Σ_pos Σ_neg w_i w_j [s_i > s_j] / (Σ_pos w · Σ_neg w). It equals
    `sklearn.metrics.roc_auc_score` for non-negative weights (a test checks it) and stays
    defined for signed weights, where scikit-learn's ROC curve stops being monotonic and
    its AUC refuses.
    """
    labels = np.asarray(labels).astype(bool)
    score = np.asarray(score, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    neg_scores = score[~labels]
    order = np.argsort(neg_scores, kind="stable")
    sorted_neg, cum_neg = neg_scores[order], np.concatenate([[0.0], np.cumsum(w[~labels][order])])
    pos_scores, pos_w = score[labels], w[labels]
    below = cum_neg[np.searchsorted(sorted_neg, pos_scores, side="left")]
    up_to = cum_neg[np.searchsorted(sorted_neg, pos_scores, side="right")]
    wins = np.sum(pos_w * (below + 0.5 * (up_to - below)))
    return float(wins / (pos_w.sum() * cum_neg[-1]))


@dataclass(frozen=True)
class ClassifierTest:
    """A two-sample classifier test on held-out events: 0.5 means indistinguishable."""

    auc: float
    accuracy: float


def classifier_two_sample(
    sim: np.ndarray,
    w_sim: np.ndarray,
    synth: np.ndarray,
    w_synth: np.ndarray,
    seed: int = 42,
) -> ClassifierTest:
    """Train gradient-boosted trees to tell synthetic (1) from simulated (0) events.

    Each sample is split in halves (seeded); the trees (scikit-learn's
    HistGradientBoostingClassifier, with early stopping on part of the training half) learn on
    the first halves with each class weighted to the same total, and the weighted ROC AUC and
    accuracy (threshold 0.5) are measured on the second halves, again with equal class totals.
    Negative-weight events form classes of their own (INNFER's treatment): the trees learn
    sim⁺, synth⁺, sim⁻ and synth⁻ with |w|, and the synthetic probability is
    (P(synth⁺) − P(synth⁻)) / (P(synth⁺) − P(synth⁻) + P(sim⁺) − P(sim⁻)).
    """
    from sklearn.ensemble import HistGradientBoostingClassifier

    sim_x, w_sim = _check_sample(sim, w_sim, "simulated")
    synth_x, w_synth = _check_sample(synth, w_synth, "synthetic")
    rng = np.random.default_rng(seed)
    halves = []
    for x, w, label in ((sim_x, w_sim, 0), (synth_x, w_synth, 1)):
        first = rng.random(len(x)) < 0.5
        halves.append((x[first], w[first], x[~first], w[~first], label))
    x_train = np.concatenate([h[0] for h in halves])
    w_train = np.concatenate([h[1] / np.sum(h[1]) for h in halves])
    y_train = np.concatenate([np.full(len(h[0]), h[4]) for h in halves])
    x_test = np.concatenate([h[2] for h in halves])
    w_test = np.concatenate([h[3] / np.sum(h[3]) for h in halves])
    y_test = np.concatenate([np.full(len(h[2]), h[4]) for h in halves])
    if len(x_test) == 0 or len(set(y_test)) < 2:
        raise ValueError("too few events to hold out half of each sample")
    # Classes 0/1 for positive weights, 2/3 for negative ones (same order).
    classes = y_train + 2 * (w_train < 0)
    model = HistGradientBoostingClassifier(
        max_iter=200, early_stopping=True, validation_fraction=0.2, random_state=seed
    )
    # Mean training weight 1, so min_samples_leaf and the default regularisation see counts.
    model.fit(x_train, classes, sample_weight=np.abs(w_train) * len(w_train) / 2.0)
    proba = model.predict_proba(x_test)
    by_class = {c: proba[:, i] for i, c in enumerate(model.classes_)}
    zero = np.zeros(len(x_test))
    synth_p = by_class.get(1, zero) - by_class.get(3, zero)
    sim_p = by_class.get(0, zero) - by_class.get(2, zero)
    denominator = synth_p + sim_p
    score = np.divide(synth_p, denominator, out=np.full(len(x_test), 0.5), where=denominator != 0)
    auc = weighted_auc(y_test, score, w_test)
    correct = (score > 0.5) == (y_test == 1)
    accuracy = float(np.sum(w_test * correct) / np.sum(w_test))
    return ClassifierTest(auc, accuracy)
