"""``suggest``: findings -> ranked suggestions, each with a saving estimated on the real cases.

The catalogue (:mod:`._catalogue`) turns findings into candidate changes; this module estimates each
one by counterfactual replay of every case (:mod:`._replay`) or, where queues decide the outcome
(``capacity``), by a queue simulation fitted to the log (:mod:`._simulate`) whose per-job wait
changes are replayed through the cases. A candidate whose saving cannot be estimated from the log
(no matching events, no resources to simulate) is left out rather than given an invented number.

Examples
--------
>>> import flowopt
>>> from flowopt.analysis import Finding, Findings
>>> log = flowopt.datasets.example_log()
>>> f = Finding(kind="redundant_signoff", category="design", severity="high",
...             activities=("Regional director approval",), summary="...",
...             evidence={"step": "Regional director approval", "reason": "rubber_stamp", "protected": False,
...                       "executions": 250, "rejections": 0, "returns": 0, "reject_rate_upper": 0.012})
>>> s = suggest(log, Findings([f]), flowopt.discover_graph(log), log.config)
>>> s[0].heuristic, s[0].estimated_saving.hours_per_case > 0
('task_elimination', True)
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from flowopt._memo import PerObjectCache
from flowopt.analysis import Findings
from flowopt.discovery import ProcessGraph
from flowopt.errors import FlowoptError
from flowopt.log import EventLog
from flowopt.options import Config
from flowopt.suggest._catalogue import Candidate, Change, candidates
from flowopt.suggest._replay import (
    CaseArrays,
    Replay,
    WeekCalendar,
    activity_codes,
    case_arrays,
    cases_where,
    in_codes,
    learn_calendars,
    named,
    replay_advance,
    replay_parallel,
    replay_release,
    replay_remove,
    sample_cases,
)
from flowopt.suggest._simulate import simulate_capacity
from flowopt.suggest._types import Saving, Suggestion, Suggestions

__all__ = ["estimate", "suggest"]

_REMOVES_WORK = ("task_elimination", "empowerment", "knockout_reordering")


MIN_HOURS_PER_CASE = 0.05  # three minutes per case: below this a change is not worth proposing
_THREADS_MIN_EVENTS = 200_000  # from this size analyze and suggest use [analysis] threads threads
MAX_REPLAY_CASES = 200_000  # larger logs are replayed on a seeded random sample of this many cases


def suggest(log: EventLog, findings: Findings, graph: ProcessGraph, config: Config) -> Suggestions:
    """Map findings to redesign heuristics and estimate each one's saving on the log's real cases.

    Parameters
    ----------
    log : EventLog
    findings : Findings
        From the detectors (:data:`flowopt.analysis.DETECTORS`).
    graph : ProcessGraph
        The log's process graph (service-time statistics for some rules).
    config : Config
        ``signoffs.protected`` (never eliminated) and ``costs`` (prices the savings).

    Returns
    -------
    Suggestions
        Ranked by cost saved, then total hours saved; only suggestions that save at least
        :data:`MIN_HOURS_PER_CASE` hours (three minutes) per case on average.

    Notes
    -----
    A log of more than :data:`MAX_REPLAY_CASES` cases is replayed on a deterministic random sample of
    that many whole cases (seed 0): per-case figures are the sample's, totals (``hours_total``,
    ``hours_per_week``, ``cost_total``, ``cases_affected``) are scaled to the whole log, and the
    suggestion's evidence says so (``evidence["sample"] = {"cases": n, "of": N}``). The capacity
    simulation always uses the whole log. Smaller logs are replayed case by case, in full.
    """
    if len(log) == 0 or len(findings) == 0:
        return Suggestions([])
    full, cals = replay_inputs(log)
    arrays = sample_cases(full, MAX_REPLAY_CASES)
    cands = candidates(findings, graph, config)

    def one(cand: Candidate) -> tuple[Saving | None, dict[str, Any]] | None:
        try:
            return estimate(log, cand, config, arrays=arrays, calendars=cals, full_arrays=full)
        except FlowoptError:
            return None  # the log cannot support an estimate for this change: leave it out

    threads = min(config.analysis.threads, len(cands))
    if len(log) >= _THREADS_MIN_EVENTS and threads > 1:  # replays are array work: threads overlap well
        with ThreadPoolExecutor(max_workers=threads) as pool:
            estimates = list(pool.map(one, cands))
    else:
        estimates = [one(cand) for cand in cands]
    out: list[Suggestion] = []
    for cand, est in zip(cands, estimates, strict=True):
        if est is None:
            continue
        saving, extra = est
        if saving is None or not saving.hours_total > 0 or saving.hours_per_case < MIN_HOURS_PER_CASE:
            continue  # nothing to gain, or a few minutes per case: not worth changing a flow for
        out.append(Suggestion(heuristic=cand.heuristic, finding_ids=cand.finding_ids, action=cand.action,
                              activities=cand.activities, estimated_saving=saving, risk=cand.risk,
                              evidence={**cand.evidence, **extra}, protected=cand.protected))
    return Suggestions(_best_per_subject(out))


_INPUTS: PerObjectCache[tuple[CaseArrays, list[WeekCalendar | None]]] = PerObjectCache(size=2)


def replay_inputs(log: EventLog) -> tuple[CaseArrays, list[WeekCalendar | None]]:
    """The log's :func:`case_arrays` (read-only) and :func:`learn_calendars`, computed once per log
    (``analyze`` prepares them in its pool while the detectors run)."""
    def compute() -> tuple[CaseArrays, list[WeekCalendar | None]]:
        full = case_arrays(log)
        for arr in (full.begin, full.end):
            arr.setflags(write=False)
        return full, learn_calendars(full)

    return _INPUTS.get(log, None, compute)


def _best_per_subject(items: list[Suggestion]) -> list[Suggestion]:
    """One suggestion per heuristic and activities: the larger saving, with every finding id behind it."""
    best: dict[tuple[str, tuple[str, ...]], Suggestion] = {}
    ids: dict[tuple[str, tuple[str, ...]], set[str]] = {}
    for s in items:
        key = (s.heuristic, s.activities)
        ids.setdefault(key, set()).update(s.finding_ids)
        cur = best.get(key)
        if cur is None or (s.estimated_saving.hours_total, s.id) > (cur.estimated_saving.hours_total, cur.id):
            best[key] = s
    out = []
    for key, s in best.items():
        fids = tuple(sorted(ids[key]))
        out.append(Suggestion(heuristic=s.heuristic, finding_ids=fids, action=s.action, activities=s.activities,
                              estimated_saving=s.estimated_saving, risk=s.risk, evidence=s.evidence,
                              protected=s.protected))
    return out


def estimate(log: EventLog, cand: Candidate, config: Config, *, arrays: CaseArrays | None = None,
             calendars: list[WeekCalendar | None] | None = None,
             full_arrays: CaseArrays | None = None) -> tuple[Saving | None, dict[str, Any]]:
    """The saving of one candidate, and extra evidence on how it was estimated (``None``: not estimable).

    ``arrays`` may be a sample of the log's cases (:func:`~flowopt.suggest._replay.sample_cases`); then
    ``full_arrays`` are the whole log's (computed when not given) and the replay's totals are scaled.
    """
    a = arrays if arrays is not None else case_arrays(log)
    fa = a if a.rows is None else (full_arrays if full_arrays is not None else case_arrays(log))
    cals = calendars if calendars is not None else learn_calendars(fa)
    ch = cand.change
    costs = config.costs
    service_rate = costs.default_hourly if cand.heuristic in _REMOVES_WORK else None
    kw: dict[str, Any] = {"waiting_hourly": costs.waiting_hourly, "service_hourly": service_rate,
                          "currency": costs.currency}
    extra: dict[str, Any] = {}
    if ch.kind == "capacity":
        sim = simulate_capacity(log, ch.activities[0], arrays=fa, calendars=cals)
        extra = {"simulation": {"servers_before": sim.servers_before, "servers_after": sim.servers_after,
                                "jobs_simulated": sim.jobs, "replications": sim.replications,
                                "utilisation_before": sim.utilisation_before, "utilisation_after": sim.utilisation_after,
                                "wait_real_mean_h": sim.wait_real_mean_h,
                                "wait_sim_before_mean_h": sim.wait_sim_before_mean_h,
                                "wait_sim_after_mean_h": sim.wait_sim_after_mean_h}}
        return sim.saving(**kw), extra
    rep = _replay(log, ch, a, cals, fa)
    if rep is None or not np.any(rep.saved_s != 0):
        return None, extra
    if a.rows is not None:
        extra["sample"] = {"cases": a.n_cases, "of": a.of_cases}
    if ch.kind == "release" and ch.schedule == "daily" and ch.edge is not None:
        alt = replay_release(log, ch.edge[1], source=ch.edge[0], schedule="immediate", arrays=a, calendars=cals)
        extra["if_case_by_case_hours_per_case"] = round(float(alt.saved_s.mean()) / 3600.0, 4)
    return rep.saving(**kw), extra


def _on(a: CaseArrays, per_row: np.ndarray | None = None, per_case: np.ndarray | None = None) -> np.ndarray | None:
    """A per-row (or per-case) array of the whole log restricted to the rows (cases) of ``a`` (a sample or not)."""
    if per_row is not None:
        return per_row if a.rows is None else per_row[a.rows]
    if per_case is not None:
        return per_case if a.cases is None else per_case[a.cases]
    return None


def _rows_on(a: CaseArrays, per_row: np.ndarray) -> np.ndarray:
    """``per_row`` restricted to the rows of ``a`` (never None)."""
    return per_row if a.rows is None else per_row[a.rows]


def _replay(log: EventLog, ch: Change, a: CaseArrays, cals: list[WeekCalendar | None],
            fa: CaseArrays | None = None) -> Replay | None:
    """Replay ``ch`` on ``a``; row and case selections are built on the whole log's arrays ``fa``."""
    fa = a if fa is None else fa
    if ch.kind == "remove":
        rows, cases = _subset(log, ch, fa)
        if ch.subset is not None and rows is None and cases is None:
            return None
        return replay_remove(log, ch.activities, rows=_on(a, per_row=rows), cases=_on(a, per_case=cases), arrays=a,
                             calendars=cals)
    if ch.kind == "parallel":
        return replay_parallel(log, ch.activities, arrays=a, calendars=cals)
    if ch.kind == "release":
        src = ch.edge[0] if ch.edge else None
        return replay_release(log, ch.activities[0], source=src, schedule=ch.schedule or "immediate",  # type: ignore[arg-type]
                              arrays=a, calendars=cals)
    if ch.kind == "first_time_right":
        return replay_remove(log, ch.activities, rows=_on(a, per_row=_rework_rows(log, ch.activities, fa)), arrays=a,
                             calendars=cals)
    if ch.kind == "cut_wait":
        adv = _cause_advance(log, ch, fa)
        return None if adv is None else replay_advance(log, _rows_on(a, adv), arrays=a, calendars=cals)
    if ch.kind == "handoff_merge" and ch.edge is not None:
        return replay_advance(log, _rows_on(a, _merge_advance(log, ch, fa)), arrays=a, calendars=cals)
    return None


def _subset(log: EventLog, ch: Change, a: CaseArrays) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(rows, cases) masks that restrict a removal; both ``None`` when there is no subset or it cannot be built."""
    sub = ch.subset
    if sub is None:
        return None, None
    if sub[0] == "attribute":
        _, attr, side, thr = sub
        return None, cases_where(log, attr, "<" if side == "below" else ">=", float(thr))
    if sub[0] == "after":
        return named(log, a, a.prev_act(), [sub[1]]), None
    if sub[0] == "repeat_role":
        role = log.frame["role"]
        if role.isna().all():
            return None, None
        codes = role.cat.codes.to_numpy().astype(np.int64) if hasattr(role, "cat") else \
            role.astype("category").cat.codes.to_numpy().astype(np.int64)
        key = a.case * (int(codes.max()) + 2) + codes + 1
        _, first = np.unique(key, return_index=True)
        seen_before = np.ones(key.shape[0], dtype=bool)
        seen_before[first] = False
        return seen_before & (codes >= 0), None
    if sub[0] == "rejected_by":
        from flowopt.analysis._signoff_steps import signoff_steps

        ex = signoff_steps(log, log.config).executions
        hit = ex[(ex["step"].astype(str) == sub[1]) & ex["outcome"].isin(["rejected", "returned"])]
        if hit.empty:
            return None, None
        cases = np.zeros(a.n_cases, dtype=bool)
        cases[hit["case"].to_numpy(dtype=np.int64)] = True
        return None, cases
    return None, None


def _rework_rows(log: EventLog, loop: tuple[str, ...], a: CaseArrays) -> np.ndarray:
    """Rows that a first-time-right case would not have: every loop activity but the first one's first run."""
    codes = activity_codes(log, loop)
    head = activity_codes(log, loop[:1])
    ins = in_codes(a.act, codes, len(a.names))
    key = a.case * (len(a.names) + 1) + a.act
    _, first = np.unique(key, return_index=True)
    is_first = np.zeros(key.shape[0], dtype=bool)
    is_first[first] = True
    return ins & ~(in_codes(a.act, head, len(a.names)) & is_first)


def _cause_advance(log: EventLog, ch: Change, a: CaseArrays) -> np.ndarray | None:
    """Per row: the seconds of the edge's wait due to ``ch.causes`` (from the wait-cause analysis)."""
    from flowopt.analysis._waits import compute_waits

    wt = compute_waits(log)
    if wt.row.shape[0] == 0 or not all(c in wt.causes_ns for c in ch.causes):
        return None
    sel = named(log, a, a.act[wt.row], ch.activities)
    if ch.edge is not None:
        sel &= named(log, a, a.act[wt.pred], [ch.edge[0]])
    idx = np.flatnonzero(sel)  # the edge's waits: their causes summed for them alone
    vals = np.zeros(idx.shape[0])
    for cause in ch.causes:
        vals += wt.causes_ns[cause][idx].astype(np.float64) / 1e9
    if ch.cap_at_median and vals.shape[0]:
        vals = np.maximum(vals - float(np.median(vals)), 0.0)
    adv = np.zeros(a.end.shape[0])
    adv[wt.row[idx]] = vals
    return adv if adv.any() else None


def _merge_advance(log: EventLog, ch: Change, a: CaseArrays) -> np.ndarray:
    """Per row: hand-off wait above ``keep_wait_s`` on the edge, where different people did the two steps — but
    no more than the wait spent queueing at the next person where the wait-cause split measured it.

    ``a`` holds every row of the log. A merge removes the queue at the second person: the time that person was
    busy with other cases or off duty (contention, prioritization, unavailability). Where the split measured
    that person's busy time and found them free and on duty (extraneous: the case waited for the customer or
    a third party) or the case waiting for a batch, one person doing both steps would not start the second
    sooner. Where it could not measure it (no start times, no resource, a shared label), the whole extra wait
    counts, as the hand-off finding compares it.
    """
    from flowopt.analysis._waits import compute_waits

    assert ch.edge is not None
    res = log.frame["resource"]
    rc = res.cat.codes.to_numpy() if hasattr(res, "cat") else res.astype("category").cat.codes.to_numpy()
    prev_rc = a.prev(rc, -1)
    sel = named(log, a, a.act, [ch.edge[1]]) & named(log, a, a.prev_act(), [ch.edge[0]])
    sel &= (rc != prev_rc) | (rc < 0)
    gap = a.begin - np.nan_to_num(a.prev_end())
    adv = np.where(sel, np.maximum(gap - ch.keep_wait_s, 0.0), 0.0)
    wt = compute_waits(log)
    measured = wt.contention_measured
    queue = np.full(adv.shape[0], np.inf)
    queue[wt.row[measured]] = (wt.causes_ns["contention"][measured] + wt.causes_ns["prioritization"][measured]
                               + wt.causes_ns["unavailability"][measured]) / 1e9
    out: np.ndarray = np.minimum(adv, queue)
    return out
