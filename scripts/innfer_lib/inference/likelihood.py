"""−ln L as one float64 TensorFlow function of named parameters: a sum of terms, with autodiff.

`TermSum` adds up the terms of `innfer_lib.inference.terms` and owns everything they share:
batching of the events, tf.function tracing, autodiff of value + gradient, Hessian and D
matrix, replacing the events (`set_events`) and call counts. Each call evaluates the global
part (every term's `add_nll`, in term order) in one traced graph, then the per-event part
of each `EventTerm` batch by batch, in term order; per-batch sums are accumulated in float64.
The per-event D-matrix graphs differentiate only the parameters their term depends on.

`kind_terms` gives the terms of one likelihood *kind* (the fit sets' `likelihood` option),
and `Likelihood` sums them with a `GaussianConstraint` per constrained nuisance:

* `unbinned_extended`: a `MixtureTerm` and an `ExtendedYieldTerm` per category;
* `unbinned`: a shape-only `MixtureTerm` per category;
* `poisson`: a `PoissonYieldTerm` per category (no shapes);
* `binned_extended`: a `BinnedTerm` per category;
* `binned`: a shape-only `BinnedTerm` per category.

Value, gradient and Hessian all come from autodiff through densities, yields, bin templates
and constraints together (INNFER differentiated yields by finite differences against a stale
cache, so its ∂/∂μ was zero, and its binned derivatives were nested finite differences).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from innfer_lib.core.fit_sets import BINNED_LIKELIHOODS
from innfer_lib.inference.model import BinnedCategory, Category, check_events
from innfer_lib.inference.terms import (
    BinnedTerm,
    EventTerm,
    ExtendedYieldTerm,
    GaussianConstraint,
    MixtureTerm,
    PoissonYieldTerm,
    Term,
    named_parameters,
)

EXTENDED = "unbinned_extended"
UNBINNED = "unbinned"
POISSON = "poisson"
#: Kinds whose categories are `BinnedCategory` (counts per bin); the others read events.
#: Named with the fit sets, which pick the binned post-fit plot for these at parse time.
BINNED_KINDS = BINNED_LIKELIHOODS
BINNED_EXTENDED, BINNED = BINNED_KINDS
#: Every kind, in the order of the workflow schema's `likelihood` enum.
KINDS = (EXTENDED, UNBINNED, POISSON, BINNED_EXTENDED, BINNED)


def _disable_graph_optimiser() -> None:
    """Turn Grappler off for the rest of the process: likelihood graphs gain nothing from it.

    TensorFlow optimises a function's graph when the function is instantiated, on its first
    call. On a likelihood of four spline flows (tests/perf/bench_multi_flow.py, 2 idle cores,
    float64) Grappler took 10 s of the value-and-gradient's first call (15.2 s → 5.5 s without
    it) and 65 s of the Hessian's (208 s → 143 s), while the calls after it ran as fast (value
    and gradient 1.60 s vs 1.69 s, Hessian 20.0 s vs 19.1 s): its rewrites buy nothing on
    graphs of dense matmuls that the Python code already keeps lean. The option cannot be
    scoped to the first call: the runtime keys instantiated functions by the options in force,
    so restoring it re-instantiates, and re-optimises, the function on its next call (the
    Hessian's second call then took 126 s). A process that builds a likelihood is a fit-stage
    job; what it traces afterwards (a post-fit flow sample) runs unoptimised too.
    """
    import tensorflow as tf

    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})


class Traced:
    """A tf.function of a fixed signature, called through its one concrete function.

    A fit makes hundreds of calls of a few milliseconds each. Calling the tf.function matches
    the arguments against its signature on every call, which cost as much as the graph itself
    on 1,000 events (about 2 ms of a 4 ms value-and-gradient call, measured with the
    INNFER_PROFILE cProfile of a toy_fit job); the concrete function, traced on first use
    (so a graph that is never called is never traced), skips that. Its graph runs
    without Grappler (`_disable_graph_optimiser`), and the Python code is traced as written:
    it has no tensor-dependent control flow for AutoGraph to convert.
    """

    def __init__(
        self, function: Callable[..., Any], signature: Sequence[Any], jit_compile: bool = False
    ) -> None:
        import tensorflow as tf

        self.function = tf.function(
            function,
            input_signature=list(signature),
            jit_compile=jit_compile or None,
            autograph=False,
        )
        self._concrete: Any = None
        _disable_graph_optimiser()

    def __call__(self, *args: Any) -> Any:
        if self._concrete is None:
            self._concrete = self.function.get_concrete_function()
        return self._concrete(*args)

    def tracing_count(self) -> int:
        return int(self.function.experimental_get_tracing_count())


class TermSum:
    """Negative log-likelihood: the sum of its terms, with autodiff derivatives.

    Satisfies `contract.NegativeLogLikelihood`.

    Args:
        columns: names of the parameters, in the order of the θ vectors passed in.
        terms: the pieces of −ln L; global parts are summed in this order, and the per-event
            parts of the `EventTerm`s follow in this order.
        batch_size: events per TensorFlow call; bounds memory, not the result.
        jit_compile: compile the per-event graphs with XLA (tests/perf/bench_multi_flow.py
            measures whether it pays).

    Raises:
        ValueError: events that are not (n_events, n_x) with one weight each.
    """

    def __init__(
        self,
        columns: Sequence[str],
        terms: Sequence[Term],
        batch_size: int = 20_000,
        jit_compile: bool = False,
    ):
        import tensorflow as tf

        self.columns = list(columns)
        self.terms = list(terms)
        self.batch_size = int(batch_size)
        self.n_calls = {"value": 0, "gradient": 0, "hessian": 0, "dmatrix": 0}
        for category in self._event_categories().values():
            check_events(category.name, category.x, category.weights)
        self._event_terms = [t for t in self.terms if isinstance(t, EventTerm)]
        self._binned_terms = [t for t in self.terms if isinstance(t, BinnedTerm)]
        self._batches: list[tuple[int, Any, Any]] = []
        self._batch_events()
        n_par = len(self.columns)

        def spec(term: EventTerm) -> list:
            n_x = np.shape(term.events.x)[1]
            return [
                tf.TensorSpec([None, n_x], tf.float64),
                tf.TensorSpec([None], tf.float64),
                tf.TensorSpec([n_par], tf.float64),
            ]

        self._relevant_params = [t.relevant() for t in self._event_terms]
        self._event_grad = [
            Traced(self._make_event_grad(t), spec(t), jit_compile) for t in self._event_terms
        ]
        self._event_hess = [
            Traced(self._make_event_hess(t), spec(t), jit_compile) for t in self._event_terms
        ]
        self._event_dmatrix = [
            Traced(self._make_event_dmatrix(t, r), spec(t), jit_compile)
            for t, r in zip(self._event_terms, self._relevant_params, strict=True)
        ]
        theta_spec = [tf.TensorSpec([n_par], tf.float64)]
        self._global_grad = Traced(self._global_value_grad, theta_spec)
        self._global_hess = Traced(self._global_hessian, theta_spec)
        self._global_dmat = Traced(self._global_dmatrix, theta_spec)
        self._expected = Traced(self._expected_bins, theta_spec)

    # --- events ---------------------------------------------------------------------------
    def _event_categories(self) -> dict[str, Category]:
        """The categories whose events some term reads, by name, in term order."""
        found: dict[str, Category] = {}
        for term in self.terms:
            if term.events is not None:
                found.setdefault(term.events.name, term.events)
        return found

    @property
    def event_categories(self) -> list[Category]:
        """The categories whose events the terms read, in term order, as they now read them.

        Derived from the terms, so it follows `set_events`; binned categories hold counts,
        not events, and are not among them.
        """
        return list(self._event_categories().values())

    def _batch_events(self) -> None:
        import tensorflow as tf

        self._batches = []
        for t_index, term in enumerate(self._event_terms):
            x, weights = term.events.x, term.events.weights
            for start in range(0, len(weights), self.batch_size):
                stop = start + self.batch_size
                self._batches.append(
                    (
                        t_index,
                        tf.constant(np.asarray(x[start:stop], np.float64), tf.float64),
                        tf.constant(np.asarray(weights[start:stop], np.float64), tf.float64),
                    )
                )

    def set_events(self, category: str, x: np.ndarray, weights: np.ndarray) -> Category:
        """Replace the events of one category, keeping every traced TensorFlow function.

        Toy, bootstrap and coverage studies refit one model to many data sets; a new
        likelihood per data set would retrace all graphs (seconds each), which dominates
        small fits. The caller's `Category` object is not modified.

        Returns:
            The category with the new events, as the terms now read it.

        Raises:
            ValueError: no term reads events, an unknown category, or mismatched shapes.
        """
        categories = self._event_categories()
        if not categories:
            raise ValueError("set_events needs an event (Category) likelihood kind")
        if category not in categories:
            raise ValueError(f"unknown category {category!r}; categories are {list(categories)}")
        old = categories[category]
        x = np.asarray(x, np.float64)
        weights = np.asarray(weights, np.float64)
        check_events(category, x, weights)
        if x.shape[1] != np.shape(old.x)[1]:
            raise ValueError(
                f"category {category!r}: x has {x.shape[1]} columns, not {np.shape(old.x)[1]}"
            )
        new = dataclasses.replace(old, x=x, weights=weights)
        for term in self.terms:
            if term.events is not None and term.events.name == category:
                term.set_events(new)
        self._batch_events()
        return new

    def tracing_count(self) -> int:
        """How often the likelihood's TensorFlow functions have been traced so far.

        A batch of toys swaps events with `set_events`; this staying flat after the first toy
        shows that the graphs were reused rather than retraced per data set.
        """
        functions = [
            *self._event_grad,
            *self._event_hess,
            *self._event_dmatrix,
            self._global_grad,
            self._global_hess,
            self._global_dmat,
            self._expected,
        ]
        return sum(f.tracing_count() for f in functions)

    # --- traced parts ---------------------------------------------------------------------
    def _global_term(self, theta: Any) -> Any:
        """Every term's global part: yields, counts, bins, constraints (no event loop)."""
        import tensorflow as tf

        params = named_parameters(self.columns, theta)
        total = tf.constant(0.0, tf.float64)
        for term in self.terms:
            total = term.add_nll(total, theta, params)
        return total

    def _expected_bins(self, theta: Any) -> list[Any]:
        return [term.expected(theta) for term in self._binned_terms]

    @staticmethod
    def _event_nll(term: EventTerm, x: Any, w: Any, theta: Any) -> Any:
        """−Σ_e w_e ln ρ(x_e) for one batch."""
        import tensorflow as tf

        return -tf.reduce_sum(w * term.log_rho(x, theta))

    def _make_event_grad(self, term: EventTerm) -> Callable[..., Any]:
        import tensorflow as tf

        def fn(x, w, theta):
            with tf.GradientTape() as tape:
                tape.watch(theta)
                value = self._event_nll(term, x, w, theta)
            return value, tape.gradient(value, theta, unconnected_gradients="zero")

        return fn

    def _make_event_hess(self, term: EventTerm) -> Callable[..., Any]:
        import tensorflow as tf

        def fn(x, w, theta):
            with tf.GradientTape() as outer:
                outer.watch(theta)
                with tf.GradientTape() as inner:
                    inner.watch(theta)
                    value = self._event_nll(term, x, w, theta)
                grad = inner.gradient(value, theta, unconnected_gradients="zero")
            return outer.jacobian(
                grad, theta, experimental_use_pfor=False, unconnected_gradients="zero"
            )

        return fn

    @staticmethod
    def _make_event_dmatrix(term: EventTerm, relevant: list[int]) -> Callable[..., Any]:
        """Σ_e w_e² s_e s_eᵀ of one batch, over the term's relevant parameters.

        The per-event scores s_e = ∂ ln ρ(x_e)/∂θ form the Jacobian J (n_events × n_par).
        One reverse pass gives only uᵀJ for a cotangent u, so J is taken as the Jacobian of
        the n_par-vector g(u) = Jᵀu with respect to u: g is linear in u, and differentiating
        it again is a reverse pass per *parameter* (vectorised by pfor), i.e. O(n_par) passes
        over the batch. Measured (2 CPU cores, 2k events, float64) against the alternatives:
        `GradientTape.jacobian` of the ln ρ vector needs a backward pass per *event* (58 ms
        vs 0.8 ms on a Gaussian toy; on a default-architecture flow it ran out of 20 GB), and
        forward mode (`ForwardAccumulator`, one pass per parameter) was 2× slower on the toy
        and 2.6× slower on the flow (4.2 s vs 1.6 s, trace 124 s vs 89 s), because most flow
        ops have no forward rule and TensorFlow emulates them op by op.
        """
        import tensorflow as tf

        def fn(x, w, theta):
            if not relevant:
                return tf.zeros([0, 0], tf.float64)
            u = tf.zeros_like(w)
            with tf.GradientTape() as outer:
                outer.watch(u)
                with tf.GradientTape() as inner:
                    inner.watch(theta)
                    log_rho = term.log_rho(x, theta)
                g = inner.gradient(log_rho, theta, output_gradients=u, unconnected_gradients="zero")
                g = tf.gather(g, relevant)
            scores_t = outer.jacobian(g, u, unconnected_gradients="zero")  # (n_relevant, n_ev)
            return tf.matmul(scores_t * (w * w)[tf.newaxis, :], scores_t, transpose_b=True)

        return fn

    def _global_value_grad(self, theta: Any) -> tuple[Any, Any]:
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(theta)
            value = self._global_term(theta)
        return value, tape.gradient(value, theta, unconnected_gradients="zero")

    def _global_hessian(self, theta: Any) -> Any:
        import tensorflow as tf

        with tf.GradientTape() as outer:
            outer.watch(theta)
            with tf.GradientTape() as inner:
                inner.watch(theta)
                value = self._global_term(theta)
            grad = inner.gradient(value, theta, unconnected_gradients="zero")
        return outer.jacobian(grad, theta, unconnected_gradients="zero")

    def _global_dmatrix(self, theta: Any) -> Any:
        """The terms' D shares that need no event loop, summed in term order."""
        import tensorflow as tf

        n_par = len(self.columns)
        d = tf.zeros([n_par, n_par], tf.float64)
        for term in self.terms:
            share = term.dmatrix(theta)
            if share is not None:
                d = d + share
        return d

    # --- public ---------------------------------------------------------------------------
    @staticmethod
    def _theta(theta: ArrayLike) -> Any:
        import tensorflow as tf

        return tf.constant(np.asarray(theta, np.float64))

    def value_and_gradient(self, theta: ArrayLike) -> tuple[float, np.ndarray]:
        """−ln L and its gradient at θ (float64)."""
        t = self._theta(theta)
        value, grad = self._global_grad(t)
        total, g = float(value.numpy()), grad.numpy().astype(np.float64)
        for t_index, x, w in self._batches:
            v, gb = self._event_grad[t_index](x, w, t)
            total += float(v.numpy())
            g = g + gb.numpy()
        self.n_calls["value"] += 1
        self.n_calls["gradient"] += 1
        return total, g

    def hessian(self, theta: ArrayLike) -> np.ndarray:
        """∂²(−ln L)/∂θ² by nested autodiff, summed over batches, symmetrised."""
        t = self._theta(theta)
        h = self._global_hess(t).numpy().astype(np.float64)
        for t_index, x, w in self._batches:
            h = h + self._event_hess[t_index](x, w, t).numpy()
        self.n_calls["hessian"] += 1
        return 0.5 * (h + h.T)

    def dmatrix(self, theta: ArrayLike) -> np.ndarray:
        """D = Σ_e w_e² s_e s_eᵀ (+ the global shares), the sandwich's middle.

        For weighted events −ln L is not a true log-likelihood, so H⁻¹ misstates the variance
        (too small when Σw² > Σw); C = H⁻¹ D H⁻¹ is correct for any weights
        (Langenbruch, arXiv:1911.01303). Event scores are s_e = ∂ ln ρ(x_e)/∂θ for an
        extended fit: by Campbell's theorem Var[Σ_e w_e g(x_e)] = Σ_e w_e² g(x_e)² for a
        Poisson process, so the −∂Λ/∂θ term does not enter the scores (INNFER's intended
        −(1/W)∂Λ/∂θ term would be wrong; its code dropped it by accident). For a shape-only
        fit, s_e = ∂ ln(ρ/Λ)/∂θ. With unit weights and the true model ⟨D⟩ = ⟨H⟩, so the
        sandwich reduces to H⁻¹; this is why the constraints add their unit Fisher
        information. A parameter that no term depends on keeps a zero row (never NaN, never
        dropped).

        Raises:
            ValueError: with a term whose share is not defined (binned categories carry no
                per-bin Σw²).
        """
        undefined = [type(t).__name__ for t in self.terms if not t.dmatrix_defined]
        if undefined:
            raise ValueError(
                f"dmatrix is defined for weighted events (unbinned kinds and poisson), not "
                f"for {sorted(set(undefined))}: binned categories carry no per-bin Σw²"
            )
        t = self._theta(theta)
        d = self._global_dmat(t).numpy().astype(np.float64)
        for t_index, x, w in self._batches:
            relevant = self._relevant_params[t_index]
            if relevant:
                d[np.ix_(relevant, relevant)] += self._event_dmatrix[t_index](x, w, t).numpy()
        self.n_calls["dmatrix"] += 1
        return 0.5 * (d + d.T)

    def expected_bins(self, theta: ArrayLike) -> dict[str, np.ndarray]:
        """ν_b(θ) per binned category (before the floor and the shape-only rescaling).

        For post-fit plots and checks of the template interpolation.

        Raises:
            ValueError: without binned terms.
        """
        if not self._binned_terms:
            raise ValueError("this likelihood has no bins (no binned terms)")
        values = self._expected(self._theta(theta))
        return {
            term.name: v.numpy().astype(np.float64)
            for term, v in zip(self._binned_terms, values, strict=True)
        }

    def __call__(self, theta: ArrayLike) -> float:
        return self.value_and_gradient(theta)[0]

    @property
    def smooth(self) -> bool:
        """Whether −ln L is C² in θ, so that the autodiff Hessian is its curvature.

        Not so for a density with kinks in its parameters (a spline flow, see
        `ConditionalFlow.smooth_in_condition`) or a binned template interpolated piecewise
        linearly in its POI. Such an NLL is smooth only on scales above the kinks' spacing,
        and its Hessian must be measured there (`hessian.hessian_by_differences` with
        `smoothed=True`).
        """
        return all(term.smooth for term in self.terms)

    @property
    def n_events(self) -> int:
        """Events summed per pass (binned categories have none)."""
        return int(sum(len(c.weights) for c in self._event_categories().values()))


def fitted_yields(likelihood: TermSum, theta: ArrayLike) -> dict[str, dict[str, float]]:
    """λ_p(θ) per event category and process, as the likelihood computes them.

    A post-fit plot draws each process at the yield the fit predicts, which need not be the
    nominal one: a fit may rescale yields (`scale_to_eff_events`), and rates and lnN
    nuisances move with θ.

    Returns:
        {category: {process: yield}} over `likelihood.event_categories`.
    """
    import tensorflow as tf

    params = named_parameters(likelihood.columns, tf.constant(np.asarray(theta, np.float64)))
    return {
        category.name: {p.name: float(p.yield_tf(params).numpy()) for p in category.processes}
        for category in likelihood.event_categories
    }


def kind_terms(
    columns: Sequence[str], categories: Sequence[Category | BinnedCategory], kind: str
) -> list[Term]:
    """The terms of one likelihood kind over these categories (constraints not included).

    Raises:
        ValueError: an unknown kind, a category type the kind cannot use, or what the terms
            refuse (inconsistent templates, a process without a density in an event term).
    """
    if kind not in KINDS:
        raise ValueError(f"likelihood kind {kind!r} is not one of {KINDS}")
    wanted = BinnedCategory if kind in BINNED_KINDS else Category
    wrong = [f"{c.name} ({type(c).__name__})" for c in categories if not isinstance(c, wanted)]
    if wrong:
        raise ValueError(
            f"likelihood kind {kind!r} needs {wanted.__name__} categories; got {wrong}"
        )
    if kind in BINNED_KINDS:
        binned = [c for c in categories if isinstance(c, BinnedCategory)]
        return [BinnedTerm(columns, c, shape_only=kind == BINNED) for c in binned]
    events = [c for c in categories if isinstance(c, Category)]
    if kind == EXTENDED:
        mixtures: list[Term] = [MixtureTerm(columns, c) for c in events]
        return mixtures + [ExtendedYieldTerm(c.processes) for c in events]
    if kind == UNBINNED:
        return [MixtureTerm(columns, c, shape_only=True) for c in events]
    return [PoissonYieldTerm(columns, c) for c in events]


class Likelihood(TermSum):
    """The `TermSum` of one likelihood kind over categories, with Gaussian constraints.

    Args:
        columns: names of the parameters, in the order of the θ vectors passed in.
        categories: `Category` (events) for the unbinned kinds and `poisson`, or
            `BinnedCategory` (per-bin counts and templates) for `binned*`.
        kind: one of `KINDS`.
        constrained: nuisances with a unit-Gaussian constraint.
        constraint_centres: centre of each constraint (the truth for closure fits).
        batch_size: events per TensorFlow call; bounds memory, not the result.
        jit_compile: compile the per-event graphs with XLA (see `TermSum`).

    Raises:
        ValueError: unknown kind, a category type the kind cannot use, inconsistent bins or
            templates, or an unknown parameter name in a binned template.
    """

    def __init__(
        self,
        columns: Sequence[str],
        categories: Sequence[Category | BinnedCategory],
        kind: str = EXTENDED,
        constrained: Sequence[str] = (),
        constraint_centres: Mapping[str, float] | None = None,
        batch_size: int = 20_000,
        jit_compile: bool = False,
    ):
        self.kind = kind
        self.constrained = list(constrained)
        unknown = [c for c in self.constrained if c not in columns]
        if unknown:
            raise ValueError(f"constrained nuisances {unknown} are not among the columns")
        terms = kind_terms(columns, categories, kind)
        centres = constraint_centres or {}
        terms += [GaussianConstraint(columns, c, centres.get(c, 0.0)) for c in self.constrained]
        super().__init__(columns, terms, batch_size, jit_compile)
