"""Read a delimited text file (CSV, TSV, ``.gz``) into a raw frame of strings, losing no row.

Every cell is read as text (a later layer parses timestamps and numbers), so ``NA`` or ``0012`` stay
what they are. Rows with the wrong number of fields are not dropped: they come back in ``malformed``
with their 1-based data-row number (records, not physical lines) and text, and end up in the log's quarantine.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import sys
import zlib
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from flowopt._compiled import loops
from flowopt._memory import pool_empty
from flowopt.errors import EmptyLogError, LogReadError

__all__ = ["NS_PER_UNIT", "RawTable", "arrow_to_frame", "code_dtype", "known_categories_dtype", "read_csv_frame",
           "read_csv_typed"]

_SNIFF_BYTES = 256 * 1024
_ENCODINGS = ("utf-8", "gb18030", "latin-1")
_BLOCK = 1 << 24  # the largest block Arrow's reader parses at once (a thread each)
_BLOCK_MIN = 1 << 20
_BLOCKS = 32  # blocks per file up to _BLOCK each: enough for both cores to stay busy to the end of the file


def _block_size(path: Path) -> int:
    """The block size both reads of ``path`` use (the same, so that quoted line breaks split the same way):
    about :data:`_BLOCKS` blocks per file, from 1 MB to 16 MB. A 100 MB file read in 16 MB blocks keeps one
    core idle while the other parses the last block (1M-row CSV: typed read 0.18 s against 0.14 s in 3 MB
    blocks); a 1 GB file gets 16 MB blocks, as before."""
    try:
        size = path.stat().st_size
    except OSError:
        return _BLOCK
    return int(min(_BLOCK, max(_BLOCK_MIN, size // _BLOCKS)))


@dataclass(frozen=True, slots=True, kw_only=True)
class RawTable:
    """A file's rows as read: the good ones in ``frame``, the unparseable ones in ``malformed``."""

    frame: pd.DataFrame
    malformed: pd.DataFrame = field(default_factory=lambda: pd.DataFrame({"row": [], "text": []}))
    encoding: str = "utf-8"
    delimiter: str = ","
    text_columns: pd.DataFrame | None = None  # typed reads: no rows, each column as the text read gives it


def _head_bytes(path: Path) -> tuple[bytes, bool]:
    with open(path, "rb") as fh:
        magic = fh.read(2)
    compressed = magic == b"\x1f\x8b"
    try:
        if compressed:
            with gzip.open(path, "rb") as fh:
                return fh.read(_SNIFF_BYTES), True
        with open(path, "rb") as fh:
            return fh.read(_SNIFF_BYTES), False
    except (OSError, EOFError, zlib.error) as exc:
        raise LogReadError(f"{path}: the gzip stream is corrupt or truncated ({exc}). Re-export or re-download "
                           "the file.", path=str(path)) from None


def _pick_encoding(head: bytes, path: Path, wanted: str | None) -> str:
    if wanted:
        return wanted
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    for enc in _ENCODINGS:
        try:
            # the sample may end inside a multi-byte character: ignore the last few bytes
            head[: max(len(head) - 4, 0)].decode(enc) if len(head) == _SNIFF_BYTES else head.decode(enc)
            return enc
        except UnicodeDecodeError:
            continue
    return "latin-1"  # pragma: no cover - latin-1 decodes anything


def _looks_binary(head: bytes) -> bool:
    if not head:
        return False
    sample = head[:4096]
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False  # UTF-16 text (Excel's "Unicode text"): its zero bytes are not binary
    if b"\x00" in sample:
        return True
    bad = sum(1 for b in sample if b < 9 or 13 < b < 32)
    return bad > len(sample) * 0.05


def _sniff_delimiter(text: str, wanted: str | None) -> str:
    if wanted:
        return wanted
    lines = [ln for ln in text.splitlines()[:50] if ln.strip()]
    if not lines:
        return ","
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t|").delimiter
    except csv.Error:
        header = lines[0]
        counts = {d: header.count(d) for d in ",;\t|"}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] > 0 else ","


@dataclass(frozen=True, slots=True)
class _Sniffed:
    """What the first bytes of a delimited file tell: compression, encoding, delimiter, column names."""

    path: Path
    compressed: bool
    encoding: str
    delimiter: str
    names: list[str]
    blank: int  # blank lines before the header (pyarrow counts them)
    lines: list[str]  # the decoded first bytes split at pyarrow's line ends (header and the first rows)


def _sniff(p: Path, delimiter: str | None, encoding: str | None) -> _Sniffed:
    """Sniff ``p``'s encoding, delimiter and header from its first bytes.

    Raises
    ------
    EmptyLogError, LogReadError
        No header at all, binary data, or a corrupt gzip stream.
    """
    head, compressed = _head_bytes(p)
    if not head.strip():
        raise EmptyLogError(f"{p} is empty: there is no header and no data. Export the log again.", source=str(p))
    if _looks_binary(head):
        raise LogReadError(f"{p} does not look like a text (CSV) file: it contains binary data. If it is a "
                           "Parquet or XES file, give it the matching extension (.parquet, .xes, .xes.gz).",
                           path=str(p))
    enc = _pick_encoding(head, p, encoding)
    if encoding is None and enc != "utf-8" and _has_utf8_text(head):
        enc = "utf-8"  # UTF-8 rows next to legacy-encoded ones: the mixed-encoding path below decodes row by row
    text_head = head.decode(enc, errors="replace")
    text_head = text_head.removeprefix("\ufeff")
    delim = _sniff_delimiter(text_head, delimiter)

    lines = text_head.replace("\r\n", "\n").replace("\r", "\n").split("\n")  # pyarrow's line ends
    blank = next((i for i, ln in enumerate(lines) if ln.strip()), 0)  # leading blank lines: pyarrow counts them
    header_line = next(csv.reader(io.StringIO(lines[blank]), delimiter=delim), [])
    names = _dedupe_names([h.strip() for h in header_line])
    return _Sniffed(path=p, compressed=compressed, encoding=enc, delimiter=delim, names=names, blank=blank,
                    lines=lines)


def read_csv_frame(path: str | os.PathLike[str], *, delimiter: str | None = None,
                   encoding: str | None = None) -> RawTable:
    """Read a delimited file into a :class:`RawTable` of strings (missing cells are ``None``).

    Parameters
    ----------
    path : path-like
        A ``.csv``/``.tsv``/``.txt`` file, gzip-compressed or not (detected from the bytes).
    delimiter : str, optional
        Field separator; sniffed from the first lines when omitted (``, ; tab |``).
    encoding : str, optional
        Text encoding; when omitted UTF-8 (with or without BOM), then GB18030, then Latin-1 are tried.

    Raises
    ------
    LogReadError
        Binary data, a corrupt gzip stream, or text that cannot be decoded.
    EmptyLogError
        The file has no header or no data rows.
    """
    sniffed = _sniff(Path(path), delimiter, encoding)
    p, compressed, enc, delim = sniffed.path, sniffed.compressed, sniffed.encoding, sniffed.delimiter
    names, blank = sniffed.names, sniffed.blank

    malformed: list[tuple[int, str]] = []

    def on_invalid(row: Any) -> str:
        # row.number counts the header as record 1: data row = number - 1 (1-based, like the quarantine's rows)
        try:
            text = str(row.text)
        except UnicodeDecodeError:  # the row has bytes the chosen encoding cannot decode
            text = "<undecodable bytes>"
        malformed.append((int(row.number) - 1 if row.number is not None else -1, text))
        return "skip"

    # pyarrow decodes a malformed row's text before calling our handler; when that row holds bytes the
    # encoding cannot decode, the failure is reported through sys.unraisablehook and the read fails with a
    # parse error. Capture it here: the mixed-encoding path below then decodes the file row by row.
    previous_hook = sys.unraisablehook

    def _hook(unraisable: Any) -> None:
        if not isinstance(unraisable.exc_value, UnicodeDecodeError):
            previous_hook(unraisable)

    sys.unraisablehook = _hook
    try:
        return _read_all(p, compressed, enc, encoding, delim, names, blank, malformed, on_invalid)
    finally:
        sys.unraisablehook = previous_hook


def _read_all(p: Path, compressed: bool, enc: str, encoding: str | None, delim: str, names: list[str],
              blank: int, malformed: list[tuple[int, str]], on_invalid: Any) -> RawTable:
    block = _block_size(p)  # every read of this file below cuts it the same way
    read_opts = pacsv.ReadOptions(encoding=enc if enc != "utf-8" else "utf8", column_names=names,
                                  skip_rows=blank + 1, block_size=block)
    convert = _convert({n: pa.large_string() for n in names})
    recoded: bytes | None = None  # the file re-encoded line by line as UTF-8 (mixed encodings)

    def _read(newlines: bool, read_options: pacsv.ReadOptions) -> pa.Table:
        parse = pacsv.ParseOptions(delimiter=delim, newlines_in_values=newlines, invalid_row_handler=on_invalid)
        if recoded is not None:
            return pacsv.read_csv(io.BytesIO(recoded), read_options=read_options, parse_options=parse,
                                  convert_options=convert)
        source: Any = gzip.open(p, "rb") if compressed else str(p)  # noqa: SIM115 - closed below
        try:
            return pacsv.read_csv(source, read_options=read_options, parse_options=parse, convert_options=convert)
        finally:
            if compressed:
                source.close()

    try:
        try:
            table = _read(False, read_opts)
        except pa.ArrowInvalid as exc:
            if "invalid UTF8" in str(exc) or "decode" in str(exc).lower():
                raise
            malformed.clear()
            table = _read(True, read_opts)
    except pa.ArrowInvalid as exc:
        if encoding is None and enc == "utf-8" and ("UTF8" in str(exc) or "decode" in str(exc).lower()
                                                    or not _is_valid_utf8(p, compressed)):
            # mixed encodings: some rows are not UTF-8. Decode line by line — UTF-8 where it is valid, else
            # GB18030 (Chinese legacy text), else Latin-1 — so every row keeps the text it was written in.
            malformed.clear()
            enc = "mixed (utf-8, gb18030)"
            recoded = _recode_lines(p, compressed)
            read_opts = pacsv.ReadOptions(encoding="utf8", column_names=names, skip_rows=blank + 1,
                                          block_size=block)
            try:
                table = _read(True, read_opts)
            except (pa.ArrowInvalid, UnicodeDecodeError) as exc2:
                raise LogReadError(f"{p}: cannot decode the text ({exc2}). Save the file as UTF-8 or pass "
                                   "[read] encoding = \"...\" in the config.", path=str(p)) from None
        else:
            raise LogReadError(f"{p}: cannot parse the file as delimited text ({exc}). Check the delimiter "
                               f"(detected {delim!r}; set [read] delimiter in the config) and the quoting.",
                               path=str(p)) from None
    except (OSError, EOFError, zlib.error) as exc:
        raise LogReadError(f"{p}: the file is corrupt or truncated ({exc}). Re-export or re-download it.",
                           path=str(p)) from None
    if any(m[0] < 0 for m in malformed):
        # the multi-threaded reader does not know row numbers: read again, single-threaded, to report them
        malformed.clear()
        single = pacsv.ReadOptions(encoding=read_opts.encoding, column_names=names, skip_rows=blank + 1,
                                   block_size=block, use_threads=False)
        try:
            table = _read(True, single)
        except (pa.ArrowInvalid, OSError, EOFError, zlib.error) as exc:  # pragma: no cover - read once already
            raise LogReadError(f"{p}: cannot parse the file as delimited text ({exc}).", path=str(p)) from None
    frame = table.to_pandas(types_mapper=_str_mapper)
    if frame.empty and not malformed:
        raise EmptyLogError(f"{p} has a header ({', '.join(names)}) but no data rows.", source=str(p))
    bad = pd.DataFrame({"row": [m[0] for m in malformed], "text": [m[1] for m in malformed]})
    return RawTable(frame=frame, malformed=bad, encoding=enc, delimiter=delim)


def _has_utf8_text(head: bytes) -> bool:
    """True when some line of ``head`` is valid UTF-8 with non-ASCII characters (so UTF-8 was meant)."""
    for line in head.split(b"\n")[:-1]:
        if max(line, default=0) >= 0x80:
            try:
                line.decode("utf-8")
                return True
            except UnicodeDecodeError:
                continue
    return False


def _is_valid_utf8(path: Path, compressed: bool) -> bool:
    """Stream the file through a UTF-8 decoder (only on the error path)."""
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")()
    opener: Any = gzip.open if compressed else open
    try:
        with opener(path, "rb") as fh:
            while chunk := fh.read(1 << 22):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    except (OSError, EOFError, zlib.error):
        return True  # not an encoding problem; let the caller report what it saw
    return True


def _recode_lines(path: Path, compressed: bool) -> bytes:
    """The file's bytes re-encoded as UTF-8, decoding each line with the first encoding that fits."""
    opener: Any = gzip.open if compressed else open
    with opener(path, "rb") as fh:
        data = fh.read()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    out = []
    for line in data.split(b"\n"):
        for enc in _ENCODINGS:
            try:
                out.append(line.decode(enc))
                break
            except UnicodeDecodeError:
                continue
    return "\n".join(out).encode("utf-8")


def _str_mapper(dtype: pa.DataType) -> Any:
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype):
        return pd.StringDtype(storage="pyarrow")
    return None


def _dedupe_names(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for i, n in enumerate(names):
        n = n or f"column_{i + 1}"
        if n in seen:
            seen[n] += 1
            n = f"{n}.{seen[n]}"
        else:
            seen[n] = 0
        out.append(n)
    return out


_DICT = pa.dictionary(pa.int32(), pa.string())
NS_PER_UNIT = {"s": 10 ** 9, "ms": 10 ** 6, "us": 10 ** 3, "ns": 1}  # nanoseconds per time unit
_TIME_KINDS = (pa.timestamp("us", tz="UTC"), pa.timestamp("us"))  # ISO 8601 with a zone; without one


def read_csv_typed(path: str | os.PathLike[str], pick: Callable[[list[str]], tuple[list[str], list[str]] | None], *,
                   delimiter: str | None = None, encoding: str | None = None) -> RawTable | None:
    """An optimistic, typed read of a clean delimited file: None whenever it would not match the text read.

    ``pick(column names)`` returns the columns to read dictionary-encoded (as categories: the same texts,
    coded once per distinct value) and the columns holding timestamps, or None to give up. A timestamp
    column is read as an Arrow timestamp (microseconds, UTC for ISO 8601 with a zone, naive without one)
    when the first rows read that way, else as text. Every other column is text, as :func:`read_csv_frame`
    reads it. Values are exactly the text read's: Arrow's CSV converters use the same parsers as its casts,
    and ``""`` is missing in both.

    Returns None (the caller then reads the text with :func:`read_csv_frame`) when ``pick`` gives up, a
    value does not convert, a row has the wrong number of fields, the file has no data rows, or anything
    else goes wrong; ``text_columns`` of the result is an empty frame with the text read's dtypes.
    """
    try:
        sniffed = _sniff(Path(path), delimiter, encoding)
    except (EmptyLogError, LogReadError):
        return None
    chosen = pick(sniffed.names)
    if chosen is None:
        return None
    categorical, times = chosen
    types: dict[str, pa.DataType] = {n: pa.large_string() for n in sniffed.names}
    # the id columns read as text and coded after the read by compiled loops on two threads (text_categorical),
    # not dictionary-encoded by Arrow while it parses: 0.1 s of CPU less at 1M events; the read's peak grows by
    # the ids' text (10M events: 1.74 GB against 1.27 GB; pyarrow's plain read of that file: 3.07 GB)
    coded = [c for c in categorical if c in types] if loops() is not None else []
    types.update({c: _DICT for c in categorical if c in types and c not in coded})
    types.update({c: pa.string() for c in coded})
    for c, kind in _time_kinds(sniffed, [c for c in times if c in types]).items():
        types[c] = kind
    read_opts = pacsv.ReadOptions(encoding=sniffed.encoding if sniffed.encoding != "utf-8" else "utf8",
                                  column_names=sniffed.names, skip_rows=sniffed.blank + 1,
                                  block_size=_block_size(sniffed.path))
    parse = pacsv.ParseOptions(delimiter=sniffed.delimiter)  # no invalid-row handler: a malformed row fails the read
    source: Any = gzip.open(sniffed.path, "rb") if sniffed.compressed else str(sniffed.path)  # noqa: SIM115
    try:
        table = pacsv.read_csv(source, read_options=read_opts, parse_options=parse,
                               convert_options=_convert(types))
    except (pa.ArrowException, OSError, EOFError, zlib.error, UnicodeError):
        return None
    finally:
        if sniffed.compressed:
            source.close()
    if table.num_rows == 0:
        return None
    text = pa.schema([(n, pa.string()) for n in sniffed.names]).empty_table().to_pandas(types_mapper=_str_mapper)
    # the timestamps as nanoseconds right away (to_pandas would copy them into microsecond arrays first), by
    # helper threads while this one converts the other columns
    later = categoricals_soon(table, coded)
    later.update(nanoseconds_soon(table, table.column_names))
    frame = with_columns(arrow_to_frame(table.drop_columns(list(later)), sort_categories=True,
                                        types_mapper=_str_mapper, split_blocks=True), later, sniffed.names)
    return RawTable(frame=frame, encoding=sniffed.encoding,
                    delimiter=sniffed.delimiter, text_columns=text)


_THREAD_MIN_ROWS = 200_000  # below this, starting threads costs more than it saves


def categoricals_soon(table: pa.Table, names: Collection[str]) -> dict[str, Callable[[], Any]]:
    """The text columns of ``table`` among ``names`` as categoricals (:func:`text_categorical`): on a large
    table coded by two helper threads (the coding runs without the GIL) while the caller converts the other
    columns. Call a value to get its column."""
    present = set(table.column_names)
    cols = [n for n in names if n in present]
    if table.num_rows < _THREAD_MIN_ROWS or len(cols) == 0:
        return {n: _ready(text_categorical(table.column(n))) for n in cols}
    pool = ThreadPoolExecutor(max_workers=min(2, len(cols)))
    try:
        futures = {n: pool.submit(text_categorical, table.column(n)) for n in cols}
    finally:
        pool.shutdown(wait=False)
    return {n: f.result for n, f in futures.items()}


def text_categorical(col: pa.ChunkedArray) -> Any:
    """A text column as the categorical :func:`arrow_to_frame` gives, with ``sort_categories``, for the same
    column read dictionary-encoded: the distinct values (sorted by UTF-8 bytes) as categories, codes in the type
    pandas keeps them in, -1 where missing. Coded by the compiled :class:`~flowopt._loops.TextCodes`, 5-20 ns a
    value, where Arrow's CSV reader spends about 30 ns a value building dictionaries (first read of a 1M-event
    CSV with five id columns: 0.75 s of CPU against 0.86 s, 10M: 7.9 s against 9.1 s); a column without any
    value, or without the compiled loops, goes through Arrow's own dictionary encoding."""
    lib = loops()
    if lib is None or col.null_count == len(col):
        return arrow_to_frame(pa.table({"c": pc.dictionary_encode(col)}), sort_categories=True)["c"].array
    memo = lib.TextCodes()
    first = pool_empty(len(col), np.int32)
    for rows, text in text_chunks(col):
        memo.encode(*text, first[rows])
    offsets, data = memo.values()
    n = len(offsets) - 1
    kind = pa.large_string() if offsets.dtype == np.int64 else pa.string()
    values = pa.Array.from_buffers(kind, n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])
    table = _NO_CODES[code_dtype(n)]
    if not _increasing(values):
        order = pc.sort_indices(values).to_numpy()  # distinct values: no ties
        table = np.empty(n, dtype=code_dtype(n))
        table[order] = np.arange(n, dtype=table.dtype)
        values = values.take(pa.array(order))
    if len(table) == 0 and code_dtype(n) == first.dtype:
        codes = first  # in order already, and as wide (-1 where missing, as encode wrote): ids of a log stored by case
    else:
        codes = pool_empty(len(col), code_dtype(n))
        for rows, (_, _, validity, offset) in text_chunks(col):  # renumbered to the sorted order and narrowed
            lib.dictionary_codes(first[rows], table, codes[rows], validity, offset)  # (-1 where missing)
    dtype = known_categories_dtype(pd.Index(values.to_pandas()))
    return pd.Categorical.from_codes(codes, dtype=dtype, validate=False)


def nanoseconds_soon(table: pa.Table, names: Collection[str]) -> dict[str, Callable[[], Any]]:
    """The timestamp columns of ``table`` among ``names`` as nanoseconds (:func:`_nanoseconds`): on a large
    table each converted by a thread of its own (the conversion runs without the GIL) while the caller converts
    the other columns. Call a value to get its column. Column names must be distinct."""
    wanted = set(names)
    cols = [f.name for f in table.schema if f.name in wanted and pa.types.is_timestamp(f.type)]
    if table.num_rows < _THREAD_MIN_ROWS or len(cols) == 0:
        return {n: _ready(_nanoseconds(table.column(n))) for n in cols}
    pool = ThreadPoolExecutor(max_workers=len(cols))
    try:
        futures = {n: pool.submit(_nanoseconds, table.column(n)) for n in cols}
    finally:
        pool.shutdown(wait=False)  # the threads finish their column and end
    return {n: f.result for n, f in futures.items()}


def _ready(value: Any) -> Callable[[], Any]:
    return lambda: value


def with_columns(frame: pd.DataFrame, later: dict[str, Callable[[], Any]], names: list[str]) -> pd.DataFrame:
    """``frame`` with the columns of ``later`` added: every column of ``names`` in that order, each taken as it
    is (assigning them one by one would copy)."""
    if not later:
        return frame
    return pd.DataFrame({n: later[n]() if n in later else frame[n] for n in names}, index=frame.index, copy=False)


def _nanoseconds(col: pa.ChunkedArray) -> Any:
    """A timestamp column (any unit, UTC or naive) as nanoseconds, written once into one array: the values of
    ``col.to_pandas()`` cast to nanoseconds. Left to ``to_pandas`` (in its own unit) when a value does not fit
    nanoseconds (before 1677 or after 2262: the log layer clips and quarantines those), the column has another
    time zone, or the compiled loops are not built."""
    lib = loops()
    per = NS_PER_UNIT.get(col.type.unit)
    if lib is None or per is None or col.type.tz not in (None, "UTC"):
        return col.to_pandas()
    lo, hi = -((2 ** 63 - 1) // per), (2 ** 63 - 1) // per  # the int64 values that fit once multiplied
    chunks = [(c, _values_view(c, np.dtype(np.int64))) for c in col.chunks if len(c)]
    if any(values is None for _, values in chunks):
        return col.to_pandas()
    out = pool_empty(len(col), np.int64)
    at = 0
    for chunk, values in chunks:
        k = len(chunk)
        if lib.to_ns(values, per, lo, hi, out[at:at + k]):  # a value that does not fit (a null's slot may hold one)
            return col.to_pandas()
        if chunk.null_count:
            out[at:at + k][_nulls(chunk)] = np.iinfo(np.int64).min
        at += k
    tz = col.type.tz
    dtype = pd.DatetimeTZDtype(unit="ns", tz=tz) if tz else np.dtype("datetime64[ns]")
    return pd.arrays.DatetimeArray._simple_new(out.view("datetime64[ns]"), dtype=dtype)


def _convert(types: dict[str, pa.DataType]) -> pacsv.ConvertOptions:
    return pacsv.ConvertOptions(column_types=types, null_values=[""], strings_can_be_null=True,
                                quoted_strings_can_be_null=True)


def _time_kinds(sniffed: _Sniffed, columns: list[str]) -> dict[str, pa.DataType]:
    """The timestamp type each of ``columns`` reads as in the file's first rows (columns that read as
    neither kind are left out). Only a guess for speed: the full read checks every value."""
    if not columns:
        return {}
    lines = sniffed.lines[sniffed.blank + 1:-1][:500]  # (2,000 lines and every column: 1.5-4 ms, not 0.3-0.7)
    try:
        convert = _convert({c: pa.string() for c in columns})
        convert.include_columns = list(dict.fromkeys(columns))  # (start and end may be one column)
        sample = pacsv.read_csv(io.BytesIO("\n".join(lines).encode("utf-8")),
                                read_options=pacsv.ReadOptions(column_names=sniffed.names, use_threads=False),
                                parse_options=pacsv.ParseOptions(delimiter=sniffed.delimiter),
                                convert_options=convert)
    except pa.ArrowException:
        return {}
    kinds: dict[str, pa.DataType] = {}
    for c in columns:
        col = sample.column(c)
        if col.null_count == len(col):
            continue
        for kind in _TIME_KINDS:
            try:
                pc.cast(col, kind)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                continue
            kinds[c] = kind
            break
    return kinds


def arrow_to_frame(table: pa.Table, *, sort_categories: bool | Collection[str] = False,
                   **to_pandas: Any) -> pd.DataFrame:
    """``table.to_pandas(**to_pandas)``, with the string dictionary columns turned into categoricals directly.

    pyarrow builds a categorical through a slow path (about 0.08 s for 86k distinct case ids, 0.8 s for
    860k): here the dictionary becomes the categories (its values unique and not missing, checked) and the
    indices the codes (missing: -1), as pyarrow does, so the frame is the same; the codes are written straight
    into the integer type pandas keeps them in, and the frame takes every column without copying it. Chunks
    with different dictionaries are unified first; an index column, a duplicated name or anything unexpected
    keeps pyarrow's own conversion.

    ``sort_categories``: the categories in sorted order (UTF-8 bytes) instead of the dictionary's, the codes
    renumbered to match while they are copied: the same values, and the log's build then keeps the codes as they
    are (it wants sorted categories) instead of renumbering every row once more. True: every such column; a
    collection: the columns of those names only (the log's id columns: other columns keep their order).
    """
    meta = table.schema.pandas_metadata or {}
    index_fields = {c for c in meta.get("index_columns", []) if isinstance(c, str)}
    names = table.column_names
    if len(set(names)) != len(names):
        return table.to_pandas(**to_pandas)
    labels = {c.get("field_name"): c.get("name") for c in meta.get("columns", []) if isinstance(c, dict)}
    candidates = [name for i, name in enumerate(names)
                  if not (name in index_fields or not _string_dictionary(table.column(i).type)
                          or table.column(i).num_chunks == 0
                          or labels.get(name, name) != name)]  # a label other than the field name: pyarrow's
    columns = [(table.column(name), sort_categories if isinstance(sort_categories, bool) else name in sort_categories)
               for name in candidates]
    if table.num_rows >= _THREAD_MIN_ROWS and len(columns) > 1:
        # each column's dictionaries unified and codes copied (Arrow and NumPy work without the GIL) by two
        # threads: this one and a helper
        with ThreadPoolExecutor(max_workers=2) as pool:
            prepared = list(pool.map(lambda job: _direct_categorical(*job), columns))
    else:
        prepared = [_direct_categorical(*job) for job in columns]
    direct = {name: cat for name, cat in zip(candidates, prepared, strict=True) if cat is not None}
    if not direct:
        return table.to_pandas(**to_pandas)
    # the other columns through pyarrow; each categorical's codes straight from the dictionary indices into the
    # type pandas keeps them in (pyarrow would concatenate int32 indices and pandas then narrow them)
    frame = table.drop_columns(list(direct)).to_pandas(**to_pandas)
    data_names = [n for n in names if n not in index_fields]
    rest = [n for n in data_names if n not in direct]
    if len(frame.columns) != len(rest) or any(str(c) != n for c, n in zip(frame.columns, rest)):
        return table.to_pandas(**{k: v for k, v in to_pandas.items() if k != "self_destruct"})
    cols: dict[int, Any] = {}
    names_out: list[Any] = []
    k = 0
    for j, name in enumerate(data_names):
        if name in direct:
            cols[j] = direct[name]
            names_out.append(name)
        else:
            cols[j] = frame.iloc[:, k]
            names_out.append(frame.columns[k])
            k += 1
    out = pd.DataFrame(cols, index=frame.index, copy=False)
    out.columns = pd.Index(names_out, dtype=frame.columns.dtype if len(rest) else None, name=frame.columns.name)
    return out


def _direct_categorical(col: pa.ChunkedArray, sort: bool = False) -> pd.Categorical | None:
    """A string dictionary column as the categorical pyarrow's conversion gives (dictionary as categories,
    indices as codes), its chunks' dictionaries unified first; None when it must be left to pyarrow (a missing
    value in the dictionary, no values at all, or values that repeat). ``sort``: the same values with the
    categories sorted (see :func:`arrow_to_frame`)."""
    first = col.chunk(0).dictionary
    # each chunk's dictionary against the one before (equal to the first when all are): chunks of one row group
    # share memory, so only row-group boundaries are compared value by value
    unified = not all(_same_values(col.chunk(i).dictionary, col.chunk(i - 1).dictionary)
                      for i in range(1, col.num_chunks))
    maps = None  # each chunk's codes into the union, when it is found without hashing
    union = _ordered_union(col) if unified and not col.type.ordered else None
    if union is not None:  # the union in the unifier's order (see _ordered_union), increasing
        first, maps = union
    elif unified:  # the unifier keeps each value once: its dictionary is distinct by construction
        col = pa.table({"c": col}).unify_dictionaries().column(0)
        first = col.chunk(0).dictionary
    if first.null_count or len(first) == 0 or not (unified or _distinct(first)):
        return None  # (no values at all: pyarrow gives the categories its own dtype, object)
    renumber = None
    if sort and maps is None and not col.type.ordered and not _increasing(first):
        order = pc.sort_indices(first).to_numpy()  # distinct values: no ties
        renumber = np.empty(len(first), dtype=code_dtype(len(first)))
        renumber[order] = np.arange(len(first))
        first = first.take(pa.array(order))
    dtype = known_categories_dtype(pd.Index(first.to_pandas()), bool(col.type.ordered))
    return pd.Categorical.from_codes(_dictionary_codes(col, len(first), renumber, maps), dtype=dtype, validate=False)


def _same_values(a: pa.Array, b: pa.Array) -> bool:
    """``a.equals(b)``, known at once when both are views of the same memory (the chunks Arrow's Parquet reader
    makes of one row group share its dictionary) and sooner when text arrays hold the same buffers byte for byte;
    anything else is left to ``equals``."""
    if len(a) == len(b) and a.offset == b.offset and a.type == b.type and a.null_count == b.null_count:
        bufs_a, bufs_b = a.buffers(), b.buffers()
        if len(bufs_a) == len(bufs_b) and all(
                (x is None and y is None) or (x is not None and y is not None and x.address == y.address
                                              and x.size == y.size) for x, y in zip(bufs_a, bufs_b, strict=True)):
            return True
        if (not a.null_count and not a.offset and len(bufs_a) == 3 and bufs_a[1] is not None and bufs_b[1] is not None
                and bufs_a[2] is not None and bufs_b[2] is not None and bufs_a[1].equals(bufs_b[1])
                and bufs_a[2].equals(bufs_b[2])):
            return True  # text with the same offsets and bytes (compared as memory: 1.1 ms against 2.6 ms)
    return bool(a.equals(b))


def _ordered_union(col: pa.ChunkedArray) -> tuple[pa.Array, list[np.ndarray]] | None:
    """The union of the chunks' dictionaries and each chunk's map from its indices to codes into it, when those
    dictionaries, one after the other, never decrease (UTF-8 bytes): a column stored in its values' order and
    read in blocks, as the case ids of a log stored by case. The union is then increasing, and the same as the
    unifier's (which keeps the values in the order they first appear), found by comparing neighbours instead of
    hashing every chunk's values (10M-event CSV, 76 blocks, 862k case ids: about 20 ms against 250 ms). None
    otherwise (or when a dictionary holds a missing value)."""
    dictionaries = [c.dictionary for c in col.chunks]
    if any(d.null_count for d in dictionaries):
        return None
    values = pa.concat_arrays(dictionaries)
    n = len(values)
    if n < 2:
        return None
    before, after = values.slice(0, n - 1), values.slice(1)
    if not pc.all(pc.less_equal(before, after)).as_py():
        return None
    new = np.ones(n, dtype=bool)  # each value's first place (equal neighbours: the same value twice)
    new[1:] = np.asarray(pc.not_equal(before, after).to_numpy(zero_copy_only=False), dtype=bool)
    code = (np.cumsum(new) - 1).astype(code_dtype(int(new.sum())))
    bounds = np.cumsum([len(d) for d in dictionaries])[:-1]
    return values.filter(pa.array(new)), np.split(code, bounds)


def _dictionary_codes(col: pa.ChunkedArray, n_values: int, renumber: np.ndarray | None = None,
                      maps: list[np.ndarray] | None = None) -> np.ndarray:
    """The indices of a dictionary column whose chunks share one dictionary of ``n_values`` values, as one array
    of the type pandas keeps categorical codes in for that many (-1 where missing); through ``renumber`` (the
    new code of each index) when given, or through ``maps`` (one such array per chunk: chunks with dictionaries
    of their own)."""
    out = pool_empty(len(col), code_dtype(n_values))
    lib = loops()
    at = 0
    for i, chunk in enumerate(col.chunks):
        idx, k = chunk.indices, len(chunk)
        if k == 0:
            continue
        values = _values_view(idx, np.dtype(idx.type.to_pandas_dtype()))
        table = maps[i] if maps is not None else renumber
        if values is None or (table is not None and len(table) == 0):  # (an empty dictionary: every row missing)
            out[at:at + k] = -1
        elif lib is not None and values.dtype.kind == "i":  # one pass: codes and missing values
            lib.dictionary_codes(values, _NO_CODES[out.dtype] if table is None else table, out[at:at + k],
                                 validity_bits(idx), idx.offset)
        else:
            # (a null's slot may hold any index: clipped into range, then marked missing below)
            out[at:at + k] = values if table is None else np.take(table, values, mode="clip")
            if idx.null_count:
                out[at:at + k][_nulls(idx)] = -1
        at += k
    return out


_NO_BITS = np.zeros(0, dtype=np.uint8)  # an empty validity bitmap: no value missing
_NO_CODES = {np.dtype(t): np.zeros(0, dtype=t) for t in (np.int8, np.int16, np.int32, np.int64)}  # no table


def validity_bits(arr: pa.Array) -> np.ndarray:
    """The validity bitmap of ``arr`` as NumPy bytes, as the compiled loops take it (bit ``arr.offset + i`` is
    row ``i``), or an empty array when no value is missing."""
    bitmap = arr.buffers()[0] if arr.null_count else None
    return _NO_BITS if bitmap is None else np.frombuffer(bitmap, dtype=np.uint8)


_NO_BYTES = np.zeros(0, dtype=np.uint8)  # no text data at all (every value empty or missing)


def as_bytes(buffer: pa.Buffer | None) -> np.ndarray:
    """A text array's data buffer (as :func:`text_buffers` gives it) as NumPy bytes, empty when there is none: what
    the compiled loops take."""
    return _NO_BYTES if buffer is None else np.frombuffer(buffer, dtype=np.uint8)


def text_chunks(col: pa.ChunkedArray) -> Iterator[tuple[slice, tuple[np.ndarray, np.ndarray, np.ndarray, int]]]:
    """Each non-empty chunk of a text column: its rows in the column, and what the compiled loops over text take
    for it (value offsets, data bytes, validity bitmap, the chunk's offset into that bitmap)."""
    at = 0
    for chunk in col.chunks:
        k = len(chunk)
        if k:
            offsets, data = text_buffers(chunk)
            yield slice(at, at + k), (offsets, as_bytes(data), validity_bits(chunk), chunk.offset)
            at += k


def text_buffers(chunk: pa.Array) -> tuple[np.ndarray, pa.Buffer | None]:
    """The value offsets of a text (or binary) array as a NumPy view (``len(chunk) + 1`` of them, int64 for the
    large types) and its data buffer (None when it has none)."""
    wide = pa.types.is_large_string(chunk.type) or pa.types.is_large_binary(chunk.type)
    offsets_buf, data_buf = chunk.buffers()[1:3]
    offsets = np.frombuffer(offsets_buf, dtype=np.int64 if wide else np.int32, count=len(chunk) + 1,
                            offset=chunk.offset * (8 if wide else 4))
    return offsets, data_buf


def _values_view(arr: pa.Array, dtype: np.dtype) -> np.ndarray | None:
    """The values of a fixed-width Arrow array as a NumPy view (a null's slot holds whatever it holds), or None
    when the array has no data buffer."""
    data = arr.buffers()[1]
    if data is None:
        return None
    return np.frombuffer(data, dtype=dtype, count=len(arr), offset=arr.offset * dtype.itemsize)


def _nulls(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Where ``arr`` is null, as a NumPy boolean mask."""
    return np.asarray(arr.is_null().to_numpy(zero_copy_only=False), dtype=bool)


def code_dtype(n_values: int) -> np.dtype:
    """The type pandas keeps a categorical's codes in for ``n_values`` categories (``coerce_indexer_dtype``)."""
    for t in (np.int8, np.int16, np.int32):
        if n_values < np.iinfo(t).max:
            return np.dtype(t)
    return np.dtype(np.int64)


def _distinct(values: pa.Array) -> bool:
    """Whether ``values`` (no nulls) holds each value once: a strictly increasing array (a sorted dictionary, as
    Parquet writers usually store them) is checked without hashing."""
    if _increasing(values):
        return True
    return bool(pc.count_distinct(values).as_py() == len(values))


def _increasing(values: pa.Array) -> bool:
    """Whether ``values`` (no nulls) is strictly increasing (texts: by UTF-8 bytes)."""
    return len(values) < 2 or bool(pc.all(pc.less(values.slice(0, len(values) - 1), values.slice(1))).as_py())


def _string_dictionary(typ: pa.DataType) -> bool:
    return bool(pa.types.is_dictionary(typ) and pa.types.is_string(typ.value_type))


def known_categories_dtype(categories: pd.Index, ordered: bool = False) -> pd.CategoricalDtype:
    """``pd.CategoricalDtype(categories, ordered)`` for categories already known to be distinct and not missing.

    Uses pandas' constructor that skips re-checking them (hashing every category: ~0.1 s per million) when
    this pandas has it, and the public one otherwise (a pandas release without it stays correct, only slower).
    """
    fast = getattr(pd.CategoricalDtype, "_from_fastpath", None)
    if fast is not None:
        try:
            return cast(pd.CategoricalDtype, fast(categories, ordered))
        except TypeError:  # its signature changed
            pass
    return pd.CategoricalDtype(categories, ordered=ordered)
