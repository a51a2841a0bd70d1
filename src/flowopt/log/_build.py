"""Turn raw rows plus a column mapping into an :class:`EventLog`, quarantining (never dropping) bad rows."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from flowopt._compiled import loops
from flowopt._memory import pool_empty
from flowopt._sorting import code_groups, compiled_codes, group_time_order
from flowopt.errors import EmptyLogError, LimitExceededError, QuarantineReason, RowsDroppedWarning
from flowopt.io._csv import (  # (one size rule for threads)
    _THREAD_MIN_ROWS,
    _nulls,
    as_bytes,
    code_dtype,
    known_categories_dtype,
    text_buffers,
    text_chunks,
)
from flowopt.log._eventlog import EventLog
from flowopt.log._lifecycle import LIFECYCLE_VALUES, pair_transitions
from flowopt.log._stages import classify_activities
from flowopt.log._timestamps import ns_datetimes, parse_timestamps
from flowopt.options import Config

__all__ = ["build_clean_log", "build_log"]

_R = list(QuarantineReason)
_CODE = {r: i + 1 for i, r in enumerate(_R)}
T = TypeVar("T")


def _factor_text(col: pd.Series, owned: bool = False, empty_missing: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Codes of ``col`` as stripped text: (row code into the sorted distinct texts or -1 when missing/empty,
    the distinct texts as an object array). The codes are of the type pandas keeps a categorical's codes in
    for that many texts (int8 up to 126 of them, then int16, int32): gathering them moves a quarter or an
    eighth of the bytes int64 codes would, and the log's categoricals take them as they are.

    The same as ``col.astype("string").str.strip()`` then ``pd.factorize(..., sort=True)`` with empty text
    as missing (kept as a text of its own when not ``empty_missing``), but the text work runs once per distinct
    value instead of once per row.
    """
    if isinstance(col.dtype, pd.CategoricalDtype):  # the codes are there already: no hashing of the rows
        codes, uniq = col.array.codes, col.cat.categories  # a view: a frame of our own lends its codes, no copy
        clean = _clean_sorted_text(uniq, empty_missing)
        if clean is not None:  # each code stays as it is (see below), checked without a Python string per category
            return (np.asarray if owned else np.array)(codes, dtype=code_dtype(len(clean))), clean
    else:
        codes, uniq = pd.factorize(col, use_na_sentinel=True)
    text = pd.Series(uniq).astype("string").str.strip()
    if empty_missing:
        text = text.mask(text == "")
    tvals = text.to_numpy(dtype=object, na_value=None)
    if len(tvals) > 1 and not text.isna().any() and bool((tvals[1:] > tvals[:-1]).all()):
        # already distinct and sorted (categories of a sorted categorical): skip hashing and sorting them;
        # each code then stays as it is (-1 too), so no gather through a remapping table either (a copy unless
        # the frame is ``owned``: the codes of a caller's categorical column are theirs)
        dtype = code_dtype(len(tvals))
        return (np.asarray if owned else np.array)(codes, dtype=dtype), np.asarray(tvals, dtype=object)
    tcodes, tuniq = _sorted_factorize(tvals)
    remap = np.append(tcodes, -1).astype(code_dtype(len(tuniq)))  # code -1 (missing) maps to the last slot
    return remap[codes], np.asarray(tuniq, dtype=object)


_ARROW_SORT_MIN = 10_000  # from this many distinct texts, sorted by Arrow instead of by Python comparisons


def _sorted_factorize(texts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize(texts, sort=True, use_na_sentinel=True)`` of an object array of texts and None.

    pandas sorts the distinct texts by comparing Python strings: 862k case ids of a log not stored by case took
    about 3 s. From :data:`_ARROW_SORT_MIN` texts Arrow ranks them (UTF-8 bytes order, which is code point order,
    as Python compares): the same codes and texts, 0.86 s for those 862k.
    """
    arr = None  # stays None below the threshold, or for a text UTF-8 cannot hold (a lone surrogate): pandas sorts
    if len(texts) >= _ARROW_SORT_MIN:
        with contextlib.suppress(pa.ArrowException, UnicodeError):
            arr = pa.array(texts, type=pa.large_string())
    if arr is None:
        codes, uniq = pd.factorize(texts, sort=True, use_na_sentinel=True)
        return codes, np.asarray(uniq, dtype=object)
    # dense ranks: equal texts share one, in sorted order; each text's first position gives it its value
    codes = pc.rank(arr, sort_keys="ascending", tiebreaker="dense").to_numpy()  # missing ones ranked last
    codes = codes.astype(np.int64) - 1
    if arr.null_count:
        codes[np.asarray(arr.is_null().to_numpy(zero_copy_only=False), dtype=bool)] = -1
    valid = np.flatnonzero(codes >= 0)
    first = np.empty(int(codes.max()) + 1 if len(valid) else 0, dtype=np.int64)
    first[codes[valid][::-1]] = valid[::-1]
    return codes, arr.take(pa.array(first)).to_numpy(zero_copy_only=False).astype(object)


def _clean_sorted_text(categories: pd.Index, empty_missing: bool) -> pd.Index | None:
    """``categories`` as text (an Arrow-backed ``string`` index) when :func:`_factor_text` would keep them as they
    are: two or more, none missing, none changed by stripping, none empty when empty means missing, and strictly
    increasing (UTF-8 bytes order as code points do, the order Python's comparison and ``factorize`` sort by).
    Else None. Checked by Arrow kernels: 862k case ids take milliseconds, not the 0.1 s or more of making and
    comparing a Python string per category."""
    if len(categories) < 2:
        return None
    text = pd.Index(categories.astype("string"))
    arr = pa.chunked_array(pa.array(text.array))
    if arr.null_count:
        return None
    lib = loops()
    if lib is not None and arr.num_chunks == 1:  # one compiled pass (862k case ids: 3 ms against 43 ms)
        offsets, data = text_buffers(arr.chunk(0))
        verdict = lib.clean_increasing_text(offsets, as_bytes(data), empty_missing)
        if verdict >= 0:
            return text if verdict else None
    lengths = pc.binary_length(arr)
    if empty_missing and pc.min(lengths).as_py() == 0:
        return None
    if pc.sum(pc.binary_length(pc.utf8_trim_whitespace(arr))).as_py() != pc.sum(lengths).as_py():
        return None  # stripping removes something
    if not pc.all(pc.less(arr.slice(0, len(arr) - 1), arr.slice(1))).as_py():
        return None
    return text


@dataclass(frozen=True, slots=True)
class _Permutation:
    """A reordering of every row (``order``, a permutation of ``0..n-1``) that the build applies to arrays of its
    own in their own memory (:func:`_in_order`), and the positions it changes when they are few (``moved``: a log
    stored by case, a few of its rows out of time order), else None."""

    order: np.ndarray
    moved: np.ndarray | None
    scattered: bool  # (see _scattered)

    @staticmethod
    def of(order: np.ndarray) -> _Permutation:
        n = len(order)
        if _scattered(order):
            return _Permutation(order, None, True)
        limit = n // _FEW_MOVED_DENOMINATOR
        lib = loops()
        if lib is not None:  # one pass, no full-length temporaries
            return _Permutation(order, lib.moved_rows(np.ascontiguousarray(order, dtype=np.int64), limit), False)
        moved = np.flatnonzero(order != np.arange(n, dtype=order.dtype))
        return _Permutation(order, moved if len(moved) <= limit else None, False)


_FEW_MOVED_DENOMINATOR = 8  # moved rows (share: one in this many) up to which they are moved by fancy indexing


def _in_order(values: np.ndarray, perm: _Permutation) -> np.ndarray:
    """``values[perm.order]``, written over ``values`` itself (nothing else reads it: an array of the build's own
    frame) where NumPy lets the build write it (:func:`_movable`): only the rows that move are written, by one fancy
    assignment of the few ``moved`` positions (1M rows, 1k of them moved: microseconds against 2 ms for a
    gather), or by the compiled loops following the permutation's cycles (no new array); a permutation that
    scatters the rows is a gather into a new array (moving its cycles in place waits on memory at every row)."""
    order = perm.order
    own = _movable(values) if len(order) == len(values) else None
    if own is not None and perm.moved is not None:
        own[perm.moved] = own[order[perm.moved]]  # (the right side is read in full before any row is written)
        return values
    lib = loops()
    if own is not None and lib is not None and own.dtype in _MOVED and not perm.scattered:
        lib.permute(own, np.ascontiguousarray(order, dtype=np.int64))
        return values
    out: np.ndarray = values[order]
    return out


_SCATTER_SAMPLE = 4096  # rows looked at by _scattered


def _scattered(order: np.ndarray) -> bool:
    """Whether the permutation ``order`` scatters the rows (a log stored in time order, not by case): of
    :data:`_SCATTER_SAMPLE` evenly spaced positions, more than one in eight is followed by a row other than the
    next one. Moving such a permutation's cycles in place waits on memory at every row (10M rows in random order:
    1.8 s, against 0.24 s for a gather into a new array); a nearly ordered one moves few rows either way."""
    n = len(order)
    if n < 2:
        return False
    at = np.linspace(0, n - 2, num=min(n - 1, _SCATTER_SAMPLE)).astype(np.int64)
    return int(np.count_nonzero(order[at + 1] != order[at] + 1)) * 8 > len(at)


_MOVED = frozenset(np.dtype(t) for t in (np.int8, np.int16, np.int32, np.int64, np.uint8, np.float64))


def _movable(values: np.ndarray) -> np.ndarray | None:
    """``values`` (its int64 view, for times), writable, when it can be reordered in place: one contiguous array
    of numbers, booleans or times; else None. pandas hands out its arrays read-only (copy-on-write); the build
    writes only to the arrays of its own frame, so it may lift that where NumPy lets it."""
    if values.dtype.kind == "M":
        values = values.view(np.int64)
    if values.dtype.kind not in "iufb" or not values.flags.c_contiguous:
        return None
    if not values.flags.writeable:
        try:
            values.flags.writeable = True
        except ValueError:  # memory NumPy may not write (an Arrow buffer, say): not ours to write
            return None
    return values


def _code_counts(codes: np.ndarray, n_values: int) -> np.ndarray:
    """How many rows have each code ``0..n_values-1`` (int64; missing codes, -1, not counted)."""
    lib = loops()
    if lib is not None:
        out = np.zeros(n_values, dtype=np.int64)
        lib.code_counts(compiled_codes(codes), out)
        return out
    known = codes >= 0
    return np.bincount(codes if known.all() else codes[known], minlength=n_values)


def _take_codes(codes: np.ndarray, uniq: np.ndarray, rows: np.ndarray | None, *, perm: _Permutation | None = None,
                dense: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Codes of ``rows`` (None: every row, in order) renumbered over the texts they use (sorted order kept;
    -1 stays -1), of the type pandas keeps them in.

    ``perm``: ``rows`` is that permutation of every row and ``codes`` the build's own array (nothing else reads
    it): they are reordered in their own memory (:func:`_in_order`). ``dense``: each code ``0..len(uniq)-1``
    occurs in ``codes`` (the categories of the typed read, whose Arrow dictionaries hold only values that occur);
    with every row taken, none then needs dropping and the codes are not counted."""
    sub = codes if rows is None else _in_order(codes, perm) if perm is not None else codes[rows]
    if dense and (rows is None or perm is not None):
        return sub, uniq
    used = _code_counts(sub, len(uniq)) > 0
    if used.all():  # nothing to renumber (the renumbering below would map each code to itself)
        return sub, uniq
    renum = np.append(np.cumsum(used) - 1, -1).astype(code_dtype(int(used.sum())))
    return renum[sub], uniq[used]


def _categorical_or_null(factored: tuple[np.ndarray, np.ndarray] | None, rows: np.ndarray,
                         identity: bool = False, perm: _Permutation | None = None, dense: bool = False) -> pd.Series:
    """The log's column of the codes and texts ``factored`` (None: no such column) at the event rows ``rows``
    (every row, in file order, when ``identity``); ``perm`` and ``dense`` as for :func:`_take_codes`."""
    if factored is None:
        return pd.Series(pd.Categorical([None] * len(rows), categories=[]), dtype="category")
    codes, uniq = _take_codes(*factored, None if identity else rows, perm=perm, dense=dense)
    return pd.Series(_categorical(codes, pd.Index(uniq, dtype="string")))


def _categorical_later(factored: Callable[[], tuple[np.ndarray, np.ndarray]] | None, rows: np.ndarray,
                       identity: bool, perm: _Permutation | None, dense: bool) -> pd.Series:
    """:func:`_categorical_or_null` of the codes ``factored()`` gives (None: no such column)."""
    return _categorical_or_null(None if factored is None else factored(), rows, identity, perm, dense)


def _categorical(codes: np.ndarray, categories: pd.Index) -> pd.Categorical:
    """``pd.Categorical.from_codes(codes, categories=categories)`` for ``categories`` known to be distinct and
    not missing (factorized texts) and codes known to be in range: no hashing of the categories to check it."""
    dtype = known_categories_dtype(categories)
    return pd.Categorical.from_codes(codes, dtype=dtype, validate=False)


def _duplicated(raw: pd.DataFrame, idx: np.ndarray | None, case: np.ndarray, t: np.ndarray, *,
                sorted_times: bool = True) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """``raw.duplicated(keep="first")`` for the rows ``idx`` (None: every row), comparing whole rows only where
    needed; ``idx`` sorted by (case, time), ties in input order, and ``t`` in that order (both None when ``idx``
    has fewer than two rows; the times None too when not ``sorted_times`` and the compiled loops are in use: the
    caller moves its own times in place).

    Identical rows have the same case code and time ``t``, so sorting ``idx`` by (case, time) puts them
    in one run of equal keys; the full-row comparison runs on rows in such runs only (usually few).
    Rows outside ``idx`` are never flagged (an identical row is always in or out of ``idx`` with its twin).
    """
    out = np.zeros(len(raw), dtype=bool)
    if (len(case) if idx is None else len(idx)) < 2:
        return out, None, None
    if idx is None or len(idx) == len(case):  # all rows (idx is then 0..n-1): no gathers needed
        s = group_time_order(case, t)
    else:
        s = idx[group_time_order(case[idx], t[idx])]
    lib = loops()
    ts: np.ndarray | None
    if lib is not None:  # one pass (the times gathered on the way when wanted), no full-length temporaries
        in_run = np.zeros(len(s), dtype=np.uint8)
        ts = np.empty(len(s), dtype=np.int64) if sorted_times else None
        marked = lib.equal_key_runs(s, compiled_codes(case), np.ascontiguousarray(t, dtype=np.int64),
                                    _NO_TIMES if ts is None else ts, in_run)
        cand = np.sort(s[in_run.view(bool)]) if marked else s[:0]
    else:
        ts = t[s]
        cs = case[s]
        same = (cs[1:] == cs[:-1]) & (ts[1:] == ts[:-1])
        in_run = np.zeros(len(s), dtype=bool)
        in_run[1:] |= same
        in_run[:-1] |= same
        cand = np.sort(s[in_run])
    if len(cand):
        few = _few_duplicated(raw, cand) if len(cand) <= _FEW_CANDIDATES else None
        out[cand] = few if few is not None else _rows_of(raw, cand).duplicated(keep="first").to_numpy(dtype=bool)
    return out, s, ts


_NO_TIMES = np.zeros(0, dtype=np.int64)
_FEW_CANDIDATES = 1000  # candidate rows up to which _few_duplicated compares them as tuples


def _few_duplicated(frame: pd.DataFrame, rows: np.ndarray) -> np.ndarray | None:
    """``frame.iloc[rows].duplicated(keep="first")`` for a few rows (the duplicate check's usual handful), their
    values compared as tuples: category codes, times as integers, integers, booleans and Arrow-backed text as
    Python values (a missing value equal to another, as pandas compares them). Building the frame of those rows
    for pandas takes milliseconds whatever their number. None when a column holds anything else (floats, objects):
    pandas then decides."""
    columns: list[list[Any]] = []
    for i in range(frame.shape[1]):
        values = frame.iloc[:, i].array
        if isinstance(values, pd.Categorical):
            columns.append(values.codes[rows].tolist())  # one categorical: equal codes, equal values; -1 missing
        elif isinstance(values, pd.arrays.DatetimeArray):
            columns.append(values.asi8[rows].tolist())  # NaT: the int64 minimum
        elif isinstance(values, pd.arrays.NumpyExtensionArray) and values.dtype.numpy_dtype.kind in "iub":
            columns.append(values.to_numpy()[rows].tolist())
        else:
            chunked = getattr(values, "_pa_array", None)
            if not (isinstance(chunked, pa.ChunkedArray)
                    and (pa.types.is_string(chunked.type) or pa.types.is_large_string(chunked.type))):
                return None
            taken = _take_few(chunked, rows)
            columns.append((chunked.take(pa.array(rows)) if taken is None else taken).to_pylist())
    seen: set[tuple[Any, ...]] = set()
    out = np.zeros(len(rows), dtype=bool)
    for k, key in enumerate(zip(*columns, strict=True)):
        if key in seen:
            out[k] = True
        else:
            seen.add(key)
    return out


_FEW_ROWS = 1 / 64  # rows taken (share) up to which an Arrow column's rows are taken from each chunk alone


def _take_rows(values: Any, rows: np.ndarray) -> Any:
    """``values.take(rows)`` of a pandas array (the values of ``Series.iloc[rows]``, without taking the index too).

    An Arrow-backed array of several chunks (a CSV read: one per block) gives few rows (the duplicate check's
    candidates) from the chunks that hold them (:func:`_take_few`), and when nearly every row stays where it is,
    the ones that stay are sliced and joined with the few that move (:func:`_patched`)."""
    chunked = getattr(values, "_pa_array", None)
    wrap = getattr(values, "_from_pyarrow_array", None)  # pandas' own constructor from an Arrow result
    if (not isinstance(chunked, pa.ChunkedArray) or wrap is None or len(rows) == 0 or int(rows.min()) < 0
            or int(rows.max()) >= len(chunked)):
        return values.take(rows)  # (out of range: the error take raises)
    taken = _take_few(chunked, rows) if len(rows) <= len(values) * _FEW_ROWS else _patched(chunked, rows)
    return values.take(rows) if taken is None else wrap(pa.chunked_array([taken], type=chunked.type))


def _take_few(chunked: pa.ChunkedArray, rows: np.ndarray) -> pa.Array | None:
    """``chunked.take(rows)`` (rows in range) as one array, each row taken from the chunk that holds it: Arrow's
    own take of a chunked array first joins every chunk (1M rows of text: 2-3 ms for any number of rows taken).
    None for a single chunk: Arrow's take is as quick there."""
    if chunked.num_chunks < 2:
        return None
    lengths = np.fromiter((len(c) for c in chunked.chunks), dtype=np.int64, count=chunked.num_chunks)
    starts = np.concatenate(([0], np.cumsum(lengths)))
    chunk = np.searchsorted(starts, rows, side="right") - 1
    by_chunk, bounds = code_groups(chunk, chunked.num_chunks)  # chunk k's rows: by_chunk[bounds[k]:bounds[k + 1]]
    sorted_rows = rows[by_chunk]
    pieces = [chunked.chunk(k).take(pa.array(sorted_rows[bounds[k]:bounds[k + 1]] - starts[k]))
              for k in range(chunked.num_chunks) if bounds[k + 1] > bounds[k]]
    taken = pa.concat_arrays(pieces) if pieces else chunked.chunk(0).slice(0, 0)
    if not np.array_equal(by_chunk, np.arange(len(rows))):
        back = np.empty_like(by_chunk)
        back[by_chunk] = np.arange(len(rows))
        taken = taken.take(pa.array(back))
    return taken


_MAX_RUNS = 50_000  # runs of moved rows up to which _patched joins slices (one Python step per run)


def _patched(chunked: pa.ChunkedArray, rows: np.ndarray) -> pa.Array | None:
    """``chunked.take(rows)`` (rows in range) as one array when ``rows`` leaves nearly every row where it is
    (rows stored by case, a few of them not by time: the build's usual order), else None. The rows that stay
    are sliced, only the others taken, and the pieces joined: one copy of the values (a 10M-row text column,
    11k rows moved: about 0.1 s against 0.18-0.24 s for Arrow's take, which first joins the chunks, then takes
    row by row)."""
    if len(rows) > len(chunked):
        return None
    moved = np.flatnonzero(rows != np.arange(len(rows)))
    breaks = np.flatnonzero(np.diff(moved) != 1) + 1
    if len(moved) > len(rows) * _FEW_ROWS or len(breaks) >= _MAX_RUNS:
        return None
    pieces: list[pa.Array] = []
    at = 0
    if len(moved):
        taken = _take_few(chunked, rows[moved])
        if taken is None:  # one chunk
            taken = chunked.chunk(0).take(pa.array(rows[moved]))
        firsts = np.r_[0, breaks]  # each run's first position in ``moved`` (and ``taken``)
        starts, ends = moved[firsts], moved[np.r_[breaks - 1, len(moved) - 1]] + 1
        for start, end, first in zip(starts.tolist(), ends.tolist(), firsts.tolist(), strict=True):
            if start > at:
                pieces += chunked.slice(at, start - at).chunks
            pieces.append(taken.slice(first, end - start))
            at = end
    if at < len(rows):
        pieces += chunked.slice(at, len(rows) - at).chunks
    return pa.concat_arrays(pieces)  # one copy: the log holds no row it does not use


def _rows_of(frame: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    """``frame.iloc[rows]`` with the columns by position (names may repeat) and a fresh index: the same values,
    without taking the index, and Arrow columns taken chunk by chunk (:func:`_take_rows`)."""
    return pd.DataFrame({i: _take_rows(frame.iloc[:, i].array, rows) for i in range(frame.shape[1])}, copy=False)


def _maybe_numeric(col: pd.Series) -> pd.Series:
    """Turn a text column whose values are all numbers into numbers; leave anything else as is.

    Converting commutes with reordering the rows (``_maybe_numeric(col).iloc[order]`` is
    ``_maybe_numeric(col.iloc[order])``): the quick look at the first values only stops early on a column the
    full check would reject, and every other step works value by value, or on all values at once.
    """
    if not (pd.api.types.is_string_dtype(col.dtype) or col.dtype == object):
        return col
    ints = _decimal_ints(col)
    if ints is not None:
        return ints
    sample = col.dropna().head(2000)
    if sample.empty:
        return col
    probe = pd.to_numeric(sample, errors="coerce")
    if probe.isna().any():
        return col
    full = _arrow_numeric(col)
    if full is None:
        full = pd.to_numeric(col, errors="coerce")
    if (full.isna() & col.notna()).any():
        return col
    return full


def _decimal_ints(col: pd.Series) -> pd.Series | None:
    """An Arrow-backed text column whose values are all plain decimal integers (an optional ``-`` then ASCII
    digits, within int64), some present, as ``Int64``: what :func:`_arrow_numeric` gives for it (Arrow's cast
    reads those values the same way), in one compiled pass per chunk (1M amounts: about 3 ms against 30 ms for
    the cast and its conversion). None for any other column, or without the compiled loops."""
    lib = loops()
    chunked = getattr(col.array, "_pa_array", None)
    if (lib is None or not isinstance(chunked, pa.ChunkedArray) or chunked.null_count == len(chunked)
            or not (pa.types.is_string(chunked.type) or pa.types.is_large_string(chunked.type))):
        return None
    out = pool_empty(len(chunked), np.int64)
    for rows, text in text_chunks(chunked):
        if not lib.decimal_int64(*text, out[rows]):
            return None
    mask = np.zeros(len(out), dtype=bool) if chunked.null_count == 0 else _nulls(chunked)
    return pd.Series(pd.arrays.IntegerArray(out, mask), index=col.index, name=col.name, copy=False)


def _arrow_numeric(col: pd.Series) -> pd.Series | None:
    """``pd.to_numeric`` of an Arrow-backed text column through Arrow's C++ casts (``Int64``/``Float64``).

    None when Arrow cannot decide alone (a value that is not a plain decimal number, NaN or infinity):
    then pandas does the work, so the result never differs from ``pd.to_numeric``.
    """
    if not (isinstance(col.dtype, pd.StringDtype) and col.dtype.storage == "pyarrow"):
        return None
    arr = pa.chunked_array(pa.array(col.array))
    for typ, dtype in ((pa.int64(), pd.Int64Dtype()), (pa.float64(), pd.Float64Dtype())):
        try:
            out = pc.cast(arr, typ)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        if _has_x(arr):  # Arrow reads hexadecimal ("0x10"), pandas does not
            return None
        if pa.types.is_floating(typ) and (not pc.all(pc.is_finite(out)).as_py()
                                          or not pc.any(pc.match_substring_regex(arr, "[.eE]")).as_py()):
            return None  # NaN/inf text, or integers Arrow refused ("+5", beyond int64): pandas decides those
        return pd.Series(out.to_pandas(types_mapper={typ: dtype}.get).array, index=col.index, name=col.name)
    return None


def _has_x(arr: pa.ChunkedArray) -> bool:
    """Whether a text column holds an "x" or "X" anywhere: a search of its bytes (in UTF-8 those two bytes are
    those two letters and nothing else; 1M amounts: under 2 ms, against 7 ms for Arrow's check that every value
    is plain digits). A null's slot may hold bytes too: a yes there only leaves the column to pandas."""
    for chunk in arr.chunks:
        if len(chunk) == 0:
            continue
        offsets, data_buf = text_buffers(chunk)
        if data_buf is None:
            continue
        data = data_buf.slice(int(offsets[0]), int(offsets[-1]) - int(offsets[0])).to_pybytes()
        if b"x" in data or b"X" in data:
            return True
    return False


def build_log(raw: pd.DataFrame, mapping: Mapping[str, str], config: Config, *, source: str,
              malformed: pd.DataFrame | None = None, owned: bool = False,
              text_dtypes: Mapping[str, Any] | None = None) -> EventLog:
    """Build the canonical log from ``raw`` rows (as read, original columns).

    Every row of ``raw`` ends up either in an event or in the quarantine with its reason; rows the
    reader could not split into fields (``malformed``: ``row``, ``text``) are quarantined too.

    On large inputs the activity, resource and role columns are coded by one helper thread while this
    one codes the case ids and parses the timestamps, and the helper then converts the columns not mapped
    to a field while this one builds the canonical ones (the work runs in Arrow/NumPy, mostly without the
    GIL); results are used in the same order as without it, so the output is the same.

    ``owned``: ``raw`` was built by a reader for this call and is dropped after it, so the log may keep its
    arrays instead of copies (a caller's DataFrame is never owned: the log must not change when it does).

    ``text_dtypes``: columns of ``raw`` the reader turned from text into categoricals, with the dtype each has
    when read as text; the quarantine shows its rows' values in that dtype, as read from the source.
    """
    log = _with_pool(raw, mapping, config, source=source, malformed=malformed, text_columns=None, owned=owned,
                     text_dtypes=text_dtypes)
    assert log is not None  # only a clean build gives up
    return log


def build_clean_log(raw: pd.DataFrame, mapping: Mapping[str, str], config: Config, *, source: str,
                    text_columns: pd.DataFrame) -> EventLog | None:
    """:func:`build_log` of rows read typed (categories, timestamps), or None as soon as a row would be
    quarantined: the quarantine must show each row's text as read, which only the text read keeps.

    ``text_columns`` has ``raw``'s columns with the text read's dtypes and no rows (the empty quarantine's
    columns). When this returns a log, it is the log :func:`build_log` builds from the text read. ``raw`` is
    owned (see :func:`build_log`): the typed read built it for this call.
    """
    return _with_pool(raw, mapping, config, source=source, malformed=None, text_columns=text_columns, owned=True,
                      text_dtypes=None)


class _NotClean(Exception):
    """A clean build (:func:`build_clean_log`) met a row it would quarantine."""


def _with_pool(raw: pd.DataFrame, mapping: Mapping[str, str], config: Config, *, source: str,
               malformed: pd.DataFrame | None, text_columns: pd.DataFrame | None, owned: bool,
               text_dtypes: Mapping[str, Any] | None) -> EventLog | None:
    pool = ThreadPoolExecutor(max_workers=1) if len(raw) >= _THREAD_MIN_ROWS else None
    try:
        return _build_log(raw, mapping, config, source=source, malformed=malformed, pool=pool,
                          text_columns=text_columns, owned=owned, text_dtypes=text_dtypes)
    except _NotClean:
        return None
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _extra_column(col: pd.Series, rows: np.ndarray, identity: bool, every: bool) -> pd.Series:
    """Column ``col`` (not mapped to a field) at the event rows ``rows``, numbers when all its values are."""
    if not every:  # only the events' values decide (a quarantined row's text must not keep a column text)
        return _maybe_numeric(pd.Series(_take_rows(col.array, rows), name=col.name, copy=False))
    # every row: convert in file order, then reorder the numbers rather than the text
    return _reordered(lambda: _maybe_numeric(col), rows, identity)


def _reordered(converted: Callable[[], pd.Series], rows: np.ndarray, identity: bool,
               perm: _Permutation | None = None) -> pd.Series:
    """A column converted over every row in file order (``converted()``), at the event rows ``rows`` (every row,
    in file order when ``identity``). With ``perm`` (``rows`` is that permutation of every row, the column the
    build's own: nothing else reads it) a column of plain numbers or times is reordered in its own memory."""
    col = converted()
    if identity:
        return col
    if perm is not None and isinstance(col.dtype, np.dtype) and col.dtype.kind in "iufM":  # plain numbers or times
        return pd.Series(_in_order(col.to_numpy(copy=False), perm), name=col.name, copy=False)
    masked = col.array
    if (perm is not None and isinstance(masked, pd.arrays.IntegerArray | pd.arrays.FloatingArray)
            and isinstance(getattr(masked, "_data", None), np.ndarray) and isinstance(getattr(masked, "_mask", None),
                                                                                     np.ndarray)):
        # numbers with missing values (Int64, Float64): their values and mask moved in their own memory too, when
        # NumPy lets the build write them (else a new array each, as take gives)
        data, mask = _in_order(masked._data, perm), _in_order(masked._mask, perm)
        return pd.Series(type(masked)(data, mask), name=col.name, copy=False)
    return pd.Series(_take_rows(col.array, rows), name=col.name, copy=False)


def _soon(pool: ThreadPoolExecutor | None, fn: Callable[..., T], *args: Any) -> Callable[[], T]:
    """``fn(*args)``, computed by ``pool`` when there is one; call the result to get it. A task the pool has not
    started when its result is wanted is taken back and computed by the calling thread, so neither thread waits
    while the other has work queued (the helper takes tasks from the front of its queue, the caller the ones it
    needs next)."""
    if pool is None:
        return lambda: fn(*args)
    future = pool.submit(fn, *args)
    done: list[T] = []

    def result() -> T:
        if not done:
            done.append(fn(*args) if future.cancel() else future.result())
        return done[0]

    return result


def _build_log(raw: pd.DataFrame, mapping: Mapping[str, str], config: Config, *, source: str,
               malformed: pd.DataFrame | None, pool: ThreadPoolExecutor | None,
               text_columns: pd.DataFrame | None, owned: bool,
               text_dtypes: Mapping[str, Any] | None) -> EventLog | None:
    """The log; None when ``text_columns`` is given (a clean build) and some row would be quarantined."""
    n = len(raw)
    raw = raw.reset_index(drop=True)
    reason = np.zeros(n, dtype=np.int8)
    detail = np.full(0, "", dtype=object)  # one text per row, allocated when the first row is flagged

    def flag(mask: np.ndarray, why: QuarantineReason, what: str | pd.Series = "") -> None:
        nonlocal detail
        if not mask.any():  # (the usual case: no row to flag, known without a full-length temporary)
            return
        new = mask & (reason == 0)
        if not new.any():
            return
        if text_columns is not None:  # a clean build: one row to quarantine is enough to give up, now
            raise _NotClean
        reason[new] = _CODE[why]
        if len(detail) != n:
            detail = np.full(n, "", dtype=object)
        if isinstance(what, pd.Series):
            detail[new] = what.to_numpy(dtype=object)[new]
        else:
            detail[new] = what

    act_later = _soon(pool, _factor_text, raw[mapping["activity"]], owned)
    coded = {f: _soon(pool, _factor_text, raw[mapping[f]], owned) for f in ("resource", "role") if f in mapping}
    if "outcome" in mapping:  # an empty outcome text stays a text (as it always has), not a missing value
        coded["outcome"] = _soon(pool, _factor_text, raw[mapping["outcome"]], owned, False)
    mapped_cols = set(mapping.values())
    extra_cols = [c for c in raw.columns if c not in mapped_cols]
    # the helper thread converts the other columns to numbers meanwhile, in file order: used as they are when
    # every row becomes an event (the usual case), else converted again over the events' rows only
    numbers = {c: _soon(pool, _maybe_numeric, raw[c]) for c in extra_cols} if pool is not None else {}
    case_f = _factor_text(raw[mapping["case"]], owned)
    flag(case_f[0] < 0, QuarantineReason.MISSING_CASE, f"column '{mapping['case']}' is empty")
    act_f = act_later()
    flag(act_f[0] < 0, QuarantineReason.MISSING_ACTIVITY, f"column '{mapping['activity']}' is empty")

    tz, dayfirst = config.read.timezone, config.read.dayfirst
    lifecycle = "lifecycle" in mapping
    # parse_timestamps clips values beyond nanosecond range (1677..2262) to its ends: keep those out of range
    lo_ns = pd.Timestamp(f"{max(config.read.min_year, 1678)}-01-01", tz="UTC").value
    hi_ns = pd.Timestamp(f"{min(config.read.max_year, 2261)}-12-31 23:59:59", tz="UTC").value

    def times(field: str, required: bool) -> np.ndarray:
        col = mapping[field]
        values = raw[col]
        badv: np.ndarray | None = None
        if isinstance(values.dtype, pd.DatetimeTZDtype) and values.dtype.unit == "ns" and str(values.dtype.tz) == "UTC":
            # UTC nanoseconds already (the typed read's times, or a caller's): nothing to parse. (The parse would
            # only clip values to the nanosecond range's ends, and those are outside lo..hi either way.)
            vals = values.array.asi8  # copied below before any write
        else:
            parsed, bad = parse_timestamps(values, tz=tz, dayfirst=dayfirst)
            vals = parsed.to_numpy(dtype="datetime64[ns]").view("i8")  # copied below before any write
            badv = bad.to_numpy(dtype=bool)
            if badv.any():  # the detail text is built for the bad rows only
                what = np.full(n, "", dtype=object)
                what[badv] = ("column '" + col + "': '" + values[badv].astype("string").fillna("")
                              + "'").to_numpy(dtype=object)
                flag(badv, QuarantineReason.BAD_TIMESTAMP, pd.Series(what))
        nat = np.iinfo(np.int64).min
        lib = loops()  # counts first: a clean column then needs no full-length masks
        n_nat, n_out = lib.time_flags(vals, lo_ns, hi_ns) if lib is not None else (-1, -1)
        if required and n_nat:
            flag(vals == nat, QuarantineReason.MISSING_TIMESTAMP, f"column '{col}' is empty")
        drop = badv
        if n_out:
            out_range = (vals != nat) & ((vals < lo_ns) | (vals > hi_ns))
            flag(out_range, QuarantineReason.OUT_OF_RANGE, f"column '{col}' outside {config.read.min_year}.."
                 f"{config.read.max_year} (set [read] min_year/max_year)")
            drop = out_range if badv is None else badv | out_range
        if drop is not None and drop.any():
            vals = vals.copy()
            vals[drop] = nat
        out: np.ndarray = vals
        return out

    nat = np.iinfo(np.int64).min
    if lifecycle:
        t = times("timestamp", True)
        lc = raw[mapping["lifecycle"]].astype("string").str.strip().str.lower()
        kind = lc.map(LIFECYCLE_VALUES).astype("float64").to_numpy()
        unsupported = np.isnan(kind)
        flag(unsupported, QuarantineReason.UNSUPPORTED_LIFECYCLE,
             "'" + lc.fillna("<empty>") + "' is not schedule/start/complete")
        start_ns = np.full(n, nat, dtype=np.int64)
        end_ns = t
    else:
        end_ns = times("end", True)
        start_ns = times("start", False) if "start" in mapping else np.full(n, nat, dtype=np.int64)
        if "start" in mapping and bool((start_ns > end_ns).any()):  # (a missing start, the int64 minimum, never is)
            flag((start_ns != nat) & (end_ns != nat) & (start_ns > end_ns), QuarantineReason.END_BEFORE_START,
                 f"'{mapping['end']}' is earlier than '{mapping['start']}'")

    by_case_time: np.ndarray | None = None  # the usable rows by (case, end), ties in file order
    end_by_case_time: np.ndarray | None = None  # their end times in that order
    if config.read.drop_duplicates and n:
        usable = np.flatnonzero(reason == 0) if reason.any() else None  # None: every row
        # (a log of our own moves its end times in place after the sort, below: no sorted copy of them here)
        dup, by_case_time, end_by_case_time = _duplicated(raw, usable, case_f[0], end_ns, sorted_times=not owned)
        flag(dup, QuarantineReason.DUPLICATE, "identical to an earlier row")

    if "order" in mapping:
        order_val = pd.to_numeric(raw[mapping["order"]], errors="coerce").to_numpy(dtype="float64")
        order_val = np.where(np.isnan(order_val), np.arange(n, dtype="float64"), order_val)
    elif lifecycle:
        order_val = np.arange(n, dtype="float64")
    else:
        order_val = np.zeros(0)  # not used: the file order breaks ties

    ok = reason == 0
    rows_used: int

    if lifecycle:
        idx = np.flatnonzero(ok)
        # (case, activity) groups
        key = case_f[0][idx] * np.int64(len(act_f[1]) + 1) + act_f[0][idx]
        group = pd.factorize(key)[0].astype(np.int64)
        k = kind[idx].astype(np.int64)
        p = pair_transitions(group, k, end_ns[idx], order_val[idx])
        for pos, why in ((p.unmatched_start, QuarantineReason.UNMATCHED_START),
                         (p.unmatched_schedule, QuarantineReason.UNMATCHED_SCHEDULE)):
            m = np.zeros(n, dtype=bool)
            m[idx[pos]] = True
            flag(m, why, "no matching transition in the same case and activity")
        comp = idx[p.complete]
        st = np.where(p.start >= 0, idx[np.maximum(p.start, 0)], -1)
        sc = np.where(p.schedule >= 0, idx[np.maximum(p.schedule, 0)], -1)
        rows = comp
        inst_start = np.where(st >= 0, end_ns[np.maximum(st, 0)], nat)
        inst_end = end_ns[comp]
        sched = np.where(sc >= 0, end_ns[np.maximum(sc, 0)], nat)
        rows_used = int(len(comp) + (st >= 0).sum() + (sc >= 0).sum())
        n_rows = len(rows)
    else:
        all_ok = not reason.any()
        # None: every row, 0..n-1, made below only if the sort keeps them in file order (else the order is the rows)
        rows = None if all_ok else np.flatnonzero(ok)
        n_rows = n if rows is None else len(rows)
        # every row usable: the time arrays themselves (gathered or copied below, so never shared with them)
        inst_start = start_ns if rows is None else start_ns[rows]
        inst_end = end_ns if rows is None else end_ns[rows]
        sched = None
        rows_used = n_rows
    every_row = not lifecycle and n_rows == n  # rows is then None: 0..n-1

    if text_columns is not None and (reason.any() or (malformed is not None and len(malformed))):
        return None
    quarantine = _quarantine_frame(raw if text_columns is None else text_columns, reason, detail, malformed,
                                   text_dtypes)
    rows_in = n + (0 if malformed is None else len(malformed))

    if n_rows == 0:
        summary = quarantine["reason"].value_counts().to_dict() if len(quarantine) else {}
        parts = "; ".join(f"{r}: {c:,}" for r, c in summary.items())
        raise EmptyLogError(f"{source}: no usable event: all {rows_in:,} rows were quarantined ({parts or 'no rows'}). "
                            "Check the column mapping and the timestamp format; `flowopt validate` shows each row's "
                            "reason.", source=source, failure_cases=quarantine.head(20))

    # the typed read's categories all occur (see _take_codes); a column two fields share is not reordered in place
    dense = text_columns is not None
    mapped = list(mapping.values())
    own = {f: mapped.count(c) == 1 for f, c in mapping.items()}

    # sort: case id, end time, explicit order / file order
    case_codes, case_uniques = _take_codes(*case_f, None if every_row else rows, dense=dense)
    if "order" in mapping:
        if rows is None:
            rows = np.arange(n, dtype=np.int64)
        o = np.lexsort((rows, order_val[rows], inst_end, case_codes))
    elif by_case_time is not None and not lifecycle:
        # the duplicate check sorted these rows (and perhaps some it then flagged) by the same keys: the case
        # codes here renumber theirs in the same order, so dropping the flagged rows leaves this sort's result
        if rows is None:  # no row flagged: the positions are the rows
            o = by_case_time
        else:
            at = np.full(n, -1, dtype=np.int64)
            at[rows] = np.arange(len(rows), dtype=np.int64)
            o = at[by_case_time]
            o = o[o >= 0]
    else:  # rows and the file order already increase: a stable sort on (case, end) keeps them as tie-break
        o = group_time_order(case_codes, inst_end)
    reordered = not (len(o) < 2 or bool((o[1:] > o[:-1]).all()))  # o is a permutation: increasing = in order
    perm = _Permutation.of(o) if reordered and every_row and owned else None  # applied to our own arrays
    if reordered:
        if perm is not None and own["end"]:  # every row of a frame of our own: the end times moved in place too
            inst_end = _in_order(inst_end, perm)
        elif every_row and o is by_case_time and end_by_case_time is not None:  # sorted already
            inst_end = end_by_case_time
        else:
            inst_end = inst_end[o]
        # every row of a frame of our own: the start times moved in place (no second 80 MB array at 10M rows)
        inst_start = inst_start[o] if perm is None or not own.get("start", True) else _in_order(inst_start, perm)
        rows = o if rows is None else rows[o]
        if perm is not None and perm.moved is not None and own["case"]:  # few rows move: moved in the codes' memory
            case_codes = _in_order(case_codes, perm)
        else:  # o sorts by case first: in its order each case code is repeated as often as it occurs (no gather)
            case_codes = np.repeat(np.arange(len(case_uniques), dtype=case_codes.dtype),
                                   _code_counts(case_codes, len(case_uniques)))
        if sched is not None:
            sched = sched[o]
    elif every_row and not owned:  # in order already: the log gets its own copies of a caller's time arrays
        inst_start, inst_end = inst_start.copy(), inst_end.copy()
    if rows is None:  # every row, in file order
        rows, identity = np.arange(n, dtype=np.int64), True
    else:  # every row, in file order (a permutation of them that is not increasing is not)
        identity = len(rows) == n and not (reordered and every_row) and (n < 2 or bool((rows[1:] > rows[:-1]).all()))
    # the other columns (Arrow work, mostly without the GIL) are converted by the helper thread meanwhile
    # (a frame of our own with every row in the log: plain number columns reordered in their own memory)
    extras = {c: (_soon(pool, _reordered, numbers[c], rows, identity, perm)
                  if numbers and len(rows) == n
                  else _soon(pool, _extra_column, raw[c], rows, identity, len(rows) == n)) for c in extra_cols}

    # the resource, role and outcome columns: the helper takes them once it is done with the work queued before,
    # or this thread takes them back when it gets to them first (see _soon)
    fields = ("resource", "role", "outcome") if "outcome" in coded else ("resource", "role")
    later = {f: _soon(pool, _categorical_later, coded.get(f), rows, identity, perm if own.get(f) else None, dense)
             for f in fields}
    act_codes, act_uniques = _take_codes(*act_f, None if identity else rows, perm=perm if own["activity"] else None,
                                         dense=dense)
    n_act = len(act_uniques)
    if n_act > config.read.max_activities:
        raise LimitExceededError(
            f"{source}: {n_act:,} distinct activities in column '{mapping['activity']}' — more than the limit of "
            f"{config.read.max_activities:,}. Is that really the activity column? If it is, raise the limit with "
            "[read] max_activities in the config.")
    # the columns in order, then one frame that takes them as they are (every array here is the log's own:
    # no copy per column as assigning them one by one would make)
    cols: dict[str, Any] = {
        "case_id": _categorical(case_codes, pd.Index(case_uniques, dtype="string")),
        "activity": _categorical(act_codes, pd.Index(act_uniques, dtype="str")),
        "start": ns_datetimes(inst_start),
        "end": ns_datetimes(inst_end),
    }
    for field, column in later.items():
        cols[field] = column()
    if sched is not None and (sched != nat).any():
        cols["scheduled"] = ns_datetimes(sched)
    taken = set(cols)
    for c in extra_cols:
        cols[c if c not in taken else f"{c} (original)"] = extras[c]()
    cols["_row"] = rows.astype(np.int64, copy=False)
    frame = pd.DataFrame(cols, copy=False)

    stages = classify_activities(frame["activity"].cat.categories, config.stages, with_rule=True)
    log = EventLog(frame, quarantine=quarantine, source=source, rows_in=rows_in, rows_used=rows_used,
                   mapping=mapping, config=config, stages=stages)  # type: ignore[arg-type]
    if len(quarantine):
        counts = quarantine["reason"].value_counts().sort_index()
        warnings.warn(f"{source}: {len(quarantine):,} of {rows_in:,} rows quarantined ("
                      + "; ".join(f"{r}: {c:,}" for r, c in counts.items()) + "). See log.quarantine.",
                      RowsDroppedWarning, stacklevel=4)
    return log


def _quarantine_frame(raw: pd.DataFrame, reason: np.ndarray, detail: np.ndarray,
                      malformed: pd.DataFrame | None, text_dtypes: Mapping[str, Any] | None = None) -> pd.DataFrame:
    bad = np.flatnonzero(reason > 0)
    q = raw.iloc[bad].copy() if len(bad) else raw.iloc[:0].copy()
    for column, dtype in (text_dtypes or {}).items():  # read as categoricals, shown as the source's text
        q[column] = q[column].astype(dtype)
    q.insert(0, "row", _data_row_numbers(len(raw), malformed)[bad] if len(bad) else np.zeros(0, dtype=np.int64))
    q["reason"] = [_R[c - 1].value for c in reason[bad]]
    q["detail"] = detail[bad].astype(str)
    if malformed is not None and len(malformed):
        m = pd.DataFrame({"row": malformed["row"].to_numpy(), "reason": QuarantineReason.MALFORMED_ROW.value,
                          "detail": "wrong number of fields: " + malformed["text"].astype(str).str.slice(0, 200)})
        q = pd.concat([q, m], ignore_index=True)
    return q.reset_index(drop=True)


def _data_row_numbers(n: int, malformed: pd.DataFrame | None) -> np.ndarray:
    """1-based data-row numbers of the ``n`` parsed rows in the file, skipping the malformed rows' numbers."""
    rows = np.arange(1, n + 1, dtype=np.int64)
    if malformed is None or not len(malformed):
        return rows
    m = np.unique(malformed["row"].to_numpy(dtype=np.int64))
    m = m[m > 0]
    numbers = np.setdiff1d(np.arange(1, n + len(m) + 1, dtype=np.int64), m)
    return numbers[:n] if len(numbers) >= n else rows
