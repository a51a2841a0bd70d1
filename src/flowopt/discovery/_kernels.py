"""Vectorised kernels shared by discovery and analysis: grouped quantiles, directly-follows pairs, hashes.

Everything here works on NumPy arrays of integer codes and int64 nanoseconds; no Python loop runs per
event or per case.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flowopt._compiled import loops
from flowopt._sorting import code_order

__all__ = [
    "NAT",
    "GroupStats",
    "case_span",
    "dense_unique",
    "dfg_pairs",
    "distinct_counts",
    "group_stats",
    "sequence_hash",
    "sorted_unique",
]

NAT = np.iinfo(np.int64).min


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupStats:
    """Statistics of ``values`` per group code (arrays indexed by group code; NaN where a group is empty)."""

    count: np.ndarray
    total: np.ndarray
    mean: np.ndarray
    median: np.ndarray
    p90: np.ndarray
    max: np.ndarray


def _quantile_sorted(v: np.ndarray, lo: np.ndarray, cnt: np.ndarray, q: float) -> np.ndarray:
    """Linear-interpolated quantile (NumPy's default) of each sorted run ``v[lo:lo+cnt]``."""
    out = np.full(len(lo), np.nan)
    has = cnt > 0
    pos = (cnt[has] - 1) * q
    below = np.floor(pos).astype(np.int64)
    frac = pos - below
    a = v[lo[has] + below]
    b = v[lo[has] + np.minimum(below + 1, cnt[has] - 1)]
    out[has] = a + (b - a) * frac
    return out


def _group_order(group: np.ndarray, values: np.ndarray, n_groups: int) -> np.ndarray:
    """Row order sorting by ``group``, then by value (what ``np.lexsort((values, group))`` gives).

    Two passes: sort the values, then a stable sort by group, which NumPy runs as a radix sort when the
    group codes fit 16 bits — cheaper than a two-key lexsort. Rows with equal values may come out in another
    order than lexsort's, which changes no statistic.
    """
    by_value = np.argsort(values)
    out: np.ndarray = by_value[code_order(group[by_value], n_groups)]
    return out


_FEW_GROUPS = 4096


def _few_group_quantiles(group: np.ndarray, values: np.ndarray, cnt: np.ndarray,
                         lo: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Median, p90 and max per group without sorting the values: a radix sort by (16-bit) group, then
    ``np.partition`` of each group's run at the order statistics the quantiles need (a loop over groups,
    not rows). The same numbers as interpolating in fully sorted runs."""
    n_groups = len(cnt)
    compiled = loops()
    if compiled is not None:  # the same grouped values by one counting pass
        v = np.empty(values.shape[0])
        compiled.scatter_by_group(np.ascontiguousarray(group, dtype=np.int64),
                                  np.ascontiguousarray(values, dtype=np.float64), lo, v)
    else:
        v = values[code_order(group, n_groups)]
    med, p90, mx = (np.full(n_groups, np.nan) for _ in range(3))
    for k in np.flatnonzero(cnt):
        c = int(cnt[k])
        seg = v[lo[k]:lo[k] + c]
        pos = {q: (c - 1) * q for q in (0.5, 0.9)}
        kth = sorted({int(np.floor(x)) for x in pos.values()} | {min(int(np.floor(x)) + 1, c - 1)
                                                                  for x in pos.values()} | {c - 1})
        part = np.partition(seg, kth)
        for q, out in ((0.5, med), (0.9, p90)):
            below = int(np.floor(pos[q]))
            a, b = part[below], part[min(below + 1, c - 1)]
            out[k] = a + (b - a) * (pos[q] - below)
        mx[k] = part[c - 1]
    return med, p90, mx


def group_stats(group: np.ndarray, values: np.ndarray, n_groups: int) -> GroupStats:
    """Count, total, mean, median, p90 and max of float ``values`` per integer ``group`` in [0, n_groups).

    Examples
    --------
    >>> import numpy as np
    >>> s = group_stats(np.array([0, 0, 0, 1]), np.array([1.0, 2.0, 10.0, 5.0]), 3)
    >>> s.count.tolist(), s.median.tolist()[:2], s.p90.tolist()[:2]
    ([3, 1, 0], [2.0, 5.0], [8.4, 5.0])
    """
    values = np.asarray(values, dtype=np.float64)
    group = np.asarray(group, dtype=np.int64)
    cnt = np.bincount(group, minlength=n_groups).astype(np.int64)
    total = np.bincount(group, weights=values, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(cnt > 0, total / np.maximum(cnt, 1), np.nan)
    lo = (np.cumsum(cnt) - cnt).astype(np.int64)  # group offsets; length n_groups even when it is 0
    has = cnt > 0
    if n_groups <= _FEW_GROUPS:
        med, p90, mx = _few_group_quantiles(group, values, cnt, lo)
    else:
        v = values[_group_order(group, values, n_groups)]
        med = _quantile_sorted(v, lo, cnt, 0.5)
        p90 = _quantile_sorted(v, lo, cnt, 0.9)
        mx = np.full(n_groups, np.nan)
        mx[has] = v[lo[has] + cnt[has] - 1]
    total = np.where(has, total, np.nan)
    return GroupStats(count=cnt, total=total, mean=mean, median=med, p90=p90, max=mx)


def sorted_unique(x: np.ndarray) -> np.ndarray:
    """``np.unique(x)`` for integer arrays by sorting (NumPy 2's hash-based unique is several times slower).

    Examples
    --------
    >>> sorted_unique(np.array([3, 1, 3, 2])).tolist()
    [1, 2, 3]
    """
    s = np.sort(x)
    if len(s) < 2:
        return s
    keep = np.empty(len(s), dtype=bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]


def count_distinct(values: np.ndarray) -> int:
    """``len(np.unique(values))`` for integers: one pass when they are already in order (rows of a log are
    grouped by case), else by sorting.

    Examples
    --------
    >>> count_distinct(np.array([1, 1, 2, 5])), count_distinct(np.array([3, 1, 3]))
    (3, 2)
    """
    if values.shape[0] == 0:
        return 0
    step = np.diff(values)
    if bool((step >= 0).all()):
        return int(np.count_nonzero(step)) + 1
    return int(sorted_unique(values).shape[0])


def dense_unique(codes: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``np.unique(codes, return_inverse=True, return_counts=True)`` for codes in ``[0, size)``, by counting.

    Examples
    --------
    >>> u, inv, cnt = dense_unique(np.array([5, 2, 5]), 8)
    >>> u.tolist(), inv.tolist(), cnt.tolist()
    ([2, 5], [1, 0, 1], [1, 2])
    """
    counts = np.bincount(codes, minlength=size)
    present = counts > 0
    uniq = np.flatnonzero(present)
    lookup = np.cumsum(present) - 1
    return uniq, lookup[codes], counts[uniq]


def distinct_counts(group: np.ndarray, item: np.ndarray, n_groups: int, n_items: int) -> np.ndarray:
    """Number of distinct ``item`` values per ``group`` (codes in ``[0, n_groups)`` and ``[0, n_items)``).

    A bitmap of ``n_groups × n_items`` when that is small next to the data (no sort), else a sort.

    Examples
    --------
    >>> distinct_counts(np.array([0, 0, 1, 0]), np.array([3, 3, 1, 2]), 2, 4).tolist()
    [2, 1]
    """
    group = np.asarray(group, dtype=np.int64)
    key = group * max(n_items, 1) + np.asarray(item, dtype=np.int64)
    size = n_groups * max(n_items, 1)
    if size <= max(8 * len(key), 1 << 24):
        seen = np.zeros(size, dtype=bool)
        seen[key] = True
        counts: np.ndarray = seen.reshape(n_groups, max(n_items, 1)).sum(axis=1).astype(np.int64)
        return counts
    return np.bincount(sorted_unique(key) // max(n_items, 1), minlength=n_groups).astype(np.int64)


def dfg_pairs(case: np.ndarray) -> np.ndarray:
    """Indices ``i`` such that rows ``i`` and ``i+1`` belong to the same case (a directly-follows pair)."""
    if len(case) < 2:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(case[1:] == case[:-1]).astype(np.int64)


_P1 = np.uint64(0x9E3779B97F4A7C15)
_P2 = np.uint64(0xC2B2AE3D27D4EB4F)


def sequence_hash(codes: np.ndarray, case_start: np.ndarray) -> np.ndarray:
    """A 128-bit hash (two uint64 columns) of each case's activity sequence, order-sensitive.

    ``case_start`` holds the offset of each case's first row plus a final sentinel (``len(codes)``).
    """
    n = len(codes)
    n_cases = len(case_start) - 1
    if n == 0 or n_cases == 0:
        return np.zeros((n_cases, 2), dtype=np.uint64)
    lengths = np.diff(case_start)
    case = np.repeat(np.arange(n_cases), lengths)
    pos = np.arange(n) - case_start[case]
    maxlen = int(lengths.max())
    with np.errstate(over="ignore"):
        pw1 = np.cumprod(np.full(maxlen, _P1, dtype=np.uint64), dtype=np.uint64)
        pw2 = np.cumprod(np.full(maxlen, _P2, dtype=np.uint64), dtype=np.uint64)
        c = codes.astype(np.uint64) + np.uint64(1)
        t1 = c * pw1[pos]
        t2 = (c * np.uint64(0x100000001B3)) ^ pw2[pos]
        t2 = t2 * pw1[pos]
    starts = case_start[:-1]
    h1 = np.add.reduceat(t1, starts) if n_cases else np.zeros(0, np.uint64)
    h2 = np.add.reduceat(t2, starts) if n_cases else np.zeros(0, np.uint64)
    with np.errstate(over="ignore"):
        h1 = h1 ^ (lengths.astype(np.uint64) * np.uint64(0xFF51AFD7ED558CCD))
    return np.stack([h1, h2], axis=1)


def case_span(case_start: np.ndarray, start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each case's first instant (its earliest start, or end where the start is unknown) and last end, in ns.

    ``case_start`` holds each case's first row plus a final sentinel; rows are in log order.

    Examples
    --------
    >>> import numpy as np
    >>> first, last = case_span(np.array([0, 2, 3]), np.array([5, NAT, NAT]), np.array([7, 9, 4]))
    >>> first.tolist(), last.tolist()
    ([5, 4], [9, 4])
    """
    starts = case_start[:-1]
    if len(end) == 0 or len(starts) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    begin = np.where(start != NAT, start, end)
    return np.minimum.reduceat(begin, starts), np.maximum.reduceat(end, starts)
