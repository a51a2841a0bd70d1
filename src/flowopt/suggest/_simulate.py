"""Queue simulation of a resource pool fitted to the log, run with and without a change.

Used where queues matter (adding capacity, releasing batches into a busy pool): replaying the real
cases cannot say how much shorter a queue gets with one more clerk, a simulation can. The pool is a
first-come first-served multi-server queue, simulated event by event by its closed-form recursion
(:func:`fifo_starts`, equal float for float to a SimPy discrete-event run of the same queue, which the
tests use as the reference; about 100 times faster).

What is learned from the log
----------------------------
- **The pool**: the resources who perform the activity, and every job they do (all their activities
  load them); its size is the median number of those resources active per week.
- **Working hours**: the hours of the week in which the pool starts work; the simulation runs on that
  calendar's working-time axis (nights and weekends take no time), so off-hours never look like queues.
- **Arrivals**: when each job became ready — its predecessor's end, moved later to the last moment
  before it started at which a server of the pool was idle (a job that starts while a server had been
  idle was not waiting for the pool: it was waiting for something else, e.g. the customer).
- **Service times**: the real ones (replication 0, trace-driven); further replications resample each
  job's service from its activity's observed service times.

Every replication uses one random stream for both scenarios (common random numbers), so the
difference between "before" and "after" is the effect of the change, not of the draws. The window is
capped (``max_jobs`` consecutive jobs in the middle of the log) to keep the run bounded; it starts from
the pool's real state (its queue and the jobs in service when the window opens) in the "before" run,
and empty in the "after" run (with enough capacity the backlog would not have built up).

The per-job change of waiting time is then pushed through the counterfactual replay
(:mod:`flowopt.suggest._replay`) to get each case's new throughput time.

Examples
--------
>>> import flowopt
>>> from flowopt.datasets import generate_lending_log
>>> g = generate_lending_log(300, seed=1, problems=["understaffed"])
>>> log = flowopt.read_log(g.frame, g.config)
>>> sim = simulate_capacity(log, "Document check", extra_servers=1, replications=2)
>>> sim.servers_before < sim.servers_after, sim.saving().method
(True, 'simulation+replay')
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np

from flowopt._compiled import loops
from flowopt.errors import ParameterError
from flowopt.log import EventLog
from flowopt.suggest._replay import (
    CaseArrays,
    Replay,
    WeekCalendar,
    _period_days,
    _retimed_throughput,
    case_arrays,
    learn_calendars,
    named,
)
from flowopt.suggest._types import Saving

__all__ = ["PoolSimulation", "fifo_starts", "simulate_capacity"]

_NS = 1e9


def fifo_starts(arrival: np.ndarray, service: np.ndarray, servers: int) -> np.ndarray:
    """Start times of jobs served first-come first-served by ``servers`` identical servers.

    The multi-server FIFO queue in closed form (the Kiefer-Wolfowitz recursion): in order of arrival (ties
    in input order), each job starts at the later of its arrival and the moment the first server comes
    free, and holds that server for its service time. This is exactly what a discrete-event run of the
    same queue gives (SimPy's ``Resource``, the reference the tests compare it with, float for float)
    at a tiny fraction of the cost: one heap operation per job instead of a scheduler round trip.

    Examples
    --------
    >>> fifo_starts(np.array([0.0, 0.0, 0.0]), np.array([2.0, 2.0, 2.0]), 2).tolist()
    [0.0, 0.0, 2.0]
    >>> fifo_starts(np.array([5.0, 0.0, 1.0]), np.array([1.0, 3.0, 1.0]), 1).tolist()
    [5.0, 0.0, 3.0]
    """
    n = arrival.shape[0]
    start = np.empty(n)
    if n == 0:
        return start
    order = np.argsort(arrival, kind="stable")
    t0 = float(arrival[order[0]])
    # the same shifted clock a simulation starting at the first arrival keeps (same floats)
    compiled = loops()
    if compiled is not None:  # the same loop compiled, without the GIL
        out_c = np.empty(n)
        compiled.fifo(np.ascontiguousarray(arrival[order] - t0, dtype=np.float64),
                      np.ascontiguousarray(service[order], dtype=np.float64), max(1, int(servers)), out_c)
        start[order] = out_c + t0
        return start
    arr = (arrival[order] - t0).tolist()
    svc = service[order].astype(np.float64).tolist()
    free = [0.0] * max(1, int(servers))  # a heap of the moments each server comes free
    out = [0.0] * n
    for k in range(n):  # bounded by max_jobs: a few thousand heap operations
        begin = max(arr[k], free[0])
        out[k] = begin
        heapq.heapreplace(free, begin + svc[k])
    start[order] = np.asarray(out) + t0
    return start


@dataclass(frozen=True, slots=True, kw_only=True)
class PoolSimulation:
    """A pool simulated before and after a change; ``replay`` carries the cases' new throughput times."""

    activity: str
    servers_before: int
    servers_after: int
    jobs: int
    replications: int
    utilisation_before: float
    utilisation_after: float
    wait_real_mean_h: float  # real mean wait of the simulated jobs (from their estimated ready times)
    wait_sim_before_mean_h: float  # the fitted simulation's mean wait before the change (fit check)
    wait_sim_after_mean_h: float
    replay: Replay
    per_replication_h: tuple[float, ...]  # mean hours per case saved in each replication

    def saving(self, **kwargs: object) -> Saving:
        """The saving; ``hours_per_case_low``/``high`` also span the replications."""
        s = self.replay.saving(**kwargs)  # type: ignore[arg-type]
        lo = min([s.hours_per_case_low or s.hours_per_case, *self.per_replication_h])
        hi = max([s.hours_per_case_high or s.hours_per_case, *self.per_replication_h])
        return Saving(**{**{f: getattr(s, f) for f in Saving.__dataclass_fields__},
                         "hours_per_case_low": round(lo, 4), "hours_per_case_high": round(hi, 4)})


def _pool_servers(a: CaseArrays, rows: np.ndarray, resource: np.ndarray) -> int:
    """Median number of the pool's resources active per week."""
    week = np.floor((a.begin[rows] + a.origin_ns / _NS + 3 * 86_400.0) / (7 * 86_400.0)).astype(np.int64)
    if week.shape[0] == 0:
        return 1
    res = resource[rows]
    span = int(res.max()) - int(res.min()) + 1
    pairs = np.unique((week - week.min()) * span + (res - res.min()))  # distinct (week, resource) as one key
    per_week = np.bincount(pairs // span)
    per_week = per_week[per_week > 0]
    return max(1, round(float(np.median(per_week)))) if per_week.shape[0] else 1


def _ready_estimate(ready: np.ndarray, start: np.ndarray, end: np.ndarray, servers: int) -> np.ndarray:
    """Move each ready time up to the last moment before its start at which a server was idle (working axis)."""
    n = start.shape[0]
    t = np.concatenate([start, end])
    step = np.concatenate([np.ones(n), -np.ones(n)])
    # at equal times a job starting counts before one ending (no fake idle): the starts come first in t, so a
    # stable sort by time alone is np.lexsort((-step, t))
    order = np.argsort(t, kind="stable")
    t, step = t[order], step[order]
    busy = np.cumsum(step)
    idle_end = np.where((busy < servers) & (np.diff(t, append=t[-1]) > 0), np.append(t[1:], t[-1]), -np.inf)
    seg_start = t
    # last idle moment before each job's start: idle segments starting before it, capped at the start
    k = np.searchsorted(seg_start, start, side="left") - 1
    best = np.maximum.accumulate(idle_end)
    last_idle = np.where(k >= 0, np.minimum(best[np.maximum(k, 0)], start), -np.inf)
    return np.asarray(np.minimum(np.maximum(ready, last_idle), start), dtype=np.float64)


def simulate_capacity(log: EventLog, activity: str, *, extra_servers: int | None = None,
                      target_utilisation: float = 0.75, replications: int = 3, max_jobs: int = 5000,
                      seed: int = 0, arrays: CaseArrays | None = None,
                      calendars: list[WeekCalendar | None] | None = None) -> PoolSimulation:
    """Simulate the pool that performs ``activity`` with its learned size and with more servers.

    Parameters
    ----------
    log : EventLog
        Needs resources; start times make the service times real (without them services are 0).
    activity : str
        The congested activity; its pool is the resources who perform it.
    extra_servers : int, optional
        Servers to add. Default: enough to bring the pool's utilisation to ``target_utilisation``.
    replications : int, default 3
        Replication 0 replays the real service times; the others resample them (common random numbers).
    max_jobs : int, default 5000
        At most this many consecutive jobs (the middle of the log) are simulated, plus up to half as many
        that were still queued when that window opened (the pool starts from its real state).

    Raises
    ------
    ParameterError
        The log has no resources for ``activity``, or an argument is out of range.
    """
    if replications < 1 or max_jobs < 10:
        raise ParameterError(f"simulate_capacity needs replications >= 1 and max_jobs >= 10. "
                             f"Got replications={replications!r}, max_jobs={max_jobs!r} instead.")
    a = arrays if arrays is not None else case_arrays(log)
    cals = calendars if calendars is not None else learn_calendars(a)
    res = log.frame["resource"]
    res_codes = res.cat.codes.to_numpy().astype(np.int64) if hasattr(res, "cat") else \
        res.astype("category").cat.codes.to_numpy().astype(np.int64)
    target = named(log, a, a.act, [activity])
    pool_res = np.unique(res_codes[target & (res_codes >= 0)])
    if pool_res.shape[0] == 0:
        raise ParameterError(f"The 'activity' parameter of simulate_capacity names {activity!r}, which has no "
                             f"resources in the log. Give a log with a resource column.")
    jobs = np.flatnonzero(np.isin(res_codes, pool_res))
    servers = _pool_servers(a, jobs, res_codes)
    # the pool's calendar: learned from all its jobs (round the clock when none is found)
    sub = CaseArrays(case=a.case[jobs], act=np.zeros(jobs.shape[0], dtype=np.int32), names=("pool",),
                     begin=a.begin[jobs], end=a.end[jobs], bounds=np.array([0, jobs.shape[0]]), origin_ns=a.origin_ns)
    cal = learn_calendars(sub)[0] or WeekCalendar(np.ones(168, dtype=bool))
    off = a.origin_ns / _NS
    sw = cal.to_work(a.begin[jobs] + off)
    svc = np.maximum(a.end[jobs] - a.begin[jobs], 0.0)
    pe = a.prev_end()[jobs]
    rw = np.where(np.isnan(pe), sw, cal.to_work(np.nan_to_num(pe) + off))
    aw = _ready_estimate(np.minimum(rw, sw), sw, sw + svc, servers)
    # bounded window: max_jobs consecutive jobs (by ready time) in the middle of the log, started from the
    # real state of the pool: jobs still queued when the window opens join it, and jobs then in service
    # hold their servers until they really ended (in the "before" run only: with more capacity the
    # backlog would not have built up)
    order = np.argsort(aw, kind="stable")
    blockers = np.zeros(0)
    if order.shape[0] > max_jobs:
        lo = (order.shape[0] - max_jobs) // 2
        t0 = aw[order[lo]]
        head = order[:lo]
        queued = head[sw[head] >= t0][-max_jobs // 2:]
        busy_at = head[(sw[head] < t0) & (sw[head] + svc[head] > t0)]
        blockers = sw[busy_at] + svc[busy_at]
        order = np.concatenate([queued, order[lo: lo + max_jobs]])
    win = jobs[order]
    arr, service, real_start = aw[order], svc[order], sw[order]
    span = max(float(arr.max() - arr.min()), 1.0)
    load = float(service.sum()) / span
    if extra_servers is None:
        extra_servers = max(1, int(np.ceil(load / target_utilisation)) - servers)
    if extra_servers < 1:
        raise ParameterError(f"The 'extra_servers' parameter of simulate_capacity must be >= 1. "
                             f"Got {extra_servers!r} instead.")
    after = servers + extra_servers
    acts = a.act[win]
    cut_sum = np.zeros(win.shape[0])
    per_rep: list[float] = []
    wb_all, wa_all = [], []
    base_cases = np.zeros(a.n_cases, dtype=bool)
    base_cases[a.case[win]] = True
    has_pool = np.zeros(a.n_cases, dtype=bool)
    has_pool[a.case[jobs]] = True
    covered = base_cases | ~has_pool
    for r in range(replications):
        if r == 0:
            s = service
        else:  # resample each job's service from its activity's observed services (same draw in both runs)
            rng = np.random.default_rng([seed, r])
            s = service.copy()
            for code in np.unique(acts):
                sel = np.flatnonzero(acts == code)
                s[sel] = service[sel][rng.integers(0, sel.shape[0], size=sel.shape[0])]
        wb = _with_blockers(arr, s, servers, blockers) - arr
        wa = fifo_starts(arr, s, after) - arr
        wb_all.append(wb.mean())
        wa_all.append(wa.mean())
        cut = np.maximum(wb - wa, 0.0)
        cut_sum += cut
        per_rep.append(_replay_cut(a, cals, win, cut, cal, covered).saved_s.mean() / 3600.0)
    rep = _replay_cut(a, cals, win, cut_sum / replications, cal, covered)
    return PoolSimulation(activity=activity, servers_before=servers, servers_after=after, jobs=int(win.shape[0]),
                          replications=replications, utilisation_before=round(load / servers, 3),
                          utilisation_after=round(load / after, 3),
                          wait_real_mean_h=round(float((real_start - arr).mean()) / 3600, 3),
                          wait_sim_before_mean_h=round(float(np.mean(wb_all)) / 3600, 3),
                          wait_sim_after_mean_h=round(float(np.mean(wa_all)) / 3600, 3),
                          replay=rep, per_replication_h=tuple(round(float(x), 4) for x in per_rep))


def _with_blockers(arrival: np.ndarray, service: np.ndarray, servers: int, busy_until: np.ndarray) -> np.ndarray:
    """Start times when some servers are still busy (until ``busy_until``) as the window opens."""
    if busy_until.shape[0] == 0:
        return fifo_starts(arrival, service, servers)
    t_open = float(arrival.min()) - 1.0
    arr = np.concatenate([np.full(busy_until.shape[0], t_open), arrival])
    svc = np.concatenate([np.maximum(busy_until - t_open, 0.0), service])
    return fifo_starts(arr, svc, servers)[busy_until.shape[0]:]


def _replay_cut(a: CaseArrays, cals: list[WeekCalendar | None], rows: np.ndarray, cut_w: np.ndarray,
                cal: WeekCalendar, covered: np.ndarray) -> Replay:
    """Replay the cases with each simulated job's wait cut by ``cut_w`` working seconds (pool calendar)."""
    off = a.origin_ns / _NS
    new_begin = a.begin.copy()
    sw = cal.to_work(a.begin[rows] + off)
    pe = a.prev_end()[rows]
    rw = np.where(np.isnan(pe), sw, cal.to_work(np.nan_to_num(pe) + off))
    moved = cal.from_work(np.maximum(sw - cut_w, rw)) - off
    new_begin[rows] = np.minimum(np.where(cut_w > 0, moved, a.begin[rows]), a.begin[rows])
    before = a.throughput()[covered]
    after = _retimed_throughput(a, advance=a.begin - new_begin, calendars=cals)[covered]
    return Replay(before_s=before, after_s=np.minimum(after, before), period_days=_period_days(a),
                  method="simulation+replay")
