"""Sorting event rows by a group code and then by time, the order most kernels start from."""

from __future__ import annotations

import numpy as np

from flowopt._compiled import loops
from flowopt._memory import pool_empty

__all__ = ["code_groups", "code_order", "compiled_codes", "group_time_order"]

_CODE_TYPES = tuple(np.dtype(t) for t in (np.int8, np.int16, np.int32, np.int64))

_INT16_MAX = int(np.iinfo(np.int16).max)  # codes below this fit 16 bits: NumPy's stable argsort of int16 is a radix sort
_TWO_PASS_MIN = 100_000  # rows from which the two-pass sort pays off
_MERGE_MAX_DESCENTS = 1 / 64  # rows out of order (share) up to which a merge sort of the key beats the radix sort
_INSERT_MAX_DESCENTS = 1 / 256  # rows out of order (share) up to which an insertion sort is tried first ...
_INSERT_MAX_MOVES = 4  # ... giving up after this many moves per row (then the key is sorted as usual)


def code_order(codes: np.ndarray, n_codes: int | None = None) -> np.ndarray:
    """``np.argsort(codes, kind="stable")`` for non-negative integer codes, as a linear radix sort when they fit
    16 bits (NumPy sorts int16 that way; the order is the same). ``n_codes``: a bound on the codes, when known.

    Examples
    --------
    >>> code_order(np.array([2, 0, 2, 1])).tolist()
    [1, 3, 0, 2]
    """
    top = n_codes if n_codes is not None else (int(codes.max()) + 1 if codes.shape[0] else 0)
    return np.argsort(codes.astype(np.int16) if top <= _INT16_MAX else codes, kind="stable")


def code_groups(codes: np.ndarray, n_codes: int) -> tuple[np.ndarray, np.ndarray]:
    """The rows grouped by code: ``order`` (:func:`code_order`, rows in input order within a code) and
    ``bounds``, so that code ``k``'s rows are ``order[bounds[k]:bounds[k + 1]]`` (int64). Rows with a negative
    code (missing) sort first and belong to no group.

    Examples
    --------
    >>> order, bounds = code_groups(np.array([2, 0, 2, 1]), 3)
    >>> [order[bounds[k]:bounds[k + 1]].tolist() for k in range(3)]
    [[1], [3], [0, 2]]
    """
    order = code_order(codes, n_codes)
    bounds = np.searchsorted(codes[order], np.arange(n_codes + 1)).astype(np.int64, copy=False)
    return order, bounds


def compiled_codes(codes: np.ndarray) -> np.ndarray:
    """``codes`` as the compiled loops take group codes: contiguous, as they are when of a signed integer type
    of 8 to 64 bits (pandas' category codes), else as int64."""
    if codes.dtype in _CODE_TYPES:
        return np.ascontiguousarray(codes)
    return np.ascontiguousarray(codes, dtype=np.int64)


def group_time_order(case: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``np.lexsort((t, case))``: positions by ``case`` (any non-negative integer group code), then time ``t``
    (int64), ties in input order.

    Done as one stable argsort of a combined int64 key when it fits (times are first divided by the
    largest of 1 s / 1 ms / 1 µs that divides them all exactly), else the two-key lexsort. With the compiled
    loops a first pass counts the rows out of order: none, and the positions are returned as they are; very
    few (rows sorted by case, a few of them not by time, as exported event logs often are), and an insertion
    sort moves just those rows, with no sort key (it gives up after a few moves per row on average); few, and
    NumPy's merge sort of the key (built in one pass) mostly merges long runs; more (rows by activity or
    resource, in case order), and a radix sort of the key runs in linear time, several times faster. Rows in
    time order (an export by time) need only a radix sort by group: a stable sort keeps their times in order.

    Examples
    --------
    >>> group_time_order(np.array([1, 0, 1, 0]), np.array([5, 9, 2, 9])).tolist()
    [1, 3, 2, 0]
    """
    n = len(case)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    lib = loops()
    if lib is not None:
        group, times = compiled_codes(case), np.ascontiguousarray(t, dtype=np.int64)
        descents = lib.descents(group, times)  # reads only
        if descents == 0:  # already in order (a log sorted by case and time)
            return np.arange(n, dtype=np.int64)
        if descents <= n * _INSERT_MAX_DESCENTS:  # nearly in order: move the few rows out of it, no sort key
            out = pool_empty(n, np.int64)  # (fresh memory in huge pages: a read's order becomes the log's rows)
            if lib.insertion_order(group, times, out, n * _INSERT_MAX_MOVES):
                return out
        if descents > n * _MERGE_MAX_DESCENTS and bool((times[1:] >= times[:-1]).all()):
            # rows in time order (a log exported by time, cases interleaved): a stable sort by group alone keeps
            # each group's rows in time order, ties in input order; its radix sort has fewer digits than the key's
            codes = group.astype(np.int64)
            if int(codes.min()) >= 0:
                out = np.empty(n, dtype=np.int64)
                lib.radix_order(codes, int(codes.max()), out)
                return out
        key = np.empty(n, dtype=np.int64)
        top = lib.time_key(group, times, key)
        if top is None:
            return np.lexsort((t, case))
        if descents <= n * _MERGE_MAX_DESCENTS:  # long runs in order: NumPy's merge sort mostly merges them
            return np.argsort(key, kind="stable")
        out = np.empty(n, dtype=np.int64)
        lib.radix_order(key, top, out)
        return out
    lo, hi = int(t.min()), int(t.max())
    n_case = int(case.max()) + 1
    if int(case.min()) >= 0 and hi - lo < 2 ** 62:
        d = t - np.int64(lo)
        for scale in (10 ** 9, 10 ** 6, 10 ** 3):
            if not (d[:1000] % scale).any() and not (d % scale).any():  # a sample first: most scales fail fast
                d //= scale
                break
        span = int(d.max()) + 1
        if n_case * span < 2 ** 62:
            key = case.astype(np.int64) * np.int64(span) + d
            if bool((key[1:] >= key[:-1]).all()):  # already in order (a log sorted by case and time)
                return np.arange(n, dtype=np.int64)
            if n_case <= _INT16_MAX and n >= _TWO_PASS_MIN:
                # few groups (activities, resources) in an order of their own: first a radix sort by group
                # (linear), then the stable sort of the key meets long presorted runs (same result: both
                # sorts are stable)
                pre = code_order(case, n_case)
                return pre[np.argsort(key[pre], kind="stable")]
            return np.argsort(key, kind="stable")
    return np.lexsort((t, case))
