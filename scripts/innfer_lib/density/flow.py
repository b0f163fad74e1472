"""Conditional coupling normalizing flow: the density model q(x | θ) of innfer.

The flow lives entirely in standardised space; the caller standardises X and θ and adds the
Jacobian of that affine map itself. Keeping the flow ignorant of physical units means one
trained network can be reused by every fit without carrying preprocessing state around.
PreProcess's pre-transforms (Gaussianising splines, PCA whitening) are the flow's fixed first
stage, so their Jacobians and inverses are in every density and every sample.

The pieces live in their own modules: the options in :mod:`~innfer_lib.density.architecture`,
the conditioner networks in :mod:`~innfer_lib.density.dense`, the spline maths in
:mod:`~innfer_lib.density.spline`, the learnable permutation in
:mod:`~innfer_lib.density.mixing`, the element-wise transforms in
:mod:`~innfer_lib.density.transform` and the layers in :mod:`~innfer_lib.density.coupling`.
Design choices that differ from the original INNFER (BayesFlow based) tool:

* Every design is an exact bijection in any dimension (1-D included, see the coupling layer).
* Any conditioner input may be empty (1-D data, or an unconditional flow with ``n_cond = 0``);
  an empty input is replaced by a single zero column, so the MLP reduces to trainable constants
  (its biases) and the code path stays identical.
* Weights are created from a NumPy generator seeded by the architecture, not from the global TF
  seed, so a float64 twin of a float32 flow is built with identical structure and can take its
  weights via :meth:`ConditionalFlow.set_weights`.
* The rational-quadratic spline is implemented here (bins picked by masks, not gathers), which
  keeps the likelihood's derivative graphs small; TFP's bijector stays selectable
  (``spline_implementation: tfp``) as an independent cross-check.
* ``cond`` may have a single row that applies to every event. In 1-D every conditioner sees
  only θ, so a likelihood scan at fixed θ then evaluates the networks once instead of per event.
* ``permutation: learnable`` (INNFER's orthogonal-initialised matrix) is an LU-parametrised
  mixing whose log-determinant is a sum and whose inverse is two triangular solves, so it stays
  invertible whatever the optimiser does. ``null``/``none`` mean no permutation.
* Conditioner dropout (``affine_dropout``/``spline_dropout`` with ``*_dropout_prob``) acts only
  when the training step passes ``training=True``; evaluation is deterministic. INNFER's MC
  dropout (dropout at inference) is refused, as it would make the likelihood random.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from innfer_lib.density.architecture import (
    dropout_rate,
    layer_kinds,
    resolve_architecture,
    signature,
)
from innfer_lib.density.coupling import CouplingLayer, LogDets
from innfer_lib.density.mixing import LUMixing
from innfer_lib.density.pretransform import PreTransform
from innfer_lib.density.tensor_ops import SharedRows, shared_rows, sum_last
from innfer_lib.density.weights_file import (
    assign_weights,
    load_warm_start,
    load_weights,
    read_weights,
    save_weights,
    set_loaded_weights,
)

#: Conditioners run once per distinct θ row (`SharedRows`) only where there are at least this
#: many events per distinct row: for continuous θ the sort it needs would cost more than it saves.
EVENTS_PER_SHARED_ROW = 8

# The flow has no data-dependent Python control flow, so AutoGraph conversion (which would
# also recurse into TFP internals) only adds tracing time when callers wrap us in tf.function.
_no_autograph = tf.autograph.experimental.do_not_convert


class ConditionalFlow(tf.Module):
    """Normalizing flow for q(x | θ) built from conditional coupling layers.

    All public methods accept NumPy arrays or tensors, cast them to the flow's dtype and are
    traceable, so callers can wrap them in ``tf.function`` with a ``[None, n]`` input signature.
    For an unconditional flow (``n_cond = 0``) ``cond`` may be None wherever the number of events
    is implied by another argument; :meth:`sample` needs a ``(n, 0)`` array to know ``n``.
    """

    def __init__(
        self,
        n_x: int,
        n_cond: int,
        architecture: Mapping[str, Any] | None = None,
        dtype: str = "float32",
        pretransform: Mapping[str, Any] | None = None,
    ) -> None:
        """Build the layers; weights depend only on the architecture (its seed), not TF state.

        Args:
            n_x: Number of observables (dimension of x), at least 1.
            n_cond: Number of conditioning parameters θ, may be 0.
            architecture: Flow options (see :data:`~innfer_lib.density.architecture.
                DEFAULT_ARCHITECTURE`); unknown keys are ignored.
            dtype: "float32" for training, "float64" for precise likelihood fits.
            pretransform: The ``density.pretransform`` record of PreProcess (Gaussianising
                splines and/or PCA whitening), applied as a fixed first stage, or None.
        """
        super().__init__(name="conditional_flow")
        if n_x < 1 or n_cond < 0:
            raise ValueError(f"need n_x >= 1 and n_cond >= 0, got n_x={n_x}, n_cond={n_cond}")
        self.n_x = int(n_x)
        self.n_cond = int(n_cond)
        # Plain containers (not TF trackable wrappers) so callers can YAML-dump the architecture;
        # the variables are exposed explicitly through trainable_variables instead.
        self._architecture = self._no_dependency(resolve_architecture(architecture))
        self._dtype = tf.as_dtype(dtype)
        if self._dtype not in (tf.float32, tf.float64):
            raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")
        arch = self._architecture
        # Separate streams per purpose (spawned children do not depend on how many are
        # spawned), so adding an option never changes the weights of existing configurations.
        weight_seq, perm_seq, dropout_seq = np.random.SeedSequence(int(arch["seed"])).spawn(3)
        weight_rng = np.random.default_rng(weight_seq)
        perm_rng = np.random.default_rng(perm_seq)
        kinds = layer_kinds(arch)
        # One generator, created eagerly here (tf.function cannot create it), feeds every
        # dropout mask; flows without dropout carry no random state at all.
        self._dropout_rng: tf.random.Generator | None = None
        if any(dropout_rate(arch, kind) > 0.0 for kind in set(kinds)):
            self._dropout_rng = tf.random.Generator.from_seed(int(dropout_seq.generate_state(1)[0]))
        self._layers: list[CouplingLayer] = self._no_dependency([])
        for i, kind in enumerate(kinds):
            perm = perm_rng.permutation(self.n_x) if arch["permutation"] == "fixed" else None
            mixing = (
                LUMixing(self.n_x, perm_rng, self._dtype, f"layer{i}")
                if arch["permutation"] == "learnable"
                else None
            )
            self._layers.append(
                CouplingLayer(
                    kind,
                    self.n_x,
                    self.n_cond,
                    arch,
                    weight_rng,
                    perm,
                    self._dtype,
                    f"layer{i}",
                    mixing=mixing,
                    dropout_rng=self._dropout_rng,
                )
            )
        self._variables: list[tf.Variable] = self._no_dependency(
            [v for layer in self._layers for v in layer.variables]
        )
        self._log_norm = -0.5 * self.n_x * math.log(2.0 * math.pi)
        self._pretransform_record = self._no_dependency(copy.deepcopy(pretransform))
        self._evaluation_log_prob: Any = self._no_dependency(None)
        self._pretransform = self._no_dependency(
            PreTransform(pretransform, self.n_x, self._dtype) if pretransform else None
        )

    @property
    def architecture(self) -> dict[str, Any]:
        """The resolved architecture (defaults filled in), as a fresh plain dict."""
        return copy.deepcopy(self._architecture)

    @property
    def dtype(self) -> tf.DType:
        """The dtype of all weights and outputs."""
        return self._dtype

    @property
    def smooth_in_condition(self) -> bool:
        """Whether log q(x | θ) is twice continuously differentiable in θ for every x.

        Affine couplings (smooth activations, tanh soft clamp), ActNorm and the mixings are.
        A rational-quadratic spline is only C¹ in x, so log dy/dx jumps in slope wherever a
        knot, which moves with θ, passes an event (and at the box edge): each event's
        log-density has kinks in θ. Autodiff returns the second derivative between kinks and
        misses the kinks' share of the NLL curvature, which for ~1e5 events is of the same
        order as the smooth part (2.6x too large a curvature on the varying-yield benchmark).
        """
        return all(kind == "affine" for kind in layer_kinds(self._architecture))

    @property
    def trainable_variables(self) -> tuple[tf.Variable, ...]:
        """Variables in creation order, the same order as get_weights."""
        return tuple(self._variables)

    @property
    def variables(self) -> tuple[tf.Variable, ...]:
        """All variables of the flow (all are trainable)."""
        return tuple(self._variables)

    @property
    def random_state_variables(self) -> list[tf.Variable]:
        """State of the random generator the training step draws dropout masks from.

        The state advances every training step; a resumed training must continue that stream,
        not restart it, to reproduce the same masks, so the checkpoint stores these variables.
        Empty for a flow without dropout.
        """
        return [] if self._dropout_rng is None else [self._dropout_rng.state]

    def distinct_training_rows(self, cond: np.ndarray, batch_size: int) -> int | None:
        """How many distinct θ rows training runs the conditioners on, or None for per event.

        A 1-D flow's conditioners see θ alone, and training sets hold a few θ points
        (Dim1Gaussian: 15 masses for 77k events), so its steps can run them once per distinct
        row of the batch (`SharedRows`): the same numbers for a fraction of the work. Where
        θ is continuous this only adds a sort, so it needs at most one distinct row per 8
        events of a batch; and no dropout, whose masks must differ between events.
        """
        if self.n_x != 1 or self.n_cond == 0 or self._dropout_rng is not None:
            return None
        distinct = len(np.unique(np.asarray(cond), axis=0))
        return distinct if distinct * EVENTS_PER_SHARED_ROW <= batch_size else None

    @property
    def permutations(self) -> list[np.ndarray]:
        """Per-layer permutation of the dimensions, for inspection and reproducibility checks.

        Layer k's output column j holds its input column ``permutations[k][j]`` (before the
        coupling transforms). With ``permutation: learnable`` these are identities and the
        reordering is part of :meth:`mixing_matrices` instead.
        """
        return [layer.permutation.copy() for layer in self._layers]

    def mixing_matrices(self) -> list[np.ndarray]:
        """Per-layer (n_x, n_x) matrix W that maps each event x to W x before the couplings.

        For ``fixed`` and ``none`` this is the permutation matrix of :attr:`permutations`; for
        ``learnable`` the current trainable mixing matrix, so tests and diagnostics can compare
        against an explicit determinant.
        """
        out = []
        for layer in self._layers:
            if layer.mixing is not None:
                out.append(layer.mixing.matrix().numpy())
            else:
                out.append(np.eye(self.n_x)[layer.permutation])
        return out

    def _cast(self, a: Any) -> tf.Tensor:
        t = tf.convert_to_tensor(a)
        return t if t.dtype == self._dtype else tf.cast(t, self._dtype)

    def _cond(self, cond: Any, n: tf.Tensor) -> tf.Tensor | None:
        """Cast cond; for n_x > 1 also broadcast a single row to all n events.

        In 1-D the conditioners see only cond, so a single row is kept as is and every
        network then runs once for all events. For n_x > 1 cond is concatenated with
        per-event columns and must have n rows; broadcasting an (n, n_cond) input is free.
        """
        if self.n_cond == 0:
            return None
        if cond is None:
            raise ValueError(f"this flow needs cond of shape (n, {self.n_cond})")
        if isinstance(cond, SharedRows):
            if self.n_x > 1:
                raise ValueError("SharedRows cond is for 1-D flows, whose conditioners see θ alone")
            return SharedRows(self._cast(cond.rows), cond.index)
        c = self._cast(cond)
        if self.n_x > 1:
            c = tf.broadcast_to(c, tf.stack([n, self.n_cond]))
        return c

    def _constant_log_det(self) -> tf.Tensor | None:
        """Sum of all layers' ActNorm log|scale| and mixing log|det W|, shared by every event.

        None when the flow has neither, so no op is added to the graphs.
        """
        terms = []
        if self._layers[0].act_norm:
            scales = tf.concat([layer.scale for layer in self._layers], axis=0)
            terms.append(tf.reduce_sum(tf.math.log(tf.abs(scales))))
        terms += [layer.mixing.log_det() for layer in self._layers if layer.mixing is not None]
        if not terms:
            return None
        return terms[0] if len(terms) == 1 else tf.add_n(terms)

    def _total_log_det(self, log_dets: LogDets, sign: float, n: tf.Tensor) -> tf.Tensor:
        """Add the per-layer log-determinants and the event-independent terms into shape (n,)."""
        total = log_dets.total()
        constant = self._constant_log_det()
        if constant is not None:
            total = total + sign * constant
        if self.n_x == 1:
            # Conditioners that see only a single-row cond give (1,) terms; the
            # other dimensions' columns make every term (n,) already.
            total = tf.broadcast_to(total, tf.reshape(n, [1]))
        return total

    @_no_autograph
    def forward(self, x: Any, cond: Any, training: bool = False) -> tuple[tf.Tensor, tf.Tensor]:
        """Map data to latent space.

        Args:
            x: Standardised observables, shape (n, n_x).
            cond: Standardised parameters, shape (n, n_cond), or (1, n_cond) for one θ shared
                by all events (cheaper in 1-D); ignored when n_cond = 0.
            training: Apply the conditioners' dropout (if configured). Only the training step
                sets it; evaluation must stay deterministic, so it defaults to False.

        Returns:
            z of shape (n, n_x) and log|det ∂z/∂x| of shape (n,).
        """
        x = self._cast(x)
        n = tf.shape(x)[0]
        c = self._cond(cond, n)
        log_dets = LogDets()
        pre_log_det = None
        if self._pretransform is not None:
            x, pre_log_det = self._pretransform.forward(x)
        for layer in self._layers:
            x = layer.forward(x, c, log_dets, training)
        total = self._total_log_det(log_dets, 1.0, n)
        return x, total if pre_log_det is None else total + pre_log_det

    @_no_autograph
    def forward_stages(self, x: Any, cond: Any) -> list[tf.Tensor]:
        """The data after 0, 1, ..., L coupling layers, for INNFER's "Flow" plot.

        Stage k applies the first k layers and then undoes the permutations of those layers
        (last first), so every column keeps describing the same variable and a plot of stage k
        against stage 0 shows how each variable is gradually Gaussianised. Stage 0 is the input
        and stage L is the forward output z with its columns put back in input order. A flow
        with a pre-transform has one more stage, its output, right after the input (with PCA
        whitening its columns are principal components, not the variables).

        A ``learnable`` mixing is not a reordering and cannot be undone without undoing the
        layer itself, so with it the raw layer outputs are returned (columns then mix the
        variables). Dropout is never applied here.

        Args:
            x: Standardised observables, shape (n, n_x).
            cond: Standardised parameters, as for :meth:`forward`.

        Returns:
            A list of L + 1 (L + 2 with a pre-transform) tensors of shape (n, n_x).
        """
        x = self._cast(x)
        n = tf.shape(x)[0]
        c = self._cond(cond, n)
        stages = [x]
        if self._pretransform is not None:
            x = self._pretransform.forward(x)[0]
            stages.append(x)
        # Column j of the current output holds input variable order[j].
        order = np.arange(self.n_x)
        for layer in self._layers:
            x = layer.forward(x, c, LogDets())
            if layer.mixing is not None:
                stages.append(x)
                continue
            order = order[layer.permutation]
            restore = np.argsort(order)
            same = np.array_equal(restore, np.arange(self.n_x))
            stages.append(x if same else tf.gather(x, restore, axis=1))
        return stages

    @_no_autograph
    def inverse(
        self, z: Any, cond: Any, return_log_det: bool = False
    ) -> tf.Tensor | tuple[tf.Tensor, tf.Tensor]:
        """Map latent points back to data space.

        Args:
            z: Latent points, shape (n, n_x).
            cond: Parameters, shape (n, n_cond) or (1, n_cond); ignored when n_cond = 0.
            return_log_det: Also return log|det ∂x/∂z|, computed along the inverse path so it
                can serve as an independent check of the forward log-Jacobian.

        Returns:
            x of shape (n, n_x), or (x, log_det) when return_log_det is set.
        """
        z = self._cast(z)
        n = tf.shape(z)[0]
        c = self._cond(cond, n)
        log_dets = LogDets()
        for layer in reversed(self._layers):
            z = layer.inverse(z, c, log_dets)
        pre_log_det = None
        if self._pretransform is not None:
            z, pre_log_det = self._pretransform.inverse(z)
        if not return_log_det:
            return z
        total = self._total_log_det(log_dets, -1.0, n)
        return z, total if pre_log_det is None else total + pre_log_det

    def base_log_prob(self, z: tf.Tensor) -> tf.Tensor:
        """Log density of the standard normal base distribution, shape (n,)."""
        return self._log_norm - 0.5 * sum_last(tf.square(z))

    def evaluation_log_prob(self) -> tf.types.experimental.PolymorphicFunction:
        """:meth:`log_prob` (no dropout) as one tf.function of this flow, built on first use.

        A graph that calls it, such as a likelihood's value and gradient, embeds a call of
        this one traced function (and of its gradient, built once) instead of tracing the
        layers afresh. A job that fits several validation points builds one likelihood per
        point from one loaded flow (`models.load_density` keeps it and has its
        `LearnedDensity` call this), so later points trace only their own few ops. Arguments
        are (n, n_x) and (m, n_cond) tensors in the flow's dtype, m being 1 or n as for
        :meth:`forward`.
        """
        if self._evaluation_log_prob is None:
            spec = [
                tf.TensorSpec([None, self.n_x], self._dtype),
                tf.TensorSpec([None, self.n_cond], self._dtype),
            ]
            self._evaluation_log_prob = self._no_dependency(
                tf.function(
                    _no_autograph(lambda x, cond: self.log_prob(x, cond)),
                    input_signature=spec,
                    autograph=False,
                )
            )
        return self._evaluation_log_prob

    @_no_autograph
    def log_prob(self, x: Any, cond: Any, training: bool = False) -> tf.Tensor:
        """Log density log q(x | cond) in standardised space, shape (n,), in the flow's dtype.

        Args:
            x: Standardised observables, shape (n, n_x).
            cond: Standardised parameters, as for :meth:`forward`.
            training: Apply dropout (training step only); see :meth:`forward`.
        """
        z, log_det = self.forward(x, cond, training)
        return self.base_log_prob(z) + log_det

    def sample(self, cond: Any, seed: int) -> tf.Tensor:
        """Draw one x per row of cond, reproducibly for a given seed.

        Args:
            cond: Parameters, shape (n, n_cond); for n_cond = 0 an (n, 0) array sets n.
            seed: Integer seed of the stateless normal draw, so results do not depend on any
                global random state.

        Returns:
            Samples of shape (n, n_x).
        """
        c = self._cast(cond)
        n = tf.shape(c)[0]
        z = tf.random.stateless_normal(
            tf.stack([n, self.n_x]), seed=[int(seed), 0], dtype=self._dtype
        )
        return self.inverse(z, self.shared_condition(c))

    def shared_condition(self, c: tf.Tensor) -> tf.Tensor | SharedRows:
        """A 1-D flow's per-event θ as its distinct rows, where they are few (eagerly).

        EvaluateDensity draws one event per training event at that event's θ (15 distinct
        points for 135k events in the README run), an Asimov sample repeats one θ, and the
        loss metrics evaluate the training set at its events' θ: the conditioners, which see
        θ alone, then run once per distinct row, as in training (`distinct_training_rows`).
        For sampling and evaluation without a gradient through θ, which the shared rows do not
        carry. The same numbers, to float rounding.
        """
        if self.n_x != 1 or self.n_cond == 0 or not tf.executing_eagerly():
            return c
        shared = shared_rows(c)
        if int(shared.rows.shape[0]) * EVENTS_PER_SHARED_ROW <= int(c.shape[0]):
            return shared
        return c

    def get_weights(self) -> list[np.ndarray]:
        """Copies of all weights in a stable (creation) order."""
        return read_weights(self._variables)

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        """Assign weights from get_weights of a flow with the same shape; casts to our dtype.

        Raises:
            ValueError: If the number or shapes of the arrays do not match.
        """
        assign_weights(self._variables, weights, self._dtype.as_numpy_dtype)

    def signature(self) -> str:
        """Canonical text of dimensions and architecture, stored with the weights by save.

        Two flows with the same weight shapes can still differ (seed-dependent permutations,
        clamp, spline bound), so load compares this text instead of trusting shapes alone.
        """
        return signature(self.n_x, self.n_cond, self._architecture, self._pretransform_record)

    def save(self, path: str) -> None:
        """Write the weights and a signature of dimensions and architecture to one .npz file."""
        save_weights(path, self.get_weights(), self.signature())

    def warm_start(self, path: str) -> None:
        """Start from the weights of a saved flow of the same signature (training's warm start).

        Raises:
            ModelFileError: (a ValueError) The file cannot be read or was saved for another
                network; the message names the file and each differing architecture key.
        """
        weights = load_warm_start(path, self.signature(), "flow")
        set_loaded_weights(self, path, weights, "train_density")

    @classmethod
    def load(
        cls,
        path: str,
        n_x: int,
        n_cond: int,
        architecture: Mapping[str, Any],
        dtype: str = "float32",
        pretransform: Mapping[str, Any] | None = None,
    ) -> ConditionalFlow:
        """Rebuild a flow from its architecture and load weights written by save.

        Raises:
            ModelFileError: (a ValueError) If the file cannot be read, or was written for other
                dimensions or another architecture; the message names the file.
        """
        flow = cls(n_x, n_cond, architecture, dtype=dtype, pretransform=pretransform)
        weights = load_weights(path, flow.signature(), "flow", "train_density")
        set_loaded_weights(flow, path, weights, "train_density")
        return flow

    def count_flops_per_event(self) -> int:
        """Approximate floating-point operations (2 per multiply-add) of one log_prob event.

        Includes each learnable mixing's per-event matrix product; building the mixing matrices
        and the ActNorm/mixing log-determinants is shared by a batch and left out.
        """
        return sum(layer.flops() for layer in self._layers) + 3 * self.n_x
