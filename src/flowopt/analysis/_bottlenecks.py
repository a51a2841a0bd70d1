"""Detector ``bottleneck``: activities where cases queue for capacity.

For every activity, the waits of its instances (see :mod:`._waits`) give the *queue time*: the time
spent waiting for its resources — contention, prioritization and unavailability (off-duty time
counts only when the resource had no slack, see :mod:`._waits`). Batching and extraneous waiting are
not queueing for capacity and are left out. Where the log cannot separate causes (no starts or no
resources), the queue time is the wait minus batching and ``causes_separated`` is false.

An activity is a bottleneck when cases wait longer before it than it takes (median wait before ≥
median service, where service is known), its queue time is at least 2% of all case throughput time
(the *effect*), at least ``analysis.min_cases`` cases passed it, and there is evidence of capacity
pressure:

- the utilisation of its resources — busy time (the union of their activity instances, any activity)
  ÷ their working time (learned calendars, from each resource's first to last instant) — is at least
  0.8, or
- its queue grows: the number of cases enabled but not yet started, sampled daily and averaged
  weekly, has an increasing Mann–Kendall trend (p < 0.01: many activities are tested), it grows by
  at least 2 cases and half its median length over the observed span (Theil–Sen slope), and its
  share of all open cases grows too (a log that merely ramps up is not a growing queue).

Severity: :func:`._stats.severity` from the effect, a confidence (from the 95% order-statistic CI of
the median wait; at least 0.95 when the queue provably grows; times 0.8 when causes could not be separated) and
the number of cases.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from flowopt._sorting import code_groups
from flowopt.analysis._findings import Finding
from flowopt.analysis._hotspots import _config, _h, throughput_total_s
from flowopt.analysis._stats import mann_kendall, median_ci, severity
from flowopt.analysis._waits import CAUSES, WaitTable, _resource_order, compute_waits
from flowopt.discovery import ProcessGraph
from flowopt.discovery._kernels import NAT, case_span, count_distinct
from flowopt.log import EventLog
from flowopt.options import Config

__all__ = ["find_bottlenecks", "queue_trend", "utilisation"]

_NS = 1e9
_DAY_NS = 86_400 * 10**9
_MIN_EFFECT = 0.02
_UTIL_PRESSURE = 0.8
_TREND_ALPHA = 0.01  # many activities are tested at once
_MIN_GROWTH = 2.0  # cases the queue must grow by over the observed span


def _weekly(q: np.ndarray) -> np.ndarray:
    k = len(q) // 7
    out: np.ndarray = q[: k * 7].reshape(k, 7).mean(axis=1)
    return out


def queue_trend(enabled_ns: np.ndarray, began_ns: np.ndarray, case_first_ns: np.ndarray | None = None,
                case_last_ns: np.ndarray | None = None) -> dict[str, Any]:
    """Trend of an activity's queue (enabled, not yet begun), sampled at noon UTC every day, tested weekly.

    Sampling stops at the last enabling, so the drain at the end of an extract (cases still queued
    when the log was cut are missing) does not hide a growing queue.

    The queue is tested on weekly means (daily samples of a queue are strongly autocorrelated and
    would overstate significance). When the cases' first and last instants are given, the queue's
    share of all open cases must grow too: a log that merely ramps up (more cases open every week)
    does not make every queue a growing one.

    Examples
    --------
    >>> day = 86_400 * 10**9
    >>> en = np.arange(120) * day // 2            # two arrivals a day
    >>> began = np.arange(120) * day * 3 // 4     # served slower than they come
    >>> queue_trend(en, began)["trend"]
    'increasing'
    """
    none = {"trend": "none", "p_value": 1.0, "slope_per_day": 0.0, "samples": 0}
    if len(enabled_ns) < 4:
        return none
    lo = int(enabled_ns.min()) // _DAY_NS
    hi = int(min(enabled_ns.max(), began_ns.max())) // _DAY_NS  # where both streams are observed
    t = (np.arange(lo, hi + 1, dtype=np.int64) * _DAY_NS) + _DAY_NS // 2
    q = (np.searchsorted(np.sort(enabled_ns), t, side="right")
         - np.searchsorted(np.sort(began_ns), t, side="right")).astype(np.float64)
    qw = _weekly(q)
    if len(qw) < 4:
        return none
    r = mann_kendall(qw, alpha=_TREND_ALPHA)
    growth = r.slope * len(qw)
    out: dict[str, Any] = {"trend": r.trend, "p_value": r.p_value, "slope_per_day": r.slope / 7.0, "samples": r.n,
                           "growth_over_span": growth, "queue_median": float(np.median(q)),
                           "queue_max": float(q.max())}
    if r.trend == "increasing" and growth < max(_MIN_GROWTH, 0.5 * float(np.median(q))):
        out["trend"] = "none"  # significant but immaterial
    if case_first_ns is not None and case_last_ns is not None and r.trend == "increasing":
        wip = (np.searchsorted(np.sort(case_first_ns), t, side="right")
               - np.searchsorted(np.sort(case_last_ns), t, side="right")).astype(np.float64)
        share = _weekly(q / np.maximum(wip, 1.0))
        rs = mann_kendall(share, alpha=_TREND_ALPHA)
        out["share_of_open_cases_trend"] = rs.trend
        out["share_p_value"] = rs.p_value
        if rs.trend != "increasing":
            out["trend"] = "none"
    return out


def utilisation(log: EventLog, wt: WaitTable, resource_codes: np.ndarray) -> float | None:
    """Busy time ÷ working time of the given resources (codes of the frame's ``resource`` categories, none
    negative; None when starts or resources are unknown)."""
    c = log.codes()
    f = log.frame
    if not hasattr(f["resource"], "cat"):
        return None
    res = f["resource"].cat.codes.to_numpy().astype(np.int64)
    # the rows with a start by resource, then start (the wait table's, or one sort when it has none): the wanted
    # resources' slices, not a pass over the whole log per resource
    order, bounds = wt.resource_order if wt.resource_order is not None else \
        _resource_order(res, c.start, len(f["resource"].cat.categories))
    codes = np.unique(np.asarray(resource_codes, dtype=np.int64))
    sel = np.concatenate([order[bounds[r]:bounds[r + 1]] for r in codes.tolist()]) if codes.shape[0] \
        else np.zeros(0, dtype=np.int64)
    cuts = np.flatnonzero(np.diff(res[sel])) + 1
    busy = 0
    spans: list[tuple[int, int, int]] = []  # per resource: (its calendar, first start, last end)
    for o in np.split(sel, cuts):  # loop over resources
        if len(o) < 2:
            continue
        s, e = c.start[o], np.maximum(c.end[o], c.start[o])
        cm = np.maximum.accumulate(e)
        prev = np.concatenate([[s[0]], cm[:-1]])
        busy += int(np.sum(np.maximum(e - np.maximum(s, prev), 0) * (e > prev)))
        spans.append((int(wt.calendars.row_calendar[o[0]]), int(s[0]), int(cm[-1])))
    cal, first, last = (np.array(v, dtype=np.int64) for v in zip(*spans, strict=True)) if spans else \
        (np.zeros(0, dtype=np.int64),) * 3
    work = sum(int(w) for w in wt.calendars.working_ns(cal, first, last))  # one call for all resources
    if work <= 0:
        return None
    return busy / work


def find_bottlenecks(log: EventLog, graph: ProcessGraph | None = None,
                     config: Config | None = None) -> list[Finding]:
    """Activities where cases queue for capacity, with queue time, service time, trend and utilisation.

    Parameters
    ----------
    log : EventLog
    graph : ProcessGraph, optional
        Unused (computed from the log); accepted for the detector signature.
    config : Config, optional
        Defaults to ``log.config``; uses ``analysis.min_cases`` and ``analysis.top_n``.

    Returns
    -------
    list of Finding
        Kind ``bottleneck``, category ``design``, most costly first.

    Examples
    --------
    >>> import flowopt
    >>> found = find_bottlenecks(flowopt.datasets.example_log())
    >>> all(f.kind == "bottleneck" for f in found)
    True
    """
    min_cases, top_n = _config(log, config, "find_bottlenecks")
    wt = compute_waits(log)
    c = log.codes()
    f = log.frame
    if len(wt.row) == 0:
        return []
    tp_total, _ = throughput_total_s(log)
    if tp_total <= 0:
        return []
    names = c.activity_names
    act = c.activity[wt.row].astype(np.int64)
    separated = wt.contention_measured
    queue_ns = np.where(separated, wt.causes_ns["contention"] + wt.causes_ns["prioritization"]
                        + wt.causes_ns["unavailability"], wt.wait_ns - wt.causes_ns["batching"])
    queue_tot = np.bincount(act, weights=queue_ns / _NS, minlength=len(names))
    res = f["resource"].cat.codes.to_numpy().astype(np.int64) if hasattr(f["resource"], "cat") \
        else np.full(len(c.case), -1, dtype=np.int64)
    known = c.start != NAT
    first_ns, last_ns = case_span(c.case_start, c.start, c.end)
    out: list[Finding] = []
    by_act, act_lo = code_groups(act, len(names))
    for a in np.flatnonzero(queue_tot / tp_total >= _MIN_EFFECT):  # loop over activities
        sel = by_act[act_lo[a]:act_lo[a + 1]]  # the activity's waits, in row order (a stable grouping)
        rows = wt.row[sel]
        n_cases = count_distinct(c.case[rows])
        if n_cases < min_cases:
            continue
        w = wt.wait_ns[sel] / _NS
        wait_med = float(np.median(w))
        a_rows = np.flatnonzero(c.activity == a)
        svc = (c.end[a_rows][known[a_rows]] - c.start[a_rows][known[a_rows]]) / _NS
        svc_med = float(np.median(svc)) if len(svc) else None
        if svc_med is not None and wait_med < svc_med:
            continue
        began = np.where(wt.start_known[sel], c.start[rows], c.end[rows])
        trend = queue_trend(c.end[wt.pred[sel]], began, first_ns, last_ns)
        sep_share = float(separated[sel].mean())
        util = utilisation(log, wt, np.unique(res[a_rows][(res[a_rows] >= 0) & known[a_rows]])) \
            if sep_share > 0 else None
        pressure = (util is not None and util >= _UTIL_PRESSURE) or trend["trend"] == "increasing"
        if not pressure:
            continue
        lo, hi = median_ci(w)
        conf = float(np.clip(1.0 - (hi - lo) / (2.0 * wait_med), 0.0, 1.0)) if wait_med > 0 else 0.0
        if trend["trend"] == "increasing":
            conf = max(conf, 0.95)
        if sep_share < 0.5:
            conf *= 0.8
        effect = float(queue_tot[a] / tp_total)
        sev = severity(effect, conf, n_cases, min_support=min_cases)
        if sev is None:
            continue
        causes = {k: float(wt.causes_ns[k][sel].sum() / _NS) for k in CAUSES}
        wait_tot = float(w.sum())
        name = names[a]
        why = []
        if util is not None and util >= _UTIL_PRESSURE:
            why.append(f"its resources are busy {util:.0%} of their working time")
        if trend["trend"] == "increasing":
            why.append(f"the queue grows by {trend['slope_per_day']:.2f} cases a day")
        summary = (f"Cases queue {_h(wait_med)} (median) before '{name}'"
                   + (f", which takes {_h(svc_med)}" if svc_med is not None else "")
                   + f"; queueing is {effect:.0%} of all throughput time; " + " and ".join(why))
        top_rows = np.argsort(-w, kind="stable")[:5]
        examples = [str(x) for x in c.case_ids[c.case[rows[top_rows]]]]
        ev: dict[str, Any] = {
            "activity": name, "count": int(sel.shape[0]), "cases": n_cases,
            "wait_before_median_s": wait_med, "wait_before_p90_s": float(np.quantile(w, 0.9)),
            "wait_before_total_s": wait_tot, "wait_before_median_ci_s": [lo, hi],
            "queue_total_s": float(queue_tot[a]), "service_median_s": svc_med,
            "share_of_throughput": effect, "wait_share_of_throughput": wait_tot / tp_total,
            "queue_trend": trend, "utilisation": util, "causes": causes,
            "causes_separated": sep_share >= 0.5, "confidence": round(conf, 4),
            "resources": len(np.unique(res[a_rows][res[a_rows] >= 0])), "example_cases": examples,
            "notes": list(wt.notes),
        }
        out.append(Finding(kind="bottleneck", category="design", severity=sev, activities=(name,), summary=summary,
                           evidence=ev, cases_affected=n_cases, example_cases=tuple(examples),
                           score=float(queue_tot[a]) / 3600.0))
    out.sort(key=lambda x: (-x.score, x.id))
    return out[:top_n]
