"""Hand-offs: work passed across a role (org-unit) boundary, and the wait that adds.

A *hand-off* is a directly-follows pair of events of one case done by different roles (the ``role``
column; by different resources when the log names no roles). Its wait is the graph's wait (the next
event's start minus the previous event's end, see :func:`flowopt.discovery.edge_waits`).

The detector compares like with like: for each receiving activity ``b`` it compares the waits before
``b`` when the work arrives from another role with the waits when the same role carries on. Both sides
wait in the same queue for the same step, so a difference is what the hand-off itself costs (someone
has to notice, pick up and understand the case). Transitions ``b → b`` (the same step continued) are
left out of both sides, and when the log has start times only transitions into an event with a known
start are compared (an atomic event has no queue; without any start times, waits run completion to
completion, see ``wait_basis``). A finding needs ``config.analysis.min_events``
transitions on each side and ``config.analysis.min_cases`` cases, a one-sided Mann–Whitney test that
survives Holm's correction over all activities tested, a rank-biserial effect of at least 0.3, and a
median wait added of at least ``min_wait_added_s``. Activities that never receive work from their own
role have no baseline and give no finding (the hand-off count still shows in :func:`handoff_stats`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats as _st

from flowopt._memo import PerObjectCache, read_only
from flowopt._sorting import code_groups
from flowopt.analysis._costs import distinct, party_codes
from flowopt.analysis._findings import Finding, finding_id
from flowopt.analysis._stats import severity
from flowopt.discovery import ProcessGraph, edge_waits
from flowopt.discovery._kernels import NAT
from flowopt.errors import ParameterError
from flowopt.log import EventLog
from flowopt.options import Config

__all__ = ["handoff", "handoff_stats", "holm"]


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm–Bonferroni adjusted p-values (step-down, monotone, capped at 1).

    Examples
    --------
    >>> holm(np.array([0.01, 0.04, 0.03])).round(3).tolist()
    [0.03, 0.06, 0.06]
    """
    p = np.asarray(p_values, dtype=float)
    m = len(p)
    if m == 0:
        return p
    order = np.argsort(p, kind="stable")
    adj = np.maximum.accumulate(np.minimum(1.0, (m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adj
    return out


def _level(log: EventLog) -> str:
    return "role" if log.has_role else ("resource" if log.has_resource else "")


_PAIRS: PerObjectCache[tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = PerObjectCache(size=2)
_STATS: PerObjectCache[dict[str, Any]] = PerObjectCache(size=2)


def _pairs(log: EventLog) -> tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(level, row of the earlier event, wait s, party of earlier, party of later) for every DF pair
    (computed once per log for the KPIs and the detector; read-only arrays)."""
    return _PAIRS.get(log, None, lambda: read_only(_compute_pairs(log)))


def _compute_pairs(log: EventLog) -> tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    level = _level(log)
    i, wait, _ = edge_waits(log)
    if not level:
        empty = np.zeros(0, dtype=np.int64)
        return level, empty, np.zeros(0), empty, empty
    party = party_codes(log, level)
    return level, i, wait, party[i], party[i + 1]


def handoff_stats(log: EventLog) -> dict[str, Any]:
    """Hand-offs per case and the median wait across a role boundary vs within one.

    Returns a JSON-ready dict: ``level`` ("role", "resource" or None), ``handoffs_per_case``,
    ``handoff_share`` (of transitions with both parties known), ``wait_median_across_s``,
    ``wait_median_within_s``, ``transitions_across``, ``transitions_within``.

    Examples
    --------
    >>> import flowopt
    >>> s = handoff_stats(flowopt.datasets.example_log())
    >>> s["level"], s["handoffs_per_case"] > 1
    ('role', True)
    """
    return dict(_STATS.get(log, None, lambda: _handoff_stats(log)))  # a copy: the caller may add to it


def _handoff_stats(log: EventLog) -> dict[str, Any]:
    level, _, wait, p0, p1 = _pairs(log)
    n_cases = log.n_cases
    if not level or n_cases == 0:
        return {"level": None, "handoffs_per_case": None, "handoff_share": None, "wait_median_across_s": None,
                "wait_median_within_s": None, "transitions_across": 0, "transitions_within": 0}
    known = (p0 >= 0) & (p1 >= 0)
    across = known & (p0 != p1)
    within = known & (p0 == p1)
    return {
        "level": level,
        "handoffs_per_case": float(across.sum() / n_cases),
        "handoff_share": float(across.sum() / known.sum()) if known.any() else None,
        "wait_median_across_s": float(np.median(wait[across])) if across.any() else None,
        "wait_median_within_s": float(np.median(wait[within])) if within.any() else None,
        "transitions_across": int(across.sum()), "transitions_within": int(within.sum()),
    }


def handoff(log: EventLog, graph: ProcessGraph | None, config: Config, *, alpha: float = 0.01,
            min_effect: float = 0.3, min_wait_added_s: float = 900.0) -> list[Finding]:
    """Find steps where work handed over from another role waits longer than work the same role carries on.

    Parameters
    ----------
    log : EventLog
    graph : ProcessGraph or None
        Unused; part of the detector signature.
    config : Config
        ``analysis.min_events`` (transitions per side), ``analysis.min_cases``, ``analysis.top_n``.
    alpha : float, default 0.01
        Family-wise error rate (Holm) over all activities tested.
    min_effect : float, default 0.3
        Minimum rank-biserial correlation (``2·P(across > within) − 1``).
    min_wait_added_s : float, default 900
        Minimum difference of the median waits (seconds).

    Returns
    -------
    list of Finding
        Kind ``handoff``, category ``communication``; evidence ``activity, level, to_party,
        from_parties, across_count, within_count, wait_median_across_s, wait_median_within_s,
        wait_p90_across_s, wait_added_median_s, wait_added_total_s, effect, p_value, p_adjusted,
        handoffs_per_case``.

    Examples
    --------
    >>> import flowopt
    >>> handoff(flowopt.datasets.example_log(), None, flowopt.Config())
    []
    """
    for name, value, lo, hi in (("alpha", alpha, 0.0, 1.0), ("min_effect", min_effect, 0.0, 1.0)):
        if not lo < value < hi:
            raise ParameterError(f"The '{name}' parameter of handoff must be a float in ({lo}, {hi}). "
                                 f"Got {value!r} instead.")
    if min_wait_added_s < 0:
        raise ParameterError(f"The 'min_wait_added_s' parameter of handoff must be a float >= 0. "
                             f"Got {min_wait_added_s!r} instead.")
    level, i, wait, p0, p1 = _pairs(log)
    if not level or not len(i):
        return []
    c = log.codes()
    min_events = max(2, int(config.analysis.min_events))
    min_cases = max(1, int(config.analysis.min_cases))
    # a -> a (the same step continued, e.g. a work item split in sessions) is not an arrival in b's queue
    known = (p0 >= 0) & (p1 >= 0) & (c.activity[i] != c.activity[i + 1])
    basis = "completion"
    if log.has_start:  # compare true waits only: atomic events (no start) have no queue to wait in
        known &= c.start[i + 1] != NAT
        basis = "start"
    across = known & (p0 != p1)
    within = known & (p0 == p1)
    target = c.activity[i + 1].astype(np.int64)
    a = len(c.activity_names)
    n_across = np.bincount(target[across], minlength=a)
    n_within = np.bincount(target[within], minlength=a)
    tested = np.flatnonzero((n_across >= min_events) & (n_within >= min_events))
    if not len(tested):
        return []
    order, bounds = code_groups(target, a)
    results = []
    for b in tested.tolist():  # loop over activities
        rows = order[bounds[b]:bounds[b + 1]]
        x, y = wait[rows[across[rows]]], wait[rows[within[rows]]]
        u, p = _st.mannwhitneyu(x, y, alternative="greater", method="asymptotic")
        results.append((b, rows, x, y, float(u) / (len(x) * len(y)), float(p)))
    p_adj = holm(np.array([r[5] for r in results]))
    stats = handoff_stats(log)
    cats = [str(v) for v in log.frame[level].astype("category").cat.categories]
    names = c.activity_names
    out: list[Finding] = []
    for (b, rows, x, y, cles, p), pa in zip(results, p_adj):
        effect = 2.0 * cles - 1.0
        med_x, med_y = float(np.median(x)), float(np.median(y))
        added = med_x - med_y
        if pa >= alpha or effect < min_effect or added < min_wait_added_s:
            continue
        ra = rows[across[rows]]
        cases = len(distinct(c.case[i[ra]]))
        sev = severity(effect, 1.0 - float(pa), cases, min_support=min_cases)
        if sev is None:
            continue
        src_party, src_n = np.unique(p0[ra], return_counts=True)
        top = np.lexsort((src_party, -src_n))[:3]
        to_party, to_n = np.unique(p1[ra], return_counts=True)
        src_act, src_act_n = np.unique(c.activity[i[ra]], return_counts=True)
        main_src = names[int(src_act[np.lexsort((src_act, -src_act_n))[0]])]
        total_added = float(np.maximum(x - med_y, 0.0).sum())
        to_name = cats[int(to_party[np.lexsort((to_party, -to_n))[0]])]
        evidence = {
            "activity": names[b], "level": level, "to_party": to_name,
            "from_parties": {cats[int(src_party[k])]: int(src_n[k]) for k in top},
            "across_count": len(x), "within_count": len(y),
            "wait_median_across_s": med_x, "wait_median_within_s": med_y,
            "wait_p90_across_s": float(np.percentile(x, 90)),
            "wait_added_median_s": added, "wait_added_total_s": total_added,
            "effect": effect, "p_value": p, "p_adjusted": float(pa),
            "handoffs_per_case": stats["handoffs_per_case"], "wait_basis": basis,
        }
        summary = (f"Work handed to {names[b]} ({to_name}) from another {level} waits {med_x / 3600:.1f} h "
                   f"median vs {med_y / 3600:.1f} h when the same {level} carries on ({len(x):,} hand-offs)")
        out.append(Finding(kind="handoff", category="communication", severity=sev, activities=(names[b],),
                           edge=(main_src, names[b]), summary=summary, evidence=evidence, cases_affected=cases,
                           score=total_added / 3600.0,
                           id=finding_id("handoff", (names[b],), None, extra=level)))
    out.sort(key=lambda f: (-f.score, f.id))
    return out[: max(1, int(config.analysis.top_n))]
