"""KPIs a service team is judged by (the ``kpis`` section of the JSON document).

Every value is a plain float / int / str / None (or a list / dict of them), computed with vectorised
passes over the log's codes, and deterministic for a given log and config.

Keys
----
- ``cases``, ``events_per_case``, ``throughput_p50_s``, ``throughput_p90_s``, ``throughput_mean_s``:
  case throughput time = last end − first start (first end where the start is unknown).
- ``stage_throughput``: ``{stage: {"p50_s", "p90_s", "cases"}}`` — per case, the time from its first
  event in the stage starting to its last event in the stage ending.
- ``sla_throughput_hours``, ``sla_compliance`` (share of cases within the target) and
  ``sla_stage_compliance`` (``{stage: share}`` for ``[sla] stage_hours``); None without targets.
- ``rework_rate`` (cases where some activity runs more than once), ``first_time_right_rate`` (the rest).
- ``flow_efficiency`` (time some activity of the case was being worked on ÷ throughput time, summed over
  cases whose every event has a start time; parallel work counted once), ``flow_efficiency_median``
  (per case), ``flow_efficiency_cases``; None without start times.
- ``handoffs_per_case`` (role changes between consecutive events; resources when there are no roles),
  ``handoff_level``, ``handoff_wait_median_across_s`` / ``_within_s``.
- ``cost_per_case_mean``, ``cost_per_case_median``, ``cost_currency``: from the ``[costs]`` rates; None
  when no rate is configured.
- ``complaint_rate`` (cases with a complaint), ``complaints``, ``complaint_response_median_s`` /
  ``_p90_s`` (complaint → the case's next activity), ``complaint_resolution_median_s`` / ``_p90_s``
  (complaint → the next activity named like *resolved / closed / 解决 / 办结 / 处理完毕*),
  ``complaint_response_sla_compliance``; None when the log has no complaint activity (an
  ``after_service`` activity named like *complaint / 投诉*).
- ``cases_per_week`` (mean over the weeks spanned), ``weekly``: ``[{"week": "YYYY-MM-DD" (Monday,
  UTC), "cases": completed cases, "p50_s": their median throughput}]`` and ``weekly_trend``
  (Mann–Kendall on the weekly medians: ``trend, p_value, slope_s_per_week, weeks``).
- ``notes``: ``{kpi: why it is None or partial}``.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from flowopt.analysis._costs import cost_table, distinct
from flowopt.analysis._handoffs import handoff_stats
from flowopt.analysis._rework import case_rework_mask
from flowopt.analysis._stats import mann_kendall
from flowopt.discovery import ProcessGraph
from flowopt.discovery._kernels import NAT, case_span, group_stats
from flowopt.log import EventLog
from flowopt.options import Config

__all__ = ["COMPLAINT", "RESOLUTION", "compute_kpis"]

_NS = 1e9
_WEEK_NS = 7 * 86400 * 10**9
_MONDAY_NS = 4 * 86400 * 10**9  # 1970-01-05 was a Monday
_STAGE_ORDER = ("consultation", "application", "approval", "disbursement", "after_service", "other")
COMPLAINT = re.compile(r"complain|grievance|klacht|beschwerde|投诉|客诉", re.IGNORECASE)
"""Activity names that record a complaint (in stage ``after_service``)."""
RESOLUTION = re.compile(r"resolv|solved|closed|close\b|settled|afgehandeld|解决|办结|处理完毕|完毕|结案|关闭",
                        re.IGNORECASE)
"""Activity names that close a complaint."""


def _pct(x: np.ndarray, q: float) -> float | None:
    return float(np.percentile(x, q)) if len(x) else None


def compute_kpis(log: EventLog, graph: ProcessGraph | None, config: Config) -> dict[str, Any]:
    """The KPIs of ``log`` (see the module docstring for every key).

    Parameters
    ----------
    log : EventLog
    graph : ProcessGraph or None
        Unused; kept so ``analyze`` can pass what it has.
    config : Config
        ``sla`` targets and ``costs`` rates.

    Returns
    -------
    dict
        JSON-ready values.

    Examples
    --------
    >>> import flowopt
    >>> k = compute_kpis(flowopt.datasets.example_log(), None, flowopt.Config())
    >>> k["throughput_p50_s"] <= k["throughput_p90_s"]
    True
    >>> 0 < k["flow_efficiency"] < 1, k["rework_rate"] + k["first_time_right_rate"]
    (True, 1.0)
    """
    c = log.codes()
    n = len(c.case)
    n_cases = len(c.case_start) - 1
    notes: dict[str, str] = {}
    out: dict[str, Any] = {"cases": int(n_cases), "events_per_case": float(n / n_cases) if n_cases else None}
    if n_cases == 0:
        out.update({"throughput_p50_s": None, "throughput_p90_s": None, "throughput_mean_s": None})
        out["notes"] = {"all": "the log has no events"}
        return out
    known = c.start != NAT
    begin = np.where(known, c.start, c.end)
    first, last = case_span(c.case_start, c.start, c.end)
    tp = (last - first).astype(np.float64) / _NS
    out.update({"throughput_p50_s": _pct(tp, 50), "throughput_p90_s": _pct(tp, 90),
                "throughput_mean_s": float(tp.mean())})

    stage_tp = _stage_throughput(log, begin)
    out["stage_throughput"] = {s: {"p50_s": _pct(v, 50), "p90_s": _pct(v, 90), "cases": len(v)}
                               for s, v in stage_tp.items()}
    sla = config.sla
    out["sla_throughput_hours"] = sla.throughput_hours
    out["sla_compliance"] = float(np.mean(tp <= sla.throughput_hours * 3600.0)) \
        if sla.throughput_hours is not None else None
    out["sla_stage_compliance"] = {
        s: (float(np.mean(stage_tp[s] <= h * 3600.0)) if s in stage_tp and len(stage_tp[s]) else None)
        for s, h in sorted(sla.stage_hours.items())} if sla.stage_hours else None
    if sla.throughput_hours is None:
        notes["sla_compliance"] = "no [sla] throughput_hours configured"

    rework = case_rework_mask(log)
    out["rework_rate"] = float(rework.mean())
    out["first_time_right_rate"] = float(1.0 - rework.mean())

    out.update(_flow_efficiency(c, known, first, last, notes))

    hs = handoff_stats(log)
    out["handoffs_per_case"] = hs["handoffs_per_case"]
    out["handoff_level"] = hs["level"]
    out["handoff_wait_median_across_s"] = hs["wait_median_across_s"]
    out["handoff_wait_median_within_s"] = hs["wait_median_within_s"]
    if hs["level"] is None:
        notes["handoffs_per_case"] = "the log names neither roles nor resources"

    ct = cost_table(log, config)
    cost = ct.cases.to_numpy(dtype=float)
    cost = cost[np.isfinite(cost)]
    out["cost_per_case_mean"] = float(cost.mean()) if ct.configured and len(cost) else None
    out["cost_per_case_median"] = float(np.median(cost)) if ct.configured and len(cost) else None
    out["cost_currency"] = ct.currency if ct.configured else None
    if not ct.configured:
        notes["cost_per_case_mean"] = ct.note

    out.update(_complaints(log, c, begin, config, notes))
    out.update(_weekly(last, tp))
    out["notes"] = dict(sorted(notes.items()))
    return out


def _stage_throughput(log: EventLog, begin: np.ndarray) -> dict[str, np.ndarray]:
    c = log.codes()
    stage_names = [log.stage_of(a) for a in c.activity_names]
    ordered = sorted(set(stage_names), key=lambda s: (_STAGE_ORDER.index(s) if s in _STAGE_ORDER else 99, s))
    if not ordered:
        return {}
    code_of = {s: k for k, s in enumerate(ordered)}
    act_stage = np.array([code_of[s] for s in stage_names], dtype=np.int64)
    st = act_stage[c.activity]
    m = len(ordered)
    key = c.case * m + st
    order = np.argsort(key, kind="stable")
    k_sorted = key[order]
    bounds = np.flatnonzero(np.r_[True, k_sorted[1:] != k_sorted[:-1]])
    lo = np.minimum.reduceat(begin[order], bounds)
    hi = np.maximum.reduceat(c.end[order], bounds)
    dur = (hi - lo).astype(np.float64) / _NS
    stage_of_group = k_sorted[bounds] % m
    return {s: dur[stage_of_group == k] for s, k in code_of.items()}


def _case_start_order(case: np.ndarray, s: np.ndarray, e: np.ndarray) -> np.ndarray:
    """``np.lexsort((e, s, case))`` for rows already grouped by case (non-decreasing ``case``).

    Only the cases whose rows are not already in (start, end) order are sorted: the same permutation,
    without sorting the whole log when most cases ran one step after another.
    """
    order = np.arange(case.shape[0])
    if case.shape[0] < 2:
        return order
    same = case[1:] == case[:-1]
    bad = same & ((s[1:] < s[:-1]) | ((s[1:] == s[:-1]) & (e[1:] < e[:-1])))
    if not bad.any():
        return order
    hit = np.zeros(int(case.max()) + 1, dtype=bool)
    hit[case[1:][bad]] = True
    sub = np.flatnonzero(hit[case])
    order[sub] = sub[np.lexsort((e[sub], s[sub], case[sub]))]
    return order


def _flow_efficiency(c: Any, known: np.ndarray, first: np.ndarray, last: np.ndarray,
                     notes: dict[str, str]) -> dict[str, Any]:
    starts = c.case_start[:-1]
    n_cases = len(starts)
    all_known = np.logical_and.reduceat(known, starts)
    eligible = all_known & (last > first)
    res: dict[str, Any] = {"flow_efficiency": None, "flow_efficiency_median": None,
                           "flow_efficiency_cases": int(eligible.sum())}
    if not eligible.any():
        notes["flow_efficiency"] = ("no case has start times for all its events: service time is unknown"
                                    if not all_known.any() else "no eligible case has a positive throughput time")
        return res
    # busy time = length of the union of the case's service intervals (sorted by start within case)
    rows = np.flatnonzero(eligible[c.case])
    case, s, e = c.case[rows], c.start[rows], c.end[rows]
    order = _case_start_order(case, s, e)
    case, s, e = case[order], s[order], e[order]
    new = np.r_[True, case[1:] != case[:-1]]
    seg = np.cumsum(new) - 1
    # latest end among the case's earlier-starting intervals (grouped cumulative max, shifted by one)
    run_max = pd.Series(e).groupby(seg).cummax().to_numpy()
    prev_end = np.r_[np.iinfo(np.int64).min, run_max[:-1]]
    prev_end = np.where(new, np.iinfo(np.int64).min, prev_end)
    covered = np.maximum(e - np.maximum(s, prev_end), 0).astype(np.float64) / _NS
    busy = np.bincount(seg, weights=covered)
    tp = (last[eligible] - first[eligible]).astype(np.float64) / _NS
    ratio = np.minimum(busy / tp, 1.0)
    res["flow_efficiency"] = float(min(busy.sum() / tp.sum(), 1.0))
    res["flow_efficiency_median"] = float(np.median(ratio))
    if eligible.sum() < n_cases:
        notes["flow_efficiency"] = (f"computed on {int(eligible.sum()):,} of {n_cases:,} cases (those with a start "
                                    f"time on every event and a positive throughput time)")
    return res


def _complaints(log: EventLog, c: Any, begin: np.ndarray, config: Config, notes: dict[str, str]) -> dict[str, Any]:
    names = c.activity_names
    is_res_act = np.array([bool(RESOLUTION.search(a)) for a in names], dtype=bool)
    is_cp_act = np.array([log.stage_of(a) == "after_service" and bool(COMPLAINT.search(a)) and not is_res_act[k]
                          for k, a in enumerate(names)], dtype=bool)
    keys = ("complaint_rate", "complaints", "complaint_response_median_s", "complaint_response_p90_s",
            "complaint_resolution_median_s", "complaint_resolution_p90_s", "complaint_resolved_share",
            "complaint_response_sla_compliance")
    res: dict[str, Any] = dict.fromkeys(keys)
    n = len(c.case)
    cp_rows = np.flatnonzero(is_cp_act[c.activity]) if len(names) else np.zeros(0, dtype=np.int64)
    if not len(cp_rows):
        notes["complaint_rate"] = "no complaint activity (after_service, named like complaint / 投诉) in the log"
        return res
    n_cases = len(c.case_start) - 1
    res["complaint_rate"] = float(len(distinct(c.case[cp_rows])) / n_cases)
    res["complaints"] = len(cp_rows)
    # response: the case's next activity
    nxt = cp_rows + 1
    has_next = (nxt < n) & (c.case[np.minimum(nxt, n - 1)] == c.case[cp_rows])
    resp = (begin[nxt[has_next]] - c.end[cp_rows[has_next]]).astype(np.float64) / _NS
    resp = np.maximum(resp, 0.0)
    res["complaint_response_median_s"] = _pct(resp, 50)
    res["complaint_response_p90_s"] = _pct(resp, 90)
    # resolution: the first resolution activity after the complaint in the same case
    is_res = is_res_act[c.activity]
    idx = np.where(is_res, np.arange(n), n)
    next_res = np.minimum.accumulate(idx[::-1])[::-1]  # smallest resolution row >= i
    j = np.r_[next_res, n][cp_rows + 1]
    ok = (j < n) & (c.case[np.minimum(j, n - 1)] == c.case[cp_rows])
    resol = (c.end[j[ok]] - c.end[cp_rows[ok]]).astype(np.float64) / _NS
    res["complaint_resolution_median_s"] = _pct(resol, 50)
    res["complaint_resolution_p90_s"] = _pct(resol, 90)
    res["complaint_resolved_share"] = float(ok.mean())
    target = config.sla.complaint_response_hours
    if target is not None:
        # a complaint with no next activity has not been answered: it counts as a miss
        met = np.zeros(len(cp_rows), dtype=bool)
        met[has_next] = resp <= target * 3600.0
        res["complaint_response_sla_compliance"] = float(met.mean())
    return res


def _weekly(last: np.ndarray, tp: np.ndarray) -> dict[str, Any]:
    week = (last - _MONDAY_NS) // _WEEK_NS
    w0 = int(week.min())
    rel = (week - w0).astype(np.int64)
    n_weeks = int(rel.max()) + 1
    gs = group_stats(rel, tp, n_weeks)
    mondays = ((np.arange(n_weeks, dtype=np.int64) + w0) * _WEEK_NS + _MONDAY_NS).view("datetime64[ns]")
    labels = np.datetime_as_string(mondays, unit="D")
    weekly = [{"week": str(labels[k]), "cases": int(gs.count[k]),
               "p50_s": float(gs.median[k]) if gs.count[k] else None} for k in range(n_weeks)]
    trend = mann_kendall(gs.median)
    return {"cases_per_week": float(len(tp) / n_weeks), "weekly": weekly,
            "weekly_trend": {"trend": trend.trend, "p_value": trend.p_value, "slope_s_per_week": trend.slope,
                             "weeks": n_weeks}}
