"""A density times the weight ratios of its shape nuisances: p(x | θ) Π_k r_k(x, ν_k) S_k(ν_k, θ).

The flow learns p(x | θ) at nominal weights; each weight-only nuisance ν_k enters through its
ratio model (`contract.WeightRatio`). `ReweightedDensity` makes the product look like any other
`Density`, so the likelihood terms, Hessians, D-matrix and scans need no change: ln p gains
Σ_k ln r_k + ln S_k and the parameters gain the ν's. S_k depends on the density's parameters θ
too (`normalisation_surface`), so the reweighted density is normalised at every θ.

Sampling a reweighted density cannot be done by inverting the flow: `sample` draws from the base
density (unweighted) and `event_weights` gives the per-event factor Π_k r_k S_k, which
MakeAsimov multiplies into the weights before rescaling them to the yield (spec models §3).

ν outside a ratio's trained range. INNFER's spline returned NaN there. Here the fit's limits
of ν are the ratio's `nu_range` (`ratio_limits`, used by `problem.parameter_limits`), so Minuit
can reach the edge but never leave it (the fit is then flagged at its limit, like a POI at the
end of its training range). Values that no fitter chooses, a frozen value, a validation
point or an Asimov point, are checked eagerly (`check_point`) and refused with an error naming
the parameter, the range and the model. Inside a traced TensorFlow graph there is no check.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from innfer_lib.core.errors import ConfigError

if TYPE_CHECKING:
    from innfer_lib.density.flow import ConditionalFlow
    from innfer_lib.density.models import Density
    from innfer_lib.ratios.contract import WeightRatio


def check_nu(ratio: WeightRatio, value: float, where: str) -> None:
    """Refuse a ν value outside the range the ratio model was trained and normalised on.

    Raises:
        ConfigError: naming `where` (the model), the parameter, the value and the range.
    """
    low, high = ratio.nu_range
    if not low <= float(value) <= high:
        raise ConfigError(
            f"{where}: {ratio.parameter} = {float(value):g} is outside the range "
            f"[{low:g}, {high:g}] its ratio model was trained on; choose a point inside it "
            "(or retrain the model with a wider `shifts` range)"
        )


class ReweightedDensity:
    """`base` times the ratios of its weight-only nuisances; a `Density` itself.

    Args:
        base: the density of the process at nominal weights (θ without the ν's).
        ratios: one `WeightRatio` per nuisance; each reads its `x_columns` out of the
            density's.
        where: names the model in messages, e.g. "process 'ttbar', category 'inclusive'".

    Raises:
        ConfigError: a ratio reads a column the density does not have, its ν is already a
            parameter of the base density, or two ratios share a ν.
    """

    def __init__(self, base: Density, ratios: Sequence[WeightRatio], where: str) -> None:
        self.base = base
        self.ratios = list(ratios)
        self.where = where
        self.x_columns = list(base.x_columns)
        nus = [r.parameter for r in self.ratios]
        clash = [n for n in nus if n in base.parameters or nus.count(n) > 1]
        if clash:
            raise ConfigError(
                f"{where}: the ratio model(s) of {sorted(set(clash))} would give a parameter "
                "twice (already a density parameter, or two ratio models of it)"
            )
        self._columns = []
        for r in self.ratios:
            missing = [c for c in r.x_columns if c not in self.x_columns]
            if missing:
                raise ConfigError(
                    f"{where}: the ratio model of {r.parameter} reads {missing}, which are not "
                    f"observables of the density ({self.x_columns})"
                )
            self._columns.append([self.x_columns.index(c) for c in r.x_columns])
            unknown = [t for t in r.theta_parameters if t not in base.parameters]
            if unknown:
                raise ConfigError(
                    f"{where}: the normalisation of {r.parameter}'s ratio model depends on "
                    f"{unknown}, which are not parameters of the density ({base.parameters}); "
                    "it was built for another density model"
                )
        self.parameters = [*base.parameters, *nus]
        self.smooth_in_parameters = bool(base.smooth_in_parameters) and all(
            r.smooth_in_parameter for r in self.ratios
        )

    @property
    def flow(self) -> ConditionalFlow | None:
        """The base density's flow (EvaluateDensity samples it; it knows no ν)."""
        return self.base.flow

    def ratio_limits(self) -> dict[str, tuple[float, float]]:
        """Fit limits of each ν: the range its ratio model was trained on."""
        return {r.parameter: (float(r.nu_range[0]), float(r.nu_range[1])) for r in self.ratios}

    def check_point(self, params: Mapping[str, Any]) -> None:
        """Refuse a point whose ν lies outside a ratio's range (eager values only)."""
        for r in self.ratios:
            if r.parameter in params:
                check_nu(r, float(params[r.parameter]), self.where)

    def log_weight(self, x: Any, params: Mapping[str, Any]) -> Any:
        """Σ_k ln r_k(x, ν_k) + ln S_k(ν_k, θ) per event, float64, differentiable in the ν's
        and θ."""
        import tensorflow as tf

        xt = tf.cast(tf.convert_to_tensor(x), tf.float64)
        total = tf.zeros(tf.shape(xt)[:1], tf.float64)
        for r, cols in zip(self.ratios, self._columns, strict=True):
            theta = {t: params[t] for t in r.theta_parameters}
            total = total + r.log_weight(tf.gather(xt, cols, axis=1), params[r.parameter], theta)
        return total

    def log_prob(self, x: Any, params: Mapping[str, Any]) -> Any:
        """ln p(x | θ) + Σ_k ln r_k + ln S_k: the base density's, reweighted."""
        import tensorflow as tf

        if tf.executing_eagerly():
            self.check_point(params)
        base = self.base.log_prob(x, {p: params[p] for p in self.base.parameters})
        return base + self.log_weight(x, params)

    def log_prob_rows(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Once per distinct θ row, as the ratios take one ν per call."""
        from innfer_lib.density.models import log_prob_by_point

        return log_prob_by_point(self, x, y)

    def sample(self, n: int, params: Mapping[str, float], seed: int) -> np.ndarray:
        """n events of the *base* density (unweighted); weight them with `event_weights`."""
        return self.base.sample(n, {p: params[p] for p in self.base.parameters}, seed)

    def event_weights(self, x: np.ndarray, params: Mapping[str, float]) -> np.ndarray:
        """Π_k r_k(x, ν_k) S_k(ν_k) per event, for weighted Asimovs of base-density samples.

        Raises:
            ConfigError: a ν outside its ratio's range.
        """
        self.check_point(params)
        values = {p: float(params[p]) for p in self.parameters}
        return np.exp(np.asarray(self.log_weight(np.asarray(x, np.float64), values)))
