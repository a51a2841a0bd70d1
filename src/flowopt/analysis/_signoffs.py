"""Sign-off detectors: redundant sign-offs and sequential sign-offs that could run side by side.

Both work on :func:`~flowopt.analysis._signoff_steps.signoff_steps` (which steps are sign-offs and
what each execution decided).

``redundant_signoff`` — a sign-off that credibly catches nothing. Because recommending the removal
of a control that does catch problems is far worse than missing a redundant one, every verdict rests
on a one-sided *upper* confidence bound (Clopper–Pearson, level ``[signoffs] confidence``) of the
reject rate, never on a point estimate, and needs ``[signoffs] min_cases`` cases and a known
outcome for at least 90% of the step's executions (unknown outcomes could hide rejections):

- ``rubber_stamp``: the upper bound of the reject rate, per execution *and* per case, is below
  ``[signoffs] max_reject_rate``.
- ``never_overturns``: right after another sign-off approved, the step's reject rate has an upper
  bound below the maximum.
- ``repeat_same_role``: the same role (or the same person) already approved earlier in the case,
  with no rejection or return in between, and the repeat's reject rate has an upper bound below the
  maximum.

The two conditional reasons are reported as redundant only when the step's *overall* reject rate
(per execution and per case) is at most ``max_reject_rate`` too: a step that rejects elsewhere still
catches problems, so its conditional redundancy becomes a ``signoff_triage`` finding (skip or lighten
it in that situation) instead. Protected controls (``[signoffs] protected``) are analysed like any
other, but their evidence says ``protected: true`` and ``eliminable: false``.

``sequential_signoffs`` — sign-offs by different roles run one after the other (consecutive or with
one event between, not overlapping). Saving per case: the sum of both steps' wait + service minus the
larger one (i.e. the smaller one); pairs whose median saving is under five minutes are left out. Safety is graded from two signals: the other order (or an
overlap) is seen in the log, and the later step's outcome does not depend on the earlier one's
(Fisher's exact test on the 2×2 outcome table, where testable).

Examples
--------
>>> import flowopt
>>> g = flowopt.datasets.generate_lending_log(600, seed=1, problems=["rubber_stamp"])
>>> log = flowopt.read_log(g.frame, g.config)
>>> found = find_redundant_signoffs(log, None, log.config)
>>> [f.evidence["reason"] for f in found]
['rubber_stamp']
>>> found[0].activities
('Regional director approval',)
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as _st

from flowopt._memo import PerObjectCache
from flowopt._sorting import code_groups
from flowopt.analysis._findings import Finding, Severity, finding_id
from flowopt.analysis._signoff_steps import SignoffTable, signoff_steps
from flowopt.analysis._stats import clopper_pearson_interval
from flowopt.discovery._kernels import count_distinct, dense_unique
from flowopt.errors import ParameterError
from flowopt.log import EventLog
from flowopt.options import Config, load_config

__all__ = ["conditional_fast_tracks", "find_redundant_signoffs", "find_sequential_signoffs", "reject_upper", "signoff_context"]

METHOD = "clopper_pearson_one_sided"
_NEAR = 1  # at most this many other events between two sign-offs that run "one after the other"
_MIN_DECIDED_SHARE = 0.9  # a step is judged only when at least this share of its executions has an outcome
_MIN_SAVING_S = 300.0  # a median saving below five minutes per case is not worth changing the flow


def reject_upper(rejections: np.ndarray | int, n: np.ndarray | int, confidence: float) -> np.ndarray:
    """One-sided upper confidence bound (Clopper–Pearson) of a reject rate, vectorised (NaN where n == 0).

    Examples
    --------
    >>> round(float(reject_upper(0, 300, 0.95)), 4)
    0.0099
    >>> round(float(reject_upper(6, 300, 0.95)), 4)
    0.0391
    """
    if not 0.5 < confidence < 1.0:
        raise ParameterError(f"[signoffs] confidence must be a number in (0.5, 1), e.g. 0.95. Got {confidence!r}.")
    return np.asarray(clopper_pearson_interval(rejections, n, 2.0 * confidence - 1.0)[1], dtype=float)


_CONTEXT: PerObjectCache[pd.DataFrame] = PerObjectCache()


def signoff_context(table: SignoffTable) -> pd.DataFrame:
    """The executions with what came before each: the previous sign-off in the case and the previous
    one by the same role, plus whether a rejection or return happened in between (computed once per table;
    each caller gets its own copy)."""
    return _shared_context(table).copy()


def _shared_context(table: SignoffTable) -> pd.DataFrame:
    """:func:`signoff_context` without the copy, for the detectors that only read it (never modify it)."""
    return _CONTEXT.get(table, None, lambda: _signoff_context(table))


def _prev_text(col: pd.Series, same: np.ndarray) -> Any:
    """The previous row's value where ``same`` (else missing), as the plain column ``np.where`` would give.

    Text categoricals are shifted on their integer codes and decoded once (no Python objects per row).
    """
    if isinstance(col.dtype, pd.CategoricalDtype) and isinstance(col.cat.categories.dtype, pd.StringDtype):
        prev = _prev_codes(col.cat.codes.to_numpy(), same)
        return col.cat.categories.array.take(prev, allow_fill=True)  # Arrow's take: one pass, no row objects
    return np.where(same, col.shift(1), None)


def _signoff_context(table: SignoffTable) -> pd.DataFrame:
    ex = table.executions.sort_values("row", kind="stable").reset_index(drop=True)
    neg = ex["outcome"].isin(["rejected", "returned"]).to_numpy()
    case = ex["case"].to_numpy()
    same = np.zeros(len(ex), dtype=bool)
    same[1:] = case[1:] == case[:-1]
    ex["prev_step"] = _prev_text(ex["step"], same)
    ex["prev_outcome"] = _prev_text(ex["outcome"], same)
    ex["prev_role"] = _prev_text(ex["role"], same)
    ex["prev_resource"] = _prev_text(ex["resource"], same)
    ex["prev_end_ns"] = np.where(same, ex["end_ns"].shift(1).fillna(0).astype(np.int64), 0)
    ex["prev_row"] = np.where(same, ex["row"].shift(1).fillna(-1).astype(np.int64), -1)
    ex["prev_time_s"] = np.where(same, ex["time_added_s"].shift(1), np.nan)
    # rejections so far in the case (before this execution)
    cum = pd.Series(neg.astype(np.int64)).groupby(case).cumsum().to_numpy() - neg
    ex["neg_before"] = cum
    approved = (ex["outcome"] == "approved").to_numpy(dtype=bool)
    for key in ("role", "resource"):
        # the previous execution in the same case by the same role (person): it approved, and no rejection or
        # return happened in the case since
        prev = _prev_in_group(case, _codes(ex[key]))
        has = prev >= 0
        at = np.where(has, prev, 0)
        clean = has & approved[at] & (cum[at] + neg[at] == cum)
        ex[f"repeat_{key}"] = clean
        ex[f"repeat_{key}_step"] = ex["step"].array.take(np.where(has, prev, -1), allow_fill=True)
    return ex


def _prev_in_group(case: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Per row, the previous row (in row order) of the same case with the same ``key`` code (-1: none, or the
    row's key is missing)."""
    prev = np.full(case.shape[0], -1, dtype=np.int64)
    rows = np.flatnonzero(key >= 0)
    if rows.shape[0] == 0:
        return prev
    span = int(key.max()) + 1
    group = case[rows].astype(np.int64) * span + key[rows]
    by_group = np.argsort(group, kind="stable")  # each group's rows in row order
    o, g = rows[by_group], group[by_group]
    follows = np.flatnonzero(g[1:] == g[:-1]) + 1
    prev[o[follows]] = o[follows - 1]
    return prev


def _cfg(log: EventLog, config: Config | Any) -> Config:
    return log.config if config is None else load_config(config)


def _finding_sev(upper: float, max_rate: float, cases: int, min_cases: int, inferred: bool, protected: bool) -> Severity:
    if protected:
        return "low"
    if upper < max_rate / 2 and cases >= 3 * min_cases and not inferred:
        return "high"
    return "medium" if not inferred else "low"


def _hours(s: float) -> str:
    return f"{s / 3600:.1f} h"


def find_redundant_signoffs(log: EventLog, graph: Any = None, config: Config | Any = None,
                            *, table: SignoffTable | None = None) -> list[Finding]:
    """Sign-offs that credibly catch nothing (``redundant_signoff``) — see the module docstring.

    Conditional redundancy of a step that does reject elsewhere is not returned here; it is a
    ``signoff_triage`` finding (see :func:`conditional_fast_tracks`).
    """
    cfg = _cfg(log, config)
    return _assessed(log, cfg, signoff_steps(log, cfg) if table is None else table)[0]


def conditional_fast_tracks(log: EventLog, config: Config | Any = None, *,
                            table: SignoffTable | None = None) -> list[Finding]:
    """``signoff_triage`` findings (``basis`` ``prior_approval`` | ``repeat_same_role``): a sign-off that
    rejects overall, but never right after another sign-off approved or when its role already approved."""
    cfg = _cfg(log, config)
    return _assessed(log, cfg, signoff_steps(log, cfg) if table is None else table)[1]


_ASSESSED: PerObjectCache[tuple[list[Finding], list[Finding]]] = PerObjectCache()


def _assessed(log: EventLog, cfg: Config, table: SignoffTable) -> tuple[list[Finding], list[Finding]]:
    """:func:`_assess`, computed once per table and ``[signoffs]`` settings (two detectors read it); each
    caller gets its own lists of the (frozen) findings."""
    redundant, triage = _ASSESSED.get(table, cfg.signoffs, lambda: _assess(log, cfg, table))
    return list(redundant), list(triage)


def _rows_by_step(ex: pd.DataFrame) -> dict[Any, np.ndarray]:
    """Positions of each step's executions in ``ex``, in row order (one grouping pass, not a mask per step)."""
    codes, uniques = pd.factorize(ex["step"], use_na_sentinel=True)
    order, bounds = code_groups(codes, len(uniques))
    return {uniques[k]: order[bounds[k]:bounds[k + 1]] for k in range(len(uniques))}


def _assess(log: EventLog, cfg: Config, table: SignoffTable) -> tuple[list[Finding], list[Finding]]:
    so = cfg.signoffs
    if table.steps.empty:
        return [], []
    ex = _shared_context(table)
    conf, max_rate, min_cases = so.confidence, so.max_reject_rate, so.min_cases
    people = ex["resource"].nunique() >= 5  # "the same person" only means something with real names
    out: list[Finding] = []
    triage: list[Finding] = []
    by_step = _rows_by_step(ex)
    for st in table.steps.itertuples(index=False):
        g = ex.take(by_step.get(st.step, np.zeros(0, dtype=np.int64)))  # = ex[ex["step"] == st.step]
        dec = g[g["outcome"] != "unknown"]
        if dec["case"].nunique() < min_cases or len(dec) < _MIN_DECIDED_SHARE * len(g):
            continue  # too few cases, or too many executions without a known outcome to vouch for the rest
        neg = dec["outcome"].isin(["rejected", "returned"]).to_numpy()
        k_e, n_e = int(neg.sum()), len(dec)
        k_c = int(dec.loc[neg, "case"].nunique())
        n_c = int(dec["case"].nunique())
        up = float(max(reject_upper(k_e, n_e, conf), reject_upper(k_c, n_c, conf)))
        overall_ok = max(k_e / n_e, k_c / n_c) <= max_rate
        inferred = bool((dec["source"] == "inferred").any())
        times = g["time_added_s"].to_numpy(dtype=float)
        prev = g["prev_step"].dropna().value_counts(normalize=True).head(3)
        base = {
            "step": st.step, "activities": list(st.activities), "roles": list(st.roles),
            "cases": n_c, "executions": int(st.executions), "approvals": int(st.approvals),
            "rejections": int(st.rejections), "returns": int(st.returns),
            "reject_rate": k_e / n_e, "case_reject_rate": k_c / n_c, "confidence": conf, "method": METHOD,
            "max_reject_rate": max_rate, "protected": bool(st.protected), "eliminable": not bool(st.protected),
            "outcome_source": st.outcome_source, "outcomes_inferred": inferred,
            "time_added_median_s": float(np.nanmedian(times)) if np.isfinite(times).any() else None,
            "time_added_total_s": float(np.nansum(times)),
            "wait_median_s": float(np.nanmedian(g["wait_s"])) if g["wait_s"].notna().any() else None,
            "service_median_s": float(np.nanmedian(g["service_s"])) if g["service_s"].notna().any() else None,
            "preceded_by": [{"step": str(s), "share": float(v)} for s, v in prev.items()],
        }
        if inferred:
            base["note"] = ("outcomes were inferred (no outcome recorded): a rejection is read from the case "
                            "going back or ending right after the step")
        if up < max_rate and n_c >= min_cases:
            out.append(_redundant(base, "rubber_stamp", up, None, n_c, g, min_cases, max_rate))
            continue
        # conditional: right after another sign-off approved, and repeats by the same role / person
        conds: list[tuple[str, str, pd.DataFrame]] = []
        after = dec[(dec["prev_outcome"] == "approved") & (dec["prev_step"] != st.step)]
        for p, sub in after.groupby("prev_step", sort=True):
            conds.append(("never_overturns", str(p), sub))
        for key in ("role", "resource") if people else ("role",):
            sub = dec[dec[f"repeat_{key}"]]
            if len(sub):
                conds.append(("repeat_same_role", f"same {key}", sub))
                break
        base["overall_reject_rate_upper"] = up
        hits = []
        for reason, cond, sub in conds:
            kn = int(sub["outcome"].isin(["rejected", "returned"]).sum())
            nn = int(sub["case"].nunique())
            if nn < min_cases or kn > 0 and kn / len(sub) > max_rate:
                continue
            cu = float(reject_upper(kn, len(sub), conf))
            if cu >= max_rate:
                continue
            cond_ev = {"condition": cond, "condition_cases": nn, "condition_executions": len(sub),
                       "condition_rejections": kn, "condition_reject_rate": kn / len(sub),
                       "condition_reject_rate_upper": cu}
            hits.append((reason, cond, sub, cu, nn, cond_ev))
        if hits and overall_ok:  # one finding per step: the best-supported reason, the others listed
            reason, cond, sub, cu, nn, cond_ev = max(hits, key=lambda h: (h[4], -h[3]))
            others = [f"{h[0]}: {h[1]}" for h in hits if h[1] != cond]
            out.append(_redundant({**base, **cond_ev, "other_reasons": others}, reason, cu, cond, nn, sub,
                                  min_cases, max_rate))
        elif hits:
            for reason, cond, sub, cu, nn, cond_ev in hits:
                triage.append(_conditional_triage({**base, **cond_ev, "reject_rate_upper": up}, reason, cond, nn,
                                                  sub))
    return out, triage


def _redundant(ev: dict[str, Any], reason: str, upper: float, cond: str | None, cases: int, rows: pd.DataFrame,
               min_cases: int, max_rate: float) -> Finding:
    step = ev["step"]
    t = rows["time_added_s"].to_numpy(dtype=float)
    ev = {**ev, "reason": reason, "reject_rate_upper": upper,
          "time_saved_total_s": float(np.nansum(t)), "cases_affected": cases}
    what = {"rubber_stamp": f"rejected {ev['rejections'] + ev['returns']} of {ev['executions']} times",
            "never_overturns": f"never overturned an approval by {cond} ({cases} cases)",
            "repeat_same_role": f"repeats an approval by the {cond} ({cases} cases)"}[reason]
    guard = " (protected control: keep it, consider automating or triaging it)" if ev["protected"] else ""
    summary = (f"{step} {what}; reject rate ≤ {upper:.2%} at {ev['confidence']:.0%} confidence; "
               f"adds {_hours(ev['time_added_median_s'] or 0.0)} per case{guard}")
    sev = _finding_sev(upper, max_rate, cases, min_cases, ev["outcomes_inferred"], ev["protected"])
    cases_ids = rows["case_id"].drop_duplicates().head(5).to_numpy()
    return Finding(kind="redundant_signoff", category="design", severity=sev, activities=(step,), summary=summary,
                   evidence=ev, cases_affected=cases, score=float(np.nansum(t)) / 3600.0,
                   example_cases=tuple(str(c) for c in cases_ids))


def _conditional_triage(ev: dict[str, Any], reason: str, cond: str, cases: int, rows: pd.DataFrame) -> Finding:
    step = ev["step"]
    basis = "prior_approval" if reason == "never_overturns" else "repeat_same_role"
    t = rows["time_added_s"].to_numpy(dtype=float)
    ev = {**ev, "basis": basis, "fast_track": f"after {cond} approved" if basis == "prior_approval" else cond,
          "fast_track_cases": cases, "fast_track_reject_rate_upper": ev["condition_reject_rate_upper"],
          "time_saved_total_s": float(np.nansum(t)), "eliminable": False,
          "risk": (f"{step} rejects {ev['reject_rate']:.1%} overall, so it does catch problems: only lighten or "
                   f"skip it in the fast-track situation, and keep sampling those cases to check the rate stays low.")}
    summary = (f"{step} never rejected after {cond} approved ({cases} cases, reject rate ≤ "
               f"{ev['condition_reject_rate_upper']:.2%}) though it rejects {ev['reject_rate']:.1%} overall: "
               f"a fast track candidate")
    return Finding(kind="signoff_triage", category="design", severity="low" if ev["protected"] else "medium",
                   activities=(step,), summary=summary, evidence=ev, cases_affected=cases,
                   score=float(np.nansum(t)) / 3600.0, id=finding_id("signoff_triage", (step,), None, f"{basis}:{cond}"))


def find_sequential_signoffs(log: EventLog, graph: Any = None, config: Config | Any = None,
                             *, table: SignoffTable | None = None) -> list[Finding]:
    """Sign-offs by different roles run one after another that could run side by side (``sequential_signoffs``)."""
    cfg = _cfg(log, config)
    table = signoff_steps(log, cfg) if table is None else table
    if len(table.steps) < 2:
        return []
    ex = _shared_context(table)
    min_cases = cfg.analysis.min_cases
    roles = {r.step: set(r.roles) for r in table.steps.itertuples(index=False)}
    protected = {r.step: bool(r.protected) for r in table.steps.itertuples(index=False)}
    people = ex["resource"].nunique() >= 5
    # everything on integer codes: the step and the previous step in the case, the resource and the previous one
    names, case, same, sc, pc = _step_codes(ex)
    rc = _codes(ex["resource"])
    prc = _prev_codes(rc, same)
    idx = np.flatnonzero((pc >= 0) & (pc != sc))
    if idx.shape[0] == 0:
        return []
    near = (ex["row"].to_numpy()[idx] - ex["prev_row"].to_numpy()[idx] - 1) <= _NEAR
    start_ns = ex["start_ns"].to_numpy()[idx]
    overlap = (start_ns != np.iinfo(np.int64).min) & (start_ns < ex["prev_end_ns"].to_numpy()[idx])
    seq_all = near & ~overlap
    prev_time = ex["prev_time_s"].to_numpy(dtype=float)[idx]
    time_added = ex["time_added_s"].to_numpy(dtype=float)[idx]
    saving_all = np.fmin(time_added, prev_time)
    same_res_all = (rc[idx] >= 0) & (rc[idx] == prc[idx])
    ac, bc, pcase = pc[idx], sc[idx], case[idx]
    case_id = ex["case_id"]
    # outcomes of both steps per case for the dependence test
    neg_case = _neg_by_step(ex, names, sc, case)
    out: list[Finding] = []
    # the unordered pair {a, b} as one number; by (first name, second name) in sorted order
    u = np.minimum(ac, bc) * len(names) + np.maximum(ac, bc)
    by_u = np.argsort(u, kind="stable")  # a pair's rows keep their order
    cuts = np.flatnonzero(np.diff(u[by_u])) + 1
    for g in np.split(by_u, cuts):  # loop over step pairs
        s1, s2 = names[int(u[g[0]]) // len(names)], names[int(u[g[0]]) % len(names)]
        if roles.get(s1) and roles.get(s2) and roles[s1] & roles[s2]:
            continue  # same role: a hand-off inside one team, not a chain of departments
        seq = g[seq_all[g]]
        if seq.shape[0] == 0:
            continue
        same_person = float(same_res_all[seq].mean())
        if not (roles.get(s1) and roles.get(s2)) and people and same_person > 0.5:
            continue  # no roles, and mostly one person signs both: nothing to run side by side
        # the step that comes first in most cases (ties: the first name)
        present = np.unique(ac[seq])
        per_a = [count_distinct(pcase[seq[ac[seq] == a]]) for a in present]
        first_code = int(present[int(np.argmax(per_a))])
        first = names[first_code]
        second = s2 if first == s1 else s1
        main = seq[ac[seq] == first_code]
        n_main = count_distinct(pcase[main])
        other = count_distinct(pcase[seq[ac[seq] != first_code]])
        n_overlap = count_distinct(pcase[g[overlap[g]]])
        if n_main < min_cases or n_main < 0.5 * count_distinct(pcase[g]):
            continue
        both = other + n_overlap >= max(5, 0.02 * n_main)
        dep = _dependence(neg_case, first, second)
        independent = dep.get("independent") is True
        if dep.get("independent") is False:
            safety = "weak"
        else:
            safety = "strong" if both and independent else "moderate" if both or independent else "weak"
        sav = saving_all[main]
        sav_total = float(np.nansum(sav))
        if not np.isfinite(sav).any() or float(np.nanmedian(sav)) < _MIN_SAVING_S:
            continue  # one of the two is near-instant: running them side by side gains nothing
        first_time, second_time = prev_time[main], time_added[main]
        a_rej = neg_case.get(first)
        a_rate = float(a_rej[1].mean()) if a_rej is not None and len(a_rej[1]) else float("nan")
        risk = (f"Before running {second} alongside {first}, verify that {second} does not use {first}'s result "
                f"or documents; {second} would also work the {a_rate:.1%} of cases {first} rejects. ")
        if not both:
            risk += "The log never shows the reverse order, so the independence is untested in practice. "
        if dep.get("independent") is False:
            risk += f"Their outcomes look dependent (Fisher p = {dep['p_value']:.3g}): keep the order or check why. "
        ev = {"steps": [first, second], "roles": [sorted(roles.get(first, ())), sorted(roles.get(second, ()))],
              "cases": n_main, "reverse_order_cases": other, "overlap_cases": n_overlap,
              "both_orders_seen": bool(both), "dependence": dep, "safety": safety,
              "saving_median_s": float(np.nanmedian(sav)) if np.isfinite(sav).any() else None,
              "saving_total_s": sav_total,
              "time_first_median_s": float(np.nanmedian(first_time)) if (~np.isnan(first_time)).any() else None,
              "time_second_median_s": float(np.nanmedian(second_time)) if (~np.isnan(second_time)).any() else None,
              "first_reject_rate": a_rate, "risk": risk.strip(),
              "protected": protected.get(first, False) or protected.get(second, False),
              "protected_steps": [x for x in (first, second) if protected.get(x, False)], "eliminable": False}
        sev: Severity = "low" if safety == "weak" else "high" if safety == "strong" and n_main >= 100 else "medium"
        summary = (f"{first} → {second} run one after the other in {n_main} cases; side by side would save "
                   f"{_hours(float(np.nanmedian(sav)))} per case ({safety} evidence it is safe)")
        out.append(Finding(kind="sequential_signoffs", category="design", severity=sev, activities=(first, second),
                           summary=summary, evidence=ev, cases_affected=n_main, score=sav_total / 3600.0,
                           example_cases=tuple(str(c) for c in case_id.iloc[idx[main]].drop_duplicates().head(5))))
    out.sort(key=lambda f: -f.score)
    return out[: cfg.analysis.top_n]


def _codes(col: pd.Series) -> np.ndarray:
    """Integer codes of a column (-1 where missing): a categorical's own codes, else by factorizing."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        return np.asarray(col.cat.codes.to_numpy(), dtype=np.int64)
    return np.asarray(pd.factorize(col, use_na_sentinel=True)[0], dtype=np.int64)


def _step_codes(ex: pd.DataFrame) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The context's steps on integer codes: (the sorted step names, each execution's case, whether it follows
    an execution of the same case, its step code, the previous execution's step code in the case or -1 — the
    context's ``prev_step`` as a code)."""
    case = ex["case"].to_numpy()
    same = np.zeros(case.shape[0], dtype=bool)
    same[1:] = case[1:] == case[:-1]
    sc = _codes(ex["step"])
    return [str(v) for v in ex["step"].cat.categories], case, same, sc, _prev_codes(sc, same)


def _prev_codes(codes: np.ndarray, same: np.ndarray) -> np.ndarray:
    """The previous row's code where ``same`` (the same case), else -1."""
    prev = np.full(codes.shape[0], -1, dtype=np.int64)
    prev[1:] = codes[:-1]
    prev[~same] = -1
    return prev


def _neg_by_step(ex: pd.DataFrame, names: list[str], step: np.ndarray,
                 case: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per step name with decided executions: (its cases, sorted; whether the step rejected or returned in each)."""
    outcome = ex["outcome"]
    decided = (outcome != "unknown").to_numpy(dtype=bool) & (step >= 0)
    neg = outcome.isin(["rejected", "returned"]).to_numpy(dtype=bool)[decided]
    st, cs = step[decided], case[decided].astype(np.int64)
    if st.shape[0] == 0:
        return {}
    span = int(cs.max()) + 1
    size = (int(st.max()) + 1) * span
    key = st * span + cs
    keys, inv = dense_unique(key, size)[:2] if size <= 4 * key.shape[0] + 1_000_000 else \
        np.unique(key, return_inverse=True)
    any_neg = np.bincount(inv, weights=neg, minlength=keys.shape[0]) > 0
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    k_step = keys // span  # keys are sorted: each step's cases are one run
    bounds = np.r_[np.flatnonzero(np.r_[True, k_step[1:] != k_step[:-1]]), keys.shape[0]]
    for lo, hi in itertools.pairwise(bounds):
        out[names[int(k_step[lo])]] = (keys[lo:hi] % span, any_neg[lo:hi])
    return out


def _dependence(neg_case: dict[str, tuple[np.ndarray, np.ndarray]], a: str, b: str) -> dict[str, Any]:
    """Fisher's exact test of the two steps' outcomes in the cases where both were decided."""
    if a not in neg_case or b not in neg_case:
        return {"test": "fisher_exact", "testable": False, "independent": None, "reason": "no decided outcomes"}
    (ca, xa), (cb, xb) = neg_case[a], neg_case[b]
    _, ia, ib = np.intersect1d(ca, cb, assume_unique=True, return_indices=True)
    if ia.shape[0] == 0:
        return {"test": "fisher_exact", "testable": False, "independent": None, "reason": "never decided together"}
    # rows: the first step approved / rejected; columns: the same for the second
    arr = np.bincount(xa[ia].astype(np.int64) * 2 + xb[ib].astype(np.int64), minlength=4).reshape(2, 2)
    rec = {"test": "fisher_exact", "table": {"first_approved": arr[0].tolist(), "first_rejected": arr[1].tolist()},
           "cases": int(arr.sum())}
    if (arr.sum(axis=1) == 0).any() or (arr.sum(axis=0) == 0).any():
        why = (f"{b} never follows a rejection by {a}" if arr[1].sum() == 0 else "one outcome never occurs")
        return {**rec, "testable": False, "independent": None, "reason": why}
    p = float(_st.fisher_exact(arr)[1])
    return {**rec, "testable": True, "p_value": p, "independent": bool(p >= 0.05)}
