"""Sign-off triage and knock-out order: where a sign-off's rejections fall, and in which order checks run.

``signoff_triage`` — a sign-off that only rejects above (or below) some value of a numeric case
attribute (an amount: ``amount``, ``case:Amount``, ``(case)_Amount``, ``AMOUNT_REQ``, ...). The
threshold is the largest fast-track range whose reject rate has a one-sided Clopper–Pearson upper
bound below ``[signoffs] max_reject_rate`` with at least ``[signoffs] min_cases`` cases in it, while
the rest rejects clearly more (its lower bound lies above the fast track's upper bound).

``knockout_order`` — two sign-offs in a row where the first takes longer (service time, or wait +
service when starts are unknown) yet rejects significantly less often than the second (Fisher's
exact test at ``1 - confidence``): checking the cheap, often-rejecting one first spares the costly
work on the cases it knocks out.

Protected controls keep ``protected: true`` and ``eliminable: false`` in the evidence: a fast track
for a protected control means a lighter or automated check, never none.

Examples
--------
>>> import flowopt
>>> g = flowopt.datasets.generate_lending_log(600, seed=1, problems=["amount_threshold"])
>>> log = flowopt.read_log(g.frame, g.config)
>>> [(f.activities, f.evidence["attribute"]) for f in find_signoff_triage(log, None, log.config)]
[(('Credit risk approval',), 'amount')]
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as _st

from flowopt.analysis._findings import Finding, Severity, finding_id
from flowopt.analysis._signoff_steps import SignoffTable, signoff_steps
from flowopt.analysis._signoffs import (
    _shared_context,
    _step_codes,
    conditional_fast_tracks,
    reject_upper,
)
from flowopt.analysis._stats import clopper_pearson_interval
from flowopt.discovery._kernels import count_distinct
from flowopt.log import EventLog
from flowopt.options import Config, load_config

__all__ = ["amount_columns", "find_knockout_order", "find_signoff_triage"]

_AMOUNT = re.compile(r"amount|amt|\bsum\b|value|金额|额度|limit|loan|credit|requested|price", re.IGNORECASE)
_SKIP = {"case_id", "activity", "start", "end", "resource", "role", "outcome", "_row"}


def amount_columns(log: EventLog) -> list[str]:
    """Numeric attribute columns whose name reads like an amount, in the log's column order.

    Examples
    --------
    >>> import flowopt
    >>> amount_columns(flowopt.datasets.example_log())
    ['amount']
    """
    out = []
    for col in log.frame.columns:
        if col in _SKIP or col.startswith("_") or not _AMOUNT.search(col):
            continue
        series = log.frame[col]
        if pd.api.types.is_bool_dtype(series):
            continue
        if pd.api.types.is_numeric_dtype(series) or _numeric_share(series) >= 0.9:
            out.append(col)
    return out


def _numeric_share(series: pd.Series) -> float:
    """Share of the non-missing values of a text column that read as numbers (amounts kept as text)."""
    if not (pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)):
        return 0.0
    values = series.dropna()
    if values.empty:
        return 0.0
    sample = values.iloc[:: max(1, len(values) // 2000)]
    return float(pd.to_numeric(sample, errors="coerce").notna().mean())


def _as_float(series: pd.Series) -> np.ndarray:
    num = pd.to_numeric(series, errors="coerce")
    return np.asarray(num.astype("Float64").to_numpy(dtype=float, na_value=np.nan), dtype=float)


def _cfg(log: EventLog, config: Config | Any) -> Config:
    return log.config if config is None else load_config(config)


def find_signoff_triage(log: EventLog, graph: Any = None, config: Config | Any = None,
                        *, table: SignoffTable | None = None) -> list[Finding]:
    """Fast-track candidates: sign-offs whose rejections happen only on one side of an amount threshold.

    Also returns the conditional fast tracks of :func:`~flowopt.analysis._signoffs.conditional_fast_tracks` (a sign-off that never
    rejects right after another one approved, though it rejects elsewhere).
    """
    cfg = _cfg(log, config)
    so = cfg.signoffs
    table = signoff_steps(log, cfg) if table is None else table
    if table.steps.empty:
        return []
    out = conditional_fast_tracks(log, cfg, table=table)
    cols = amount_columns(log)
    if not cols:
        return out
    ex = table.executions
    case_codes = log.codes().case
    for col in cols:
        vals = _as_float(log.frame[col])
        per_case = pd.Series(vals).groupby(case_codes).max()
        x_all = per_case.reindex(ex["case"].to_numpy()).to_numpy(dtype=float)
        for st in table.steps.itertuples(index=False):
            sel = (ex["step"] == st.step).to_numpy() & (ex["outcome"] != "unknown").to_numpy() & np.isfinite(x_all)
            if sel.sum() < so.min_cases:
                continue
            g = ex[sel]
            x = x_all[sel]
            neg = g["outcome"].isin(["rejected", "returned"]).to_numpy()
            if neg.sum() < 5 or neg.mean() <= so.max_reject_rate:
                continue  # nothing to triage: no rejections to concentrate (a rubber stamp is reported elsewhere)
            for side in ("below", "above"):
                f = _threshold(log, st, g, x, neg, side, col, so.max_reject_rate, so.min_cases, so.confidence)
                if f is not None:
                    out.append(f)
    return out


def _threshold(log: EventLog, st: Any, g: pd.DataFrame, x: np.ndarray, neg: np.ndarray, side: str, col: str,
               max_rate: float, min_cases: int, conf: float) -> Finding | None:
    order = np.argsort(x if side == "below" else -x, kind="stable")
    xs, ns = x[order], neg[order]
    n = len(xs)
    k = np.cumsum(ns)
    m = np.arange(1, n + 1)
    # a cut after position i is valid only where the value changes (ties stay on one side)
    boundary = np.r_[xs[1:] != xs[:-1], False]
    rest_n, rest_k = n - m, k[-1] - k
    cases_in = pd.Series(g["case"].to_numpy()[order]).duplicated().to_numpy()
    ncases = np.cumsum(~cases_in)
    # bounds only where a cut could be valid: the upper bound is never below the point estimate k/m,
    # so cuts whose fast track already rejects max_rate or more are skipped (exact, and it keeps the
    # number of inverse-beta evaluations small on large logs)
    cand = boundary & (ncases >= min_cases) & (rest_n >= 5) & (k < max_rate * m)
    up = np.full(n, np.inf)
    if cand.any():
        up[cand] = reject_upper(k[cand], m[cand], conf)
    rest_lo = np.full(n, -np.inf)
    near = np.flatnonzero(cand & (up < max_rate))
    if len(near):
        with np.errstate(invalid="ignore", divide="ignore"):
            rest_lo[near] = np.asarray(clopper_pearson_interval(rest_k[near], np.maximum(rest_n[near], 1),
                                                                2 * conf - 1)[0], dtype=float)
    ok = cand & (up < max_rate) & (rest_lo > up)
    if not ok.any():
        return None
    # of the valid cuts keep those with the fewest rejections inside, then the widest: the threshold
    # sits just before the first rejection beyond the fast track, never inside the rejecting range
    valid = np.flatnonzero(ok)
    i = int(valid[k[valid] == k[valid].min()][-1])
    thr = float(xs[i + 1])  # first value outside the fast track
    fast = g.iloc[order[: i + 1]]
    t = fast["time_added_s"].to_numpy(dtype=float)
    n_fast = int(ncases[i])
    rate_rest = float(rest_k[i] / rest_n[i])
    if side == "above":
        thr = float(xs[i])  # the fast track is col >= thr, the rest lies below it
    edge = f"{col} < {thr:g}" if side == "below" else f"{col} >= {thr:g}"
    rest_text = f"at or above {thr:g}" if side == "below" else f"below {thr:g}"
    ev = {"basis": "attribute", "step": st.step, "activities": list(st.activities), "attribute": col,
          "threshold": thr, "fast_track_side": side, "fast_track": edge, "fast_track_cases": n_fast,
          "fast_track_executions": i + 1, "fast_track_rejections": int(k[i]),
          "fast_track_reject_rate": float(k[i] / (i + 1)), "fast_track_reject_rate_upper": float(up[i]),
          "other_cases": int(rest_n[i]), "other_reject_rate": rate_rest, "other_reject_rate_lower": float(rest_lo[i]),
          "reject_rate": float(neg.mean()), "confidence": conf, "method": "clopper_pearson_one_sided",
          "share_of_cases": n_fast / max(1, int(st.cases)), "time_saved_total_s": float(np.nansum(t)),
          "time_added_median_s": float(np.nanmedian(t)) if np.isfinite(t).any() else None,
          "protected": bool(st.protected), "eliminable": not bool(st.protected),
          "risk": (f"{st.step} rejected {int(k[i])} of {i + 1} cases with {edge}: a fast track there "
                   f"{'must still run a lighter or automated check (protected control)' if st.protected else 'skips the check'}; "
                   f"sample fast-tracked cases to confirm the rate stays below {max_rate:.0%}.")}
    summary = (f"{st.step} rejects {rate_rest:.1%} of cases with {col} {rest_text} but at most "
               f"{float(up[i]):.2%} of the {n_fast} cases with {edge}: a fast track would spare them")
    sev: Severity = "low" if st.protected else ("high" if n_fast >= 3 * min_cases else "medium")
    return Finding(kind="signoff_triage", category="design", severity=sev, activities=(st.step,), summary=summary,
                   evidence=ev, cases_affected=n_fast, score=float(np.nansum(t)) / 3600.0,
                   id=finding_id("signoff_triage", (st.step,), None, f"{col}:{side}"))


def find_knockout_order(log: EventLog, graph: Any = None, config: Config | Any = None,
                        *, table: SignoffTable | None = None) -> list[Finding]:
    """Costly checks that run before cheaper ones that reject more often (``knockout_order``)."""
    cfg = _cfg(log, config)
    table = signoff_steps(log, cfg) if table is None else table
    if len(table.steps) < 2:
        return []
    ex = _shared_context(table)
    conf = cfg.signoffs.confidence
    min_cases = cfg.analysis.min_cases
    dec = ex[ex["outcome"] != "unknown"]
    neg = dec["outcome"].isin(["rejected", "returned"])
    k_step = neg.groupby(dec["step"]).sum()
    n_step = dec.groupby("step").size()
    use_service = bool(ex["service_s"].notna().mean() > 0.5)
    cost_col = "service_s" if use_service else "time_added_s"
    cost = ex.groupby("step")[cost_col].median()
    # step pairs (previous sign-off approved, then another step) on integer codes, by (previous, next) name
    names, case, same, sc, pc = _step_codes(ex)
    prev_ok = np.zeros(case.shape[0], dtype=bool)  # the previous execution in the case approved
    prev_ok[1:] = (ex["outcome"] == "approved").to_numpy(dtype=bool)[:-1] & same[1:]
    idx = np.flatnonzero((pc >= 0) & (pc != sc) & prev_ok)
    key = pc[idx] * len(names) + sc[idx]
    o = np.argsort(key, kind="stable")  # a pair's rows keep their order
    groups = np.split(idx[o], np.flatnonzero(np.diff(key[o])) + 1) if idx.shape[0] else []
    neg_row = ex["outcome"].isin(["rejected", "returned"]).to_numpy(dtype=bool)
    out: list[Finding] = []
    for g in groups:  # loop over step pairs
        a, b = names[int(pc[g[0]])], names[int(sc[g[0]])]
        n_ab = count_distinct(case[g])
        if n_ab < min_cases or a not in n_step or b not in n_step:
            continue
        ca, cb = float(cost.get(a, np.nan)), float(cost.get(b, np.nan))
        if not (np.isfinite(ca) and np.isfinite(cb)) or ca < 1.5 * cb:
            continue
        ka, na, kb, nb = int(k_step[a]), int(n_step[a]), int(k_step[b]), int(n_step[b])
        ra, rb = ka / na, kb / nb
        if rb <= ra:
            continue
        p = float(_st.fisher_exact([[kb, nb - kb], [ka, na - ka]], alternative="greater")[1])
        if p >= 1.0 - conf:
            continue
        # work spent on the first step for the cases the second then knocked out
        knocked = g[neg_row[g]]
        wasted = ex["prev_time_s"].to_numpy(dtype=float)[knocked] if not use_service else \
            _service_of_prev(ex, ex["prev_row"].to_numpy()[knocked])
        wasted_total = float(np.nansum(wasted))
        n_knocked = count_distinct(case[knocked])
        prot = bool(table.steps.set_index("step").loc[[a, b], "protected"].any())
        ev = {"steps": [a, b], "first": a, "second": b, "cases": n_ab, "cost_basis": cost_col,
              "first_cost_median_s": ca, "second_cost_median_s": cb, "first_reject_rate": ra,
              "second_reject_rate": rb, "p_value": p, "confidence": conf, "knocked_out_cases": n_knocked,
              "wasted_first_step_total_s": wasted_total, "protected": prot, "eliminable": False,
              "protected_steps": [x for x in (a, b) if bool(table.steps.set_index("step").loc[x, "protected"])],
              "risk": (f"Run {b} before {a} only if {b} does not need {a}'s result; {a} would then be done only "
                       f"for cases {b} approves. Check regulation does not fix the order of these controls.")}
        summary = (f"{a} (median {ca / 3600:.1f} h) runs before {b} (median {cb / 3600:.1f} h), which rejects more "
                   f"often ({rb:.1%} vs {ra:.1%}): checking {b} first would spare {wasted_total / 3600:.0f} h")
        sev: Severity = "medium" if n_ab >= 2 * min_cases and wasted_total > 0 else "low"
        out.append(Finding(kind="knockout_order", category="design", severity=sev, activities=(a, b),
                           summary=summary, evidence=ev, cases_affected=n_knocked,
                           score=wasted_total / 3600.0))
    out.sort(key=lambda f: -f.score)
    return out[: cfg.analysis.top_n]


def _service_of_prev(ex: pd.DataFrame, prev_rows: np.ndarray) -> np.ndarray:
    """The service time of the executions at log rows ``prev_rows`` (NaN where none)."""
    out = np.full(prev_rows.shape[0], np.nan)
    row = ex["row"].to_numpy()  # the context is sorted by row, one execution per row
    if row.shape[0] == 0:
        return out
    at = np.minimum(np.searchsorted(row, prev_rows), row.shape[0] - 1)
    found = row[at] == prev_rows
    out[found] = ex["service_s"].to_numpy(dtype=float)[at[found]]
    return out
