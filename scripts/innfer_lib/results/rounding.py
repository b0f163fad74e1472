"""Rounding a result to its uncertainty: the decimals that show σ with two significant digits.

Results tables and the numbers printed on plots (scan results, impacts) quote values this way,
so a value reads the same wherever it is shown. Plain math and numpy, no matplotlib, so
tables can use it without a plotting stack.
"""

from __future__ import annotations

import math

import numpy as np

#: Decimals when there is no finite non-zero uncertainty to round to.
DEFAULT_DECIMALS = 3
#: Added to log10(σ) before flooring. An interval is a difference of two fitted values, so σ
#: = 0.1 often arrives as 0.1 − ε; without it that σ would get three digits instead of two.
LOG10_OFFSET = 1e-9


def decimals(*errors: float | None) -> int:
    """Decimals that show the smallest error with two significant digits (at least 0).

    Errors that are None, not finite or zero are ignored (an open interval, a fixed
    parameter); without any left there is nothing to round to and `DEFAULT_DECIMALS` are used.
    """
    finite = [abs(e) for e in errors if e is not None and math.isfinite(e) and e != 0]
    if not finite:
        return DEFAULT_DECIMALS
    return max(0, 1 - int(np.floor(np.log10(min(finite)) + LOG10_OFFSET)))
