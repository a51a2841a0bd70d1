"""Pair lifecycle transitions (schedule / start / complete) into activity instances, vectorised.

Within each (case, activity), transitions are taken in time order (ties: start before complete, then the
file's order). A ``complete`` closes the oldest open ``start`` (first in, first out); a ``complete`` with
no open start is an instance whose start is unknown; a ``start`` never completed is unmatched and goes to
quarantine. ``schedule`` rows are paired the same way with the instance's first transition and give the
instance its ``scheduled`` time.

The open-start count is a queue length clamped at zero (a Skorokhod reflection): with ``S`` the running
sum of +1 per start and -1 per complete, a complete finds no open start exactly when ``S`` reaches a new
minimum below zero. That makes the pairing a few group-wise cumulative sums, with no Python loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["LIFECYCLE_VALUES", "Pairing", "pair_transitions"]

# normalised lifecycle value -> kind (0 schedule, 1 start, 2 complete)
LIFECYCLE_VALUES: dict[str, int] = {
    "schedule": 0, "scheduled": 0, "assign": 0, "assigned": 0,
    "start": 1, "started": 1, "begin": 1, "开始": 1,
    "complete": 2, "completed": 2, "end": 2, "done": 2, "finish": 2, "finished": 2, "完成": 2, "结束": 2,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Pairing:
    """Row positions (into the input arrays) making up each instance; -1 where a transition is absent."""

    schedule: np.ndarray
    start: np.ndarray
    complete: np.ndarray
    unmatched_start: np.ndarray  # positions of starts never completed
    unmatched_schedule: np.ndarray  # positions of schedules never followed by a start or complete


def _reflect(group: np.ndarray, plus: np.ndarray) -> np.ndarray:
    """For rows already sorted by group, return True where a -1 row finds nothing open (an orphan)."""
    step = np.where(plus, 1, -1).astype(np.int64)
    s = pd.Series(step).groupby(group, sort=False).cumsum().to_numpy()
    m = pd.Series(s).groupby(group, sort=False).cummin().to_numpy()
    m = np.minimum(m, 0)
    prev = np.zeros_like(m)  # also fine when no row is left (prev[0] would not exist)
    prev[1:] = m[:-1]
    first = np.ones(len(group), dtype=bool)
    first[1:] = group[1:] != group[:-1]
    prev[first] = 0
    out: np.ndarray = (~plus) & (m < prev)
    return out


def _match(group: np.ndarray, plus: np.ndarray, orphan: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pair the j-th matched minus-row of each group with the j-th plus-row (FIFO).

    Returns (plus positions, minus positions) of matched pairs and positions of unmatched plus rows.
    """
    minus = (~plus) & (~orphan)
    g_plus = group[plus]
    g_minus = group[minus]
    pos_plus = np.flatnonzero(plus)
    pos_minus = np.flatnonzero(minus)
    rank_plus = _rank_within(g_plus)
    # number of matched minus rows per group
    n_minus = pd.Series(np.ones(len(g_minus), dtype=np.int64)).groupby(g_minus).sum()
    limit = n_minus.reindex(g_plus, fill_value=0).to_numpy()
    keep = rank_plus < limit
    # plus rows and minus rows are both in group order; matched ones line up one-to-one
    return pos_plus[keep], pos_minus, pos_plus[~keep]


def _rank_within(g: np.ndarray) -> np.ndarray:
    if len(g) == 0:
        return np.zeros(0, dtype=np.int64)
    first = np.ones(len(g), dtype=bool)
    first[1:] = g[1:] != g[:-1]
    idx = np.arange(len(g))
    starts = np.maximum.accumulate(np.where(first, idx, 0))
    return idx - starts


def pair_transitions(group: np.ndarray, kind: np.ndarray, time: np.ndarray, order: np.ndarray) -> Pairing:
    """Pair transitions into instances.

    Parameters
    ----------
    group : int array
        (case, activity) group code of each row.
    kind : int array
        0 schedule, 1 start, 2 complete.
    time : int64 array
        Transition time (ns).
    order : int array
        File order, for ties.

    Examples
    --------
    >>> import numpy as np
    >>> g = np.array([0, 0, 0, 0]); k = np.array([1, 1, 2, 2]); t = np.array([1, 2, 3, 4]); o = np.arange(4)
    >>> p = pair_transitions(g, k, t, o)
    >>> p.start.tolist(), p.complete.tolist()
    ([0, 1], [2, 3])
    """
    n = len(group)
    empty = np.zeros(0, dtype=np.int64)
    if n == 0:
        return Pairing(schedule=empty, start=empty, complete=empty, unmatched_start=empty, unmatched_schedule=empty)
    # --- starts with completes
    sc = np.flatnonzero(kind > 0)
    tie = np.where(kind[sc] == 1, 0, 1)
    o1 = np.lexsort((order[sc], tie, time[sc], group[sc]))
    rows = sc[o1]
    g1 = group[rows]
    plus = kind[rows] == 1
    orphan = _reflect(g1, plus)
    st_pos, co_pos, un_pos = _match(g1, plus, orphan)
    orphan_complete = rows[orphan]
    inst_start = np.concatenate([rows[st_pos], np.full(len(orphan_complete), -1, dtype=np.int64)])
    inst_complete = np.concatenate([rows[co_pos], orphan_complete])
    unmatched_start = rows[un_pos]
    # --- schedules with each instance's first transition
    sched = np.flatnonzero(kind == 0)
    inst_sched = np.full(len(inst_complete), -1, dtype=np.int64)
    unmatched_schedule = empty
    if len(sched):
        begin_row = np.where(inst_start >= 0, inst_start, inst_complete)
        g2 = np.concatenate([group[sched], group[begin_row]])
        t2 = np.concatenate([time[sched], time[begin_row]])
        o2 = np.concatenate([order[sched], order[begin_row]])
        tie2 = np.concatenate([np.zeros(len(sched), dtype=np.int64), np.ones(len(begin_row), dtype=np.int64)])
        ref = np.concatenate([sched, np.arange(len(begin_row))])  # schedule rows, or instance numbers
        o = np.lexsort((o2, tie2, t2, g2))
        g2s = g2[o]
        plus2 = tie2[o] == 0
        orphan2 = _reflect(g2s, plus2)
        sp, bp, up = _match(g2s, plus2, orphan2)
        inst_sched[ref[o][bp]] = ref[o][sp]
        unmatched_schedule = ref[o][up]
    return Pairing(schedule=inst_sched, start=inst_start, complete=inst_complete,
                   unmatched_start=np.sort(unmatched_start), unmatched_schedule=np.sort(unmatched_schedule))
