"""Atomic reads and writes of the workflow's files.

A job killed half-way (wall-time limits, pre-emption) must never leave a file that looks
complete: every writer goes through a temporary file in the same directory and an atomic
rename, so Snakemake sees either the whole output or nothing. A job that stops because its
controller died (innfer_lib.core.controller) removes the temporaries it is writing first.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from innfer_lib.core.controller import on_orphan_exit
from innfer_lib.core.errors import DataError

if TYPE_CHECKING:
    # pandas costs 0.4 s to import, and most jobs (fit results, covariances, summaries) only
    # read and write YAML: read_parquet imports it when a table is read.
    import pandas as pd

#: The temporaries being written now: removed if the job stops because its controller died.
_IN_FLIGHT: set[str] = set()


def _remove_in_flight() -> None:
    for tmp in list(_IN_FLIGHT):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


on_orphan_exit(_remove_in_flight)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path` and move it into place only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    _IN_FLIGHT.add(tmp)
    try:
        yield Path(tmp)
        # mkstemp makes the file private (0600); outputs in shared areas must get the
        # permissions any other new file would get under the user's umask.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    finally:
        _IN_FLIGHT.discard(tmp)


def _plain(value: Any) -> Any:
    """Convert numpy scalars and arrays to plain Python so YAML stays readable and portable."""
    if isinstance(value, Mapping):
        return {str(k) if not isinstance(k, int) else k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def write_yaml(path: str | Path, data: Mapping[str, Any]) -> None:
    """Write `data` as block YAML in insertion order, numpy values as plain Python."""
    with atomic_path(path) as tmp:
        tmp.write_text(yaml.safe_dump(_plain(data), sort_keys=False))


#: What to do about an unreadable file the workflow wrote (a disk filled up, a copy cut short).
REWRITE = "if the workflow wrote it, remove it and the next run writes it again"


def read_yaml(path: str | Path) -> Any:
    """Read a YAML file, naming the file when it is missing or unreadable (not a traceback)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"missing file: {path}")
    try:
        return yaml.safe_load(path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        problem = " ".join(str(err).split())
        raise DataError(f"{path}: cannot read as YAML ({problem}); {REWRITE}") from err


def write_parquet(path: str | Path, frame: pd.DataFrame) -> None:
    """Write a frame without its index (every table here has a RangeIndex), snappy-compressed."""
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False, compression="snappy")


def write_csv(path: str | Path, frame: pd.DataFrame) -> None:
    """A table for people (and spreadsheets), written atomically like every output."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def read_parquet(path: str | Path, columns: list[str] | None = None) -> pd.DataFrame:
    """Read a parquet file, naming the file and the missing columns when some are absent."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"missing file: {path}")
    import pandas as pd
    import pyarrow.parquet as pq

    try:
        present = set(pq.read_schema(path).names)
        missing = [c for c in columns or [] if c not in present]
        if missing:
            raise DataError(f"{path}: missing column(s) {missing}; present: {sorted(present)}")
        return pd.read_parquet(path, columns=columns)
    except (OSError, ValueError) as err:  # pyarrow's ArrowInvalid is a ValueError
        raise DataError(f"{path}: cannot read as parquet ({err}); {REWRITE}") from err
