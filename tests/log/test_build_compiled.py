"""The build's compiled passes (code counts, duplicate-key runs, time checks and conversion) give what their NumPy
versions give, and ``read_log`` builds the same log with or without them."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import flowopt
from flowopt import _compiled
from flowopt.datasets._generator import PROBLEMS, generate_lending_log
from flowopt.io import _csv
from flowopt.log import _build, _timestamps

LIB = _compiled.loops()
needs_loops = pytest.mark.skipif(LIB is None, reason="tested where the compiled loops are built "
                                 "(test_compiled insists they are)")
NAT = np.iinfo(np.int64).min
CODE_TYPES = [np.int8, np.int16, np.int32, np.int64]


@contextmanager
def without_loops() -> Iterator[None]:
    """read_log with the NumPy versions of the build's passes."""
    with pytest.MonkeyPatch.context() as mp:
        for mod in (_build, _timestamps, _csv):
            mp.setattr(mod, "loops", lambda: None)
        yield


@needs_loops
@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(-1, 120), max_size=80), st.sampled_from(CODE_TYPES))
def test_code_counts_is_bincount_of_the_known_codes(codes: list[int], dtype: type) -> None:
    c = np.array(codes, dtype=dtype)
    out = np.zeros(121, dtype=np.int64)
    assert LIB is not None
    assert LIB.code_counts(c, out) == int((c < 0).sum())
    assert out.tolist() == np.bincount(c[c >= 0].astype(np.int64), minlength=121).tolist()


@needs_loops
@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), max_size=40), st.sampled_from(CODE_TYPES))
def test_equal_key_runs_marks_rows_sharing_case_and_time_with_a_neighbour(rows: list[tuple[int, int]],
                                                                          dtype: type) -> None:
    case = np.array([c for c, _ in rows], dtype=dtype)
    t = np.array([v for _, v in rows], dtype=np.int64)
    order = np.lexsort((t, case)).astype(np.int64)
    ts = t[order]
    cs = case[order]
    same = (cs[1:] == cs[:-1]) & (ts[1:] == ts[:-1])
    want = np.zeros(len(order), dtype=bool)
    want[1:] |= same
    want[:-1] |= same
    got = np.zeros(len(order), dtype=np.uint8)
    got_ts = np.full(len(order), -1, dtype=np.int64)
    assert LIB is not None
    assert LIB.equal_key_runs(order, case, t, got_ts, got) == int(want.sum())
    assert got.view(bool).tolist() == want.tolist()
    assert got_ts.tolist() == ts.tolist()
    again = np.zeros(len(order), dtype=np.uint8)  # no sorted times wanted: the same marks
    assert LIB.equal_key_runs(order, case, t, np.zeros(0, dtype=np.int64), again) == int(want.sum())
    assert again.tolist() == got.tolist()


@needs_loops
@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.just(NAT), st.integers(-(2 ** 62), 2 ** 62)), max_size=40),
       st.sampled_from([1, 1000, 10 ** 6, 10 ** 9]))
def test_to_ns_and_time_flags_match_numpy(values: list[int], per: int) -> None:
    v = np.array(values, dtype=np.int64)
    lo, hi = -(2 ** 63 - 1) // per // 2, (2 ** 63 - 1) // per // 2  # a range whose ends times `per` still fit
    nat = v == NAT
    want = np.minimum(np.maximum(v, lo), hi) * np.int64(per)
    want[nat] = NAT
    got = np.empty(len(v), dtype=np.int64)
    assert LIB is not None
    outside = int((~nat & ((v < lo) | (v > hi))).sum())
    assert LIB.to_ns(v, per, lo, hi, got) == outside  # the number it clipped
    assert got.tolist() == want.tolist()
    assert LIB.time_flags(v, lo, hi) == (int(nat.sum()), outside)


def _dirty_log() -> tuple[pd.DataFrame, dict[str, object]]:
    """A generated log with every kind of row the build flags, and more than 127 activities (int16 codes)."""
    g = generate_lending_log(400, seed=11, problems=PROBLEMS)
    d = g.frame.copy()
    for c in ("case_id", "activity", "resource"):
        d[c] = d[c].astype(object)
    d["start"] = d["start"].astype(object)
    d["end"] = d["end"].astype(object)
    rng = np.random.default_rng(5)
    i = rng.choice(len(d), 70, replace=False)
    d.loc[i[:10], "case_id"] = None
    d.loc[i[10:20], "activity"] = " "
    d.loc[i[20:30], "end"] = "not a time"
    d.loc[i[30:40], "start"] = pd.Timestamp("2200-01-01", tz="UTC")  # later than its end
    d.loc[i[40:50], "end"] = None
    d.loc[i[50:60], "activity"] = [f"extra step {k}" for k in range(10)]
    d["activity"] = d["activity"].where(d.index % 3 > 0, "step " + (d.index % 200).astype(str))
    d = pd.concat([d, d.iloc[i[60:70]]], ignore_index=True).sample(frac=1, random_state=2).reset_index(drop=True)
    return d, g.config


@needs_loops
@pytest.mark.parametrize("kind", ["dirty", "clean", "categorical"])
def test_read_log_is_the_same_without_the_compiled_passes(kind: str) -> None:
    g = generate_lending_log(300, seed=3, problems=PROBLEMS)
    frame, config = (_dirty_log() if kind == "dirty" else
                     (g.frame.sample(frac=1, random_state=1).reset_index(drop=True), g.config) if kind == "clean" else
                     (g.frame, g.config))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with_loops = flowopt.read_log(frame, config)
        with without_loops():
            without = flowopt.read_log(frame, config)
    pd.testing.assert_frame_equal(with_loops.frame, without.frame, check_exact=True)
    pd.testing.assert_frame_equal(with_loops.quarantine, without.quarantine, check_exact=True)
    if kind == "dirty":
        assert len(with_loops.quarantine) >= 50 and with_loops.frame["activity"].cat.codes.dtype == np.int16


@needs_loops
def test_a_typed_csv_read_is_the_same_without_the_compiled_passes(tmp_path: Path) -> None:
    """The typed CSV route (ISO 8601 times with a zone, and naive ones) with and without the compiled loops."""
    g = generate_lending_log(300, seed=6, problems=PROBLEMS)
    frame = g.frame.sample(frac=1, random_state=2).reset_index(drop=True)
    zoned, naive = tmp_path / "zoned.csv", tmp_path / "naive.csv"
    frame.to_csv(zoned, index=False)
    frame.assign(start=frame["start"].dt.tz_localize(None), end=frame["end"].dt.tz_localize(None)).to_csv(
        naive, index=False)
    for path in (zoned, naive):
        with_loops = flowopt.read_log(path, g.config)
        with without_loops():
            without = flowopt.read_log(path, g.config)
        pd.testing.assert_frame_equal(with_loops.frame, without.frame, check_exact=True)
        assert len(with_loops.quarantine) == len(without.quarantine) == 0


def test_the_log_never_shares_the_callers_arrays() -> None:
    g = generate_lending_log(50, seed=1)
    frame = g.frame.sort_values(["case_id", "end"], kind="stable").reset_index(drop=True)
    log = flowopt.read_log(frame, g.config)
    for col in ("case_id", "activity", "resource"):
        assert isinstance(frame[col].dtype, pd.CategoricalDtype)
        assert not np.shares_memory(log.frame[col].cat.codes.to_numpy(), frame[col].cat.codes.to_numpy()), col
    # nanosecond UTC times in (case, time) order: the parse keeps them as they are, the log copies them
    for col in ("start", "end"):
        frame[col] = frame[col].astype("datetime64[ns, UTC]")
    log = flowopt.read_log(frame, g.config)
    assert len(log) == len(frame)
    for col in ("start", "end"):
        mine = log.frame[col].array.asi8
        assert not np.shares_memory(mine, frame[col].array.asi8), col
        assert mine.tolist() == frame[col].array.asi8.tolist()


@needs_loops
@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.one_of(st.none(), st.integers(-(2 ** 62), 2 ** 62)), max_size=6), max_size=4),
       st.sampled_from(["s", "ms", "us", "ns"]), st.sampled_from([None, "UTC"]))
def test_typed_csv_times_become_nanoseconds_as_to_pandas_gives_them(chunks: list[list[int | None]], unit: str,
                                                                     tz: str | None) -> None:
    """Several chunks, nulls, every unit: the values of ``to_pandas`` in nanoseconds, or ``to_pandas`` itself
    (its own unit) when a value does not fit nanoseconds."""
    from flowopt.io._csv import _nanoseconds

    typ = pa.timestamp(unit, tz=tz)
    col = pa.chunked_array([pa.array(c, type=pa.int64()).cast(typ) for c in chunks], type=typ)
    got = pd.Series(_nanoseconds(col))
    want = col.to_pandas()
    per = {"s": 10 ** 9, "ms": 10 ** 6, "us": 10 ** 3, "ns": 1}[unit]
    values = [v for c in chunks for v in c if v is not None]
    if all(abs(v) <= (2 ** 63 - 1) // per for v in values):
        assert str(got.dtype) == ("datetime64[ns, UTC]" if tz else "datetime64[ns]")
        assert got.tolist() == want.tolist()  # NaT where null
    else:
        assert got.dtype == want.dtype and got.isna().tolist() == want.isna().tolist()


@needs_loops
@settings(max_examples=150, deadline=None)
@given(st.data(), st.integers(0, 60), st.sampled_from([*CODE_TYPES, np.uint8, np.float64]))
def test_permute_in_place_is_fancy_indexing(data: st.DataObject, n: int, dtype: type) -> None:
    """``permute(v, o)`` leaves in ``v`` what ``v[o]`` gives, for any permutation: identity, a few swaps (the
    nearly sorted rows it is used for), or shuffled."""
    low = 0 if dtype is np.uint8 else -100
    values = np.array(data.draw(st.lists(st.integers(low, 100), min_size=n, max_size=n)), dtype=dtype)
    kind = data.draw(st.sampled_from(["identity", "swaps", "shuffled"]))
    order = np.arange(n, dtype=np.int64)
    if kind == "swaps" and n > 1:
        for i in data.draw(st.lists(st.integers(0, n - 2), max_size=5)):
            order[i], order[i + 1] = order[i + 1], order[i]
    elif kind == "shuffled":
        order = np.array(data.draw(st.permutations(list(range(n)))), dtype=np.int64)
    want = values[order]
    assert LIB is not None
    LIB.permute(values, order)
    assert values.tolist() == want.tolist()


@needs_loops
@settings(max_examples=200, deadline=None)
@given(data=st.data(), index_type=st.sampled_from([pa.int8(), pa.int16(), pa.int32(), pa.int64()]),
       code_type=st.sampled_from(CODE_TYPES))
def test_dictionary_codes_maps_indices_and_marks_missing_values(data: st.DataObject, index_type: pa.DataType,
                                                                code_type: type) -> None:
    """A chunk's indices through a table (clipped into it), or as they are, with -1 where the Arrow bitmap says
    missing, for any slice offset of the chunk: what ``np.take(..., mode="clip")`` and the null mask give."""
    m = data.draw(st.integers(1, 20))
    indices = data.draw(st.lists(st.one_of(st.none(), st.integers(0, m - 1)), max_size=70))
    start = data.draw(st.integers(0, len(indices)))
    arr = pa.array(indices, type=index_type).slice(start)  # a bit offset into the validity bitmap
    table = np.array(data.draw(st.lists(st.integers(0, 100), min_size=m, max_size=m)), dtype=code_type)
    values = np.frombuffer(arr.buffers()[1], dtype=index_type.to_pandas_dtype(), count=len(arr),
                           offset=arr.offset * index_type.bit_width // 8)
    want = np.take(table, values, mode="clip")
    missing = np.asarray(arr.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    want[missing] = -1
    bits = np.frombuffer(arr.buffers()[0], dtype=np.uint8) if arr.null_count else np.zeros(0, dtype=np.uint8)
    got = np.full(len(arr), 99, dtype=code_type)
    assert LIB is not None
    LIB.dictionary_codes(values, table, got, bits, arr.offset)
    assert got.tolist() == want.tolist()
    as_they_are = values.astype(code_type)  # no table: the indices themselves
    as_they_are[missing] = -1
    LIB.dictionary_codes(values, np.zeros(0, dtype=code_type), got, bits, arr.offset)
    assert got.tolist() == as_they_are.tolist()


# texts that collide on purpose: the same length, first and last eight bytes, differing only in between
_TEXTS = st.one_of(st.none(), st.text(max_size=12), st.sampled_from(["审批-驳回", "Approve", "approve", "A"]),
                   st.builds(lambda m: "prefix-8" + m + "suffix-8", st.text(max_size=3)))


def _text_chunk(values: list[str | None], start: int, large: bool) -> pa.Array:
    return pa.array(values, type=pa.large_string() if large else pa.string()).slice(start)


@needs_loops
@settings(max_examples=200, deadline=None)
@given(chunks=st.lists(st.tuples(st.lists(_TEXTS, max_size=40), st.integers(0, 5)), min_size=1, max_size=4),
       large=st.booleans(), order=st.sampled_from(["none", "first", "all"]))
def test_text_codes_number_values_as_arrow_dictionary_encode(chunks: list[tuple[list[str | None], int]],
                                                              large: bool, order: str) -> None:
    """Codes across several text arrays (sliced: offsets into the values and the bitmap) in the order values first
    appear, -1 where missing, and the distinct values: what ``dictionary_encode`` of all of them at once gives.
    ``order``: the first array's values in UTF-8 order (the table-free mode while values come in order, left at
    the first new one out of order, in that array or a later one), or all of them (a column stored in its
    values' order, read in blocks: a value runs on across block boundaries)."""
    if order == "first":
        values, start = chunks[0]
        chunks[0] = (sorted((v for v in values if v is not None), key=lambda v: v.encode())
                     + [v for v in values if v is None], start)
    elif order == "all":
        flat = iter(sorted((v for values, _ in chunks for v in values if v is not None), key=lambda v: v.encode()))
        chunks = [([next(flat) for v in values if v is not None], start) for values, start in chunks]
    arrays = [_text_chunk(values, min(start, len(values)), large) for values, start in chunks]
    assert LIB is not None
    memo = LIB.TextCodes()
    got = []
    for arr in arrays:
        out = np.full(len(arr), 99, dtype=np.int32)
        offsets, data = _csv.text_buffers(arr)
        memo.encode(offsets, _csv.as_bytes(data), _csv.validity_bits(arr), arr.offset, out)
        got.extend(out.tolist())
    whole = pc.dictionary_encode(pa.concat_arrays([a.cast(pa.string()) for a in arrays]))
    want = [-1 if i is None else i for i in whole.indices.to_pylist()]
    assert got == want
    offsets, data = memo.values()
    values = pa.Array.from_buffers(pa.string(), len(offsets) - 1, [None, pa.py_buffer(offsets), pa.py_buffer(data)])
    assert values.to_pylist() == whole.dictionary.to_pylist() and len(memo) == len(values)


@needs_loops
@settings(max_examples=100, deadline=None)
@given(chunks=st.lists(st.lists(_TEXTS, max_size=30), min_size=1, max_size=3))
def test_a_text_column_becomes_the_categorical_of_its_dictionary_read(chunks: list[list[str | None]]) -> None:
    """``text_categorical`` of a text column equals what ``arrow_to_frame`` makes of the same column
    dictionary-encoded (as the CSV reader would give it), categories sorted: dtype, categories and codes."""
    col = pa.chunked_array([pa.array(c, type=pa.string()) for c in chunks], type=pa.string())
    got = _csv.text_categorical(col)
    want = _csv.arrow_to_frame(pa.table({"c": pc.dictionary_encode(col)}), sort_categories=True)["c"].array
    assert got.dtype == want.dtype
    assert got.codes.dtype == want.codes.dtype and got.codes.tolist() == want.codes.tolist()


@needs_loops
@settings(max_examples=300, deadline=None)
@given(values=st.lists(st.text(alphabet=st.sampled_from(list("ab Z~\t\n\x1c\x00\x7f\u3000\u00a0\u0085é审")),
                               max_size=4), max_size=12),
       ordered=st.booleans(), empty_missing=st.booleans())
def test_the_compiled_category_check_decides_as_arrows_kernels(values: list[str], ordered: bool,
                                                               empty_missing: bool) -> None:
    """``_clean_sorted_text`` gives the same with the compiled pass as with Arrow's kernels alone, for any texts:
    Unicode and ASCII whitespace or controls at either end, empty values, order or not (the pass decides only
    what printable ASCII ends let it decide)."""
    if ordered:
        values = sorted(set(values), key=lambda v: v.encode())
    categories = pd.Index(values, dtype="str")
    got = _build._clean_sorted_text(categories, empty_missing)
    with without_loops():
        want = _build._clean_sorted_text(categories, empty_missing)
    assert (got is None) == (want is None)
    if got is not None and want is not None:
        assert got.equals(want) and got.dtype == want.dtype


@needs_loops
@settings(max_examples=100, deadline=None)
@given(order=st.permutations(list(range(12))), limit=st.integers(0, 13))
def test_moved_rows_are_where_a_permutation_changes_the_row(order: list[int], limit: int) -> None:
    want = np.flatnonzero(np.array(order) != np.arange(12))
    assert LIB is not None
    got = LIB.moved_rows(np.array(order, dtype=np.int64), limit)
    assert (got is None) == (len(want) > limit)
    assert got is None or got.tolist() == want.tolist()


@needs_loops
def test_the_new_loops_refuse_arrays_that_do_not_fit() -> None:
    """Lengths and codes are checked before any memory is touched (the loops run without bounds checks)."""
    assert LIB is not None
    with pytest.raises(ValueError, match="not below"):
        LIB.code_counts(np.array([0, 3], dtype=np.int8), np.zeros(3, dtype=np.int64))
    with pytest.raises(ValueError, match="same length"):
        LIB.equal_key_runs(np.arange(3), np.zeros(3, dtype=np.int32), np.zeros(3, dtype=np.int64),
                           np.zeros(2, dtype=np.int64), np.zeros(3, dtype=np.uint8))
    with pytest.raises(ValueError, match="same length"):
        LIB.equal_key_runs(np.arange(3), np.zeros(3, dtype=np.int32), np.zeros(2, dtype=np.int64),
                           np.zeros(3, dtype=np.int64), np.zeros(3, dtype=np.uint8))
    with pytest.raises(ValueError, match="not a row"):
        LIB.equal_key_runs(np.array([0, 5]), np.zeros(3, dtype=np.int32), np.zeros(3, dtype=np.int64),
                           np.zeros(2, dtype=np.int64), np.zeros(2, dtype=np.uint8))
    with pytest.raises(ValueError, match="same length"):
        LIB.to_ns(np.zeros(3, dtype=np.int64), 1000, -10, 10, np.zeros(2, dtype=np.int64))
    with pytest.raises(ValueError, match="same length"):
        LIB.permute(np.zeros(3, dtype=np.int64), np.arange(2, dtype=np.int64))
    with pytest.raises(ValueError, match="same length"):
        LIB.dictionary_codes(np.zeros(3, dtype=np.int32), np.zeros(2, dtype=np.int8), np.zeros(2, dtype=np.int8),
                             np.zeros(0, dtype=np.uint8), 0)
    with pytest.raises(ValueError, match="one more"):
        LIB.decimal_int64(np.zeros(3, dtype=np.int64), np.zeros(0, dtype=np.uint8), np.zeros(0, dtype=np.uint8), 0,
                          np.zeros(3, dtype=np.int64))
    with pytest.raises(ValueError, match="outside"):
        LIB.decimal_int64(np.array([0, 5], dtype=np.int64), np.zeros(2, dtype=np.uint8), np.zeros(0, dtype=np.uint8),
                          0, np.zeros(1, dtype=np.int64))
    with pytest.raises(ValueError, match="shorter"):
        LIB.dictionary_codes(np.zeros(9, dtype=np.int32), np.zeros(2, dtype=np.int8), np.zeros(9, dtype=np.int8),
                             np.zeros(1, dtype=np.uint8), 0)
    for not_a_permutation in ([0, 0, 1], [0, 1, 3], [2, -1, 0]):
        with pytest.raises(ValueError, match="not a permutation"):
            LIB.permute(np.zeros(3, dtype=np.int64), np.array(not_a_permutation, dtype=np.int64))
    for offsets in ([0, 2, 1], [0, 1, 9], [-1, 0, 1]):  # decreasing, beyond the data, before it
        with pytest.raises(ValueError, match="outside"):
            LIB.TextCodes().encode(np.array(offsets, dtype=np.int32), np.zeros(3, dtype=np.uint8),
                                   np.zeros(0, dtype=np.uint8), 0, np.zeros(2, dtype=np.int32))
    with pytest.raises(ValueError, match="one more"):
        LIB.TextCodes().encode(np.zeros(2, dtype=np.int32), np.zeros(0, dtype=np.uint8), np.zeros(0, dtype=np.uint8),
                               0, np.zeros(2, dtype=np.int32))
    with pytest.raises(ValueError, match="same length"):
        LIB.time_key(np.zeros(2, dtype=np.int64), np.zeros(3, dtype=np.int64), np.zeros(3, dtype=np.int64))


@pytest.mark.parametrize("dirty", [False, True])
def test_the_helper_threads_numbers_are_the_sequential_ones(dirty: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the helper thread (forced on a small log), the other columns come out as without it: numbers where
    every event's value is a number — also when only a quarantined row holds text — text elsewhere."""
    g = generate_lending_log(200, seed=8, problems=PROBLEMS)
    frame = g.frame.sample(frac=1, random_state=4).reset_index(drop=True)
    frame["score"] = (np.arange(len(frame)) % 97).astype(str)
    frame["note"] = np.where(np.arange(len(frame)) % 5 == 0, "n/a", "12")
    if dirty:
        frame.loc[3, "score"] = "not a number"
        frame.loc[3, "case_id"] = None  # the only row with text in "score" is quarantined
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sequential = flowopt.read_log(frame, g.config)
        monkeypatch.setattr(_build, "_THREAD_MIN_ROWS", 0)
        threaded = flowopt.read_log(frame, g.config)
    pd.testing.assert_frame_equal(sequential.frame, threaded.frame, check_exact=True)
    pd.testing.assert_frame_equal(sequential.quarantine, threaded.quarantine, check_exact=True)
    assert pd.api.types.is_integer_dtype(threaded.frame["score"].dtype)
    assert pd.api.types.is_string_dtype(threaded.frame["note"].dtype)


@needs_loops
def test_a_files_columns_are_reordered_in_place_to_the_same_log(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A log read from a file (the build's own frame) reorders its start times and plain number and time columns
    in their own memory; the log is the one read from the same rows as a DataFrame (never written: gathered),
    with the helper thread forced on a small log, with and without the compiled loops."""
    g = generate_lending_log(200, seed=9, problems=PROBLEMS)
    frame = g.frame.sample(frac=1, random_state=5).reset_index(drop=True)
    n = len(frame)
    frame["count"] = np.arange(n, dtype=np.int64) * 7 % 1000
    frame["share"] = np.arange(n, dtype=np.float64) / 3
    frame["small"] = (np.arange(n) % 100).astype(np.int8)
    frame["logged"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(n), unit="min")  # naive times
    path = tmp_path / "log.parquet"
    frame.to_parquet(path, row_group_size=500)
    before = frame.copy()
    monkeypatch.setattr(_build, "_THREAD_MIN_ROWS", 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from_file = flowopt.read_log(path, g.config)
        from_frame = flowopt.read_log(frame, g.config)
        with without_loops():
            plain = flowopt.read_log(path, g.config)
    pd.testing.assert_frame_equal(frame, before, check_exact=True)  # the caller's frame untouched
    assert not (from_file.frame["_row"].diff().dropna() > 0).all()  # the rows were reordered
    for other in (from_frame, plain):
        pd.testing.assert_frame_equal(from_file.frame, other.frame, check_exact=True)
    assert from_file.frame["count"].tolist() == frame["count"].iloc[from_file.frame["_row"]].tolist()


@pytest.mark.parametrize("shape", ["one column, two fields", "no start column"])
def test_in_place_reordering_leaves_shared_and_missing_columns_right(shape: str, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A column two fields read (here resource and role) is reordered once, not once per field; a log without
    start times is ordered without them. File read (in place) and DataFrame read (gathered) give one log."""
    g = generate_lending_log(150, seed=11, problems=PROBLEMS)
    frame = g.frame.sample(frac=1, random_state=6).reset_index(drop=True)
    config = {**g.config, "columns": dict(g.config["columns"])}
    if shape == "one column, two fields":
        config["columns"]["role"] = config["columns"]["resource"]
        # sorted categories: both fields then take the column's own codes (no recoding that would copy them)
        frame = frame.drop(columns=["role"]).assign(resource=frame["resource"].astype(str).astype("category"))
    else:
        del config["columns"]["start"]
        frame = frame.drop(columns=["start"])
    path = tmp_path / "log.parquet"
    frame.to_parquet(path)
    monkeypatch.setattr(_build, "_THREAD_MIN_ROWS", 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from_file, from_frame = flowopt.read_log(path, config), flowopt.read_log(frame, config)
    pd.testing.assert_frame_equal(from_file.frame, from_frame.frame, check_exact=True)
    rows = from_file.frame["_row"].to_numpy()
    assert not (np.diff(rows) > 0).all()  # reordered
    if shape == "one column, two fields":
        want = frame["resource"].astype("string").iloc[rows].tolist()
        assert from_file.frame["resource"].astype("string").tolist() == want
        assert from_file.frame["role"].astype("string").tolist() == want
    else:
        assert from_file.frame["start"].isna().all()


@needs_loops
@pytest.mark.parametrize("in_order", [True, False])
def test_many_ids_keep_their_wide_codes_as_the_dictionary_read_does(in_order: bool) -> None:
    """More ids than int16 codes hold, with missing ones, in order (codes kept as coded, no second pass) or not:
    the same categorical as the dictionary route's."""
    ids = [f"C{i:06d}" for i in range(40_000) for _ in range(2)]
    if not in_order:
        ids = ids[1::2] + ids[::2][::-1]
    values: list[str | None] = [None if i % 7 == 3 else v for i, v in enumerate(ids)]
    col = pa.chunked_array([pa.array(values[:30_000]), pa.array(values[30_000:])], type=pa.string())
    got = _csv.text_categorical(col)
    want = _csv.arrow_to_frame(pa.table({"c": pc.dictionary_encode(col)}), sort_categories=True)["c"].array
    assert got.codes.dtype == want.codes.dtype == np.int32
    assert got.dtype == want.dtype and np.array_equal(got.codes, want.codes)
