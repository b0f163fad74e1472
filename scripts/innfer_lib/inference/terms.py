"""The additive pieces of −ln L: each term states its value, its data and its share of D.

−ln L is a sum of terms, summed by `likelihood.TermSum`, which owns batching, tracing and
autodiff. A term has up to two parts:

* a global part (`Term.add_nll`), evaluated once per call without a loop over events: yields,
  Poisson counts, bins and constraints;
* a per-event part (`EventTerm.log_rho`), evaluated batch by batch: −Σ_e w_e ln ρ(x_e).

Keeping the two apart is what makes the likelihood fast: the global part is one small graph,
and the per-event graphs see only the densities. The terms, for one category c:

* `MixtureTerm`: −Σ_e w_e ln Σ_p λ_p(θ) p_p(x_e|θ) (`shape_only`: ln ρ − ln Σ_p λ_p);
* `ExtendedYieldTerm`: +Σ_p λ_p(θ), the extended term of an unbinned fit;
* `PoissonYieldTerm`: −(n ln λ − λ) with n = Σ_e w_e and λ = Σ_p λ_p(θ) (no shapes);
* `BinnedTerm`: −Σ_b (n_b ln ν_b − ν_b) (no factorial), ν_b(θ) = Σ_p ν_{b,p}(θ);
  `shape_only` rescales ν_b so that Σ_b ν_b = Σ_b n_b;

and per constrained nuisance `GaussianConstraint`: ½(ν − ν₀)².

The D matrix of the sandwich covariance (Langenbruch, arXiv:1911.01303) is the sum of the
terms' shares: Σ_e w_e² s_e s_eᵀ from the per-event scores of a `MixtureTerm`, (Σ_e w_e²)·g gᵀ
from a `PoissonYieldTerm` (every event carries the score g = ∂ ln λ/∂θ), 1 on the diagonal
from each constraint (an auxiliary measurement whose score has unit variance), nothing from an
`ExtendedYieldTerm` (by Campbell's theorem the −∂Λ/∂θ part does not enter the scores).
A `BinnedTerm` has no share: its counts carry no per-bin Σw², so D is not defined.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np

from innfer_lib.density.models import Density
from innfer_lib.inference.model import (
    BinnedCategory,
    Category,
    Process,
    floor_expectation,
    weight_sum,
)
from innfer_lib.inference.templates import bin_expectation, binned_templates


def named_parameters(columns: Sequence[str], theta: Any) -> dict[str, Any]:
    """{name: θ_i}: the parameters as the yields and densities look them up."""
    return {name: theta[i] for i, name in enumerate(columns)}


def _category_yield(processes: Sequence[Process], params: dict[str, Any]) -> Any:
    """Λ_c = Σ_p λ_p(θ)."""
    import tensorflow as tf

    return tf.add_n([p.yield_tf(params) for p in processes])


class Term:
    """One additive piece of −ln L; by default it contributes nothing anywhere.

    Attributes:
        events: the category whose events the term reads (None: it needs no events).
            `TermSum.set_events` replaces it through `set_events`.
        dmatrix_defined: False when the term cannot say its share of D, so that the
            likelihood has no D matrix (binned counts without their Σw²).
    """

    events: Category | None = None
    dmatrix_defined: bool = True

    @property
    def smooth(self) -> bool:
        """Whether the term is C² in θ, so that the autodiff Hessian is its curvature."""
        return True

    def add_nll(self, total: Any, theta: Any, params: dict[str, Any]) -> Any:
        """The running −ln L `total` with the term's global part added (unchanged if none).

        The term states the operation by which it enters the sum (`total + λ`, `total − ln
        P`), not just a value: which floating-point operations run in which order decides
        the bits, and TensorFlow's graph optimiser regroups chains of additions, so
        `total + (−x)` need not give the bits of `total − x`.

        Args:
            total: −ln L so far, a float64 scalar tensor.
            theta: the (n_par,) parameter tensor.
            params: `named_parameters` of θ, made once per call and shared by all terms.
        """
        del theta, params
        return total

    def dmatrix(self, theta: Any) -> Any | None:
        """Its global share of D as an (n_par, n_par) tensor, or None (no share)."""
        del theta
        return None

    def set_events(self, category: Category) -> None:
        """Read these events from now on (only called for terms with `events`)."""
        self.events = category


class EventTerm(Term, ABC):
    """A term with a per-event part −Σ_e w_e ln ρ(x_e), evaluated in batches."""

    events: Category

    @abstractmethod
    def log_rho(self, x: Any, theta: Any) -> Any:
        """ln ρ(x_e) per event of one batch, as a float64 tensor."""

    @abstractmethod
    def relevant(self) -> list[int]:
        """Indices of the parameters ln ρ depends on; the others have zero scores."""


class MixtureTerm(EventTerm):
    """The events of one category under the mixture ρ(x) = Σ_p λ_p(θ) p_p(x|θ).

    Per event ln ρ(x_e); with `shape_only` ln(ρ/Λ), the normalised mixture density (the
    `unbinned` likelihood, which does not see the total yield).

    Raises:
        ValueError: a process without a density.
    """

    def __init__(self, columns: Sequence[str], category: Category, shape_only: bool = False):
        self.columns = list(columns)
        self.events = category
        self.shape_only = shape_only
        self._shapes: list[tuple[Process, Density]] = []
        for proc in category.processes:
            if proc.density is None:
                raise ValueError(
                    f"category {category.name!r}, process {proc.name!r}: an event term needs "
                    "a density for every process"
                )
            self._shapes.append((proc, proc.density))

    def log_rho(self, x: Any, theta: Any) -> Any:
        import tensorflow as tf

        params = named_parameters(self.columns, theta)
        logs, yields = [], []
        for proc, density in self._shapes:
            lam = proc.yield_tf(params)
            yields.append(lam)
            logs.append(tf.math.log(lam) + density.log_prob(x, params))
        log_rho = tf.reduce_logsumexp(tf.stack(logs, axis=0), axis=0)
        if self.shape_only:
            log_rho = log_rho - tf.math.log(tf.add_n(yields))
        return log_rho

    def relevant(self) -> list[int]:
        names: set[str] = set()
        for proc, _ in self._shapes:
            names.update(proc.parameter_names())
        return [i for i, c in enumerate(self.columns) if c in names]

    @property
    def smooth(self) -> bool:
        """Not so for a density with kinks in its parameters (a spline flow).

        Such an NLL is smooth only on scales above the kinks' spacing, and its Hessian must
        be measured there (`hessian.hessian_by_differences` with `smoothed=True`).
        """
        return all(proc.smooth for proc, _ in self._shapes)


class ExtendedYieldTerm(Term):
    """+Λ_c(θ) = Σ_p λ_p(θ): the Poisson term of an extended unbinned fit (global)."""

    def __init__(self, processes: Sequence[Process]):
        self.processes = list(processes)

    def add_nll(self, total: Any, theta: Any, params: dict[str, Any]) -> Any:
        return total + _category_yield(self.processes, params)


class PoissonYieldTerm(Term):
    """−(n ln λ − λ) of one category's event count n = Σ_e w_e; no shapes are evaluated.

    Σw and Σw² are variables read by the traced graphs, so `set_events` changes them without
    a retrace. Its smoothness is that of the category's densities, even though it never
    evaluates them, so that the Hessian a fit set gets with `auto` does not depend on the kind.
    """

    events: Category

    def __init__(self, columns: Sequence[str], category: Category):
        import tensorflow as tf

        self.columns = list(columns)
        self.events = category
        self._sum_w = tf.Variable(weight_sum(category, 1), dtype=tf.float64, trainable=False)
        self._sum_w2 = tf.Variable(weight_sum(category, 2), dtype=tf.float64, trainable=False)

    def add_nll(self, total: Any, theta: Any, params: dict[str, Any]) -> Any:
        import tensorflow as tf

        lam = floor_expectation(_category_yield(self.events.processes, params))
        return total - (self._sum_w * tf.math.log(lam) - lam)

    def dmatrix(self, theta: Any) -> Any:
        """(Σ_e w_e²)·g gᵀ with g = ∂ ln λ/∂θ, the score every event carries."""
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(theta)
            params = named_parameters(self.columns, theta)
            log_lam = tf.math.log(floor_expectation(_category_yield(self.events.processes, params)))
        g = tape.gradient(log_lam, theta, unconnected_gradients="zero")
        return self._sum_w2 * g[:, tf.newaxis] * g[tf.newaxis, :]

    def set_events(self, category: Category) -> None:
        super().set_events(category)
        self._sum_w.assign(weight_sum(category, 1))
        self._sum_w2.assign(weight_sum(category, 2))

    @property
    def smooth(self) -> bool:
        return all(proc.smooth for proc in self.events.processes)


class BinnedTerm(Term):
    """−Σ_b (n_b ln ν_b − ν_b) of one binned category (global; no D share).

    With `shape_only` ν_b is rescaled so that Σ_b ν_b = Σ_b n_b.

    Raises:
        ValueError: inconsistent templates (`templates.binned_templates`), counts that are not
            a finite 1-D array, or (shape only) counts that sum to zero.
    """

    dmatrix_defined = False

    def __init__(self, columns: Sequence[str], category: BinnedCategory, shape_only: bool = False):
        import tensorflow as tf

        self.name = category.name
        self.templates = binned_templates(category, columns)
        #: The process of each template, for per-process post-fit yields.
        self.process_names = [p.name for p in category.processes]
        self.shape_only = shape_only
        counts = np.asarray(category.counts, np.float64)
        if counts.ndim != 1 or not np.all(np.isfinite(counts)):
            raise ValueError(f"category {category.name!r}: counts must be a finite 1-D array")
        if shape_only and counts.sum() <= 0.0:
            raise ValueError(
                f"category {category.name!r}: a `binned` (shape-only) fit needs Σ counts > 0"
            )
        self.counts = counts
        self._counts = tf.constant(counts, tf.float64)

    def expected(self, theta: Any) -> Any:
        """ν_b(θ) before the floor and the shape-only rescaling."""
        return bin_expectation(self.templates, theta)

    def add_nll(self, total: Any, theta: Any, params: dict[str, Any]) -> Any:
        import tensorflow as tf

        n = self._counts
        nu = floor_expectation(self.expected(theta))
        if self.shape_only:
            nu = nu * (tf.reduce_sum(n) / tf.reduce_sum(nu))
        return total - tf.reduce_sum(n * tf.math.log(nu) - nu)

    @property
    def smooth(self) -> bool:
        """A template interpolated piecewise linearly in its POI has kinks at the grid."""
        return all(t.grid is None for t in self.templates)


class GaussianConstraint(Term):
    """½(ν − ν₀)²: a unit-Gaussian constraint of one nuisance, centred on ν₀."""

    def __init__(self, columns: Sequence[str], name: str, centre: float):
        self.name = name
        self.centre = float(centre)
        self._diagonal = np.zeros(len(columns))
        self._diagonal[list(columns).index(name)] = 1.0

    def add_nll(self, total: Any, theta: Any, params: dict[str, Any]) -> Any:
        return total + 0.5 * (params[self.name] - self.centre) ** 2

    def dmatrix(self, theta: Any) -> Any:
        """The constraint's unit Fisher information on its diagonal entry."""
        import tensorflow as tf

        return tf.linalg.diag(tf.constant(self._diagonal, tf.float64))
