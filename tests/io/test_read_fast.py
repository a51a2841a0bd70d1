"""The fast reading routes give exactly what the general ones give: Parquet read without the dataset machinery,\nArrow tables turned into frames with categoricals built directly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import flowopt
from flowopt.datasets import generate_lending_log
from flowopt.errors import RowsDroppedWarning
from flowopt.io._csv import _same_values, _str_mapper, arrow_to_frame
from flowopt.io._sources import _read_parquet, _read_parquet_file


def _frames(tmp_path: Path) -> dict[str, pd.DataFrame]:
    f = generate_lending_log(60, seed=2).frame
    naive = f.assign(start=f["start"].dt.tz_localize(None), end=f["end"].dt.tz_localize(None))
    plain = f.astype({c: object for c in ("case_id", "activity", "resource")})
    return {"typed": f, "naive": naive, "plain": plain, "indexed": f.set_index(f.index * 3 + 1)}


@pytest.mark.parametrize("name", ["typed", "naive", "plain", "indexed"])
@pytest.mark.parametrize("row_group_size", [None, 1, 37])  # one row group; many (read in two halves)
def test_parquet_file_route_reads_what_read_table_reads(tmp_path: Path, name: str,
                                                         row_group_size: int | None) -> None:
    frame = _frames(tmp_path)[name]
    folder = tmp_path / "year=2024"  # a hive-style folder name must not add a partition column
    folder.mkdir()
    path = folder / f"{name}.parquet"
    frame.to_parquet(path, row_group_size=row_group_size)
    (ours, _), theirs = _read_parquet_file(path), pq.read_table(path)
    assert ours.equals(theirs) and ours.schema.equals(theirs.schema, check_metadata=True)
    a = ours.to_pandas(split_blocks=True, self_destruct=True)
    b = theirs.to_pandas(split_blocks=True, self_destruct=True)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    for c in a.columns:
        if isinstance(a[c].dtype, pd.CategoricalDtype):  # the same categories in the same order
            assert list(a[c].cat.categories) == list(b[c].cat.categories)


def _tables() -> dict[str, pa.Table]:
    f = generate_lending_log(40, seed=4).frame
    nulls = f.copy()
    nulls.loc[nulls.index[::7], "case_id"] = None
    unused = f.assign(activity=f["activity"].cat.add_categories(["never"]))
    ordered = f.assign(role=f["role"].cat.as_ordered())
    d1 = pa.DictionaryArray.from_arrays(pa.array([0, 1, None, 1], pa.int32()), pa.array(["b", "a"]))
    d2 = pa.DictionaryArray.from_arrays(pa.array([1, 0], pa.int32()), pa.array(["c", "b"]))
    dup = pa.DictionaryArray.from_arrays(pa.array([0, 1], pa.int32()), pa.array(["x", "x"]))
    sorted_dup = pa.DictionaryArray.from_arrays(pa.array([0, 2, 1], pa.int32()), pa.array(["a", "b", "b"]))
    unsorted = pa.DictionaryArray.from_arrays(pa.array([0, 2, 1], pa.int32()), pa.array(["c", "a", "b"]))
    with_null = pa.DictionaryArray.from_arrays(pa.array([0, 1], pa.int32()), pa.array(["x", None]))
    return {
        "typed": pa.Table.from_pandas(f), "nulls": pa.Table.from_pandas(nulls),
        "unused": pa.Table.from_pandas(unused), "ordered": pa.Table.from_pandas(ordered),
        "index": pa.Table.from_pandas(f.set_index(f.index * 2 + 1)),
        "case index": pa.Table.from_pandas(f.set_index("case_id")),
        "int names": pa.Table.from_pandas(f.set_axis(range(f.shape[1]), axis=1)),
        "chunks": pa.table({"a": pa.chunked_array([d1, d2])}),
        # chunks with different dictionaries, one repeating a value: unified (then distinct) by both
        "chunks, one repeating": pa.table({"a": pa.chunked_array([dup, d2, d1])}),
        "duplicate values": pa.table({"a": dup}), "null value": pa.table({"a": with_null}),
        "sorted, repeating": pa.table({"a": sorted_dup}), "unsorted, distinct": pa.table({"a": unsorted}),
        "empty": pa.Table.from_pandas(f.iloc[:0]),
        "two row groups": pa.concat_tables([pa.Table.from_pandas(f.iloc[:20]), pa.Table.from_pandas(f.iloc[20:])]),
    }


@pytest.mark.parametrize("name", sorted(_tables()))
def test_arrow_to_frame_is_to_pandas(name: str) -> None:
    table = _tables()[name]
    for kwargs in ({}, {"split_blocks": True}, {"types_mapper": _str_mapper, "split_blocks": True}):
        try:
            b = table.to_pandas(**kwargs)
        except ValueError as exc:  # pyarrow refuses duplicated or missing categories: so must we
            with pytest.raises(ValueError, match=str(exc)):
                arrow_to_frame(table, **kwargs)
            continue
        a = arrow_to_frame(table, **kwargs)
        pd.testing.assert_frame_equal(a, b, check_exact=True)
        assert list(a.columns) == list(b.columns) and a.index.equals(b.index)
        for c in range(a.shape[1]):
            x, y = a.iloc[:, c], b.iloc[:, c]
            assert x.dtype == y.dtype
            if isinstance(x.dtype, pd.CategoricalDtype):
                assert x.cat.categories.dtype == y.cat.categories.dtype and x.cat.ordered == y.cat.ordered
                assert list(x.cat.categories) == list(y.cat.categories)
                assert np.array_equal(x.cat.codes, y.cat.codes)


_VALUES = st.sampled_from(["a", "b", "c", " a", "审批-驳回", "", "0012"])


@st.composite
def _dictionary_chunks(draw: st.DrawFn) -> pa.ChunkedArray:
    """Chunks each with a dictionary of its own (as a CSV read's blocks): values shared across chunks or not,
    values never used, missing indices, empty chunks, int8 or int32 indices; half the time the dictionaries, one
    after the other, never decrease (a column stored in its values' order: each chunk a window of the sorted
    values, starting where the one before ended or one value earlier)."""
    index_type = draw(st.sampled_from([pa.int8(), pa.int32()]))
    in_order = draw(st.booleans())
    pool = sorted(draw(st.lists(_VALUES, unique=True, max_size=12)), key=lambda t: t.encode("utf-8"))
    at = 0
    chunks = []
    for _ in range(draw(st.integers(1, 5))):
        if in_order:
            start = max(0, at - draw(st.integers(0, 1)))
            at = min(len(pool), start + draw(st.integers(0, 5)))
            values = pool[start:at]
        else:
            values = draw(st.lists(_VALUES, unique=True, max_size=5))
        picks = st.integers(0, len(values) - 1) if values else st.nothing()
        idx = draw(st.lists(st.one_of(st.none(), picks), max_size=12))
        chunks.append(pa.DictionaryArray.from_arrays(pa.array(idx, index_type), pa.array(values, pa.string())))
    return pa.chunked_array(chunks, pa.dictionary(index_type, pa.string()))


@settings(max_examples=200, deadline=None)
@given(col=_dictionary_chunks())
def test_arrow_to_frame_unifies_chunk_dictionaries_as_pyarrow_does(col: pa.ChunkedArray) -> None:
    """A dictionary per chunk: the categories are the chunks' values in order of first appearance, every row's
    category (missing included) is pyarrow's, whatever the chunks hold."""
    table = pa.table({"a": col, "n": pa.array(range(len(col)), pa.int64())})
    a, b = arrow_to_frame(table), table.to_pandas()
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert list(a["a"].cat.categories) == list(b["a"].cat.categories)
    assert a["a"].cat.codes.dtype == b["a"].cat.codes.dtype


@settings(max_examples=200, deadline=None)
@given(col=_dictionary_chunks(), ordered=st.booleans())
def test_arrow_to_frame_with_sorted_categories_keeps_every_value(col: pa.ChunkedArray, ordered: bool) -> None:
    """``sort_categories``: each row's value (missing included) is pyarrow's, the categories are sorted by UTF-8
    bytes (an ordered dictionary keeps its order: the order means something there)."""
    if ordered:
        col = pa.chunked_array([c.cast(pa.dictionary(c.type.index_type, pa.string(), ordered=True)) for c in col.chunks])
    table = pa.table({"a": col, "n": pa.array(range(len(col)), pa.int64())})
    a, b = arrow_to_frame(table, sort_categories=True), table.to_pandas()
    assert a["a"].astype(object).tolist() == b["a"].astype(object).tolist()
    assert a["a"].cat.ordered == b["a"].cat.ordered and a["a"].cat.codes.dtype == b["a"].cat.codes.dtype
    cats = list(a["a"].cat.categories)
    if ordered:
        assert cats == list(b["a"].cat.categories)
    else:
        assert cats == sorted(b["a"].cat.categories, key=lambda t: t.encode("utf-8"))


def test_arrow_to_frame_sorts_categories_on_two_threads_and_ignores_what_a_missing_slot_holds() -> None:
    """A table large enough for the two-thread route, whose missing rows hold an index beyond the dictionary
    (Arrow leaves a null's slot undefined): the values are pyarrow's, the categories sorted."""
    n = 300_000
    rng = np.random.default_rng(5)
    words = np.array(["审批-驳回", "b", "a", "c", "0012"])
    chunks = []
    for part in np.array_split(np.arange(n), 3):
        idx = rng.integers(0, len(words), len(part)).astype(np.int32)
        valid = rng.random(len(part)) > 0.1
        idx[~valid] = 1000  # undefined slot content
        bitmap = pa.array(valid).buffers()[1]
        indices = pa.Array.from_buffers(pa.int32(), len(part), [bitmap, pa.py_buffer(idx.tobytes())])
        chunks.append(pa.DictionaryArray.from_arrays(indices, pa.array(list(words[rng.permutation(len(words))]))))
    table = pa.table({"x": pa.chunked_array(chunks), "y": pa.chunked_array(chunks)})
    a, b = arrow_to_frame(table, sort_categories=True), table.to_pandas()
    for c in ("x", "y"):
        assert a[c].astype(object).tolist() == b[c].astype(object).tolist()
        assert list(a[c].cat.categories) == sorted(words, key=lambda t: t.encode("utf-8"))


def test_known_categories_dtype_without_pandas_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pandas without the private fast constructor gets the public one: the same dtype."""
    from flowopt.io._csv import known_categories_dtype

    cats = pd.Index(["a", "b", "审批-驳回"])
    fast = known_categories_dtype(cats, True)
    monkeypatch.delattr(pd.CategoricalDtype, "_from_fastpath", raising=False)
    assert known_categories_dtype(cats, True) == fast == pd.CategoricalDtype(cats, ordered=True)


def test_parquet_time_columns_come_as_nanoseconds_with_the_same_values(tmp_path: Path) -> None:
    """The columns the log reads as times are converted straight to nanoseconds; every other column (an extra
    timestamp, a zone other than UTC, a value beyond the nanosecond range) is read as ``to_pandas`` reads it."""
    f = generate_lending_log(50, seed=3).frame
    f.loc[f.index[5], "case_id"] = None  # one row for the quarantine
    t = pa.Table.from_pandas(f, preserve_index=False)
    extra = pa.array(f["end"].astype("datetime64[us, UTC]"), pa.timestamp("us", tz="UTC"))
    zoned = pa.array(f["start"].astype("datetime64[us, UTC]"), pa.timestamp("us", tz="UTC")).cast(
        pa.timestamp("us", tz="Europe/Amsterdam"))
    far = pa.array([np.datetime64("2400-01-01", "us")] + [None] * (len(f) - 1), pa.timestamp("us"))
    t = (t.set_column(t.schema.get_field_index("start"), "start", t.column("start").cast(pa.timestamp("us", "UTC")))
         .append_column("logged", extra).append_column("zoned", zoned).append_column("far", far))
    path = tmp_path / "log.parquet"
    pq.write_table(t, path, row_group_size=64)  # several row groups: read in two halves
    asked = ["start", "end", "zoned", "far", "case_id"]
    ours, _ = _read_parquet(path, lambda names: asked)
    plain, _ = _read_parquet(path)
    assert list(ours.columns) == list(plain.columns) == t.column_names
    for c in ("start", "end"):
        assert ours[c].dtype == pd.DatetimeTZDtype("ns", "UTC")
    assert plain["start"].dtype == pd.DatetimeTZDtype("us", "UTC")
    for c in ("logged", "zoned", "far", "case_id", "activity", "amount"):  # not asked for, or left as they are
        assert ours[c].dtype == plain[c].dtype, c
    assert ours["far"].iloc[0] == pd.Timestamp("2400-01-01")
    pd.testing.assert_frame_equal(ours, plain, check_exact=True, check_dtype=False)
    # the log built from either is the same
    cfg = {"columns": {"case": "case_id", "activity": "activity", "start": "start", "end": "end"}}
    with pytest.warns(RowsDroppedWarning, match="1 of 476 rows quarantined"):
        a = flowopt.read_log(path, cfg)
    with pytest.warns(RowsDroppedWarning):
        b = flowopt.read_log(plain, cfg)
    pd.testing.assert_frame_equal(a.frame, b.frame, check_exact=True)
    # the quarantine shows the same values; its time columns are in nanoseconds too (the file's own unit before)
    assert len(a.quarantine) == 1
    pd.testing.assert_frame_equal(a.quarantine, b.quarantine, check_exact=True, check_dtype=False)


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_time_columns_converted_by_helper_threads_read_the_same(tmp_path: Path, kind: str,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Large tables convert their time columns on threads of their own: the same log as converting them in turn."""
    import flowopt.io._csv as csv_module

    log = generate_lending_log(40, seed=6)
    path = tmp_path / f"log.{kind}"
    if kind == "csv":
        log.frame.to_csv(path, index=False, date_format="%Y-%m-%dT%H:%M:%S.%fZ")
    else:
        log.frame.to_parquet(path, row_group_size=50)
    cfg = {"columns": {"case": "case_id", "activity": "activity", "start": "start", "end": "end"}}
    alone = flowopt.read_log(path, cfg)
    monkeypatch.setattr(csv_module, "_THREAD_MIN_ROWS", 0)
    calls: list[str] = []
    real = csv_module._nanoseconds
    monkeypatch.setattr(csv_module, "_nanoseconds", lambda col: calls.append("x") or real(col))
    threaded = flowopt.read_log(path, cfg)
    assert len(calls) == 2  # start and end, each on a thread
    pd.testing.assert_frame_equal(alone.frame, threaded.frame, check_exact=True)
    pd.testing.assert_frame_equal(alone.quarantine, threaded.quarantine, check_exact=True)


@settings(max_examples=200, deadline=None)
@given(a=st.lists(st.one_of(st.none(), _VALUES), max_size=8), b=st.lists(st.one_of(st.none(), _VALUES), max_size=8),
       cut=st.integers(0, 8), large=st.booleans())
def test_same_values_is_arrow_equals(a: list[str | None], b: list[str | None], cut: int, large: bool) -> None:
    """The dictionary comparison's shortcuts (shared memory, equal buffers) answer what ``equals`` answers:
    separate arrays, equal or not, views of one array at the same or other offsets, and the same bytes
    with different offsets into them."""
    kind = pa.large_string() if large else pa.string()
    x, y = pa.array(a, kind), pa.array(b, kind)
    pairs = [(x, y), (x, pa.array(a, kind)), (x, x.slice(0)), (x.slice(min(cut, len(x))), x.slice(min(cut, len(x)))),
             (x.slice(min(cut, len(x))), x.slice(0, len(x) - min(cut, len(x))))]
    for p, q in pairs:
        assert _same_values(p, q) == p.equals(q)
