"""The `toy_collect` job: every toy batch of one fit set and density into the coverage files.

Kept apart from `results.coverage` (the maths) so the maths stays free of plotting and files.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from innfer_lib.core.io import atomic_path
from innfer_lib.plots.coverage import coverage_plot, pulls_plot
from innfer_lib.results.coverage import (
    TABLE_COLUMNS,
    coverage_summary,
    markdown_table,
    pooled_pulls,
    table_rows,
)


def _common(batches: Sequence[Mapping[str, Any]], key: str) -> list[str]:
    """A list every batch records (sources, parameters), in the first batch's order."""
    return list(batches[0][key]) if batches else []


def cost(batches: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Wall time per 100 toys (setup included) and the tracing counts, over the batches."""
    n = sum(len(b["toys"]) for b in batches)
    wall = sum(float(b.get("wall_seconds") or 0.0) for b in batches)
    setup = sum(float(b.get("setup_seconds") or 0.0) for b in batches)
    retraced = [
        b["batch"] for b in batches if b["tracing"]["after_all"] != b["tracing"]["after_first_toy"]
    ]
    return {
        "toys": n,
        "jobs": len(batches),
        "wall_seconds": wall,
        "wall_seconds_per_100_toys": 100.0 * wall / n if n else None,
        "first_toy_seconds": setup,
        "batches_retraced": retraced,
    }


def collect_coverage(
    batches: Sequence[Mapping[str, Any]], tables: Sequence[str], plots: Sequence[str], title: str
) -> dict[str, Any]:
    """Summarise, write the CSV and Markdown tables and both plots; return the summary.

    Args:
        batches: `toy_fit` records.
        tables: the `.csv` and `.md` outputs, in that order.
        plots: the coverage plot's PDF and PNG, then the pull plot's.
        title: figure title.
    """
    sources, parameters = _common(batches, "sources"), _common(batches, "parameters")
    summary = coverage_summary(batches, sources, parameters)
    summary["cost"] = cost(batches)
    summary["generator"] = batches[0].get("generator") if batches else None
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(TABLE_COLUMNS)
    writer.writerows(table_rows(summary))
    for path, text in zip(tables, (buffer.getvalue(), markdown_table(summary)), strict=True):
        with atomic_path(path) as tmp:
            Path(tmp).write_text(text)
    half = len(plots) // 2
    coverage_plot(summary, plots[:half], title)
    pulls = {s: {p: pooled_pulls(batches, s, p) for p in parameters} for s in sources}
    pulls_plot(pulls, summary, plots[half:], title)
    return summary
