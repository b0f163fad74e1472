"""Results tables of one fit set: one row per (density, validation point, parameter).

The rows come from the `intervals.fit_result` records the summaries read, so a table and a
summary plot show the same numbers; CSV keeps full precision for further use, markdown rounds
each value to its uncertainty (`rounding.decimals`, as the plots do) for reading. A fit that
is not valid (`inference.validity`: failed, at a limit, Hessian not positive definite) keeps
its numbers but says so, with the reasons, in its rows: its ±σ are not intervals to quote.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from innfer_lib.inference.validity import describe
from innfer_lib.results.intervals import NOMINAL, TRUTH
from innfer_lib.results.rounding import decimals

TABLE_COLUMNS = (
    "fit",
    "density",
    "val",
    "parameter",
    "reference",
    "truth",
    "best_fit",
    "sigma_down",
    "sigma_up",
    "pull",
    "fit_valid",
    "invalid_reasons",
)
#: How the reasons of one fit are joined in a table cell.
REASON_SEPARATOR = "; "


def table_rows(
    fit: str, results: Mapping[tuple[str, int], Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """One row per (density, val, parameter) of one fit set, in the `TABLE_COLUMNS` order."""
    rows = []
    for (density, val), record in sorted(results.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        for p, r in record["parameters"].items():
            rows.append(
                {
                    "fit": fit,
                    "density": density,
                    "val": int(val),
                    "parameter": p,
                    "reference": record.get("reference", TRUTH),
                    "truth": r["truth"],
                    "best_fit": r["best_fit"],
                    "sigma_down": r["sigma_down"],
                    "sigma_up": r["sigma_up"],
                    "pull": r["pull"],
                    "fit_valid": bool(record["fit_valid"]),
                    "invalid_reasons": list(record["invalid_reasons"]),
                }
            )
    return rows


def table_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    """The rows as CSV with full float precision."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=TABLE_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        cells = {k: row[k] for k in TABLE_COLUMNS}
        cells["invalid_reasons"] = REASON_SEPARATOR.join(row["invalid_reasons"])
        writer.writerow(cells)
    return buffer.getvalue()


def _significant(value: float, sigma: float) -> str:
    """A value to the precision of its uncertainty (`rounding.decimals`); 6 digits without one."""
    if not (math.isfinite(value) and math.isfinite(sigma) and sigma > 0):
        return f"{value:.6g}"
    return f"{value:.{decimals(sigma)}f}"


def table_markdown(rows: Sequence[Mapping[str, Any]]) -> str:
    """The rows as a markdown table: value +σ_up −σ_down, rounded to σ's precision.

    A data fit's reference value is marked "(nominal)": it is the default point, not a truth,
    and its pull is the distance from the nominal in units of σ. An invalid fit's row says
    "NO" and why (`validity.describe`) in the last column.
    """
    lines = [
        "| density | val | parameter | truth | best fit | pull | fit valid |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        sigma = np.nanmin([r["sigma_down"], r["sigma_up"]])
        best = _significant(r["best_fit"], sigma)
        up = _significant(r["sigma_up"], sigma)
        down = _significant(r["sigma_down"], sigma)
        mark = " (nominal)" if r["reference"] == NOMINAL else ""
        valid = "yes" if r["fit_valid"] else f"NO: {describe(r['invalid_reasons'])}"
        lines.append(
            f"| {r['density']} | {r['val']} | {r['parameter']} | {r['truth']:g}{mark} | "
            f"{best} +{up} −{down} | {r['pull']:+.2f} | {valid} |"
        )
    return "\n".join(lines) + "\n"
