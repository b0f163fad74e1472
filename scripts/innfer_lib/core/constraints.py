"""Constrained parameters: which nuisances carry a unit-Gaussian constraint in a fit.

The likelihood adds their constraint terms and the pulls plot draws their pulls; both ask
here, so the two cannot disagree about which parameters are constrained.
"""

from __future__ import annotations

from collections.abc import Sequence


def constrained_parameters(
    nuisance_constraints: Sequence[str], fit_parameters: Sequence[str], constraints: bool = True
) -> list[str]:
    """Parameters with a unit-Gaussian constraint in the fit (the ones that get a pull bar).

    The analysis's `nuisance_constraints` that are fit parameters, unless the fit set drops the
    constraints (INNFER's --no-constraint); the likelihood and the pulls plot both use it.
    """
    if not constraints:
        return []
    return [n for n in nuisance_constraints if n in fit_parameters]
