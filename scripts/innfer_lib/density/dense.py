"""Dense networks of the flow: activations, the fully connected layer and the conditioner MLP.

The layers are built on raw ``tf.Variable`` objects rather than Keras layers so that their
creation order, dtype and initial values are fully under our control: weights come from a
NumPy generator seeded by the architecture, so a float64 twin of a float32 flow is built with
identical structure and can take its weights.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import tensorflow as tf

from innfer_lib.density.tensor_ops import SharedRows


def _silu(x: tf.Tensor) -> tf.Tensor:
    """x * sigmoid(x), the same values as tf.nn.silu without its custom gradient.

    tf.nn.silu wraps a custom gradient (IdentityN, a recomputed sigmoid and an unused gradient
    for its beta) around every call. The plain product traces value+gradient graphs about twice
    as fast and Hessian graphs smaller; measured trade-off in peak memory (5-D, float64): the
    θ-Hessian of 2e4 events needs 6.7 GB instead of 8.7 GB, value+gradient of 1e5 events
    11.7 GB instead of 7.4 GB, because the sigmoid is kept for the backward pass.
    """
    return x * tf.math.sigmoid(x)


#: The function of every activation name in :data:`innfer_lib.density.architecture.ACTIVATIONS`
#: (None: linear, no op).
ACTIVATION_FUNCTIONS: dict[str, Callable[[tf.Tensor], tf.Tensor] | None] = {
    "relu": tf.nn.relu,
    "elu": tf.nn.elu,
    "selu": tf.nn.selu,
    "gelu": tf.nn.gelu,
    "swish": _silu,
    "silu": _silu,
    "tanh": tf.math.tanh,
    "sigmoid": tf.math.sigmoid,
    "softplus": tf.math.softplus,
    "leaky_relu": tf.nn.leaky_relu,
    "linear": None,
}


def dropout(h: tf.Tensor, rate: float, rng: tf.random.Generator) -> tf.Tensor:
    """Dropout whose mask seed comes from `rng`, so training is reproducible and resumable.

    Stateless ops with seeds from a shared generator: inside a ``tf.function`` each call draws
    a fresh mask (the generator state is a variable that advances), and a checkpoint of that
    state lets a resumed training draw exactly the masks an uninterrupted one would.
    """
    seed = rng.make_seeds(1)[:, 0]
    return tf.nn.experimental.stateless_dropout(h, rate, seed=seed)


class Dense:
    """Fully connected layer on raw variables, so ordering and dtype are fully under our control."""

    def __init__(
        self,
        n_in: int,
        n_out: int,
        activation: str,
        rng: np.random.Generator,
        dtype: tf.DType,
        zero_init: bool,
        name: str,
    ) -> None:
        """Create the kernel (Glorot-uniform from rng, or zeros) and a zero bias.

        Args:
            n_in: Input width.
            n_out: Output width.
            activation: A name of :data:`ACTIVATION_FUNCTIONS`.
            rng: Generator of the initial kernel; advanced only when zero_init is False.
            dtype: Dtype of the variables.
            zero_init: Start with a zero kernel, so the layer's output starts at zero.
            name: Prefix of the variable names.
        """
        if zero_init:
            kernel = np.zeros((n_in, n_out))
        else:
            limit = math.sqrt(6.0 / (n_in + n_out))
            kernel = rng.uniform(-limit, limit, size=(n_in, n_out))
        np_dtype = dtype.as_numpy_dtype
        self.kernel = tf.Variable(kernel.astype(np_dtype), name=f"{name}_kernel")
        self.bias = tf.Variable(np.zeros(n_out, dtype=np_dtype), name=f"{name}_bias")
        self.activation = ACTIVATION_FUNCTIONS[activation]
        self.n_in = n_in
        self.n_out = n_out

    def __call__(self, h: tf.Tensor) -> tf.Tensor:
        # bias_add's derivative is one BiasAddGrad op; a broadcasting add needs a shape
        # reduction (Shape, BroadcastGradientArgs, Sum, Reshape) in every derivative graph.
        y = tf.nn.bias_add(tf.matmul(h, self.kernel), self.bias)
        return y if self.activation is None else self.activation(y)

    @property
    def variables(self) -> list[tf.Variable]:
        """Kernel and bias, in creation order."""
        return [self.kernel, self.bias]

    def flops(self) -> int:
        """Multiply-adds (2 flops each) and the bias additions of one event."""
        return 2 * self.n_in * self.n_out + 2 * self.n_out


class MLP:
    """Conditioner network; its zero-initialised output makes every coupling start at identity.

    Optional dropout follows every hidden layer (as INNFER's Keras Dropout did) and acts only
    when called with ``training=True``. Its masks come from stateless ops whose seeds a shared
    ``tf.random.Generator`` hands out: inside a ``tf.function`` each call then draws fresh masks
    (the generator state is a variable that advances), while training stays reproducible from
    the architecture seed and evaluation never touches the generator.
    """

    def __init__(
        self,
        n_in: int,
        n_out: int,
        units: int,
        n_hidden: int,
        activation: str,
        rng: np.random.Generator,
        dtype: tf.DType,
        name: str,
        dropout_rate: float = 0.0,
        dropout_rng: tf.random.Generator | None = None,
    ) -> None:
        """Create n_hidden activated layers of width units and a zero-initialised linear output.

        Args:
            n_in: Input width.
            n_out: Output width (the number of transform parameters).
            units: Width of every hidden layer.
            n_hidden: Number of hidden layers (0: a single linear layer).
            activation: Activation name of the hidden layers.
            rng: Generator of the initial kernels, advanced layer by layer.
            dtype: Dtype of the variables.
            name: Prefix of the variable names.
            dropout_rate: Dropout probability after every hidden layer while training.
            dropout_rng: Source of the dropout seeds; without it there is no dropout.
        """
        self.layers: list[Dense] = []
        width = n_in
        for i in range(n_hidden):
            self.layers.append(Dense(width, units, activation, rng, dtype, False, f"{name}_h{i}"))
            width = units
        self.layers.append(Dense(width, n_out, "linear", rng, dtype, True, f"{name}_out"))
        self.dropout_rate = float(dropout_rate) if dropout_rng is not None else 0.0
        self.dropout_rng = dropout_rng

    def __call__(self, h: tf.Tensor | SharedRows, training: bool = False) -> tf.Tensor:
        if isinstance(h, SharedRows):
            return tf.gather(self(h.rows, training), h.index)
        # The generator only when masks are drawn: evaluation never touches it.
        rng = self.dropout_rng if training and self.dropout_rate > 0.0 else None
        for layer in self.layers[:-1]:
            h = layer(h)
            if rng is not None:
                h = dropout(h, self.dropout_rate, rng)
        return self.layers[-1](h)

    @property
    def variables(self) -> list[tf.Variable]:
        """All layers' variables, in creation order."""
        return [v for layer in self.layers for v in layer.variables]

    def flops(self) -> int:
        """Flops of one event through every layer."""
        return sum(layer.flops() for layer in self.layers)
