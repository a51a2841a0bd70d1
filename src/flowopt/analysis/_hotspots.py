"""Detector ``wait_hotspot``: hand-off edges where cases sit idle, with why they wait.

Each directly-follows edge ``a -> b`` gathers the waits of the instances of ``b`` that followed ``a``
(see :mod:`._waits`). An edge is reported when

- at least ``analysis.min_cases`` distinct cases crossed it, and
- its waiting is a sizeable share of all the time cases spend in the process (the *effect*: the
  edge's total wait ÷ the total throughput time of all cases, at least 2%), and
- it ranks in the ``analysis.top_n`` edges by total wait or by p90 wait.

Severity comes from :func:`._stats.severity`: the effect, times a confidence from the 95% CI
(order statistics) of the edge's median wait (a wide interval lowers it), and the number of cases — so a handful of
cases never makes a ``high`` finding. The category follows the dominant cause: ``design`` when
batching, contention, prioritization or unavailability dominate; when extraneous waiting dominates,
``communication`` if the hand-off mostly crosses roles (or resources, when roles are unknown),
``practice`` otherwise. ``evidence.handoff`` says which. A hotspot whose wait is mostly extraneous
is ``low`` (and its confidence is capped at 0.85): the log cannot tell a customer's delay or a
deliberately scheduled date from a real hold-up. So is a hotspot whose median wait is under 16 hours and
mostly off-duty time — the night between two working days — so that a healthy flow raises nothing above
``low``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from flowopt._sorting import code_groups
from flowopt.analysis._batching import distinct_per_group
from flowopt.analysis._findings import Category, Finding
from flowopt.analysis._stats import median_ci, severity
from flowopt.analysis._waits import CAUSES, WaitTable, compute_waits

_OVERNIGHT_S = 16 * 3600.0
from flowopt.discovery import ProcessGraph
from flowopt.discovery._kernels import NAT, case_span, group_stats
from flowopt.errors import ParameterError
from flowopt.log import EventLog
from flowopt.options import Config

__all__ = ["find_wait_hotspots", "throughput_total_s"]

_NS = 1e9
_MIN_EFFECT = 0.02
_EXTRANEOUS_CONFIDENCE = 0.85  # below the 0.9 that "high" needs


def throughput_total_s(log: EventLog) -> tuple[float, np.ndarray]:
    """Total throughput time of all cases (s) and each case's throughput (s)."""
    c = log.codes()
    if len(c.case) == 0:
        return 0.0, np.zeros(0)
    first, last = case_span(c.case_start, c.start, c.end)
    tp = (last - first) / _NS
    return float(tp.sum()), tp


def _config(log: EventLog, config: Config | None, fn: str) -> tuple[int, int]:
    cfg = config if config is not None else log.config
    a = cfg.analysis
    if int(a.min_cases) < 1:
        raise ParameterError(f"The 'analysis.min_cases' setting used by {fn} must be an int >= 1. "
                             f"Got {a.min_cases!r} instead.")
    return int(a.min_cases), int(a.top_n)


def _h(seconds: float) -> str:
    return f"{seconds / 86400:.1f} d" if seconds >= 2 * 86400 else f"{seconds / 3600:.1f} h"


def _handoff(log: EventLog, wt: WaitTable, sel: np.ndarray) -> dict[str, Any]:
    """Whether the waits ``sel`` (positions in the wait table) cross roles (or resources) at the hand-off."""
    f = log.frame
    for col in ("role", "resource"):
        codes = f[col].cat.codes.to_numpy() if hasattr(f[col], "cat") else None
        if codes is None or (codes < 0).all():
            continue
        a, b = codes[wt.pred[sel]], codes[wt.row[sel]]
        known = (a >= 0) & (b >= 0)
        if known.sum() == 0:
            continue
        share = float((a[known] != b[known]).mean())
        return {"by": col, "different_share": round(share, 4), "crosses": share >= 0.5}
    return {"by": None, "different_share": None, "crosses": False}


def _top5(w: np.ndarray) -> np.ndarray:
    """``np.argsort(-w, kind="stable")[:5]`` (the five longest, ties in row order) without sorting everything."""
    if w.shape[0] <= 5:
        return np.argsort(-w, kind="stable")
    fifth = np.partition(w, w.shape[0] - 5)[w.shape[0] - 5]  # the fifth largest
    cand = np.flatnonzero(w >= fifth)  # every row that can be among the five (ties included), in row order
    return cand[np.argsort(-w[cand], kind="stable")[:5]]


def find_wait_hotspots(log: EventLog, graph: ProcessGraph | None = None,
                       config: Config | None = None) -> list[Finding]:
    """Hand-off edges where cases wait long, each with its waiting time split by cause.

    Parameters
    ----------
    log : EventLog
    graph : ProcessGraph, optional
        Unused (the waits are computed from the log); accepted for the detector signature.
    config : Config, optional
        Defaults to ``log.config``; uses ``analysis.min_cases`` and ``analysis.top_n``.

    Returns
    -------
    list of Finding
        Kind ``wait_hotspot``, most costly first.

    Examples
    --------
    >>> import flowopt
    >>> found = find_wait_hotspots(flowopt.datasets.example_log())
    >>> all(f.kind == "wait_hotspot" for f in found)
    True
    """
    min_cases, top_n = _config(log, config, "find_wait_hotspots")
    wt = compute_waits(log)
    c = log.codes()
    if len(wt.row) == 0:
        return []
    names = c.activity_names
    a_n = len(names)
    key = c.activity[wt.pred].astype(np.int64) * a_n + c.activity[wt.row]
    present = np.bincount(key, minlength=a_n * a_n) > 0
    uniq = np.flatnonzero(present)
    inv = (np.cumsum(present) - 1)[key]
    g = len(uniq)
    wait_s = wt.wait_ns / _NS
    st = group_stats(inv, wait_s, g)
    cases = distinct_per_group(inv, c.case[wt.row], g)
    cause_tot = {k: np.bincount(inv, weights=wt.causes_ns[k] / _NS, minlength=g) for k in CAUSES}
    tp_total, _ = throughput_total_s(log)
    all_wait = float(wait_s.sum())
    if tp_total <= 0 or all_wait <= 0:
        return []
    share = st.total / tp_total
    eligible = (cases >= min_cases) & (share >= _MIN_EFFECT) & (st.median > 0)
    rank_total = np.empty(g, dtype=np.int64)
    rank_total[np.lexsort((uniq, -st.total))] = np.arange(1, g + 1)
    rank_p90 = np.empty(g, dtype=np.int64)
    rank_p90[np.lexsort((uniq, -np.nan_to_num(st.p90)))] = np.arange(1, g + 1)
    pick = np.flatnonzero(eligible & ((rank_total <= top_n) | (rank_p90 <= top_n)))
    basis_known = np.bincount(inv, weights=wt.start_known.astype(float), minlength=g)
    out: list[Finding] = []
    by_edge, edge_lo = code_groups(inv, g)
    for e in pick:  # loop over edges
        sel = by_edge[edge_lo[e]:edge_lo[e + 1]]  # the edge's waits, in row order (a stable grouping)
        w = wait_s[sel]
        lo, hi = median_ci(w)
        med = float(st.median[e])
        conf = float(np.clip(1.0 - (hi - lo) / (2.0 * med), 0.0, 1.0)) if med > 0 else 0.0
        causes = {k: float(cause_tot[k][e]) for k in CAUSES}
        dominant = max(CAUSES, key=lambda k: (causes[k], -CAUSES.index(k)))
        if dominant == "extraneous":  # the log cannot tell a customer's delay from a scheduled date
            conf = min(conf, _EXTRANEOUS_CONFIDENCE)
        sev = severity(float(share[e]), conf, int(cases[e]), min_support=min_cases)
        if sev is None:
            continue
        if dominant == "extraneous" or (dominant == "unavailability" and med < _OVERNIGHT_S):
            sev = "low"  # outside the team's hands, or just the night between two working days: worth a look only
        src, tgt = names[uniq[e] // a_n], names[uniq[e] % a_n]
        handoff = _handoff(log, wt, sel)
        category: Category
        if dominant != "extraneous":
            category = "design"
        else:
            category = "communication" if handoff["crosses"] else "practice"
        top_rows = sel[_top5(w)]
        examples = [str(x) for x in c.case_ids[c.case[wt.row[top_rows]]]]
        nk = int(basis_known[e])
        basis = "start" if nk == int(st.count[e]) else ("completion" if nk == 0 else "mixed")
        ev: dict[str, Any] = {
            "count": int(st.count[e]), "cases": int(cases[e]), "wait_median_s": med,
            "wait_p90_s": float(st.p90[e]), "wait_mean_s": float(st.mean[e]), "wait_total_s": float(st.total[e]),
            "wait_median_ci_s": [lo, hi], "causes": causes,
            "cause_shares": {k: (v / float(st.total[e]) if st.total[e] > 0 else 0.0) for k, v in causes.items()},
            "dominant_cause": dominant, "share_of_throughput": float(share[e]),
            "share_of_waiting": float(st.total[e] / all_wait), "rank_by_total": int(rank_total[e]),
            "rank_by_p90": int(rank_p90[e]), "confidence": round(conf, 4), "basis": basis, "handoff": handoff,
            "example_cases": examples, "notes": list(wt.notes),
        }
        sched = wt.batches.schedules.get(tgt)
        summary = (f"Cases wait {_h(med)} (p90 {_h(float(st.p90[e]))}) between '{src}' and '{tgt}'; "
                   f"{causes[dominant] / max(float(st.total[e]), 1e-9):.0%} of it is {dominant}")
        if sched is not None:
            in_batch = wt.batches.release[wt.row[sel]] != NAT
            ev["batching"] = {**sched, "share_of_edge_in_batches": float(in_batch.mean())}
            period = wt.waiting_period_ns[sel]
            if period.any():  # no batched case on this hand-off was released sooner: a deadline, not the batch
                ev["batching"]["waiting_period_s"] = float(period.max()) / 1e9
            if dominant == "batching":
                summary += f" ('{tgt}' runs in batches: {sched['schedule']})"
        if basis != "start":
            summary += "; starts unknown, so waits include service time"
        out.append(Finding(kind="wait_hotspot", category=category, severity=sev, activities=(src, tgt),
                           edge=(src, tgt), summary=summary, evidence=ev, cases_affected=int(cases[e]),
                           example_cases=tuple(examples), score=float(st.total[e]) / 3600.0))
    out.sort(key=lambda f: (-f.score, f.id))
    return out
