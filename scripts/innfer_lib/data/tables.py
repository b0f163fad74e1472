"""Reading one event file (parquet, or a flat ROOT tree) into a pandas frame.

LoadData, DataCategories and every later reader of analysis inputs go through `read_table`, so
the two formats behave the same everywhere (INNFER could not read ROOT data at all). Only the
requested columns are read, and what a file lacks is left to the caller to report: the caller
knows which config key asked for the column.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from innfer_lib.core.errors import ConfigError, DataError

FORMATS = (".parquet", ".root")
#: Column lists in error messages are cut here: a ROOT tree can have thousands of branches.
MAX_NAMES = 60


def describe_columns(columns: Iterable[str]) -> str:
    """Sorted column names for an error message, shortened when there are very many."""
    names = sorted(columns)
    if len(names) <= MAX_NAMES:
        return str(names)
    return f"{names[:MAX_NAMES]} ... ({len(names) - MAX_NAMES} more)"


def _read_parquet(
    path: Path, columns: Sequence[str] | None, source: str
) -> tuple[pd.DataFrame, list[str]]:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
        available = [n for n in parquet.schema_arrow.names if not n.startswith("__index_level_")]
        wanted = available if columns is None else [c for c in columns if c in available]
        if wanted:
            frame = parquet.read(columns=wanted).to_pandas()
        else:
            frame = pd.DataFrame(index=pd.RangeIndex(parquet.metadata.num_rows))
    except (OSError, ValueError) as err:  # pyarrow's ArrowInvalid is a ValueError
        raise DataError(f"{source}: {path}: cannot read as parquet: {err}") from err
    return frame.reset_index(drop=True), available


def _read_root(
    path: Path, columns: Sequence[str] | None, tree_name: str, tree_key: str, source: str
) -> tuple[pd.DataFrame, list[str]]:
    import uproot
    from uproot.behaviors.RNTuple import RNTuple

    # uproot writes `file[name] = {column: array}` as an RNTuple since 5.7 and `mktree` as a
    # TTree; both hold one column per branch/field, anything else (a histogram) is an error.
    tables = (uproot.TTree, RNTuple)
    try:
        with uproot.open(path) as handle:
            try:
                tree = handle[tree_name]
            except KeyError as err:
                raise DataError(
                    f"{path} ({source}): {tree_key}: no tree '{tree_name}'; the file holds "
                    f"{describe_columns(handle.keys())}"
                ) from err
            if not isinstance(tree, tables):
                raise DataError(
                    f"{tree_key}: '{tree_name}' in {path} is a {type(tree).__name__}, not a TTree"
                )
            available = list(tree.keys())
            wanted = available if columns is None else [c for c in columns if c in available]
            if not wanted:
                return pd.DataFrame(index=pd.RangeIndex(tree.num_entries)), available
            arrays = tree.arrays(wanted, library="np")
    except DataError:
        raise
    except Exception as err:  # uproot raises many types for corrupt or non-ROOT files
        raise DataError(
            f"{source}: {path}: cannot read as ROOT: {type(err).__name__}: {err}"
        ) from err
    jagged = [name for name, values in arrays.items() if values.dtype == object]
    if jagged:
        raise DataError(
            f"{source}: {path}: branch(es) {jagged} of tree '{tree_name}' do not hold one "
            "number per event"
        )
    return pd.DataFrame({name: arrays[name] for name in wanted}), available


def read_table(
    path: str | Path,
    columns: Sequence[str] | None,
    tree_name: str | None,
    tree_key: str,
    source: str,
) -> tuple[pd.DataFrame, list[str]]:
    """Read the available subset of `columns` of a parquet or ROOT file.

    Only the requested columns are read (the files of a real analysis hold hundreds); columns the
    file lacks are left for the caller to report, which knows whether they are required or only
    named in a selection, and which config key to blame.

    Args:
        path: a `.parquet` file or a `.root` file holding a flat TTree (or RNTuple).
        columns: columns wanted; None reads all.
        tree_name: name of the TTree in a ROOT file.
        tree_key: config key that sets `tree_name`, named when it is missing.
        source: config key of the file list (e.g. `files.base.inputs[0]`), for error messages.

    Returns:
        The frame (RangeIndex) and the names of every column the file holds.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise DataError(f"{source}: {path}: unsupported format; expected one of {list(FORMATS)}")
    if suffix == ".root" and not tree_name:
        raise ConfigError(f"{tree_key}: required to read the ROOT file {path} ({source})")
    if not path.is_file():
        raise DataError(f"{source}: missing file: {path}")
    if suffix == ".parquet":
        return _read_parquet(path, columns, source)
    return _read_root(path, columns, str(tree_name), tree_key, source)
