"""Why cases wait: the waiting time of every activity instance, split by cause.

After Lashkevich, Milani, Chapela-Campa, Dumas, *Why Am I Waiting? Data-Driven Analysis of Waiting
Times in Business Processes* (CAiSE 2023), vectorised: interval overlaps come from sorting and
``searchsorted`` per resource plus one compiled pass over each waiting instance's overlapping busy
intervals (:mod:`flowopt._compiled`), working time from a cumulative working-time axis; no Python loop runs
per case or per event.

The wait
--------
An activity instance is *enabled* when the previous event of its case (its directly-follows
predecessor, as in :func:`flowopt.discovery.edge_waits`) ends. Its wait runs from then to its start.
If it started before its predecessor ended (parallel work) the wait is 0. A case's first event has no
wait (it gets no row). When an instance's start is unknown the wait runs to its *end*
(completion to completion, ``basis = "completion"``): it then includes the service time, which cannot
be separated — the table says so per row.

The causes, in order of precedence
----------------------------------
Every wait is split into five parts, in nanoseconds internally, that add up exactly to the wait:

1. ``batching`` — the instance was released in a batch (see :mod:`._batching`): the time from when it
   was enabled until the batch's release (the accumulation time) — but not the time before it could join
   a batch: a case ready early enough for the activity's previous run (by the hand-off's shortest batched
   wait, the cut-off some case did make) and not taken by it waited for something else until that run (a
   hold), and a hand-off whose batched cases all waited a week or more has a waiting period (a legal
   deadline) before any batch; those parts are extraneous. Scheduled releases come first because they
   decide the wait whatever the staff calendar says.
2. ``unavailability`` — of the rest, the time outside the working hours of the instance's resource
   (learned from the log, see :mod:`._calendars`) — but only when the resource had no slack. If in
   the working part of the wait the resource sat idle (not busy with other cases) for more than an
   hour, it could have taken the case and did not: the case was waiting for something else, and the
   off-duty time counts as unavailability only in the proportion ``1 h / idle time`` (the rest is
   extraneous). Without known busy times (no starts, no resource) all working time counts as idle, so
   a long wait is not blamed on the night.
3. ``contention`` / ``prioritization`` — of the working time left, the time the same resource spent
   on other cases' activity instances (busy time overlapping the wait): ``prioritization`` when the
   other instance was enabled later than this one, ``contention`` otherwise (also when the other
   instance's enabling is unknown: a case's first event). Overlapping busy intervals (multitasking)
   are scaled down so they never exceed the working time left. This part needs known starts and a
   resource that works one instance at a time; resources whose instances overlap each other often
   (more than half the time: a shared label such as ``customer`` or ``STAFF MEMBER``, or a system) and rows
   with no resource or no start get none, and the table says why (``contention_basis``).
4. ``extraneous`` — everything else: the customer, a third party, a scheduled date.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from flowopt._compiled import loops
from flowopt._memo import PerObjectCache
from flowopt._sorting import code_groups, code_order, group_time_order
from flowopt.analysis._batching import BatchInfo, detect_batches
from flowopt.analysis._calendars import Calendars, learn_calendars
from flowopt.analysis._instants import by_group_then_instant, instant_order
from flowopt.discovery._kernels import NAT, dfg_pairs
from flowopt.log import EventLog

__all__ = ["CAUSES", "WaitTable", "compute_waits", "waiting_times"]

CAUSES: tuple[str, ...] = ("batching", "unavailability", "contention", "prioritization", "extraneous")
_NS = 1e9
_MULTI_SHARE = 0.5  # a resource whose instances overlap this often is not one person (people do multitask a little)
_GRACE_NS = 3_600 * 10**9  # idle working time a resource may take to pick a case up  # (waiting instance, other instance) pairs expanded at once


@dataclass(frozen=True, slots=True, kw_only=True)
class WaitTable:
    """Per-instance waits with their causes, plus what was (and was not) possible to separate.

    Attributes
    ----------
    pred, row : int arrays
        Log row of the predecessor and of the waiting instance (``row = pred + 1``).
    wait_ns : int64 array
        The wait of each instance (ns).
    causes_ns : dict of int64 arrays
        One array per cause in :data:`CAUSES`; they add up to ``wait_ns`` exactly.
    start_known : bool array
        False where the wait runs completion to completion.
    contention_basis : object array
        ``"resource"`` where contention was measured, else why not: ``"no resource"``,
        ``"no start"``, ``"shared resource"``.
    contention_measured : bool array
        ``contention_basis == "resource"``, without comparing a million strings.
    held_ns : int64 array
        For an instance released in a batch, the part of its wait before it could join the batch (counted as
        extraneous): ready early enough for the activity's previous release and not taken by it, or within its
        hand-off's waiting period (:func:`_shortest_batched_waits`); 0 elsewhere.
    waiting_period_ns : int64 array
        For an instance released in a batch, its hand-off's waiting period (a week or more that no batched case
        on it ever skipped, such as a legal deadline); 0 elsewhere.
    resource_order : (order, bounds) or None
        The log rows with a known start and a resource, by resource then start (ties in row order), and each
        resource's bounds in that order (:func:`_resource_order`); ``None`` when the log names no resources.
    batches : BatchInfo
    calendars : Calendars
    notes : tuple of str
        Plain-language statements of what could not be separated.
    """

    pred: np.ndarray
    row: np.ndarray
    wait_ns: np.ndarray
    causes_ns: dict[str, np.ndarray]
    start_known: np.ndarray
    contention_basis: np.ndarray
    batches: BatchInfo
    calendars: Calendars
    shared_resources: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)
    contention_measured: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    resource_order: tuple[np.ndarray, np.ndarray] | None = None
    held_ns: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    waiting_period_ns: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


_CACHE: PerObjectCache[WaitTable] = PerObjectCache()


def compute_waits(log: EventLog) -> WaitTable:
    """Compute every instance's wait and its split by cause (cached for the last few logs).

    Examples
    --------
    >>> import flowopt
    >>> wt = compute_waits(flowopt.datasets.example_log())
    >>> bool((sum(wt.causes_ns.values()) == wt.wait_ns).all())
    True
    """
    return _CACHE.get(log, None, lambda: _compute(log))


def _compute(log: EventLog) -> WaitTable:
    c = log.codes()
    f = log.frame
    n = len(c.case)
    inst_order = instant_order(log)  # the rows by instant, for the batches' and the contention's groupings
    batches = detect_batches(log, instants=inst_order)
    calendars = learn_calendars(log, exclude=batches.release != NAT)
    i = dfg_pairs(c.case)
    j = i + 1
    start_known_all = c.start != NAT
    sk = start_known_all[j]
    enabled = c.end[i]
    began = np.where(sk, c.start[j], c.end[j])
    wait = np.maximum(began - enabled, 0).astype(np.int64)
    zero = np.zeros(len(i), dtype=np.int64)
    # 1. batching: from when the case could join the batch to the batch's release
    rel = batches.release[j]
    in_batch = (rel != NAT) & (wait > 0)
    edge = c.activity[i].astype(np.int64) * len(c.activity_names) + c.activity[j]
    # before that, it waited for something else (extraneous): it could have joined the activity's previous run
    # (ready before it by at least the edge's shortest batched wait, which some case did make) and was not
    # taken, or the edge has a waiting period of a week or more that no batched case ever skipped (a legal
    # deadline; a shorter one is the batch's cut-off, part of batching)
    shortest = _shortest_batched_waits(edge, wait, in_batch)
    prev = batches.previous_release[j]
    before_prev = np.where(in_batch & (prev != NAT), prev - enabled, zero)  # (NAT's wrapped difference unused)
    skipped = (before_prev > 0) & (before_prev >= shortest)
    period = np.where(shortest >= _PERIOD_MIN_NS, shortest, zero)
    held = np.clip(np.where(skipped, before_prev, period), 0, wait)  # (both 0 outside batches)
    batching = np.where(in_batch, np.clip(rel - (enabled + held), 0, wait - held), zero)
    timers = _fixed_delays(edge, wait, in_batch)
    if timers.any():  # a constant delay is a timer or a scheduled date, not a batch: leave it to extraneous
        batching = np.where(timers, 0, batching)
        held = np.where(timers, 0, held)
    rest_from = enabled + held + batching
    rest = wait - held - batching
    # 2. unavailability: outside the resource's working hours
    cal = calendars.row_calendar[j]
    t1 = np.where(rest > 0, rest_from, began)
    working = np.clip(calendars.working_ns(cal, t1, np.maximum(began, t1)), 0, rest)
    off_duty = rest - working
    # 3. contention / prioritization
    res = f["resource"].cat.codes.to_numpy().astype(np.int64) if hasattr(f["resource"], "cat") \
        else np.full(n, -1, dtype=np.int64)
    enabled_row = np.full(n, NAT, dtype=np.int64)  # when each row was enabled (NAT: first event)
    enabled_row[j] = enabled
    res_names = list(f["resource"].cat.categories) if hasattr(f["resource"], "cat") else []
    res_order = _resource_order(res, c.start, len(res_names), inst_order[1]) if res_names else None
    del inst_order  # two arrays of the log's length, needed no more
    cont, prio, basis, shared = _contention(res, c.case, c.start, c.end, enabled_row, j, enabled, t1, began,
                                            working, sk, res_names, res_order)
    # off-duty time only delayed the case if the resource had no slack in the working part of the wait
    idle = working - cont - prio
    slack = idle > _GRACE_NS
    factor = np.where(slack, _GRACE_NS / np.maximum(idle, 1), 1.0)
    unavail = np.minimum((off_duty * factor).astype(np.int64), off_duty)
    extraneous = wait - batching - unavail - cont - prio
    notes = []
    if held.any():
        notes.append("Some cases could not join a batch as soon as they were ready — they were ready before an "
                     "earlier run of the batched step and were not taken by it, or the hand-off has a waiting "
                     "period no batched case ever skipped (a legal deadline): that part of their wait counts as "
                     "extraneous, only the rest as batching.")
    if timers.any():
        notes.append("Some hand-offs wait an almost constant time (a timer or a scheduled date, e.g. a legal "
                     "deadline): their cases start together but are not batched, so that wait counts as "
                     "extraneous.")
    if not sk.all():
        notes.append("Starts are unknown for some or all activity instances: their waits run completion to "
                     "completion, include the service time, and cannot be split into contention or "
                     "prioritization.")
    if (res < 0).all():
        notes.append("The log names no resources: contention and prioritization cannot be measured; "
                     "unavailability uses the whole log's working hours.")
    if shared:
        notes.append("Resources whose instances overlap each other (shared labels or systems) get no "
                     "contention: " + ", ".join(shared[:10]) + (" ..." if len(shared) > 10 else "") + ".")
    causes = {"batching": batching, "unavailability": unavail, "contention": cont, "prioritization": prio,
              "extraneous": extraneous}
    return WaitTable(pred=i, row=j, wait_ns=wait, causes_ns=causes, start_known=sk, held_ns=held,
                     waiting_period_ns=np.where(timers, zero, period),
                     contention_basis=_BASIS[basis],
                     contention_measured=basis == 0, resource_order=res_order,
                     batches=batches, calendars=calendars, shared_resources=tuple(shared), notes=tuple(notes))


_TIMER_MIN_N = 30
_TIMER_MIN_NS = 86_400 * 10**9  # a timer worth telling apart runs a day or more
_TIMER_SPREAD = 0.05  # p10..p90 of the waits within 5% of their median


def _fixed_delays(edge: np.ndarray, wait: np.ndarray, in_batch: np.ndarray) -> np.ndarray:
    """True for batched waits on edges whose waits are nearly constant (a timer, not a batch).

    A batch collects cases that became ready at different times, so their waits spread from zero to the
    release interval; a fixed delay (a penalty added 60 days after notification) gives every case the same
    wait, and cases only start together because they became ready together.
    """
    out = np.zeros(len(wait), dtype=bool)
    if not in_batch.any():
        return out
    batched = np.unique(edge[in_batch])
    rows = np.flatnonzero(np.isin(edge, batched))  # every wait on a batched edge, grouped by edge below
    rows = rows[code_order(np.searchsorted(batched, edge[rows]), len(batched))]
    for sel in np.split(rows, np.searchsorted(edge[rows], batched[:-1], side="right")):  # loop over batched edges (a handful)
        if len(sel) < _TIMER_MIN_N:
            continue
        p10, med, p90 = np.percentile(wait[sel].astype(np.float64), [10, 50, 90])
        if med >= _TIMER_MIN_NS and (p90 - p10) <= _TIMER_SPREAD * med:
            out[sel[in_batch[sel]]] = True
    return out


_PERIOD_MIN_NS = 7 * 86_400 * 10**9  # a minimum wait this long is a waiting period, not a batch's cut-off


def _shortest_batched_waits(edge: np.ndarray, wait: np.ndarray, in_batch: np.ndarray) -> np.ndarray:
    """Per instance released in a batch, the shortest wait of its hand-off's batched instances (0 elsewhere, and
    on edges with fewer than ``_TIMER_MIN_N`` of them).

    No case on that edge joined a batch sooner after becoming ready. A week or more is a waiting period (fines
    go to credit collection no sooner than 209 days after the penalty, then at the next yearly run): until
    then a case was not waiting for the batch, and releasing the step case by case would not start it sooner.
    Less is the batch's cut-off (the payment file closes the day before the run): part of batching.
    """
    out = np.zeros(len(wait), dtype=np.int64)
    rows = np.flatnonzero(in_batch)
    if len(rows) < _TIMER_MIN_N:
        return out
    rows = rows[np.lexsort((wait[rows], edge[rows]))]  # by edge, then wait: each edge's shortest wait first
    e = edge[rows]
    first = np.ones(len(rows), dtype=bool)
    first[1:] = e[1:] != e[:-1]
    starts = np.flatnonzero(first)
    counts = np.diff(np.append(starts, len(rows)))
    shortest = np.where(counts >= _TIMER_MIN_N, wait[rows[starts]], 0)
    out[rows] = np.repeat(shortest, counts)
    return out


_SCAN_MAX = 256  # instances in a window up to which the compiled sweep scans them rather than use prefix sums
_SCAN_PER_INSTANCE = 300  # ... and beyond it, while the longer windows hold fewer than this many per instance
_PAIR_CHUNK = 4_000_000  # (waiting instance, busy instance) pairs expanded at once by the array version

_BASIS = np.array(["resource", "shared resource", "no start", "no resource"], dtype=object)


def _contention(res: np.ndarray, case: np.ndarray, start: np.ndarray, end: np.ndarray, enabled_row: np.ndarray,
                j: np.ndarray, enabled: np.ndarray, t1: np.ndarray, t2: np.ndarray, working: np.ndarray,
                sk: np.ndarray, res_names: list[Any], res_order: tuple[np.ndarray, np.ndarray] | None = None,
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Busy time of the waiting instance's resource on other cases within ``[t1, t2]``, split by who was first;
    the basis of each (codes into :data:`_BASIS`); the shared resources."""
    r_j = res[j]
    basis = np.zeros(len(j), dtype=np.int8)  # codes into _BASIS, turned into text at the end
    basis[~sk] = 2
    basis[r_j < 0] = 3
    # both versions give the same numbers (tests/analysis/test_waits.py)
    args = (res, case, start, end, enabled_row, j, enabled, t1, t2, working, sk, len(res_names), _MULTI_SHARE)
    if loops() is not None:
        cont, prio, is_shared = _contention_sweep(*args, res_order=res_order)
    else:  # an install without the compiled loops: the same numbers by array operations
        cont, prio, is_shared = _contention_arrays(*args, res_order=res_order)
    shared = [str(res_names[r]) for r in np.flatnonzero(is_shared)]
    if shared:  # no contention on shared labels: their instances overlap too often to be one person's queue
        basis[sk & (r_j >= 0) & is_shared[np.maximum(r_j, 0)]] = 1
    return cont, prio, basis, shared


def _resource_order(res: np.ndarray, start: np.ndarray, n_res: int,
                    by_instant: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The rows with a known start and a resource, by resource then start (ties in row order), and each
    resource's bounds in that order (int64). ``by_instant``: the log's rows by instant
    (:func:`~flowopt.analysis._instants.instant_order`), when the caller has it: one pass over it by resource
    instead of a sort by resource and start (on these rows the instant is the start)."""
    keep = (start != NAT) & (res >= 0)
    if by_instant is not None:
        order = by_group_then_instant(by_instant, res, n_res, keep)
    else:
        rows = np.flatnonzero(keep)
        order = rows[group_time_order(res[rows], start[rows])]
    bounds = np.searchsorted(res[order], np.arange(n_res + 1)).astype(np.int64)
    return order, bounds


def _by_resource(res: np.ndarray, start: np.ndarray, j: np.ndarray, sk: np.ndarray, working: np.ndarray,
                 n_res: int, res_order: tuple[np.ndarray, np.ndarray] | None = None,
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """What both contention versions start from: :func:`_resource_order` (``res_order`` when already made);
    and the waiting instances that can have contention (known start, a resource, working time left), by
    resource, with their bounds (int64)."""
    order, bounds = _resource_order(res, start, n_res) if res_order is None else res_order
    r_j = res[j]
    q = np.flatnonzero(sk & (r_j >= 0) & (working > 0))
    by_res, q_bounds = code_groups(r_j[q], n_res)
    q = q[by_res]
    return order, bounds, q, q_bounds


def _contention_arrays(res: np.ndarray, case: np.ndarray, start: np.ndarray, end: np.ndarray,
                       enabled_row: np.ndarray, j: np.ndarray, enabled: np.ndarray, t1: np.ndarray, t2: np.ndarray,
                       working: np.ndarray, sk: np.ndarray, n_res: int,
                       multi_share: float, *, res_order: tuple[np.ndarray, np.ndarray] | None = None,
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_contention_sweep` in NumPy array operations (the reference; used where the compiled loops are not built).

    Per resource, the (waiting instance, busy instance) pairs that can overlap are expanded into arrays in
    chunks of at most :data:`_PAIR_CHUNK` pairs, and their overlaps summed per waiting instance.
    """
    m = j.shape[0]
    cont = np.zeros(m, dtype=np.int64)
    prio = np.zeros(m, dtype=np.int64)
    shared = np.zeros(n_res, dtype=bool)
    order, bounds, q_all, q_bounds = _by_resource(res, start, j, sk, working, n_res, res_order)
    for r in np.flatnonzero(np.diff(q_bounds) > 0):  # loop over resources
        idx = order[bounds[r]:bounds[r + 1]]
        S, E = start[idx], end[idx]
        cm = np.maximum.accumulate(E)
        if len(idx) > 1 and float(np.mean(S[1:] < cm[:-1])) > multi_share:
            shared[r] = True
            continue
        q = q_all[q_bounds[r]:q_bounds[r + 1]]
        a, b, q_case, q_en = t1[q], t2[q], case[j[q]], enabled[q]
        o_case, o_en = case[idx], enabled_row[idx]
        lo = np.searchsorted(cm, a, side="right")  # first instance that may still run at a
        cnt = np.maximum(np.searchsorted(S, b, side="left") - lo, 0)  # ... up to the last starting before b
        total = np.zeros(len(q), dtype=np.int64)
        later = np.zeros(len(q), dtype=np.int64)
        csum = np.cumsum(cnt)
        first = 0
        while first < len(q):  # chunks of pairs, bounded memory
            stop = max(int(np.searchsorted(csum, (csum[first - 1] if first else 0) + _PAIR_CHUNK, side="right")),
                       first + 1)
            k = cnt[first:stop]
            ends = np.cumsum(k)
            owner = np.repeat(np.arange(first, stop), k)
            other = np.repeat(lo[first:stop] - (ends - k), k) + np.arange(int(ends[-1]) if len(ends) else 0)
            ov = np.minimum(E[other], b[owner]) - np.maximum(S[other], a[owner])
            ov = np.where((ov > 0) & (o_case[other] != q_case[owner]), ov, 0)
            en = o_en[other]
            ov_later = np.where((en != NAT) & (en > q_en[owner]), ov, 0)
            for acc, vals in ((total, ov), (later, ov_later)):  # exact integer sums per waiting instance
                cs = np.concatenate(([0], np.cumsum(vals)))
                acc[first:stop] = cs[ends] - cs[ends - k]
            first = stop
        cap = working[q]
        scale = np.where(total > cap, cap / np.maximum(total, 1), 1.0)
        busy = np.minimum((total * scale).astype(np.int64), cap)
        p = np.minimum((later * scale).astype(np.int64), busy)
        prio[q] = p
        cont[q] = busy - p
    return cont, prio, shared


def _contention_sweep(res: np.ndarray, case: np.ndarray, start: np.ndarray, end: np.ndarray,
                      enabled_row: np.ndarray, j: np.ndarray, enabled: np.ndarray, t1: np.ndarray, t2: np.ndarray,
                      working: np.ndarray, sk: np.ndarray, n_res: int,
                      multi_share: float, *, res_order: tuple[np.ndarray, np.ndarray] | None = None,
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Contention and prioritization time of every waiting instance, and which resources are shared (compiled).

    Each resource's instances with a known start (busy ``[start, end)``) are sorted by start. A resource is
    shared when more than ``multi_share`` of its instances start before an earlier one ended; its waiting
    instances get nothing. For every other waiting instance ``x`` (row ``j[x]``, known start, working time
    left in ``[t1[x], t2[x]]``), the overlap of the resource's instances of other cases with the window, and
    the part from instances enabled later than ``x``: the same sums as :func:`_contention_arrays` expands pair
    by pair. :func:`flowopt._loops.contention` scans the instances of windows holding up to
    :data:`_SCAN_MAX` of them; longer windows (a long queue at one person) are scanned too while that stays
    cheap (:data:`_SCAN_PER_INSTANCE`), else :func:`flowopt._loops.contention_many` sums them from prefix sums
    and Fenwick trees in O(log n) each (the orders it needs are made here with NumPy sorts). Overlaps beyond
    the working time are scaled down to it; the later part is prioritization, the rest contention.
    """
    compiled = loops()
    if compiled is None:  # callers check first (_contention); a direct call on such an install lands here
        raise RuntimeError("flowopt's compiled loops are not built in this install: use _contention_arrays")
    m = j.shape[0]
    i64 = np.int64
    order, bounds, q, q_bounds = _by_resource(res, start, j, sk, working, n_res, res_order)
    S, E = start[order].astype(i64, copy=False), end[order].astype(i64, copy=False)
    C, EN = case[order].astype(i64, copy=False), enabled_row[order].astype(i64, copy=False)
    qa, qb, qc, qe, qw = (x.astype(i64, copy=False) for x in (t1[q], t2[q], case[j[q]], enabled[q], working[q]))
    cont_q = np.zeros(q.shape[0], dtype=i64)
    prio_q = np.zeros(q.shape[0], dtype=i64)
    shared = np.zeros(n_res, dtype=np.uint8)
    many = np.zeros(q.shape[0], dtype=np.uint8)
    skipped = compiled.contention(S, E, C, EN, bounds, qa, qb, qc, qe, qw, q_bounds, float(multi_share), _SCAN_MAX,
                                  cont_q, prio_q, shared, many)
    if not many.any():
        return _spread(m, q, cont_q, prio_q, shared)
    y = np.flatnonzero(many)  # windows over many instances
    y_res = res[j[q[y]]]
    if skipped <= _SCAN_PER_INSTANCE * len(order):  # not that many: scanning them costs less than the sorts below
        y_bounds = np.searchsorted(y_res, np.arange(n_res + 1)).astype(i64)
        cont_y, prio_y = np.zeros(len(y), dtype=i64), np.zeros(len(y), dtype=i64)
        compiled.contention(S, E, C, EN, bounds, qa[y], qb[y], qc[y], qe[y], qw[y], y_bounds, float(multi_share),
                            np.iinfo(np.intp).max, cont_y, prio_y, np.zeros(n_res, dtype=np.uint8),
                            np.zeros(len(y), dtype=np.uint8))
    else:  # prefix sums and Fenwick trees: O(log n) per window, whatever it holds
        group = res[order]
        by_end = group_time_order(group, E)
        e_rank = np.empty(len(order), dtype=i64)
        e_rank[by_end] = np.arange(len(order), dtype=i64) - bounds[group[by_end]]
        by_case = group_time_order(group, C)
        # latest enabled first: sorted by top - time (whole seconds when the times are), NaT (never "later") last
        known = np.concatenate((EN[EN != NAT], qe[y]))
        lo, top = int(known.min()), int(known.max())
        by_enabled = group_time_order(group, top - np.where(EN == NAT, lo - 10 ** 9, EN))
        y = y[group_time_order(y_res, top - qe[y])]
        y_bounds = np.searchsorted(y_res, np.arange(n_res + 1)).astype(i64)  # y_res: grouped, so the same bounds
        cont_y, prio_y = np.zeros(len(y), dtype=i64), np.zeros(len(y), dtype=i64)
        compiled.contention_many(S, E, C, EN, bounds, E[by_end], e_rank, by_case, C[by_case], by_enabled, qa[y],
                                 qb[y], qc[y], qe[y], qw[y], y_bounds, cont_y, prio_y)
    cont_q[y] = cont_y
    prio_q[y] = prio_y
    return _spread(m, q, cont_q, prio_q, shared)


def _spread(m: int, q: np.ndarray, cont_q: np.ndarray, prio_q: np.ndarray,
            shared: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Contention and prioritization of the waiting instances ``q`` placed among all ``m``; shared as bools."""
    cont = np.zeros(m, dtype=np.int64)
    prio = np.zeros(m, dtype=np.int64)
    cont[q] = cont_q
    prio[q] = prio_q
    return cont, prio, shared.astype(bool)


def waiting_times(log: EventLog) -> pd.DataFrame:
    """One row per activity instance that has a predecessor in its case: its wait and the wait's causes.

    Columns: ``case_id``, ``source`` (the predecessor's activity), ``activity``, ``resource``,
    ``enabled`` and ``began`` (UTC; ``began`` is the start, or the end when ``basis`` is
    ``"completion"``), ``wait_s``, one ``<cause>_s`` column per cause in :data:`CAUSES` (they add up to
    ``wait_s``), ``basis`` and ``contention_basis`` (why contention could or could not be measured).

    Examples
    --------
    >>> import flowopt
    >>> w = waiting_times(flowopt.datasets.example_log())
    >>> cause_cols = [f"{c}_s" for c in CAUSES]
    >>> bool(((w[cause_cols].sum(axis=1) - w["wait_s"]).abs() < 1e-6).all())
    True
    """
    wt = compute_waits(log)
    c = log.codes()
    f = log.frame
    names = np.asarray(c.activity_names, dtype=object)
    enabled = c.end[wt.pred]
    began = np.where(wt.start_known, c.start[wt.row], c.end[wt.row])
    out = pd.DataFrame({
        "case_id": pd.array(c.case_ids[c.case[wt.row]].astype(str), dtype="string"),
        "source": names[c.activity[wt.pred]], "activity": names[c.activity[wt.row]],
        "resource": f["resource"].to_numpy(dtype=object)[wt.row],
        "enabled": pd.to_datetime(enabled, utc=True), "began": pd.to_datetime(began, utc=True),
        "wait_s": wt.wait_ns / _NS,
    })
    for cause in CAUSES:
        out[f"{cause}_s"] = wt.causes_ns[cause] / _NS
    out["basis"] = np.where(wt.start_known, "start", "completion")
    out["contention_basis"] = wt.contention_basis
    return out
