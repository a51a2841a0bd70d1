"""Batch releases: many instances of one activity released together, on a recurring schedule.

An instance's *release instant* is its start (its end when the start is unknown). Instances of one
activity whose release instants follow each other within ``window_s`` form a cluster. A cluster is a
*batch* when it holds at least ``min_size`` instances and at least 3 instances per distinct resource
(at opening time every clerk of a pool starts one case at 08:00 — that is a working day beginning,
not a batch; a payment run starts dozens of cases on one system). An activity is *batched* when

- at least half of its instances were released in batches,
- there were at least ``min_releases`` batches, and
- the batches recur at fixed times of day: the three busiest 10-minute bins of the time of day
  hold at least 60% of the releases.

For a batched activity the batch's first instant is its *release*; a case in the batch waited for
the batch from when it was ready, or from the activity's previous release if it was ready before that, until
then (the accumulation time). A case that was ready before the previous run and was not taken by it waited
for something else first (a hold, a scheduled date, a legal deadline): that earlier part is not the batch's
(:mod:`._waits` also leaves out a hand-off's waiting period that no batched case ever skipped). The
schedule is described from the releases: the weekdays with at least 10% of them and the times of day of
the busiest bins, e.g. ``"Mon, Thu ~15:31 or ~16:31 UTC"``; releases a week or more apart (median) by their
cadence instead, e.g. ``"11 runs, about one every 380 days"``.

Logs with dates but no times (at least 90% of an activity's instants at midnight) cannot show a release
within a day: there an activity counts as batched only when its releases fall on at most one day in five
of the days it spans (work done every day is not a batch, however many cases a day it takes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from flowopt.analysis._instants import by_group_then_instant, instant_order
from flowopt.discovery._kernels import NAT
from flowopt.log import EventLog

__all__ = ["BatchInfo", "detect_batches", "distinct_per_group"]

_DAY_NS = 86_400 * 10**9
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_DATE_ONLY_MAX_RELEASE_RATE = 0.2  # date-only logs: batches on at most one day in five, else it is daily work
_SPARSE_GAP_DAYS = 7.0  # releases at least this far apart (median) are described by their cadence, not weekdays


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchInfo:
    """Batch releases found in a log.

    Attributes
    ----------
    release : int64 array (n_rows,)
        For each row released in a batch of a batched activity, the batch's release instant (ns);
        ``NAT`` otherwise.
    previous_release : int64 array (n_rows,)
        For each such row, the release instant of the activity's batch before its own (ns): the batch could
        not have taken a case ready later, so the case's accumulation time starts at this instant at the
        earliest; ``NAT`` for the rows of an activity's first batch and for rows in no batch.
    schedules : dict
        Activity name -> schedule evidence (``schedule`` text, ``weekdays``, ``times``, ``releases``,
        ``batch_size_median``, ``batch_size_max``, ``share_in_batches``, ``basis``).
    """

    release: np.ndarray
    schedules: dict[str, dict[str, Any]] = field(default_factory=dict)
    previous_release: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


def distinct_per_group(group: np.ndarray, item: np.ndarray, n_groups: int) -> np.ndarray:
    """Number of distinct ``item`` values per ``group`` code (both non-negative ints), by one sort."""
    if len(group) == 0:
        return np.zeros(n_groups, dtype=np.int64)
    width = int(item.max()) + 1
    key = np.sort(group.astype(np.int64) * width + item)
    first = np.ones(len(key), dtype=bool)
    first[1:] = key[1:] != key[:-1]
    return np.bincount(key[first] // width, minlength=n_groups)


def detect_batches(log: EventLog, *, window_s: float = 120.0, min_size: int = 5, min_releases: int = 4,
                   instants: tuple[np.ndarray, np.ndarray] | None = None) -> BatchInfo:
    """Find batched activities and the release instant of every batched instance.

    ``instants``: the log's :func:`~flowopt.analysis._instants.instant_order`, when the caller has it (the
    wait-cause split does); computed here otherwise.

    Examples
    --------
    >>> import flowopt
    >>> info = detect_batches(flowopt.datasets.example_log())
    >>> info.release.shape[0] == len(flowopt.datasets.example_log())
    True
    """
    c = log.codes()
    n = len(c.case)
    release = np.full(n, NAT, dtype=np.int64)
    previous = np.full(n, NAT, dtype=np.int64)
    if n == 0:
        return BatchInfo(release=release, previous_release=previous)
    known = c.start != NAT
    inst, inst_order = instant_order(log) if instants is None else instants
    f = log.frame
    res = f["resource"].cat.codes.to_numpy().astype(np.int64) if hasattr(f["resource"], "cat") \
        else np.full(n, -1, dtype=np.int64)
    act = c.activity.astype(np.int64)
    order = by_group_then_instant(inst_order, act, len(c.activity_names))  # by activity, then instant
    a_s, t_s, r_s = act[order], inst[order], res[order]
    new = np.ones(n, dtype=bool)
    new[1:] = (a_s[1:] != a_s[:-1]) | ((t_s[1:] - t_s[:-1]) > window_s * 1e9)
    cid = np.cumsum(new) - 1
    size = np.bincount(cid)
    first = t_s[new]
    # distinct resources per cluster (unknown resource counts as one)
    n_res = distinct_per_group(cid, r_s + 1, len(size))
    is_batch = (size >= min_size) & (size >= 3 * n_res)
    schedules: dict[str, dict[str, Any]] = {}
    c_act = a_s[new]
    n_inst = np.bincount(act, minlength=len(c.activity_names))
    for code in np.unique(c_act[is_batch]):  # loop over activities
        sel = is_batch & (c_act == code)
        k = int(sel.sum())
        share = float(size[sel].sum()) / float(n_inst[code])
        if k < min_releases or share < 0.5:
            continue
        rel = first[sel]
        times_of_act = t_s[a_s == code]
        date_only = bool(np.mean(times_of_act % _DAY_NS == 0) >= 0.9)
        if date_only:
            # dates without times: every day's events share 00:00, so "released together" only means
            # "on the same day". Daily work is not a batch; a release on few, spaced days still is.
            span_days = float(times_of_act.max() - times_of_act.min()) / _DAY_NS + 1.0
            if k / span_days > _DATE_ONLY_MAX_RELEASE_RATE:
                continue
        tod = (rel % _DAY_NS) / 1e9
        bins = (tod // 600).astype(np.int64)
        bcount = np.bincount(bins, minlength=144)
        top = np.argsort(-bcount, kind="stable")[:3]
        if bcount[top].sum() < 0.6 * k:
            continue
        # map each row of a batch cluster to its cluster's first instant
        in_batch = sel[cid]
        release[order[in_batch]] = first[cid[in_batch]]
        # each batch's previous release: the batches of this activity are in time order (sorted by instant)
        before = np.full(len(first), NAT, dtype=np.int64)
        at = np.flatnonzero(sel)
        before[at[1:]] = first[at[:-1]]
        previous[order[in_batch]] = before[cid[in_batch]]
        dow = ((rel // _DAY_NS) + 3) % 7  # 1970-01-01 was a Thursday
        dcount = np.bincount(dow, minlength=7)
        days = [d for d in range(7) if dcount[d] >= 0.1 * k]
        times = []
        for b in sorted(int(b) for b in top if bcount[b] >= 0.15 * k):
            med = float(np.median(tod[bins == b]))
            times.append(f"{int(med // 3600):02d}:{int(med % 3600 // 60):02d}")
        basis = "start" if known[order[in_batch]].all() else "completion"
        day_txt = ", ".join(_DAYS[d] for d in days) if len(days) < 7 else "daily"
        if days == [0, 1, 2, 3, 4]:
            day_txt = "Mon-Fri"
        gap_days = float(np.median(np.diff(rel))) / _DAY_NS if k > 1 else 0.0
        if gap_days >= _SPARSE_GAP_DAYS:  # runs weeks or months apart: their weekdays say little, their cadence does
            day_txt = f"{k} runs, about one every {gap_days:.0f} days"
        when = " or ".join(f"~{t}" for t in times) + " UTC" if not date_only else "(the log has dates only)"
        schedules[c.activity_names[code]] = {
            "schedule": f"{day_txt} {when}", "date_only": date_only,
            "weekdays": [_DAYS[d] for d in days], "times": times, "releases": k,
            "batch_size_median": float(np.median(size[sel])), "batch_size_max": int(size[sel].max()),
            "share_in_batches": round(share, 4), "basis": basis, "window_s": window_s,
            "releases_by_weekday": {_DAYS[d]: int(dcount[d]) for d in range(7) if dcount[d]},
            "median_days_between_releases": round(gap_days, 2),
        }
    return BatchInfo(release=release, schedules=schedules, previous_release=previous)
