"""The catalogue of redesign heuristics (Reijers & Limam Mansar, 2005): finding -> candidate suggestion.

Each rule reads a finding's kind and evidence and proposes a :class:`Candidate`: the heuristic, the
action in plain words, the risk (what could go wrong, what to verify) and a :class:`Change` — what
the counterfactual replay or the simulation must do to estimate the saving. A rule whose evidence keys
are missing proposes nothing: no number is ever invented.

| finding | heuristic |
|---|---|
| ``redundant_signoff`` rubber stamp, not protected | ``task_elimination`` |
| ``redundant_signoff`` rubber stamp, protected | ``automation`` (never elimination) |
| ``redundant_signoff`` never overturns / repeats a role, not protected | ``empowerment`` |
| ``sequential_signoffs`` | ``parallelism`` |
| ``knockout_order`` | ``knockout_reordering`` |
| ``signoff_triage`` (attribute threshold or prior approval) | ``triage`` (protected: a lighter automated check) |
| ``wait_hotspot`` / ``bottleneck`` by batching | ``batch_frequency`` |
| ``wait_hotspot`` / ``bottleneck`` by contention (>= 20% of the wait), ``bottleneck`` >= 80% busy | ``capacity`` |
| ``wait_hotspot`` / ``bottleneck`` by unavailability | ``calendar_alignment`` |
| ``wait_hotspot`` extraneous, ``rework_loop`` | ``contact_reduction`` |
| ``handoff`` between short steps | ``task_composition`` |
| ``bottleneck`` with short, low-variance service | ``automation`` |

A protected control (``evidence.protected`` true, or matching ``[signoffs] protected``) is never the
subject of ``task_elimination`` or ``empowerment``.

Examples
--------
>>> from flowopt.analysis import Finding
>>> from flowopt.options import Config
>>> f = Finding(kind="redundant_signoff", category="design", severity="high", activities=("Director approval",),
...             summary="...", evidence={"step": "Director approval", "reason": "rubber_stamp", "protected": False,
...             "cases": 812, "executions": 812, "rejections": 0, "returns": 0, "reject_rate_upper": 0.0037})
>>> [c.heuristic for c in candidates([f], None, Config())]
['task_elimination']
>>> candidates([f], None, Config())[0].action
"Drop 'Director approval': it rejected 0 of 812 cases (upper bound 0.4%)."
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from flowopt.analysis import Finding
from flowopt.options import Config

__all__ = ["Candidate", "Change", "candidates", "is_protected"]

_MIN_CAUSE_SHARE = 0.3  # a wait's leading cause must explain at least this share of it to be acted on

_CONTENTION_SHARE = 0.2  # contention this large a share of a wait earns a capacity suggestion even if not dominant
_BUSY = 0.8  # a bottleneck's pool at least this busy earns a capacity suggestion
ChangeKind = Literal["remove", "parallel", "release", "capacity", "cut_wait", "first_time_right", "handoff_merge"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """What to replay or simulate.

    ``kind``: ``remove`` (``activities``; only in some rows when ``subset`` is set: ``("attribute", name,
    side, threshold)``, ``("after", step)``, ``("repeat_role",)``, ``("rejected_by", step)``),
    ``parallel`` (``activities``), ``release`` (``edge``, ``schedule``), ``capacity`` (``activities[0]``),
    ``cut_wait`` (``edge``, ``causes``; ``cap_at_median``: only the part above the median goes), ``first_time_right`` (``activities``: the loop),
    ``handoff_merge`` (``edge``, ``keep_wait_s``: the wait left after merging).
    """

    kind: ChangeKind
    activities: tuple[str, ...] = ()
    edge: tuple[str, str] | None = None
    subset: tuple[Any, ...] | None = None
    schedule: str | None = None
    causes: tuple[str, ...] = ()
    keep_wait_s: float = 0.0
    cap_at_median: bool = False  # cut_wait: only the part above the edge's median is removed


@dataclass(frozen=True, slots=True, kw_only=True)
class Candidate:
    """A suggestion before its saving is estimated."""

    heuristic: str
    finding_ids: tuple[str, ...]
    activities: tuple[str, ...]
    action: str
    risk: str
    change: Change
    evidence: Mapping[str, Any] = field(default_factory=dict)
    protected: bool = False


def is_protected(activities: Iterable[str], finding: Finding | None, config: Config) -> bool:
    """True when the finding says so or an activity matches a ``[signoffs] protected`` regex."""
    if finding is not None and bool(finding.evidence.get("protected", False)):
        return True
    pats = tuple(config.signoffs.protected)
    return any(re.search(p, a, re.IGNORECASE) for p in pats for a in activities)


def _h(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    h = float(seconds) / 3600.0
    return f"{h * 60:.0f} min" if h < 1 else (f"{h:.1f} h" if h < 48 else f"{h / 24:.1f} days")


def _num(ev: Mapping[str, Any], *keys: str) -> float | None:
    for k in keys:
        v = ev.get(k)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and not math.isnan(v):
            return float(v)
    return None


def _node_stat(graph: Any, activity: str, col: str) -> float | None:
    nodes = getattr(graph, "nodes", None)
    if not isinstance(nodes, pd.DataFrame) or col not in nodes.columns or "activity" not in nodes.columns:
        return None
    hit = nodes.loc[nodes["activity"] == activity, col]
    if hit.empty or pd.isna(hit.iloc[0]):
        return None
    return float(hit.iloc[0])


# ---------------------------------------------------------------------------------------------- rules
def _redundant(f: Finding, graph: Any, config: Config) -> list[Candidate]:
    ev = f.evidence
    step = ev.get("step") or (f.activities[0] if f.activities else None)
    reason = ev.get("reason")
    if not step or reason is None:
        return []
    prot = is_protected([step, *f.activities], f, config)
    n = ev.get("executions", ev.get("cases"))
    k = (ev.get("rejections") or 0) + (ev.get("returns") or 0)
    up = _num(ev, "reject_rate_upper")
    if n is None or up is None:
        return []
    record = f"it rejected {k} of {n} cases (upper bound {up:.1%})"
    if reason == "rubber_stamp":
        if prot:
            return [Candidate(
                heuristic="automation", finding_ids=(f.id,), activities=(step,), protected=True,
                action=(f"Automate '{step}' as a rule-based check: {record}, but it is a protected control, so keep "
                        f"it — as an automatic check with exceptions routed to a person."),
                risk=(f"'{step}' is required by regulation or policy: agree the automated rules with compliance, keep "
                      f"an audit trail, and sample automated approvals to confirm the reject rate stays near {up:.1%}."),
                change=Change(kind="remove", activities=(step,)),
                evidence={"reason": reason, "reject_rate_upper": up, "executions": n, "rejections": k,
                          "scenario": "the check becomes automatic and instant; the control stays"})]
        return [Candidate(
            heuristic="task_elimination", finding_ids=(f.id,), activities=(step,),
            action=f"Drop '{step}': {record}.",
            risk=(f"A reject rate this low can still hide rare, costly catches: check whether '{step}' deters errors "
                  f"upstream, is required by a policy not named in the config, or catches problems recorded "
                  f"outside the log. Pilot the change and sample cases it would have seen."),
            change=Change(kind="remove", activities=(step,)),
            evidence={"reason": reason, "reject_rate_upper": up, "executions": n, "rejections": k})]
    if reason in ("never_overturns", "repeat_same_role") and not prot:
        cond = ev.get("condition")
        if reason == "never_overturns" and cond:
            subset: tuple[Any, ...] = ("after", str(cond))
            what = f"it never overturned an approval by '{cond}'"
        elif reason == "repeat_same_role":
            subset = ("repeat_role",)
            what = "it repeats an approval the same role already gave"
        else:
            return []
        return [Candidate(
            heuristic="empowerment", finding_ids=(f.id,), activities=(step,),
            action=(f"Let the earlier approver decide: skip '{step}' where {what} "
                    f"({ev.get('condition_cases', n)} cases, upper bound {up:.1%})."),
            risk=(f"Make sure the earlier approver's mandate covers these cases (limits, four-eyes rules) and keep "
                  f"'{step}' for the cases outside the condition; review a sample after the change."),
            change=Change(kind="remove", activities=(step,), subset=subset),
            evidence={"reason": reason, "condition": cond, "reject_rate_upper": up})]
    return []


def _sequential(f: Finding, graph: Any, config: Config) -> list[Candidate]:
    steps = f.evidence.get("steps") or list(f.activities)
    if not steps or len(steps) < 2:
        return []
    steps = [str(s) for s in steps]
    prot = is_protected(steps, f, config)
    names = " and ".join(f"'{s}'" for s in steps)
    risk = f.evidence.get("risk") or (f"Verify that {steps[-1]} does not use {steps[0]}'s result or documents.")
    return [Candidate(
        heuristic="parallelism", finding_ids=(f.id,), activities=tuple(steps), protected=prot,
        action=f"Run {names} side by side instead of one after the other ({f.cases_affected} cases run them in a chain).",
        risk=str(risk) + (" Both controls stay in place; only their order changes." if prot else ""),
        change=Change(kind="parallel", activities=tuple(steps)),
        evidence={k: f.evidence[k] for k in ("safety", "both_orders_seen", "dependence") if k in f.evidence})]


def _knockout(f: Finding, graph: Any, config: Config) -> list[Candidate]:
    ev = f.evidence
    a, b = ev.get("first"), ev.get("second")
    if not a or not b:
        return []
    ra, rb = _num(ev, "first_reject_rate"), _num(ev, "second_reject_rate")
    rates = f" ({rb:.1%} vs {ra:.1%} rejected)" if ra is not None and rb is not None else ""
    return [Candidate(
        heuristic="knockout_reordering", finding_ids=(f.id,), activities=(str(a), str(b)),
        protected=is_protected([a, b], f, config),
        action=f"Check '{b}' before '{a}': it is quicker and rejects more often{rates}, so '{a}' is then only done "
               f"for cases '{b}' approves.",
        risk=str(ev.get("risk") or f"Run '{b}' first only if it does not need '{a}''s result."),
        change=Change(kind="remove", activities=(str(a),), subset=("rejected_by", str(b))),
        evidence={"knocked_out_cases": ev.get("knocked_out_cases"), "first_reject_rate": ra, "second_reject_rate": rb})]


def _triage(f: Finding, graph: Any, config: Config) -> list[Candidate]:
    ev = f.evidence
    step = ev.get("step") or (f.activities[0] if f.activities else None)
    if not step:
        return []
    prot = is_protected([step], f, config)
    basis = ev.get("basis")
    if basis == "attribute":
        attr, thr, side = ev.get("attribute"), _num(ev, "threshold"), ev.get("fast_track_side")
        if attr is None or thr is None or side not in ("below", "above"):
            return []
        subset: tuple[Any, ...] = ("attribute", str(attr), str(side), thr)
        where = f"{attr} {'<' if side == 'below' else '>'} {thr:g}"
    elif basis == "prior_approval" and ev.get("condition"):
        subset = ("after", str(ev["condition"]))
        where = f"right after '{ev['condition']}' approved"
    else:
        return []
    up = _num(ev, "fast_track_reject_rate_upper")
    rate = f" (reject rate there at most {up:.1%})" if up is not None else ""
    how = "a lighter, automated check" if prot else "no manual check"
    return [Candidate(
        heuristic="triage", finding_ids=(f.id,), activities=(str(step),), protected=prot,
        action=f"Fast-track '{step}' for cases with {where}{rate}: {how} for them, the full check for the rest.",
        risk=str(ev.get("risk") or "Sample fast-tracked cases to confirm the reject rate stays low."),
        change=Change(kind="remove", activities=(str(step),), subset=subset),
        evidence={"basis": basis, "fast_track": ev.get("fast_track", where), "fast_track_cases": ev.get("fast_track_cases"),
                  "scenario": "fast-tracked cases skip the manual step (protected: an instant automated check)"})]


def _by_cause(f: Finding, graph: Any, config: Config) -> list[Candidate]:
    ev = f.evidence
    causes = ev.get("causes")
    if not isinstance(causes, Mapping) or not causes:
        return []
    dominant = ev.get("dominant_cause") or max(sorted(causes), key=lambda k: causes[k] or 0.0)
    edge = f.edge
    target = edge[1] if edge else (ev.get("activity") or (f.activities[-1] if f.activities else None))
    if not target:
        return []
    target = str(target)
    total = sum(float(v or 0.0) for v in causes.values())
    share = float(causes.get(dominant) or 0.0) / total if total > 0 else 0.0
    if share < _MIN_CAUSE_SHARE and dominant != "contention":
        # no cause stands out (or none was measured): no cause-specific remedy to propose. Contention is
        # exempt: a pool measured busy (utilisation) queues whatever its waits are labelled.
        return []
    where = f"between '{edge[0]}' and '{edge[1]}'" if edge else f"before '{target}'"
    base_ev = {"dominant_cause": dominant, "cause_share": round(share, 4)}
    if dominant == "batching":
        sched = ev.get("batching") if isinstance(ev.get("batching"), Mapping) else {}
        days = sched.get("weekdays") if isinstance(sched, Mapping) else None
        schedule = "daily" if days is not None and len(days) < 5 else "immediate"
        now = f" (now {sched['schedule']})" if isinstance(sched, Mapping) and sched.get("schedule") else ""
        plan = "every working day" if schedule == "daily" else "case by case, as soon as each case is ready"
        period = sched.get("waiting_period_s") if isinstance(sched, Mapping) else None
        since = f"'{edge[0]}'" if edge else "becoming ready"
        after = f"; none went sooner than {_h(float(period))} after {since} (a waiting period the change keeps)" \
            if period else ""
        return [Candidate(
            heuristic="batch_frequency", finding_ids=(f.id,), activities=(target,),
            action=f"Run '{target}' {plan} instead of in batches{now}: cases wait {_h(_num(ev, 'wait_median_s'))} "
                   f"median {where}, {share:.0%} of it for the batch{after}.",
            risk=("Batches often exist for a reason (bank cut-offs, a payment file per run, a person's fixed slot): "
                  "check the cost per run and whether downstream systems accept more frequent releases."),
            change=Change(kind="release", activities=(target,), edge=edge, schedule=schedule),
            evidence={**base_ev, "schedule_now": sched.get("schedule") if isinstance(sched, Mapping) else None,
                      "schedule_new": schedule})]
    out: list[Candidate] = []
    cont = float(causes.get("contention") or 0.0) / total if total > 0 else 0.0
    if dominant != "contention" and dominant != "batching" and cont >= _CONTENTION_SHARE:
        out = _by_cause(_with_dominant(f, "contention"), graph, config)
    if dominant == "contention":
        return [Candidate(
            heuristic="capacity", finding_ids=(f.id,), activities=(target,),
            action=f"Add capacity to '{target}' (or let people from idle teams take its work): cases wait "
                   f"{_h(_num(ev, 'wait_median_s', 'wait_before_median_s'))} median {where}, {share:.0%} of it "
                   f"because its people are busy with other cases.",
            risk=("More people cost money and need training; check whether the load is seasonal (flexible assignment "
                  "may be enough) and that the extra capacity does not just move the queue downstream."),
            change=Change(kind="capacity", activities=(target,)), evidence=base_ev)]
    if dominant == "unavailability":
        return [Candidate(
            heuristic="calendar_alignment", finding_ids=(f.id,), activities=(target,),
            action=f"Align working hours for '{target}' with when work arrives: {share:.0%} of the wait {where} is "
                   f"time its people are off duty.",
            risk=("Shifted or extended hours need agreement with staff and may cost overtime; check whether the "
                  "work could instead be handed to a team in another time zone."),
            change=Change(kind="cut_wait", activities=(target,), edge=edge, causes=("unavailability",)),
            evidence={**base_ev, "scenario": "upper bound: the off-duty part of the wait disappears"})] + out
    if dominant == "extraneous" and f.kind == "wait_hotspot":
        if ev.get("basis", "start") == "start":
            why = f"{share:.0%} of the wait is outside the team's hands"
            risk = ("The log cannot tell a customer's delay from a scheduled date: confirm what the cases wait for "
                    "before redesigning contacts.")
        else:  # no start times: the residual also holds queueing at busy staff and the step's own work
            some = " for some of these steps" if ev.get("basis") == "mixed" else ""
            why = (f"{share:.0%} of the wait is not explained by batches or off-duty hours; without start times{some} "
                   "the log cannot tell waiting on others from queueing or the work itself")
            risk = ("The log has no start times, so this wait may be queueing at busy staff or the step's own work "
                    "rather than waiting on the customer: find out what the cases wait for before redesigning "
                    "contacts (if it is a queue, capacity is the remedy).")
        return [Candidate(
            heuristic="contact_reduction", finding_ids=(f.id,), activities=(target,),
            action=f"Cut the waiting on others {where}: collect what is needed in the first contact, let customers "
                   f"self-check documents, reuse trusted data ({why}).",
            risk=risk,
            change=Change(kind="cut_wait", activities=(target,), edge=edge, causes=("extraneous",), cap_at_median=True),
            evidence={**base_ev, "scenario": "no case waits on others longer than today's median case on this edge"})] + out
    if f.kind == "bottleneck":
        svc = _num(ev, "service_median_s")
        p90 = _node_stat(graph, target, "service_p90_s")
        if svc is not None and p90 is not None and 0 < svc <= 1800 and p90 <= 1.5 * svc:
            return [_automation(f, target, svc, p90, config)] + out
    return out


def _with_dominant(f: Finding, cause: str) -> Finding:
    """The same finding read as if ``cause`` dominated (a secondary cause that still deserves a remedy)."""
    ev = dict(f.evidence)
    ev["dominant_cause"] = cause
    return Finding(kind=f.kind, category=f.category, severity=f.severity, activities=f.activities, summary=f.summary,
                   evidence=ev, cases_affected=f.cases_affected, edge=f.edge, id=f.id)


def _automation(f: Finding, target: str, svc: float, p90: float, config: Config) -> Candidate:
    return Candidate(
        heuristic="automation", finding_ids=(f.id,), activities=(target,),
        protected=is_protected([target], f, config),
        action=f"Automate '{target}': it takes a short, steady {_h(svc)} (p90 {_h(p90)}), the mark of a rule-like task.",
        risk="Check that the decisions follow written rules and that exceptions can be routed to a person.",
        change=Change(kind="remove", activities=(target,)),
        evidence={"service_median_s": svc, "service_p90_s": p90, "scenario": "the step becomes automatic and instant"})


def _bottleneck(f: Finding, graph: Any, config: Config) -> list[Candidate]:
    out = _by_cause(f, graph, config)
    util = _num(f.evidence, "utilisation")
    if util is not None and util >= _BUSY and isinstance(f.evidence.get("causes"), Mapping) \
            and not any(c.heuristic == "capacity" for c in out):
        # a pool this busy queues whatever the wait is labelled (nights in a long queue read as off-duty time)
        out += _by_cause(_with_dominant(f, "contention"), graph, config)
    if out:
        return out
    ev = f.evidence
    target = ev.get("activity") or (f.activities[0] if f.activities else None)
    svc = _num(ev, "service_median_s")
    p90 = _node_stat(graph, str(target), "service_p90_s") if target else None
    if target and svc is not None and p90 is not None and 0 < svc <= 1800 and p90 <= 1.5 * svc:
        return [_automation(f, str(target), svc, p90, config)]
    return []


def _rework(f: Finding, graph: Any, config: Config) -> list[Candidate]:
    ev = f.evidence
    seq = ev.get("sequence")
    if ev.get("level", "activity") != "activity" or not seq or ev.get("pattern") not in ("loop", "repeat"):
        return []
    seq = tuple(str(s) for s in seq)
    share = _num(ev, "share_of_cases")
    return [Candidate(
        heuristic="contact_reduction", finding_ids=(f.id,), activities=seq,
        action=(f"Get it right the first time: {share:.0%} of cases " if share is not None else "Cases ") +
               f"loop {' → '.join(seq)}; ask for everything in one contact (checklist, document self-check, reuse of "
               f"data the bank already holds).",
        risk=("Not every loop can be avoided (new information, legitimate corrections): the estimate assumes every "
              "case is first-time right and is an upper bound."),
        change=Change(kind="first_time_right", activities=seq),
        evidence={"pattern": ev.get("pattern"), "share_of_cases": share,
                  "scenario": "upper bound: no case loops"})]


def _handoff(f: Finding, graph: Any, config: Config) -> list[Candidate]:
    ev = f.evidence
    if f.edge is None:
        return []
    src, dst = f.edge
    within = _num(ev, "wait_median_within_s")
    across = _num(ev, "wait_median_across_s")
    s1, s2 = _node_stat(graph, src, "service_median_s"), _node_stat(graph, dst, "service_median_s")
    if within is None or across is None or s1 is None or s2 is None:
        return []
    if max(s1, s2) > 1800 or across < 4 * max(s1 + s2, 60.0):
        return []  # composition pays only for short steps separated by long hand-off waits
    return [Candidate(
        heuristic="task_composition", finding_ids=(f.id,), activities=(src, dst),
        action=(f"Merge '{src}' ({_h(s1)}) and '{dst}' ({_h(s2)}) into one task for one person: the hand-off between "
                f"them waits {_h(across)} median, against {_h(within)} when the same person carries on."),
        risk=("The merged task needs both skills and access rights; check segregation-of-duties rules "
              "before giving both steps to one person. The estimate counts only the time cases queued at the next "
              "person (busy with other cases or off duty) where start times show it; time spent waiting for the "
              "customer stays."),
        change=Change(kind="handoff_merge", activities=(src, dst), edge=(src, dst), keep_wait_s=within),
        evidence={"service_median_s": [s1, s2], "wait_median_across_s": across, "wait_median_within_s": within})]


_RULES = {"redundant_signoff": _redundant, "sequential_signoffs": _sequential, "knockout_order": _knockout,
          "signoff_triage": _triage, "wait_hotspot": _by_cause, "bottleneck": _bottleneck, "rework_loop": _rework,
          "handoff": _handoff}


def candidates(findings: Iterable[Finding], graph: Any, config: Config) -> list[Candidate]:
    """Every candidate suggestion the catalogue derives from ``findings`` (merged per heuristic and subject).

    Candidates for the same heuristic, activities and change are merged (their finding ids united); a
    protected control never gets ``task_elimination`` or ``empowerment``.
    """
    findings = list(findings)
    # a step any finding calls protected is protected for every finding (detectors may disagree)
    # (a finding about several steps — a pair of sequential sign-offs — names which of them is protected in
    # ``protected_steps``; its overall ``protected`` flag must not spread to the unprotected partner)
    flagged: set[str] = set()
    for f in findings:
        if not bool(f.evidence.get("protected", False)):
            continue
        named = f.evidence.get("protected_steps")
        if isinstance(named, list):
            flagged.update(str(x) for x in named)
        elif len(f.activities) <= 1 or f.evidence.get("step"):
            flagged.update(str(x) for x in (*f.activities[:1], f.evidence.get("step") or "") if x)
        else:
            flagged.update(str(x) for x in f.activities)  # unknown which one: protect them all
    merged: dict[tuple[Any, ...], Candidate] = {}
    for f in findings:
        rule = _RULES.get(f.kind)
        if rule is None:
            continue
        for c in rule(f, graph, config):
            guarded = c.protected or is_protected(c.activities, f, config) or bool(flagged & set(c.activities))
            if c.heuristic in ("task_elimination", "empowerment") and guarded:
                continue  # a protected control is never removed, whatever one finding's evidence says
            key = (c.heuristic, c.activities, c.change)
            if key in merged:
                old = merged[key]
                ids = tuple(sorted(set(old.finding_ids) | set(c.finding_ids)))
                merged[key] = Candidate(heuristic=old.heuristic, finding_ids=ids, activities=old.activities,
                                        action=old.action, risk=old.risk, change=old.change, evidence=old.evidence,
                                        protected=old.protected or c.protected)
            else:
                merged[key] = c
    return [merged[k] for k in sorted(merged, key=lambda k: (k[0], k[1], repr(k[2])))]
