"""INNFER's fully connected network (FCNN) of weight-ratio models, as a trainable tf.Module.

[Dense(width, activation, L2(l2_lambda)) → Dropout(dropout)] per entry of `dense_layers`,
then a linear Dense: one output for a regression, two logits for a classifier. It trains in
float32 through the density flow's loop (innfer_lib.density.training.train_model:
best-test-loss weights, resumable checkpoints, seeded batches), with INNFER's losses plus the
L2 penalty λ Σ‖W‖² of the hidden kernels, the penalty included in the reported losses as
INNFER reports it:

* regression, `loss: mse`: the weighted mean squared error Σw(y−ŷ)²/Σw in standardised target
  units; with `loss: gamma_deviance` the output is ln r̂ and the loss the weighted mean gamma
  deviance Σw[r e^{−ŷ} + ŷ − ln r − 1]/Σw of the physical ratio r (fcnn_options explains why);
* classifier: the weighted categorical cross-entropy −Σw ln p_y / Σw of the softmax of the
  two logits. It is computed as a log-softmax of the logits, which is exact and finite for
  any logits; INNFER takes the softmax and clips it to [1e-7, 1 − 1e-7] to avoid ln 0, which
  caps the loss of a confidently wrong event at ln 1e7 ≈ 16 and zeroes its gradient there.
  With `normalise_batch_categories` (INNFER's default) each training batch's class weights
  are rescaled so both classes sum to the smaller class sum (`batch_weights`); the recorded
  epoch losses use the stored weights, which PreProcess already balanced over the whole set.

A float64 twin takes the trained weights for the likelihood's predictions.

Layers are the flow's raw-variable `Dense` (innfer_lib.density.dense), so weights come from a
NumPy generator seeded by the options, not from TensorFlow's global state.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from innfer_lib.density.dense import Dense, dropout
from innfer_lib.density.weights_file import (
    assign_weights,
    load_weights,
    read_weights,
    save_weights,
    set_loaded_weights,
)
from innfer_lib.ratios.fcnn_options import (
    CLASSIFIER,
    GAMMA_LOSS,
    REGRESSION,
    resolve_fcnn_architecture,
)


def balance_batch_categories(truth: tf.Tensor, w: tf.Tensor) -> tf.Tensor:
    """Weights rescaled per class so each class sums to the smaller class sum of the batch.

    INNFER's `normalise_batch_categories`. A batch that holds one class only is left as it is
    (the smaller sum would be zero and remove the whole batch).
    """
    one = tf.cast(truth > 0.5, w.dtype)
    sum1 = tf.reduce_sum(w * one)
    sum0 = tf.reduce_sum(w * (1.0 - one))
    smallest = tf.minimum(sum0, sum1)
    both = smallest > 0
    scale1 = tf.where(both, smallest / tf.where(both, sum1, 1.0), 1.0)
    scale0 = tf.where(both, smallest / tf.where(both, sum0, 1.0), 1.0)
    return w * (one * scale1 + (1.0 - one) * scale0)


class FCNN(tf.Module):
    """ŷ(x) of a weight-ratio regression, or the two logits of a classifier, in standardised
    input (and regression target) units."""

    def __init__(
        self,
        n_in: int,
        architecture: Mapping[str, Any] | None = None,
        seed: int = 42,
        dtype: str = "float32",
        kind: str = REGRESSION,
    ) -> None:
        """Build the layers; weights depend only on (architecture, seed, kind).

        Args:
            n_in: Number of inputs (the observables and ν).
            architecture: Network keys (innfer_lib.ratios.fcnn_options); others are ignored.
            seed: Seed of the initial weights and of the dropout masks.
            dtype: "float32" for training, "float64" for predictions in the likelihood.
            kind: "regression" (one output) or "classifier" (two logits).
        """
        super().__init__(name="fcnn")
        if n_in < 1:
            raise ValueError(f"need at least one input, got n_in={n_in}")
        self.n_in = int(n_in)
        self.seed = int(seed)
        self.kind = kind
        self._architecture = self._no_dependency(resolve_fcnn_architecture(architecture, kind))
        self._dtype = tf.as_dtype(dtype)
        if self._dtype not in (tf.float32, tf.float64):
            raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")
        arch = self._architecture
        weight_seq, dropout_seq = np.random.SeedSequence(self.seed).spawn(2)
        rng = np.random.default_rng(weight_seq)
        hidden: list[Dense] = []
        width = self.n_in
        for i, units in enumerate(arch["dense_layers"]):
            hidden.append(Dense(width, units, arch["activation"], rng, self._dtype, False, f"h{i}"))
            width = units
        self._hidden = self._no_dependency(hidden)
        n_out = 2 if kind == CLASSIFIER else 1
        self._output = Dense(width, n_out, "linear", rng, self._dtype, False, "out")
        self._dropout_rng: tf.random.Generator | None = None
        if arch["dropout"] > 0.0:
            self._dropout_rng = tf.random.Generator.from_seed(int(dropout_seq.generate_state(1)[0]))
        self._variables: list[tf.Variable] = self._no_dependency(
            [v for layer in [*hidden, self._output] for v in layer.variables]
        )

    @property
    def architecture(self) -> dict[str, Any]:
        """The resolved network keys, a fresh plain dict."""
        return json.loads(json.dumps(self._architecture))

    @property
    def dtype(self) -> tf.DType:
        """Dtype of the variables and computations."""
        return self._dtype

    @property
    def trainable_variables(self) -> tuple[tf.Variable, ...]:
        """Variables in creation order, the order of get_weights."""
        return tuple(self._variables)

    @property
    def random_state_variables(self) -> list[tf.Variable]:
        """The dropout generator's state (empty without dropout); checkpointed by training."""
        return [] if self._dropout_rng is None else [self._dropout_rng.state]

    def __call__(self, x: Any, training: bool = False) -> tf.Tensor:
        """ŷ per event, shape (n,), or the classifier's logits, shape (n, 2), of standardised
        inputs x of shape (n, n_in)."""
        h = tf.convert_to_tensor(x)
        h = h if h.dtype == self._dtype else tf.cast(h, self._dtype)
        rate = self._architecture["dropout"]
        rng = self._dropout_rng if training and rate > 0.0 else None
        for layer in self._hidden:
            h = layer(h)
            if rng is not None:
                h = dropout(h, rate, rng)
        out = self._output(h)
        return out if self.kind == CLASSIFIER else out[:, 0]

    def penalty(self) -> tf.Tensor | None:
        """λ Σ‖W‖² over the hidden kernels (Keras' L2 regulariser), None when λ = 0."""
        l2 = self._architecture["l2_lambda"]
        if l2 == 0.0:
            return None
        total = tf.add_n([tf.reduce_sum(tf.square(layer.kernel)) for layer in self._hidden])
        return tf.constant(l2, self._dtype) * total

    @property
    def log_link(self) -> bool:
        """Whether the output is ln r̂ (a regression trained with the gamma deviance)."""
        return self.kind == REGRESSION and self._architecture["loss"] == GAMMA_LOSS

    def per_event_loss(self, inputs: Sequence[tf.Tensor], training: bool) -> tf.Tensor:
        """Per event, from inputs (x, y): (y − ŷ(x))² in standardised units (regression, mse),
        the gamma deviance y e^{−ŷ} + ŷ − ln y − 1 of the physical ratio y (regression,
        gamma_deviance), or −ln p_y(x) from the log-softmax of the logits (classifier, y = 1
        shifted, 0 nominal)."""
        x, y = inputs
        if self.kind == CLASSIFIER:
            log_p = tf.nn.log_softmax(self(x, training=training), axis=-1)
            return -(y * log_p[:, 1] + (1.0 - y) * log_p[:, 0])
        out = self(x, training=training)
        if self.log_link:
            log_y = tf.math.log(y)
            return tf.exp(log_y - out) + (out - log_y) - 1.0
        return tf.square(y - out)

    def batch_weights(self, inputs: Sequence[tf.Tensor], w: tf.Tensor) -> tf.Tensor:
        """Weights of one training batch: class-balanced with normalise_batch_categories."""
        if self.kind == CLASSIFIER and self._architecture["normalise_batch_categories"]:
            return balance_batch_categories(inputs[1], w)
        return w

    def checkpoint_setup(self) -> dict[str, Any]:
        """What a training checkpoint must agree with besides data, options and weights."""
        return {
            "model": f"fcnn_{self.kind}",
            "n_in": self.n_in,
            "seed": self.seed,
            "dtype": self._dtype.name,
            "architecture": self._architecture,
        }

    def get_weights(self) -> list[np.ndarray]:
        """Copies of all weights in creation order."""
        return read_weights(self._variables)

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        """Assign weights of an FCNN with the same shapes, cast to this network's dtype.

        Raises:
            ValueError: If the number or shapes of the arrays do not match.
        """
        assign_weights(self._variables, weights, self._dtype.as_numpy_dtype)

    def signature(self) -> str:
        """Canonical text of the inputs and network, stored with the weights by save."""
        kind = {"kind": CLASSIFIER} if self.kind == CLASSIFIER else {}
        return json.dumps({"n_in": self.n_in, **kind, **self._architecture}, sort_keys=True)

    def save(self, path: str) -> None:
        """Write the weights and the signature to one .npz file (exactly at path)."""
        save_weights(path, self.get_weights(), self.signature())

    @classmethod
    def load(
        cls,
        path: str,
        n_in: int,
        architecture: Mapping[str, Any],
        dtype: str = "float64",
        kind: str = REGRESSION,
    ) -> FCNN:
        """Rebuild a network from its architecture and load weights written by save.

        Raises:
            ModelFileError: (a ValueError) If the file cannot be read or was written for
                another network; the message names the file.
        """
        net = cls(n_in, architecture, dtype=dtype, kind=kind)
        weights = load_weights(path, net.signature(), kind, f"train_{kind}")
        set_loaded_weights(net, path, weights, f"train_{kind}")
        return net


def load_trained_network(
    weights_path: str | Path,
    architecture_path: str | Path,
    parameters_path: str | Path,
    kind: str = REGRESSION,
) -> tuple[FCNN, dict[str, Any]]:
    """A trained ratio network in float64 and its PreProcess parameters, from its files.

    Raises:
        ModelFileError: (a ValueError) a file that cannot be read or does not fit the others;
            the message names it.
    """
    from innfer_lib.core.errors import ModelFileError
    from innfer_lib.core.io import read_yaml

    parameters = read_yaml(parameters_path)
    try:
        options = resolve_fcnn_architecture(read_yaml(architecture_path), kind)
    except ValueError as err:
        raise ModelFileError(f"{architecture_path}: {err}") from err
    network = FCNN.load(
        str(weights_path), len(parameters["X_columns"]), options, dtype="float64", kind=kind
    )
    return network, parameters
