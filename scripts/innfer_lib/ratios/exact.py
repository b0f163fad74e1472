"""The exact weight ratio of a benchmark's weight-only nuisance, as a `WeightRatio`.

A benchmark whose nuisance acts only through event weights knows ln r(x, ν) + ln S(ν) in
closed form. Wrapped as a `WeightRatio` it stands where a learned regression would, so the
likelihood and MakeAsimov wiring can be tested exactly, and a learned ratio has a reference.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from innfer_lib.data.benchmarks import SHAPE_NU_RANGE, get_benchmark


class ExactRatio:
    """ln r + ln S of `parameter` of a benchmark process, from the benchmark's closed form.

    Args:
        benchmark: the scenario's name (`benchmarks.get_benchmark`).
        process: its process the nuisance reweights.
        parameter: the weight-only nuisance.
        nu_range: the range a learned ratio would be trusted on; the default is the range
            the benchmark's regression model is trained on.

    Raises:
        ValueError: an unknown scenario or process, or a parameter that is not one of its
            weight-only nuisances.
    """

    smooth_in_parameter = True
    #: The closed form is normalised for every θ of the benchmark.
    theta_parameters: tuple[str, ...] = ()

    def __init__(
        self,
        benchmark: str,
        process: str,
        parameter: str,
        nu_range: tuple[float, float] = SHAPE_NU_RANGE,
    ) -> None:
        self.parameter = parameter
        self.x_columns, self._log_weight = get_benchmark(benchmark).weight_ratio(process, parameter)
        self.nu_range = (float(nu_range[0]), float(nu_range[1]))

    def log_weight(self, x: Any, nu: Any, theta: Mapping[str, Any] | None = None) -> Any:
        """ln r(x, ν) + ln S(ν) per event, float64, differentiable in ν (θ is not needed)."""
        import tensorflow as tf

        xt = tf.cast(tf.convert_to_tensor(x), tf.float64)
        nut = tf.cast(tf.convert_to_tensor(nu, dtype_hint=tf.float64), tf.float64)
        cols = [xt[:, i] for i in range(len(self.x_columns))]
        return tf.broadcast_to(self._log_weight(cols, nut), tf.shape(xt)[:1])
