"""Practice variation: the same activity done very differently by different resources or roles.

Two dimensions, each judged only when it is statistically solid:

- **duration** — service time (needs start times). Per activity, a Kruskal–Wallis test across the
  groups (resources, or roles/branches) with at least ``config.analysis.min_events`` events each;
  where it holds, each group is compared with the rest of the activity's events (two-sided
  Mann–Whitney, effect = rank-biserial correlation ``2·P(group > rest) − 1``, and the ratio of medians).
- **path** — which activity follows (or whether the case ends). A chi-square test of independence of
  group × next activity (next activities seen fewer than 10 times are pooled), effect = Cramér's V.

All the omnibus tests of the log form one family corrected with Holm's method; the post-hoc group
tests are Holm-corrected within their activity. A finding needs an adjusted p below ``alpha``, a
large effect (``|r| ≥ min_effect`` and a median ratio of at least ``min_ratio`` for durations;
``V ≥ min_cramers_v`` for paths), and ``config.analysis.min_cases`` cases behind the flagged groups.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from scipy import stats as _st

from flowopt._sorting import code_groups, code_order
from flowopt.analysis._costs import distinct, party_codes
from flowopt.analysis._findings import Finding, finding_id
from flowopt.analysis._handoffs import holm
from flowopt.analysis._hotspots import throughput_total_s
from flowopt.analysis._stats import kruskal_wallis, severity
from flowopt.discovery import ProcessGraph
from flowopt.discovery._kernels import NAT
from flowopt.errors import ParameterError
from flowopt.log import EventLog
from flowopt.options import Config

__all__ = ["practice_variation"]

_NS = 1e9


def _groups(codes: np.ndarray, rows: np.ndarray, min_events: int) -> list[tuple[int, np.ndarray]]:
    """(group code, rows) for every known group with at least ``min_events`` rows, sorted by code."""
    g = codes[rows]
    ok = g >= 0
    rows, g = rows[ok], g[ok]
    if not len(rows):
        return []
    order = code_order(g)
    sg = g[order]
    start = np.flatnonzero(np.concatenate(([True], sg[1:] != sg[:-1])))  # runs of equal codes (already sorted)
    cnt = np.diff(np.append(start, len(sg)))
    return [(int(sg[s]), rows[order[s:s + n]]) for s, n in zip(start, cnt, strict=True) if n >= min_events]


def practice_variation(log: EventLog, graph: ProcessGraph | None, config: Config, *, alpha: float = 0.01,
                       min_effect: float = 0.4, min_ratio: float = 1.5,
                       min_cramers_v: float = 0.25) -> list[Finding]:
    """Flag activities that some resources or roles do much slower/faster or route differently.

    Parameters
    ----------
    log : EventLog
    graph : ProcessGraph or None
        Unused; part of the detector signature.
    config : Config
        ``analysis.min_events`` (events per group), ``analysis.min_cases``, ``analysis.top_n``.
    alpha : float, default 0.01
        Family-wise error rate after Holm's correction.
    min_effect : float, default 0.4
        Minimum |rank-biserial correlation| of a group's service time against the rest.
    min_ratio : float, default 1.5
        Minimum ratio of medians (slower or faster by this factor).
    min_cramers_v : float, default 0.25
        Minimum Cramér's V of the group × next-activity table.

    Returns
    -------
    list of Finding
        Kind ``practice_variation``, category ``practice``; evidence ``activity, dimension``
        (duration | path), ``level``, ``groups`` (per flagged group: events, median, ratio, effect,
        p_adjusted — or its next-activity shares), ``test``, ``statistic``, ``p_value``, ``p_adjusted``,
        ``effect``.

    Examples
    --------
    >>> import flowopt
    >>> practice_variation(flowopt.datasets.example_log(), None, flowopt.Config())
    []
    """
    for name, value in (("alpha", alpha), ("min_effect", min_effect), ("min_cramers_v", min_cramers_v)):
        if not 0.0 < value < 1.0:
            raise ParameterError(f"The '{name}' parameter of practice_variation must be a float in (0, 1). "
                                 f"Got {value!r} instead.")
    if not min_ratio >= 1.0:
        raise ParameterError(f"The 'min_ratio' parameter of practice_variation must be a float >= 1. "
                             f"Got {min_ratio!r} instead.")
    c = log.codes()
    n = len(c.case)
    if n == 0:
        return []
    min_events = max(5, int(config.analysis.min_events))
    min_cases = max(1, int(config.analysis.min_cases))
    names = c.activity_names
    a = len(names)
    known = c.start != NAT
    service = np.where(known, (c.end - np.where(known, c.start, c.end)).astype(np.float64) / _NS, np.nan)
    nxt = np.full(n, a, dtype=np.int64)  # a = "[end]"
    same = np.zeros(n, dtype=bool)
    same[:-1] = c.case[1:] == c.case[:-1]
    nxt[:-1] = np.where(same[:-1], c.activity[1:], a)
    levels = [lv for lv, has in (("resource", log.has_resource), ("role", log.has_role)) if has]
    act_order, act_bounds = code_groups(c.activity, a)

    tests: list[dict[str, Any]] = []
    for level in levels:
        codes = party_codes(log, level)
        cats = [str(v) for v in log.frame[level].astype("category").cat.categories]
        for act in range(a):  # loop over activities
            rows = act_order[act_bounds[act]:act_bounds[act + 1]]
            if len(rows) < 2 * min_events:
                continue
            dur_rows = rows[known[rows]]
            groups = _groups(codes, dur_rows, min_events)
            if len(groups) >= 2:
                samples = [service[r] for _, r in groups]
                if min(float(s.min()) for s in samples) < max(float(s.max()) for s in samples):  # not all one value
                    h, p = kruskal_wallis(samples)
                    tests.append({"dimension": "duration", "level": level, "act": act, "groups": groups,
                                  "cats": cats, "stat": float(h), "p": float(p), "test": "kruskal"})
            groups = _groups(codes, rows, min_events)
            if len(groups) >= 2:
                tests.extend(_path_test(groups, nxt, a, level, act, cats))
    if not tests:
        return []
    throughput_total, _ = throughput_total_s(log)
    p_adj = holm(np.array([t["p"] for t in tests]))
    out: list[Finding] = []
    for t, pa in zip(tests, p_adj):
        if pa >= alpha:
            continue
        f = (_duration_finding if t["dimension"] == "duration" else _path_finding)(
            t, float(pa), service, c, names, alpha, min_effect, min_ratio, min_cramers_v, min_cases)
        if f is not None:
            out.append(_cap_by_impact(f, throughput_total))
    out.sort(key=lambda f: (-f.score, f.id))
    return out[: max(1, int(config.analysis.top_n))]


def _path_test(groups: list[tuple[int, np.ndarray]], nxt: np.ndarray, a: int, level: str, act: int,
               cats: list[str]) -> list[dict[str, Any]]:
    allrows = np.concatenate([r for _, r in groups])
    labels, counts = np.unique(nxt[allrows], return_counts=True)
    common = labels[counts >= 10]
    if len(common) < 1 or (len(common) == len(labels) and len(common) < 2):
        return []
    cols = list(common.tolist()) + ([-1] if len(common) < len(labels) else [])
    if len(cols) < 2:
        return []
    table = np.zeros((len(groups), len(cols)), dtype=np.int64)
    for k, (_, r) in enumerate(groups):  # loop over groups
        v = nxt[r]
        pos = np.searchsorted(common, v)
        hit = (pos < len(common)) & (common[np.minimum(pos, len(common) - 1)] == v)
        table[k, : len(common)] = np.bincount(pos[hit], minlength=len(common))[: len(common)]
        if len(cols) > len(common):
            table[k, -1] = int((~hit).sum())
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return []
    chi2, p, dof, _ = _st.chi2_contingency(table, correction=False)
    v = float(np.sqrt(chi2 / (table.sum() * (min(table.shape) - 1))))
    return [{"dimension": "path", "level": level, "act": act, "groups": groups, "cats": cats, "stat": float(chi2),
             "p": float(p), "test": "chi2", "table": table, "cols": cols[: table.shape[1]], "v": v, "dof": int(dof)}]


_RANK = {"low": 0, "medium": 1, "high": 2}


def _cap_by_impact(f: Finding, throughput_total_s: float) -> Finding:
    """Keep statistically solid but practically small differences from sounding alarms.

    A duration difference is at most ``medium`` when the slower group's excess time is under 1% of all
    throughput time, and ``low`` under 0.1% (two minutes slower on a short step is real but minor). A path
    difference is at most ``medium``: routing by resource often reflects which cases a resource is given
    (automatic steps, specialists), which the test cannot control for.
    """
    cap = "high"
    if f.evidence.get("dimension") == "duration":
        share = float(f.evidence.get("excess_service_total_s") or 0.0) / max(throughput_total_s, 1e-9)
        cap = "low" if share < 0.001 else ("medium" if share < 0.01 else "high")
        f = dataclasses.replace(f, evidence={**f.evidence, "excess_share_of_throughput": share})
    else:
        cap = "medium"
    if _RANK[f.severity] > _RANK[cap]:
        f = dataclasses.replace(f, severity=cap)  # type: ignore[arg-type]
    return f


def _duration_finding(t: dict[str, Any], pa: float, service: np.ndarray, c: Any, names: tuple[str, ...],
                      alpha: float, min_effect: float, min_ratio: float, min_cramers_v: float,
                      min_cases: int) -> Finding | None:
    groups, cats = t["groups"], t["cats"]
    posts = []
    for g, r in groups:  # post-hoc: each group against the rest
        x = service[r]
        rest = service[np.concatenate([q for h, q in groups if h != g])]
        u, p = _st.mannwhitneyu(x, rest, alternative="two-sided", method="asymptotic")
        cles = float(u) / (len(x) * len(rest))
        med_rest = float(np.median(rest))
        med = float(np.median(x))
        ratio = med / med_rest if med_rest > 0 else (np.inf if med > 0 else 1.0)
        posts.append((g, r, med, med_rest, ratio, 2 * cles - 1, float(p)))
    padj = holm(np.array([q[6] for q in posts]))
    flagged = [(q, pj) for q, pj in zip(posts, padj)
               if pj < alpha and abs(q[5]) >= min_effect and (q[4] >= min_ratio or q[4] <= 1.0 / min_ratio)]
    if not flagged:
        return None
    flagged.sort(key=lambda z: (-abs(z[0][5]), z[0][0]))
    rows = np.concatenate([q[1] for q, _ in flagged])
    cases = len(distinct(c.case[rows]))
    effect = abs(flagged[0][0][5])
    sev = severity(effect, 1.0 - max(pa, flagged[0][1]), cases, min_support=min_cases)
    if sev is None:
        return None
    act = names[t["act"]]
    level = t["level"]
    group_ev = {cats[q[0]]: {"events": len(q[1]), "service_median_s": q[2], "rest_median_s": q[3],
                             "ratio": q[4], "effect": q[5], "p_adjusted": float(pj)} for q, pj in flagged}
    lead, _ = flagged[0]
    direction = "slower" if lead[4] > 1 else "faster"
    factor = lead[4] if lead[4] > 1 else 1.0 / max(lead[4], 1e-12)
    # time that would be saved if slower groups worked at the others' median pace
    excess = float(sum(max(0.0, q[2] - q[3]) * len(q[1]) for q, _ in flagged))
    summary = (f"{act}: {cats[lead[0]]} takes {factor:.1f}× {direction} than other {level}s "
               f"({lead[2] / 60:.0f} vs {lead[3] / 60:.0f} min median, {len(lead[1]):,} events)"
               + (f" and {len(flagged) - 1} more {level}(s) differ" if len(flagged) > 1 else ""))
    evidence = {"activity": act, "dimension": "duration", "level": level, "groups": group_ev, "test": "kruskal",
                "statistic": t["stat"], "p_value": t["p"], "p_adjusted": pa, "effect": effect,
                "groups_tested": len(groups), "excess_service_total_s": excess}
    return Finding(kind="practice_variation", category="practice", severity=sev, activities=(act,),
                   summary=summary, evidence=evidence, cases_affected=cases, score=excess / 3600.0,
                   id=finding_id("practice_variation", (act,), None, extra=f"duration:{level}"))


def _path_finding(t: dict[str, Any], pa: float, service: np.ndarray, c: Any, names: tuple[str, ...],
                  alpha: float, min_effect: float, min_ratio: float, min_cramers_v: float,
                  min_cases: int) -> Finding | None:
    v = t["v"]
    if v < min_cramers_v:
        return None
    table, cols, groups, cats = t["table"].astype(float), t["cols"], t["groups"], t["cats"]
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
    resid = (table - expected) / np.sqrt(np.maximum(expected, 1e-12))
    gi, ci = np.unravel_index(int(np.argmax(np.abs(resid))), resid.shape)
    def label(k: int) -> str:
        return "[end]" if k == len(names) else ("other" if k < 0 else names[k])

    share = table / table.sum(axis=1, keepdims=True)
    rest = np.delete(table, gi, axis=0)
    rest_share = rest[:, ci].sum() / rest.sum() if rest.sum() else float("nan")
    g_rows = groups[gi][1]
    cases = len(distinct(c.case[np.concatenate([r for _, r in groups])]))
    sev = severity(float(min(1.0, v)), 1.0 - pa, cases, min_support=min_cases)
    if sev is None:
        return None
    act = names[t["act"]]
    level = t["level"]
    summary = (f"{act}: what follows depends on the {level} (Cramér's V {v:.2f}); {cats[groups[gi][0]]} sends "
               f"{share[gi, ci]:.0%} of cases to {label(cols[ci])} vs {rest_share:.0%} for the others")
    evidence = {"activity": act, "dimension": "path", "level": level, "test": "chi2", "statistic": t["stat"],
                "dof": t["dof"], "p_value": t["p"], "p_adjusted": pa, "effect": v, "cramers_v": v,
                "groups_tested": len(groups),
                "groups": {cats[g]: {"events": len(r),
                                     "next": {label(k): float(share[j, m]) for m, k in enumerate(cols)}}
                           for j, (g, r) in enumerate(groups)},
                "most_different": {"group": cats[groups[gi][0]], "next": label(cols[ci]),
                                   "share": float(share[gi, ci]), "rest_share": float(rest_share),
                                   "events": len(g_rows)}}
    return Finding(kind="practice_variation", category="practice", severity=sev, activities=(act,),
                   summary=summary, evidence=evidence, cases_affected=cases, score=float(v) * cases / 100.0,
                   id=finding_id("practice_variation", (act,), None, extra=f"path:{level}"))
