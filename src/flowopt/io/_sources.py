"""Open any supported source and return its raw rows: the single entry point of the io layer."""

from __future__ import annotations

import os
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from flowopt.errors import EmptyLogError, LogFileNotFoundError, LogReadError, UnsupportedFormatError
from flowopt.io._csv import arrow_to_frame, nanoseconds_soon, read_csv_frame, read_csv_typed, with_columns
from flowopt.options import ReadConfig

__all__ = ["RawSource", "read_raw", "read_raw_typed"]

_FORMATS = "CSV (.csv, .csv.gz, .tsv, .txt), Parquet (.parquet, .pq), XES (.xes, .xes.gz) or a pandas DataFrame"


@dataclass(frozen=True, slots=True, kw_only=True)
class RawSource:
    """Rows as read from a source, before any mapping or parsing."""

    frame: pd.DataFrame
    name: str
    kind: str  # csv | parquet | xes | dataframe | pm4py
    malformed: pd.DataFrame | None = None
    text_columns: pd.DataFrame | None = None  # typed reads: no rows, each column with the text read's dtype
    # columns the source holds as text but read as categoricals: the dtype each has when read as text (the
    # quarantine shows a row's values with it)
    text_dtypes: dict[str, Any] | None = None


def _kind_from_bytes(path: Path) -> str | None:
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head == b"PAR1":
        return "parquet"
    if head[:2] == b"\x1f\x8b":
        import gzip

        try:
            with gzip.open(path, "rb") as fh:
                inner = fh.read(512)
        except (OSError, EOFError) as exc:
            raise LogReadError(f"{path}: the gzip stream is corrupt or truncated ({exc}). Re-export or "
                               "re-download the file.", path=str(path)) from None
        return "xes" if inner.lstrip().startswith(b"<") else "csv"
    return None


def _kind(path: Path) -> str:
    name = path.name.lower()
    for suffix, kind in ((".xes.gz", "xes"), (".xes", "xes"), (".csv.gz", "csv"), (".tsv.gz", "csv"),
                         (".txt.gz", "csv"), (".csv", "csv"), (".tsv", "csv"), (".txt", "csv"),
                         (".parquet", "parquet"), (".pq", "parquet")):
        if name.endswith(suffix):
            return kind
    sniffed = _kind_from_bytes(path)
    if sniffed is not None and name.endswith(".gz"):
        return sniffed
    raise UnsupportedFormatError(f"{path}: flowopt cannot tell what kind of log this is from its name. "
                                 f"It reads {_FORMATS}. Rename the file with the right extension.", path=str(path))


def read_raw(source: Any, read: ReadConfig,
             time_columns: Callable[[list[str]], Collection[str]] | None = None,
             category_columns: Callable[[list[str]], Collection[str]] | None = None) -> RawSource:
    """Read ``source`` (a path, a DataFrame or a pm4py log object) into raw rows.

    ``time_columns(column names)`` names the columns the log will read as timestamps: a Parquet file's
    timestamp columns among them are converted to nanoseconds straight from Arrow's buffers (the unit the log
    keeps), instead of first to a pandas array in the file's own unit. ``category_columns(column names)`` names
    the columns the log will code as categories (case, activity, resource...): a Parquet file's plain text
    columns among them are decoded straight into dictionaries from the file's dictionary pages, and arrive as
    categoricals instead of one string per row. The values are the same either way.

    Raises
    ------
    LogFileNotFoundError, UnsupportedFormatError, LogReadError, EmptyLogError
    """
    if isinstance(source, pd.DataFrame):
        return RawSource(frame=source, name="<DataFrame>", kind="dataframe")
    if type(source).__module__.startswith("pm4py"):
        from flowopt.io._pm4py import pm4py_to_frame

        return RawSource(frame=pm4py_to_frame(source), name=f"<pm4py {type(source).__name__}>", kind="pm4py")
    if not isinstance(source, (str, os.PathLike)):
        raise UnsupportedFormatError(f"read_log needs a file path or a pandas DataFrame. Got "
                                     f"{type(source).__name__} instead. It reads {_FORMATS}.")
    path = Path(source)
    if not path.exists():
        raise LogFileNotFoundError(f"{path}: no such file. Check the path (relative paths start from "
                                   f"{Path.cwd()}).", path=str(source))
    if path.is_dir():
        raise UnsupportedFormatError(f"{path} is a folder; give the path of one log file ({_FORMATS}).",
                                     path=str(path))
    if path.stat().st_size == 0:
        raise EmptyLogError(f"{path} is empty (0 bytes). Export the log again.", source=str(path))
    kind = _kind(path)
    if kind == "csv":
        if _kind_from_bytes(path) == "parquet":
            raise UnsupportedFormatError(f"{path} is a Parquet file with a CSV name; rename it to .parquet.",
                                         path=str(path))
        table = read_csv_frame(path, delimiter=read.delimiter, encoding=read.encoding)
        return RawSource(frame=table.frame, name=str(path), kind="csv", malformed=table.malformed)
    if kind == "parquet":
        frame, text_dtypes = _read_parquet(path, time_columns, category_columns)
        return RawSource(frame=frame, name=str(path), kind="parquet", text_dtypes=text_dtypes or None)
    from flowopt.io._xes import read_xes_frame

    frame = read_xes_frame(path)
    if frame.empty:
        raise EmptyLogError(f"{path}: the XES file has no events.", source=str(path))
    return RawSource(frame=frame, name=str(path), kind="xes")


def read_raw_typed(source: Any, read: ReadConfig,
                   pick: Callable[[list[str]], tuple[list[str], list[str]] | None]) -> RawSource | None:
    """An optimistic typed read of a CSV file (see :func:`flowopt.io._csv.read_csv_typed`), or None.

    None for anything but a readable CSV file that reads typed as it stands: the caller then uses
    :func:`read_raw`, which also raises the errors. ``pick(column names)`` returns the columns to read as
    categories and the timestamp columns (or None to give up).
    """
    if not isinstance(source, (str, os.PathLike)):
        return None
    path = Path(source)
    try:
        if not path.is_file() or path.stat().st_size == 0 or _kind(path) != "csv" \
                or _kind_from_bytes(path) == "parquet":
            return None
    except (OSError, UnsupportedFormatError, LogReadError):
        return None
    table = read_csv_typed(path, pick, delimiter=read.delimiter, encoding=read.encoding)
    if table is None:
        return None
    return RawSource(frame=table.frame, name=str(path), kind="csv", malformed=table.malformed,
                     text_columns=table.text_columns)


def _read_parquet(path: Path, time_columns: Callable[[list[str]], Collection[str]] | None = None,
                  category_columns: Callable[[list[str]], Collection[str]] | None = None,
                  ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The file's rows, and the dtype each text column read as categoricals has when read as text."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    text_types: dict[str, Any] = {}  # none when the route below fails
    try:
        table, text_types = _read_parquet_file(path, category_columns)
    except (pa.ArrowInvalid, pa.ArrowIOError, OSError):
        table = None  # read_table below raises the error users know, or reads what this route could not
    try:
        if table is None:
            table = pq.read_table(path, memory_map=True)
    except (pa.ArrowInvalid, pa.ArrowIOError, OSError) as exc:
        raise LogReadError(f"{path}: not a readable Parquet file ({exc}). Check that the file is complete "
                           "and really Parquet.", path=str(path)) from None
    if table.num_rows == 0:
        raise EmptyLogError(f"{path}: the Parquet file has no rows.", source=str(path))
    names = table.column_names
    ns: dict[str, Callable[[], Any]] = {}
    if time_columns is not None and len(set(names)) == len(names):
        ns = nanoseconds_soon(table, time_columns(names))  # by helper threads, while this one goes on
    rest = table.drop_columns(list(ns)) if ns else table
    del table  # so that converting ``rest`` can release its columns' buffers one by one
    # one block per column, each column's Arrow buffers released as it is converted: a lower peak. The text
    # columns read as dictionaries get sorted categories (Arrow sorts each dictionary; the log's build wants
    # them sorted and would otherwise sort them through Python strings: 862k case ids of a log stored in time
    # order, whose dictionaries follow the rows); a column the file stores as categories keeps their order.
    frame = with_columns(arrow_to_frame(rest, sort_categories=set(text_types), split_blocks=True,
                                        self_destruct=True), ns, names)
    # the dtype each of those columns gets when converted as text (what the quarantine shows)
    if not text_types:
        return frame, {}
    return frame, dict(arrow_to_frame(pa.schema(list(text_types.items())).empty_table()).dtypes)


def _read_parquet_file(path: Path, category_columns: Callable[[list[str]], Collection[str]] | None = None,
                       ) -> tuple[Any, dict[str, Any]]:
    """``pyarrow.parquet.read_table(path)`` for one local file, without the dataset machinery, and the Arrow
    type of each text column it read as dictionaries.

    The same reader and options ``read_table`` itself falls back to when ``pyarrow.dataset`` is missing
    (so the same table), but the dataset route's first call in a process costs about half a second on top
    of the read. The file is memory-mapped, as Polars does by default: its pages are decoded straight from
    the operating system's file cache instead of first being copied into fresh buffers of the file's size
    (10M events: 1.1 s instead of 1.6-1.9 s for the read alone, benchmarks/README.md run 44).

    Plain text columns named by ``category_columns(column names)`` are read as dictionaries (``read_dictionary``):
    Arrow then keeps each row group's dictionary page as it is and reads the indices, instead of making one
    string per row that the log would hash again (a 10M-event file written by DuckDB: ``read_log`` 2.2-2.5 s
    instead of 3.9-4.1 s, peak 1.6-1.8 GB instead of 2.4 GB; benchmarks/README.md, "Parquet with the ids as
    plain text"). A column stored without dictionary pages (DuckDB stores case ids in time order so) is hashed
    into dictionaries by Arrow instead, which still beats reading it as text and hashing it in the build (a
    shuffled 10M-event file: 8.1-8.4 s against 8.9-9.1 s). Each chunk has its own dictionary; the values are the
    same.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    with pq.ParquetFile(path, pre_buffer=True, memory_map=True) as pf:
        metadata = pf.metadata  # parsed once: the handles below reuse it
        groups = metadata.num_row_groups
        schema = pf.schema_arrow
    wanted = set(category_columns(list(schema.names))) if category_columns is not None else set()
    as_dictionary = [f.name for f in schema if f.name in wanted and (pa.types.is_string(f.type)
                                                                      or pa.types.is_large_string(f.type))]
    if len(set(schema.names)) != len(schema.names):
        as_dictionary = []  # a name twice: which column is meant is unclear, read both as they are
    text_types = {name: schema.field(name).type for name in as_dictionary}
    if groups < 2:
        with pq.ParquetFile(path, metadata=metadata, pre_buffer=True, memory_map=True,
                            read_dictionary=as_dictionary or None) as pf:
            return pf.read(use_threads=True, use_pandas_metadata=False), text_types
    # Arrow decodes a column's row groups one after the other: a large text column (case ids) then holds up
    # the read. Two halves of the row groups read side by side, each from its own handle, give the same
    # table (the same rows and chunks per row group; dictionaries stay per chunk, as in one read).
    halves = [list(range(groups // 2)), list(range(groups // 2, groups))]
    with ThreadPoolExecutor(max_workers=2) as pool:
        tables = list(pool.map(lambda rows: _read_row_groups(path, metadata, rows, as_dictionary), halves))
    return pa.concat_tables(tables), text_types


def _read_row_groups(path: Path, metadata: Any, groups: list[int], as_dictionary: list[str]) -> Any:
    import pyarrow.parquet as pq

    with pq.ParquetFile(path, metadata=metadata, pre_buffer=True, memory_map=True,
                        read_dictionary=as_dictionary or None) as pf:
        return pf.read_row_groups(groups, use_threads=True, use_pandas_metadata=False)
