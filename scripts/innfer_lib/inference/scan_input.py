"""Scan values the analyst writes (INNFER's ScanPointsFromInput), read and checked in one place.

INNFER's `--scan-points-input "(a,b)"` gave one linspace for every column, and its per-column
form broke on comma splitting. Here the analyst lists the values of each scanned parameter,
inline in the fit set or in a file:

* YAML: a mapping `{parameter: [v1, v2, ...]}`;
* CSV: a header of parameter names, one column of values per parameter (a shorter column
  leaves its last cells empty).

The number of values decides the number of scan jobs, so the values are read when the workflow
is parsed; the scan-points job reads them again with the same function (the file is its input,
so an edit reruns it), and a file that went bad since fails there before writing anything.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from innfer_lib.core.errors import ConfigError

#: The file suffixes read as YAML and as CSV.
YAML_SUFFIXES = (".yaml", ".yml")
CSV_SUFFIXES = (".csv",)
EXPECTED = (
    "a mapping {parameter: [values...]} (YAML) or a CSV with one column of values per scanned "
    "parameter"
)


def _read_csv(path: Path) -> dict[str, list[Any]]:
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise ConfigError(f"{path}: empty; expected {EXPECTED}")
    header = [cell.strip() for cell in rows[0]]
    if len(set(header)) != len(header) or "" in header:
        raise ConfigError(f"{path}: the header {header} needs one distinct name per column")
    columns: dict[str, list[Any]] = {name: [] for name in header}
    for number, row in enumerate(rows[1:], start=2):
        if len(row) > len(header):
            raise ConfigError(f"{path}: line {number} has more cells than the header {header}")
        for name, cell in zip(header, row, strict=False):
            if cell.strip():
                columns[name].append(cell.strip())
    return columns


def _read_file(path: Path) -> Any:
    if not path.is_file():
        raise ConfigError(f"{path}: no such scan-points file; expected {EXPECTED}")
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return _read_csv(path)
    if suffix in YAML_SUFFIXES:
        try:
            return yaml.safe_load(path.read_text())
        except yaml.YAMLError as err:
            raise ConfigError(f"{path}: not valid YAML ({err}); expected {EXPECTED}") from None
    raise ConfigError(
        f"{path}: unknown scan-points file type '{suffix}'; use "
        f"{'/'.join(YAML_SUFFIXES + CSV_SUFFIXES)}"
    )


def _number(where: str, parameter: str, value: Any) -> float:
    if isinstance(value, bool):
        raise ConfigError(f"{where}: {parameter}: {value!r} is not a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: {parameter}: {value!r} is not a number") from None
    if not math.isfinite(number):
        raise ConfigError(f"{where}: {parameter}: {value!r} is not a finite number")
    return number


def check_scan_values(values: Any, scanned: Sequence[str], where: str) -> dict[str, list[float]]:
    """{parameter: ascending values} for exactly the scanned parameters.

    Strictly ascending (no duplicates) because a scan's points are its jobs: a repeated value
    would fit the same point twice, and an unsorted list is most often a typo.

    Raises:
        ConfigError: naming `where`, for a non-mapping, a parameter that is not scanned, a
            scanned parameter without values, fewer than two values, or values that are not
            numbers, not finite or not strictly ascending.
    """
    if not isinstance(values, Mapping) or not values:
        raise ConfigError(f"{where}: got {type(values).__name__}; expected {EXPECTED}")
    out: dict[str, list[float]] = {}
    for parameter, entries in values.items():
        name = str(parameter)
        if name not in scanned:
            raise ConfigError(
                f"{where}: '{name}' is not scanned in this fit set (scan: {list(scanned)})"
            )
        if not isinstance(entries, Sequence) or isinstance(entries, str):
            raise ConfigError(f"{where}: {name}: expected a list of numbers, got {entries!r}")
        numbers = [_number(where, name, v) for v in entries]
        if len(numbers) < 2:
            raise ConfigError(f"{where}: {name}: needs at least two values, got {numbers}")
        if any(b <= a for a, b in zip(numbers, numbers[1:], strict=False)):
            raise ConfigError(
                f"{where}: {name}: values must be strictly ascending (sorted, no duplicates), "
                f"got {numbers}"
            )
        out[name] = numbers
    missing = [p for p in scanned if p not in out]
    if missing:
        raise ConfigError(f"{where}: no values for the scanned parameter(s) {missing}")
    return out


def read_scan_points(path: str | Path, scanned: Sequence[str]) -> dict[str, list[float]]:
    """The values per scanned parameter of a scan-points file (YAML or CSV), checked.

    Raises:
        ConfigError: naming the file, as `check_scan_values`, or for a missing file, an
            unknown suffix or unreadable YAML.
    """
    path = Path(path)
    return check_scan_values(_read_file(path), scanned, str(path))
