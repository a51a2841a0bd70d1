"""Rework: repeated activities, loops and ping-pong, with the time and cost they add.

Three patterns, all found with vectorised passes over the log's integer codes:

- ``loop`` — ``a → b → a`` in consecutive events of a case (a check sends the case back through a
  step and the check runs again). Time added per case: the sum, over its loops, of the time from the
  first ``a`` ending to the repeated ``a`` ending.
- ``repeat`` — an activity done more than once in a case where no reported loop explains it (``a → a``
  or a longer way round; the ``a`` and ``b`` of a reported loop in that case count as explained).
  Activities repeated in exactly the same cases form one block (``a → b → c → a``). Time added: from the first occurrence's end to the last repeat's end.
- ``ping_pong`` — the case handed back and forth between two roles (or two resources when the log has
  no roles): ``X → Y → X → Y`` after merging consecutive events of the same party. Time added: from the
  first hand-over to ``Y`` being done to the end of the last bounce.

Extra cost is the cost of the extra executions (service, fixed and waiting cost, see
:mod:`flowopt.analysis._costs`); ``None`` when no rates are configured.

A pattern becomes a finding only when it affects at least ``config.analysis.min_cases`` cases and its
share of cases is significantly above ``min_share`` (one-sided binomial test at 95%); severity comes
from :func:`flowopt.analysis._stats.severity` with the effect ``max(share of cases, share of all
throughput time it adds)``. Category ``practice`` when people bounce work (ping-pong, loops through no
send-back step), ``design`` when the process sends cases back by design (a step named like *missing
documents*, *request*, *return*, *补充材料*, *退回*).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from scipy import stats as _st

from flowopt.analysis._costs import event_costs, party_codes
from flowopt.analysis._findings import Finding, finding_id
from flowopt.analysis._hotspots import throughput_total_s
from flowopt.analysis._stats import severity
from flowopt.discovery import ProcessGraph
from flowopt.errors import ParameterError
from flowopt.log import EventLog
from flowopt.options import Config

__all__ = ["SEND_BACK", "case_rework_mask", "rework_loop"]

_NS = 1e9
SEND_BACK = re.compile(
    r"missing|request|return|sen[dt][\s_-]?back|clarif|correct|resubmi|complet|amend|additional|incomplete|"
    r"补充|补正|补件|退回|退件|重新提交|完善|更正|补交|补材料|返回", re.IGNORECASE)
"""Activity names that mean the process sends the case back by design."""


@dataclass(frozen=True, slots=True)
class _Candidate:
    pattern: str
    sequence: tuple[str, ...]
    level: str  # "activity", "role" or "resource"
    cases: np.ndarray  # case numbers
    extra_s: np.ndarray  # time added per case
    extra_cost: np.ndarray  # cost added per case (NaN when not priced)


def case_rework_mask(log: EventLog) -> np.ndarray:
    """Boolean per case (in case-number order): does any activity occur more than once?

    Examples
    --------
    >>> import flowopt
    >>> m = case_rework_mask(flowopt.datasets.example_log())
    >>> bool(0.0 < m.mean() < 1.0)
    True
    """
    c = log.codes()
    n_cases = len(c.case_start) - 1
    if n_cases == 0:
        return np.zeros(0, dtype=bool)
    return _repeats_per_case(c.case, c.activity, n_cases, max(len(c.activity_names), 1))


def _repeats_per_case(case: np.ndarray, activity: np.ndarray, n_cases: int, n_acts: int) -> np.ndarray:
    """Per case, whether some activity code occurs in it more than once. Counted per (case, activity) with one
    ``bincount`` when there are not many more such pairs than events (1M events: 6 ms against 60 ms for the
    sort of ``np.unique``), else by ``np.unique``."""
    key = case.astype(np.int64) * n_acts + activity
    if n_cases * n_acts <= 4 * len(key) + 1024:
        counts = np.bincount(key, minlength=n_cases * n_acts).reshape(n_cases, n_acts)
        return np.asarray((counts > 1).any(axis=1), dtype=bool)
    _, first, counts = np.unique(key, return_index=True, return_counts=True)
    rep = np.zeros(n_cases, dtype=bool)
    rep[case[first[counts > 1]]] = True
    return rep


def _group_per_case(key: np.ndarray, case: np.ndarray, extra: np.ndarray, cost: np.ndarray,
                    n_cases: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sum ``extra`` and ``cost`` per (key, case): returns (key, case, extra, cost) of each pair."""
    pair = key.astype(np.int64) * n_cases + case
    uniq, inv = np.unique(pair, return_inverse=True)
    ex = np.bincount(inv, weights=extra, minlength=len(uniq))
    finite = np.isfinite(cost)
    co = np.bincount(inv[finite], weights=cost[finite], minlength=len(uniq))
    has = np.bincount(inv[finite], minlength=len(uniq)) > 0
    return uniq // n_cases, uniq % n_cases, ex, np.where(has, co, np.nan)


def _lookup(keys: np.ndarray, values: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """``values`` at the positions of ``wanted`` in the sorted unique ``keys`` (NaN where absent)."""
    if not len(keys):
        return np.full(len(wanted), np.nan)
    pos = np.clip(np.searchsorted(keys, wanted), 0, len(keys) - 1)
    return np.where(keys[pos] == wanted, values[pos], np.nan)


def _split(keys: np.ndarray, wanted: np.ndarray) -> dict[int, np.ndarray]:
    """Row indices of ``keys`` for each key in ``wanted`` (keys sorted once)."""
    order = np.argsort(keys, kind="stable")
    sk = keys[order]
    lo = np.searchsorted(sk, wanted, side="left")
    hi = np.searchsorted(sk, wanted, side="right")
    return {int(k): order[a:b] for k, a, b in zip(wanted, lo, hi)}


def rework_loop(log: EventLog, graph: ProcessGraph | None, config: Config, *,
                min_share: float = 0.05) -> list[Finding]:
    """Find rework loops, repeated activities and ping-pong, with the time and cost they add.

    Parameters
    ----------
    log : EventLog
    graph : ProcessGraph or None
        Unused (the detector works on the log); part of the detector signature.
    config : Config
        ``analysis.min_cases`` (minimum support), ``analysis.top_n`` (findings per pattern) and the
        ``costs`` rates.
    min_share : float, default 0.05
        A pattern must affect a share of cases significantly above this.

    Returns
    -------
    list of Finding
        Kind ``rework_loop``; evidence ``pattern, sequence, level, cases, share_of_cases,
        extra_time_total_s, extra_time_per_case_s, extra_time_median_s, share_of_throughput,
        extra_cost_total, currency, confidence, p_value, example_cases``.

    Examples
    --------
    >>> import flowopt
    >>> fs = rework_loop(flowopt.datasets.example_log(), None, flowopt.Config())
    >>> [f.evidence["pattern"] for f in fs][:1]
    ['loop']
    >>> fs[0].activities
    ('Document check', 'Request missing documents', 'Document check')
    """
    if not 0.0 <= min_share < 1.0:
        raise ParameterError(f"The 'min_share' parameter of rework_loop must be a float in [0, 1). "
                             f"Got {min_share!r} instead.")
    c = log.codes()
    n = len(c.case)
    n_cases = len(c.case_start) - 1
    min_cases = max(1, int(config.analysis.min_cases))
    if n_cases < min_cases or n < 2:
        return []
    names = c.activity_names
    a = max(len(names), 1)
    ec = event_costs(log, config)
    cost = np.where(np.isfinite(ec.total), ec.total, np.nan)
    end = c.end
    throughput_total, _ = throughput_total_s(log)
    candidates: list[_Candidate] = []

    # ---- loops a -> b -> a
    same3 = np.zeros(0, dtype=bool) if n < 3 else (c.case[2:] == c.case[:-2])
    i = np.flatnonzero(same3 & (c.activity[2:] == c.activity[:-2]) & (c.activity[1:-1] != c.activity[:-2])) \
        if n >= 3 else np.zeros(0, dtype=np.int64)
    loop_key = c.activity[i].astype(np.int64) * a + c.activity[i + 1]
    loop_extra = (end[i + 2] - end[i]).astype(np.float64) / _NS
    loop_cost = np.where(np.isnan(cost[i + 1]) & np.isnan(cost[i + 2]), np.nan,
                         np.nan_to_num(cost[i + 1]) + np.nan_to_num(cost[i + 2])) if len(i) else np.zeros(0)
    reported_loops: set[int] = set()
    if len(i):
        k, cs, ex, co = _group_per_case(loop_key, c.case[i], loop_extra, loop_cost, n_cases)
        ukeys, ncases = np.unique(k, return_counts=True)
        big = ukeys[ncases >= min_cases]
        loop_counts = dict(zip(ukeys.tolist(), ncases.tolist()))
        groups = _split(k, big)
        for key in sorted(big.tolist(), key=lambda q: (-loop_counts[q], q)):
            x, y = divmod(key, a)
            rev = y * a + x
            if rev in reported_loops or loop_counts.get(rev, 0) > loop_counts[key]:
                continue  # b -> a -> b is the same loop seen from the other side
            reported_loops.add(key)
            rows = groups[key]
            candidates.append(_Candidate("loop", (names[x], names[y], names[x]), "activity", cs[rows], ex[rows],
                                         co[rows]))

    # ---- repeats not explained by a reported loop
    key = c.case * a + c.activity
    uniq, first, inv, counts = np.unique(key, return_index=True, return_inverse=True, return_counts=True)
    last = np.zeros(len(uniq), dtype=np.int64)
    np.maximum.at(last, inv, np.arange(n))
    rep = counts > 1
    if reported_loops and len(i):
        in_loop = np.isin(loop_key, np.fromiter(reported_loops, dtype=np.int64))
        li = i[in_loop]
        explained = np.isin(uniq, np.concatenate([c.case[li] * a + c.activity[li], c.case[li] * a + c.activity[li + 1]]))
        rep &= ~explained
    if rep.any():
        rk = np.flatnonzero(rep)
        r_act = (uniq[rk] % a).astype(np.int64)
        r_case = (uniq[rk] // a).astype(np.int64)
        r_extra = (end[last[rk]] - end[first[rk]]).astype(np.float64) / _NS
        not_first = np.ones(n, dtype=bool)
        not_first[first] = False
        row_rep = rep[inv] & not_first
        ck, cc, _, co = _group_per_case(c.activity[row_rep].astype(np.int64), c.case[row_rep],
                                        np.zeros(int(row_rep.sum())), cost[row_rep], n_cases)
        r_cost = _lookup(ck * n_cases + cc, co, r_act * n_cases + r_case)
        ukeys, ncases = np.unique(r_act, return_counts=True)
        big = ukeys[ncases >= min_cases]
        groups = _split(r_act, big)
        r_pos = (first[rk] - c.case_start[r_case]).astype(np.float64)
        # activities repeated in exactly the same cases repeat together (a block such as
        # O_SELECTED → O_CREATED → O_SENT): one finding, spanning from the block's first end to its last
        blocks: dict[bytes, list[int]] = {}
        for act in big.tolist():
            blocks.setdefault(r_case[groups[act]].tobytes(), []).append(act)
        for acts in blocks.values():
            rows0 = groups[acts[0]]
            acts = sorted(acts, key=lambda q: (float(np.median(r_pos[groups[q]])), q))
            if len(acts) == 1:
                extra_s, extra_cost = r_extra[rows0], r_cost[rows0]
            else:
                lo = np.min([end[first[rk[groups[q]]]] for q in acts], axis=0)
                hi = np.max([end[last[rk[groups[q]]]] for q in acts], axis=0)
                extra_s = (hi - lo).astype(np.float64) / _NS
                costs = np.array([r_cost[groups[q]] for q in acts])
                extra_cost = np.where(np.isnan(costs).all(axis=0), np.nan, np.nansum(costs, axis=0))
            seq = tuple(names[q] for q in acts) + (names[acts[0]],)
            candidates.append(_Candidate("repeat", seq, "activity", r_case[rows0], extra_s, extra_cost))

    # ---- ping-pong between roles (or resources)
    level = "role" if log.has_role else ("resource" if log.has_resource else "")
    if level:
        candidates.extend(_ping_pong(log, level, cost, min_cases, n_cases))

    return _findings(candidates, log, config, n_cases, throughput_total, min_share, min_cases, ec.configured,
                     ec.currency)


def _ping_pong(log: EventLog, level: str, cost: np.ndarray, min_cases: int, n_cases: int) -> list[_Candidate]:
    c = log.codes()
    party = party_codes(log, level)
    cats = [str(v) for v in log.frame[level].astype("category").cat.categories]
    n = len(party)
    keep = np.ones(n, dtype=bool)
    keep[1:] = (c.case[1:] != c.case[:-1]) | (party[1:] != party[:-1])
    run_first = np.flatnonzero(keep)
    run_last = np.concatenate([run_first[1:] - 1, [n - 1]])
    rp, rc, rend = party[run_first], c.case[run_first], c.end[run_last]
    m = len(run_first)
    if m < 4:
        return []
    k = np.flatnonzero((rc[3:] == rc[:-3]) & (rp[2:-1] == rp[:-3]) & (rp[3:] == rp[1:-2])
                       & (rp[:-3] >= 0) & (rp[1:-2] >= 0))
    if not len(k):
        return []
    p = len(cats)
    pair = np.minimum(rp[k], rp[k + 1]) * p + np.maximum(rp[k], rp[k + 1])
    pc = pair * n_cases + rc[k]
    uniq, inv = np.unique(pc, return_inverse=True)
    lo = np.full(len(uniq), np.iinfo(np.int64).max)
    hi = np.full(len(uniq), np.iinfo(np.int64).min)
    np.minimum.at(lo, inv, rend[k + 1])
    np.maximum.at(hi, inv, rend[k + 3])
    extra = (hi - lo).astype(np.float64) / _NS
    u_pair, u_case = uniq // n_cases, uniq % n_cases
    # cost of the events in the bounced runs (k+2, k+3)
    run_pair = np.full(m, -1, dtype=np.int64)
    run_pair[k + 2] = pair
    run_pair[k + 3] = pair
    row_run = np.cumsum(keep) - 1
    row_pair = run_pair[row_run]
    sel = row_pair >= 0
    ck, cc, _, co = _group_per_case(row_pair[sel], c.case[sel], np.zeros(int(sel.sum())), cost[sel], n_cases)
    u_cost = _lookup(ck * n_cases + cc, co, uniq)
    keys, ncases = np.unique(u_pair, return_counts=True)
    big = keys[ncases >= min_cases]
    groups = _split(u_pair, big)
    out = []
    for key in big.tolist():
        x, y = divmod(key, p)
        rows = groups[key]
        out.append(_Candidate("ping_pong", (cats[x], cats[y], cats[x], cats[y]), level, u_case[rows], extra[rows],
                              u_cost[rows]))
    return out


def _findings(candidates: list[_Candidate], log: EventLog, config: Config, n_cases: int, throughput_total: float,
              min_share: float, min_cases: int, priced: bool, currency: str) -> list[Finding]:
    case_ids = log.codes().case_ids
    top_n = max(1, int(config.analysis.top_n))
    out: list[Finding] = []
    for cand in candidates:
        k = len(cand.cases)
        share = k / n_cases
        p_value = float(_st.binom.sf(k - 1, n_cases, min_share))
        confidence = 1.0 - p_value
        if k < min_cases or confidence < 0.95:
            continue
        total = float(cand.extra_s.sum())
        time_share = total / throughput_total if throughput_total > 0 else 0.0
        effect = max(share, time_share)
        sev = severity(effect, confidence, k, min_support=min_cases)
        if sev is None:
            continue
        names_for_design = cand.sequence if cand.level == "activity" else ()
        design = cand.pattern != "ping_pong" and any(SEND_BACK.search(s) for s in names_for_design)
        order = np.lexsort((case_ids[cand.cases].astype(str), -cand.extra_s))
        examples = tuple(str(x) for x in case_ids[cand.cases[order[:5]]])
        cost_total = float(np.nansum(cand.extra_cost)) if priced and np.isfinite(cand.extra_cost).any() else None
        seq = " → ".join(cand.sequence)
        what = {"loop": "loop", "repeat": "repeat", "ping_pong": f"bounce between {cand.level}s"}[cand.pattern]
        summary = (f"{share:.0%} of cases ({k:,}) {what} {seq}, adding {np.median(cand.extra_s) / 3600:.1f} h "
                   f"median per affected case ({total / 3600:,.0f} h in total)")
        evidence = {
            "pattern": cand.pattern, "sequence": list(cand.sequence), "level": cand.level, "cases": k,
            "share_of_cases": share, "extra_time_total_s": total, "extra_time_per_case_s": total / k,
            "extra_time_median_s": float(np.median(cand.extra_s)), "share_of_throughput": time_share,
            "extra_cost_total": cost_total, "extra_cost_per_case": cost_total / k if cost_total is not None else None,
            "currency": currency if cost_total is not None else None,
            "confidence": confidence, "p_value": p_value, "min_share": min_share,
            "example_cases": list(examples),
        }
        activities = cand.sequence if cand.level == "activity" else ()
        fid = finding_id("rework_loop", activities, None, extra=f"{cand.pattern}:{cand.level}:{seq}")
        out.append(Finding(kind="rework_loop", category="design" if design else "practice", severity=sev,
                           activities=activities, summary=summary, evidence=evidence, cases_affected=k,
                           edge=(cand.sequence[0], cand.sequence[1]) if cand.level == "activity" else None,
                           example_cases=examples, score=total / 3600.0, id=fid))
    by_pattern: dict[str, list[Finding]] = {}
    for f in sorted(out, key=lambda f: (-f.score, f.id)):
        by_pattern.setdefault(str(f.evidence["pattern"]), []).append(f)
    return [f for pat in sorted(by_pattern) for f in by_pattern[pat][:top_n]]
