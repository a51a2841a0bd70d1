"""Pieces of the log builder that must not depend on how rows are ordered or which route they came by."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowopt import _compiled
from flowopt.log._build import (
    _arrow_numeric,
    _decimal_ints,
    _few_duplicated,
    _in_order,
    _maybe_numeric,
    _patched,
    _Permutation,
    _reordered,
    _rows_of,
    _scattered,
    _sorted_factorize,
    _take_rows,
)

VALUES = ["1", "2.5", "-3", "+5", "0012", "1e5", "5.", ".5", "0x10", "0X1", "nan", "NaN", "inf", "1e500", " 5", "1_000",
          "١٢", "abc", "", "9223372036854775808", "-0"]


def _same(a: pd.Series, b: pd.Series) -> None:
    assert str(a.dtype) == str(b.dtype)
    pd.testing.assert_series_equal(a, b, check_exact=True)


@settings(max_examples=150, deadline=None)
@given(values=st.lists(st.one_of(st.none(), st.sampled_from(VALUES)), min_size=1, max_size=40),
       arrow=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_numeric_conversion_then_reorder_is_reorder_then_conversion(values: list[str | None], arrow: bool,
                                                                     seed: int) -> None:
    col = pd.Series(values, dtype=pd.StringDtype("pyarrow") if arrow else object, name="x")
    order = np.random.default_rng(seed).permutation(len(col))
    _same(_maybe_numeric(col).iloc[order].reset_index(drop=True),
          _maybe_numeric(col.iloc[order].reset_index(drop=True)))


def test_the_quick_look_does_not_depend_on_the_order() -> None:
    # an odd value after the first 2000 in file order but first in the final order (and the reverse)
    for odd in VALUES:
        for arrow in (True, False):
            col = pd.Series([str(i) for i in range(3000)], dtype=pd.StringDtype("pyarrow") if arrow else object)
            col.iloc[2500] = odd
            order = np.r_[2500, np.arange(2500), np.arange(2501, 3000)]
            for o in (order, np.argsort(order)):
                _same(_maybe_numeric(col).iloc[o].reset_index(drop=True),
                      _maybe_numeric(col.iloc[o].reset_index(drop=True)))


_TEXTS = st.one_of(st.none(), st.text(max_size=4), st.sampled_from(["a", "a ", "", "É", "审批-驳回", "\U0001F600", "\x00"]))


@settings(max_examples=150, deadline=None)
@given(texts=st.lists(_TEXTS, max_size=40))
def test_sorted_factorize_is_pandas_sorted_factorize(texts: list[str | None]) -> None:
    """Arrow's dense ranks give pandas' sorted codes and texts (forced on small inputs here)."""
    import flowopt.log._build as build

    values = np.array(texts, dtype=object)
    want_codes, want_uniq = pd.factorize(values, sort=True, use_na_sentinel=True)
    old = build._ARROW_SORT_MIN
    build._ARROW_SORT_MIN = 0
    try:
        codes, uniq = _sorted_factorize(values)
    finally:
        build._ARROW_SORT_MIN = old
    assert codes.tolist() == want_codes.tolist()
    assert list(uniq) == list(want_uniq) and all(type(u) is str for u in uniq)


def test_sorted_factorize_of_many_texts_and_a_lone_surrogate() -> None:
    rng = np.random.default_rng(5)
    values = np.array([f"c{x}" for x in rng.integers(0, 30_000, 50_000)] + [None, " c1", "审批"], dtype=object)
    want_codes, want_uniq = pd.factorize(values, sort=True, use_na_sentinel=True)
    codes, uniq = _sorted_factorize(values)  # Arrow's route (50k texts)
    assert codes.tolist() == want_codes.tolist() and list(uniq) == list(want_uniq)
    odd = np.array(["b", "a\udcff"] * 6_000, dtype=object)  # UTF-8 cannot hold it: pandas sorts it
    want_codes, want_uniq = pd.factorize(odd, sort=True, use_na_sentinel=True)
    codes, uniq = _sorted_factorize(odd)
    assert codes.tolist() == want_codes.tolist() and list(uniq) == list(want_uniq)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 3_000), swaps=st.integers(0, 50), shuffled=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_in_order_is_a_gather_however_the_rows_move(n: int, swaps: int, shuffled: bool, seed: int) -> None:
    rng = np.random.default_rng(seed)
    order = rng.permutation(n) if shuffled else np.arange(n)
    for _ in range(swaps if n > 1 else 0):  # a nearly ordered permutation: a few rows swapped
        i, j = rng.integers(0, n, 2)
        order[[i, j]] = order[[j, i]]
    values = rng.integers(-10**15, 10**15, n).astype("datetime64[ns]")
    want = values[order]
    perm = _Permutation.of(order)
    got = _in_order(values.copy(), perm)
    assert (got.view(np.int64) == want.view(np.int64)).all()
    if perm.moved is not None:  # the few moved rows are all the rows the order changes
        assert perm.moved.tolist() == np.flatnonzero(order != np.arange(n)).tolist()
    for dtype in (np.int8, np.float64, bool):  # codes, numbers and flags the same way
        small = (rng.integers(0, 100, n) % 3).astype(dtype)
        assert _in_order(small.copy(), perm).tolist() == small[order].tolist()


def test_scattered_tells_a_shuffled_order_from_a_nearly_ordered_one() -> None:
    rng = np.random.default_rng(3)
    n = 100_000
    assert _scattered(rng.permutation(n))
    near = np.arange(n)
    near[::500] = near[::500][::-1]  # one row in 500 moved
    assert not _scattered(near) and not _scattered(np.arange(n)) and not _scattered(np.arange(1))


def _chunked_text(values: list[str | None], cuts: list[int]) -> pd.Series:
    """``values`` as an Arrow-backed text column split into chunks at ``cuts`` (as a CSV read's blocks are)."""
    bounds = [0, *sorted({c for c in cuts if 0 < c < len(values)}), len(values)]
    chunks = pa.chunked_array([pa.array(values[a:b], type=pa.large_string()) for a, b in itertools.pairwise(bounds)],
                              type=pa.large_string())
    return pd.Series(pd.array(chunks, dtype=pd.StringDtype("pyarrow")), name="t")


@settings(max_examples=150, deadline=None)
@given(values=st.lists(st.one_of(st.none(), st.text(max_size=3)), min_size=1, max_size=300),
       cuts=st.lists(st.integers(0, 300), max_size=8), picks=st.lists(st.integers(0, 10 ** 6), max_size=8))
def test_take_rows_is_iloc_whatever_the_chunks(values: list[str | None], cuts: list[int], picks: list[int]) -> None:
    col = _chunked_text(values, cuts)
    rows = np.array([p % len(values) for p in picks], dtype=np.int64)  # few, repeated, any order
    expected = col.iloc[rows].reset_index(drop=True)
    _same(pd.Series(_take_rows(col.array, rows), name="t"), expected)
    rng = np.random.default_rng(len(values))
    every = rng.permutation(len(values))  # many rows moved: Arrow's own take
    _same(pd.Series(_take_rows(col.array, every), name="t"), col.iloc[every].reset_index(drop=True))
    near = np.arange(len(values))  # nearly every row where it is: the moved ones patched in
    for a in picks[:2]:
        a %= len(values)
        near[[a, len(values) - 1 - a]] = near[[len(values) - 1 - a, a]]
    for rows in (near, near[: len(values) // 2 + 1]):
        _same(pd.Series(_take_rows(col.array, rows), name="t"), col.iloc[rows].reset_index(drop=True))


@pytest.mark.parametrize("cuts", [[], [1000], [1, 2, 999, 4000, 4999]])
def test_take_rows_patches_the_few_rows_that_move(cuts: list[int]) -> None:
    """Nearly every row where it is (the build's usual order): runs of moved rows at the start, the end, across
    chunk boundaries; a part of the rows; no row moved."""
    values: list[str | None] = [None if i % 97 == 0 else f"v{i}" * (i % 4) for i in range(5000)]
    col = _chunked_text(values, cuts)
    rows = np.arange(5000)
    for a, b in ((0, 1), (998, 1002), (2500, 2600), (4999, 3), (4000, 4001)):
        rows[[a, b]] = rows[[b, a]]
    for r in (rows, rows[:4001], np.arange(5000), np.arange(300)):
        _same(pd.Series(_take_rows(col.array, r), name="t"), col.iloc[r].reset_index(drop=True))
    assert _patched(pa.chunked_array(col.array._pa_array), rows) is not None  # the patching route, not Arrow's


def test_rows_of_keeps_values_of_columns_with_the_same_name() -> None:
    col = _chunked_text([f"v{i % 7}" for i in range(1000)], [100, 250, 900])
    frame = pd.concat([col, col.rename("u"), pd.Series(np.arange(1000) % 3, name="t")], axis=1)
    frame.columns = ["t", "u", "t"]
    rows = np.array([950, 3, 3, 260, 7])
    sub = _rows_of(frame, rows)
    assert sub.shape == (5, 3)
    for i in range(3):
        assert sub.iloc[:, i].tolist() == frame.iloc[rows, i].tolist()
    assert sub.duplicated().tolist() == frame.iloc[rows].duplicated().tolist() == [False, False, True, False, False]


@settings(max_examples=200, deadline=None)
@given(data=st.data(), n=st.integers(1, 60))
def test_few_duplicated_is_pandas_duplicated(data: st.DataObject, n: int) -> None:
    """The duplicate check's tuple comparison of a few rows flags what ``DataFrame.duplicated`` flags: codes of
    categoricals (missing included), times with NaT, integers, booleans, Arrow text in chunks with missing values;
    a float column (NaN) is left to pandas."""
    small = st.integers(0, 2)
    text = [data.draw(st.one_of(st.none(), st.sampled_from(["a", "b", "审批"]))) for _ in range(n)]
    cuts = sorted(set(data.draw(st.lists(st.integers(1, max(n - 1, 1)), max_size=3))))
    frame = pd.DataFrame({
        "case": pd.Categorical([data.draw(st.one_of(st.none(), st.sampled_from(["x", "y"]))) for _ in range(n)],
                               categories=["x", "y", "unused"]),
        "end": pd.to_datetime([data.draw(st.one_of(st.none(), st.sampled_from(["2024-01-01", "2024-01-02"])))
                               for _ in range(n)], utc=True),
        "k": np.array([data.draw(small) for _ in range(n)], dtype=np.int64),
        "flag": np.array([data.draw(st.booleans()) for _ in range(n)]),
        "text": _chunked_text(text, cuts),
    })
    rows = np.sort(np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True))))
    got = _few_duplicated(frame, rows)
    assert got is not None
    assert got.tolist() == frame.iloc[rows].duplicated(keep="first").tolist()
    assert _few_duplicated(frame.assign(f=np.where(frame["k"] > 0, np.nan, 1.0)), rows) is None


INTS = ["0", "-0", "007", "42", "-17", "9223372036854775807", "-9223372036854775808", "123456789012", "00"]


@pytest.mark.skipif(_compiled.loops() is None, reason="the compiled pass (test_compiled insists it is built)")
@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.one_of(st.none(), st.sampled_from(INTS), st.sampled_from(VALUES)), min_size=1, max_size=40),
       cuts=st.lists(st.integers(1, 39), max_size=3), large=st.booleans())
def test_decimal_ints_take_exactly_the_plain_integer_columns(values: list[str | None], cuts: list[int],
                                                             large: bool) -> None:
    """The compiled integer pass reads a column whose values are all plain decimal integers as Arrow's cast does,
    and gives up on any other (hexadecimal, signs, spaces, points, beyond int64, empty, all missing)."""
    col = _chunked_text(values, cuts)
    if not large:
        col = pd.Series(pd.array(col.array._pa_array.cast(pa.string()), dtype=pd.StringDtype("pyarrow")), name="t")
    fast = _decimal_ints(col)
    plain = any(v is not None for v in values) and all(
        v is None or (re.fullmatch(r"-?[0-9]+", v) is not None and -2**63 <= int(v) < 2**63) for v in values)
    assert (fast is not None) == plain
    if fast is not None:
        _same(fast, _arrow_numeric(col))
        _same(_maybe_numeric(col), fast)


@pytest.mark.parametrize("dtype", ["Int64", "Float64", "int64", "float64"])
def test_numbers_moved_in_place_are_a_take(dtype: str) -> None:
    """A number column of the build's own, missing values included, reordered in its own memory by a permutation
    that moves few rows (and by one that scatters them): what ``take`` gives."""
    rng = np.random.default_rng(5)
    n = 5000
    values = pd.Series(pd.array(rng.integers(-50, 50, n), dtype=dtype), name="x")
    if dtype[0].isupper():
        values[rng.random(n) < 0.2] = pd.NA
    near = np.arange(n)
    near[100:110] = near[100:110][::-1]
    for order in (near, rng.permutation(n)):
        want = values.take(order).reset_index(drop=True)
        mine = values.copy()  # the build's own column: written in place
        got = _reordered(lambda: mine, order, False, _Permutation.of(order))  # noqa: B023 - called right here
        pd.testing.assert_series_equal(got, want, check_exact=True)


def test_soon_takes_back_a_task_the_helper_has_not_started() -> None:
    """A queued task is computed by the caller that needs it (once), a running one is waited for."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from flowopt.log._build import _soon

    release, started = threading.Event(), threading.Event()
    calls: list[str] = []

    def block() -> str:
        started.set()
        release.wait(10)
        calls.append(threading.current_thread().name)
        return "blocked"

    def where(tag: str) -> str:
        calls.append(threading.current_thread().name)
        return tag

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="helper") as pool:
        first = _soon(pool, block)
        second = _soon(pool, where, "queued")
        started.wait(10)
        assert second() == "queued" and second() == "queued"  # taken back, computed once
        assert calls == [threading.current_thread().name]
        release.set()
        assert first() == "blocked" and calls[-1].startswith("helper")
    assert _soon(None, where, "inline")() == "inline"


def test_has_x_looks_at_the_values_bytes_only() -> None:
    """Each chunk's own range of bytes (a slice of a larger array does not see the rest), both text widths."""
    from flowopt.log._build import _has_x

    for typ in (pa.string(), pa.large_string()):
        whole = pa.array(["0x10", "12", None, "７", "X"], type=typ)
        assert _has_x(pa.chunked_array([whole]))
        assert not _has_x(pa.chunked_array([whole.slice(1, 3)]))  # "12", None, "７"
        assert _has_x(pa.chunked_array([whole.slice(1, 3), whole.slice(4)], type=typ))
        assert not _has_x(pa.chunked_array([], type=typ))
