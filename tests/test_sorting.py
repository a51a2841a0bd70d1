"""group_time_order is np.lexsort((t, group)) on every input, whichever path it takes."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from flowopt import _sorting
from flowopt._sorting import code_order, group_time_order


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(-(2 ** 62), 2 ** 62)), max_size=60),
       st.sampled_from([1, 10 ** 3, 10 ** 6, 10 ** 9]))
def test_equals_lexsort(rows: list[tuple[int, int]], unit: int) -> None:
    group = np.array([g for g, _ in rows], dtype=np.int64)
    t = np.array([v // unit * unit if unit > 1 else v for _, v in rows], dtype=np.int64)
    assert group_time_order(group, t).tolist() == np.lexsort((t, group)).tolist()


def test_small_span_and_wide_span_paths() -> None:
    group = np.array([2, 0, 2, 1, 0])
    near = np.array([5, 9, 2, 9, 9]) * 10 ** 9  # combined-key path (seconds)
    far = np.array([np.iinfo(np.int64).max - 1, -(2 ** 62), 0, 5, 7])  # span too wide: lexsort path
    for t in (near, far):
        assert group_time_order(group, t).tolist() == np.lexsort((t, group)).tolist()


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
    assert np.array_equal(group_time_order(act, t), np.lexsort((t, act)))
    assert np.array_equal(group_time_order(case, t), np.lexsort((t, case)))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 40_000), max_size=60), st.booleans())
def test_code_order_is_a_stable_argsort(codes: list[int], small: bool) -> None:
    """Radix (16-bit) or not, the order of a stable argsort."""
    c = np.array([v % 50 if small else v for v in codes], dtype=np.int64)
    assert code_order(c).tolist() == np.argsort(c, kind="stable").tolist()
    if c.shape[0]:
        assert code_order(c, int(c.max()) + 1).tolist() == np.argsort(c, kind="stable").tolist()
