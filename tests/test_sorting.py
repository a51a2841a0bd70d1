"""group_time_order is np.lexsort((t, group)) on every input, whichever path it takes: the NumPy version, the
compiled insertion sort of nearly ordered rows, and the compiled key with each of its sorts (none, merge, radix)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowopt import _compiled, _sorting
from flowopt._sorting import code_groups, code_order, group_time_order

LIB = _compiled.loops()
PATHS = ["numpy", "insertion", "insertion, given up", "merge", "radix"] if LIB is not None else ["numpy"]


@contextmanager
def path(name: str) -> Iterator[None]:
    """Run group_time_order by one path: the NumPy version, the compiled insertion sort (or the key's sort after
    it gave up at its first move), or the compiled key sorted by merge or radix."""
    old = _sorting.loops, _sorting._MERGE_MAX_DESCENTS, _sorting._INSERT_MAX_DESCENTS, _sorting._INSERT_MAX_MOVES
    if name == "numpy":
        _sorting.loops = lambda: None  # type: ignore[assignment]
    _sorting._INSERT_MAX_DESCENTS = 1.0 if name.startswith("insertion") else 0.0
    _sorting._INSERT_MAX_MOVES = 0 if name == "insertion, given up" else 10 ** 6
    _sorting._MERGE_MAX_DESCENTS = 1.0 if name in ("merge", "insertion, given up") else 0.0
    try:
        yield
    finally:
        _sorting.loops, _sorting._MERGE_MAX_DESCENTS, _sorting._INSERT_MAX_DESCENTS, _sorting._INSERT_MAX_MOVES = old


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(-(2 ** 62), 2 ** 62)), max_size=60),
       st.sampled_from([1, 10 ** 3, 10 ** 6, 10 ** 9]))
def test_equals_lexsort(rows: list[tuple[int, int]], unit: int) -> None:
    group = np.array([g for g, _ in rows], dtype=np.int64)
    t = np.array([v // unit * unit if unit > 1 else v for _, v in rows], dtype=np.int64)
    for name in PATHS:
        with path(name):
            assert group_time_order(group, t).tolist() == np.lexsort((t, group)).tolist(), name


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3000), st.integers(0, 10 ** 7)), max_size=80),
       st.sampled_from([1, 10 ** 3, 10 ** 9]), st.sampled_from([np.int8, np.int16, np.int32, np.int64]))
def test_every_path_on_narrow_keys(rows: list[tuple[int, int]], unit: int, dtype: type) -> None:
    """Keys of one to four radix digits, group codes of any integer type, ties and sorted runs included."""
    group = np.array([g % 100 if dtype is np.int8 else g for g, _ in rows], dtype=dtype)
    t = np.array([v for _, v in rows], dtype=np.int64) * unit
    for name in PATHS:
        with path(name):
            assert group_time_order(group, t).tolist() == np.lexsort((t, group)).tolist(), name


def test_small_span_and_wide_span_paths() -> None:
    group = np.array([2, 0, 2, 1, 0])
    near = np.array([5, 9, 2, 9, 9]) * 10 ** 9  # combined-key path (seconds)
    far = np.array([np.iinfo(np.int64).max - 1, -(2 ** 62), 0, 5, 7])  # span too wide: lexsort path
    nat = np.array([np.iinfo(np.int64).min, 3, 3, 0, 1])  # NaT's int64: too wide as well
    for name in PATHS:
        with path(name):
            for t in (near, far, nat):
                assert group_time_order(group, t).tolist() == np.lexsort((t, group)).tolist()
    big = np.array([2 ** 40, 0, 2 ** 40])  # group x span beyond 62 bits: lexsort path
    t = np.array([0, 2 ** 30, 1])
    for name in PATHS:
        with path(name):
            assert group_time_order(big, t).tolist() == np.lexsort((t, big)).tolist()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40), st.integers(0, 10 ** 6)), max_size=80))
def test_two_pass_path_equals_lexsort(rows: list[tuple[int, int]]) -> None:
    """The radix-then-key path (taken from 100,000 rows) gives lexsort's order too."""
    group = np.array([g for g, _ in rows], dtype=np.int64)
    t = np.array([v for _, v in rows], dtype=np.int64) * 10 ** 9
    old = _sorting._TWO_PASS_MIN
    _sorting._TWO_PASS_MIN = 0
    try:
        assert group_time_order(group, t).tolist() == np.lexsort((t, group)).tolist()
    finally:
        _sorting._TWO_PASS_MIN = old


def test_two_pass_on_a_large_log_shaped_input() -> None:
    rng = np.random.default_rng(5)
    n = 150_000
    case = np.repeat(np.arange(n // 10), 10)  # a log: cases in order, activities in each
    act = rng.integers(0, 30, n)
    t = (np.arange(n) * 60 + rng.integers(0, 600, n)) * 10 ** 6
    for name in PATHS:
        with path(name):
            assert np.array_equal(group_time_order(act, t), np.lexsort((t, act)))
            assert np.array_equal(group_time_order(case, t), np.lexsort((t, case)))
    with path("numpy"):  # the default threshold, and a log already in order
        assert np.array_equal(group_time_order(case, np.arange(n)), np.arange(n))
    assert np.array_equal(group_time_order(case, np.arange(n)), np.arange(n))
    assert np.array_equal(group_time_order(act, t), np.lexsort((t, act)))


@pytest.mark.skipif(LIB is None, reason="tested where the compiled loops are built (test_compiled insists they are)")
@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 2 ** 62), max_size=100), st.integers(0, 62))
def test_radix_order_is_a_stable_argsort(values: list[int], bits: int) -> None:
    """Any number of 11-bit digits, digits all keys share skipped, ties kept in input order."""
    key = np.array([v >> (62 - bits) for v in values], dtype=np.int64)
    out = np.empty(len(key), dtype=np.int64)
    assert LIB is not None
    LIB.radix_order(key, int(key.max()) if len(key) else 0, out)
    assert out.tolist() == np.argsort(key, kind="stable").tolist()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 40_000), max_size=60), st.booleans())
def test_code_order_is_a_stable_argsort(codes: list[int], small: bool) -> None:
    """Radix (16-bit) or not, the order of a stable argsort."""
    c = np.array([v % 50 if small else v for v in codes], dtype=np.int64)
    assert code_order(c).tolist() == np.argsort(c, kind="stable").tolist()
    if c.shape[0]:
        assert code_order(c, int(c.max()) + 1).tolist() == np.argsort(c, kind="stable").tolist()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(-1, 60), max_size=80), st.integers(61, 40_000))
def test_code_groups_are_each_codes_rows_in_order(codes: list[int], n_codes: int) -> None:
    """Each code's rows, in input order (missing codes, -1, in no group), for narrow and wide code ranges."""
    c = np.array(codes, dtype=np.int64)
    for n in (61, n_codes):
        order, bounds = code_groups(c, n)
        assert bounds.dtype == np.int64 and len(bounds) == n + 1
        for k in range(n):
            assert order[bounds[k]:bounds[k + 1]].tolist() == np.flatnonzero(c == k).tolist()


@pytest.mark.skipif(LIB is None, reason="tested where the compiled loops are built (test_compiled insists they are)")
@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(-3, 6), st.integers(-50, 50)), max_size=80), st.integers(0, 20),
       st.sampled_from([np.int8, np.int16, np.int32, np.int64]))
def test_insertion_order_is_lexsort_or_gives_up(rows: list[tuple[int, int]], budget: int, dtype: type) -> None:
    """Any codes (negative too) and times; done within its budget of moves, or it says it gave up."""
    group = np.array([g for g, _ in rows], dtype=dtype)
    t = np.array([v for _, v in rows], dtype=np.int64)
    out = np.full(len(rows), -7, dtype=np.int64)
    assert LIB is not None
    inversions = sum(1 for i in range(len(rows)) for j in range(i) if rows[i] < rows[j])  # the moves it needs
    done = LIB.insertion_order(group, t, out, budget)
    assert done == (inversions <= budget)  # one move per pair out of order
    if done:
        assert out.tolist() == np.lexsort((t, group)).tolist()
    expected = sum(1 for i in range(1, len(rows)) if rows[i] < rows[i - 1])
    assert LIB.descents(group, t) == expected


def test_a_log_sorted_by_case_with_a_few_rows_out_of_time_order() -> None:
    """The shape the insertion sort is for: cases in order, a few activities finishing out of order."""
    rng = np.random.default_rng(3)
    n = 50_000
    case = np.repeat(np.arange(n // 10), 10).astype(np.int32)
    t = np.arange(n, dtype=np.int64) * 10 ** 9
    swap = rng.choice(np.flatnonzero(case[1:] == case[:-1]), 40, replace=False)
    t[swap], t[swap + 1] = t[swap + 1], t[swap].copy()
    for name in PATHS:
        with path(name):
            assert np.array_equal(group_time_order(case, t), np.lexsort((t, case))), name
    assert np.array_equal(group_time_order(case, t), np.lexsort((t, case)))  # the default thresholds


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3000), st.integers(0, 50)), max_size=80),
       st.sampled_from([np.int8, np.int16, np.int32, np.int64]))
def test_rows_in_time_order_on_every_path(rows: list[tuple[int, int]], dtype: type) -> None:
    """A log exported in time order (cases interleaved, ties included): the radix path sorts by group alone."""
    group = np.array([g % 100 if dtype is np.int8 else g for g, _ in rows], dtype=dtype)
    t = np.cumsum(np.array([d for _, d in rows], dtype=np.int64) * 10 ** 9)  # non-decreasing
    for name in PATHS:
        with path(name):
            assert group_time_order(group, t).tolist() == np.lexsort((t, group)).tolist(), name


def test_a_large_log_in_time_order() -> None:
    rng = np.random.default_rng(8)
    n = 300_000
    t = np.sort(rng.integers(0, 10 ** 6, n)) * 10 ** 9
    group = rng.integers(0, 40_000, n).astype(np.int32)
    assert group_time_order(group, t).tolist() == np.lexsort((t, group)).tolist()
