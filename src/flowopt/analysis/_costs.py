"""Time and cost per activity, per case and per stage, from the cost rates in the config.

Rates come from ``[costs]`` (``log.config.costs`` or an explicit ``config``):

- service time is charged at the resource's rate (``hourly_by_resource``), else its role's
  (``hourly_by_role``), else ``default_hourly``; events with an unknown start have no service time,
  so no service cost (the tables count how many were known);
- ``fixed_by_activity`` maps a regex to a fixed cost per execution (the first matching regex, in the
  order written, applies);
- ``waiting_hourly`` charges the idle time before each event (the previous event of the case ending
  to this one starting, or ending when the start is unknown) — the same wait the process graph uses.

When no rate at all is configured, every cost is ``None``/NaN and :attr:`CostTable.note` says so:
flowopt never invents a price.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from flowopt._memo import PerObjectCache, read_only
from flowopt.analysis._findings import jsonable
from flowopt.discovery._kernels import NAT, dfg_pairs
from flowopt.log import EventLog
from flowopt.options import Config, CostsConfig

__all__ = ["CostTable", "EventCosts", "cost_table", "distinct", "event_costs"]

_NS = 1e9
_HOUR = 3600.0


def distinct(x: np.ndarray) -> np.ndarray:
    """Sorted distinct values of an integer array (sort-based: NumPy 2.4's hash-based ``np.unique`` is
    ~15x slower on a million int64 keys)."""
    s = np.sort(np.asarray(x), kind="stable")
    return s[np.r_[True, s[1:] != s[:-1]]] if len(s) else s


def party_codes(log: EventLog, column: str) -> np.ndarray:
    """Integer codes of a categorical-like column of the log frame (-1 where missing)."""
    col = log.frame[column]
    if not isinstance(col.dtype, pd.CategoricalDtype):
        col = col.astype("category")
    return np.asarray(col.cat.codes.to_numpy(), dtype=np.int64)


@dataclass(frozen=True, slots=True, kw_only=True)
class EventCosts:
    """Per-event time and cost arrays, in log row order (costs NaN where no rate applies)."""

    service_s: np.ndarray  # NaN where the start is unknown
    wait_s: np.ndarray  # idle time before the event (0 for a case's first event)
    service_cost: np.ndarray
    fixed_cost: np.ndarray
    wait_cost: np.ndarray
    total: np.ndarray  # sum of the parts that have a rate (NaN when none does)
    configured: bool
    currency: str


def _costs_config(log: EventLog, config: Config | None) -> CostsConfig:
    return (config if config is not None else log.config).costs


def event_costs(log: EventLog, config: Config | None = None) -> EventCosts:
    """Service time, wait before, and the cost of every event of ``log`` (vectorised).

    Examples
    --------
    >>> import flowopt
    >>> ec = event_costs(flowopt.datasets.example_log(), flowopt.Config())
    >>> ec.configured, bool(np.isnan(ec.total).all())
    (False, True)
    """
    return _EVENT_COSTS.get(log, repr(_costs_config(log, config)), lambda: read_only(_event_costs(log, config)))


_EVENT_COSTS: PerObjectCache[EventCosts] = PerObjectCache()


def _event_costs(log: EventLog, config: Config | None) -> EventCosts:
    cc = _costs_config(log, config)
    c = log.codes()
    n = len(c.case)
    known = c.start != NAT
    if known.all():  # the same numbers as the masked version below, without its gathers
        service = np.divide(np.subtract(c.end, c.start), _NS)
    else:
        service = np.full(n, np.nan)
        service[known] = (c.end[known] - c.start[known]).astype(np.float64) / _NS
    wait = np.zeros(n)
    i = dfg_pairs(c.case)
    if len(i):
        nxt = c.start[i + 1]
        begin = np.where(nxt != NAT, nxt, c.end[i + 1])
        gap_s = np.divide(np.subtract(begin, c.end[i], out=begin), _NS)
        wait[i + 1] = np.maximum(gap_s, 0.0, out=gap_s)

    # hourly rate per event: resource, else role, else default
    rate = np.full(n, np.nan if cc.default_hourly is None else float(cc.default_hourly))
    for column, table in (("role", cc.hourly_by_role), ("resource", cc.hourly_by_resource)):
        if not table or column not in log.frame.columns:
            continue
        codes = party_codes(log, column)
        cats = log.frame[column].astype("category").cat.categories
        lookup = np.array([table.get(str(v), np.nan) for v in cats] + [np.nan], dtype=np.float64)
        r = lookup[codes]  # code -1 picks the trailing NaN
        rate = np.where(np.isnan(r), rate, r)
    has_rate = cc.default_hourly is not None or bool(cc.hourly_by_role) or bool(cc.hourly_by_resource)
    service_cost = service * rate / _HOUR if has_rate else np.full(n, np.nan)

    fixed = np.full(n, np.nan)
    if cc.fixed_by_activity:
        per_act = np.full(len(c.activity_names), np.nan)
        rules = [(re.compile(p, re.IGNORECASE), float(v)) for p, v in cc.fixed_by_activity.items()]
        for k, name in enumerate(c.activity_names):  # loop over activities, not events
            for rx, value in rules:
                if rx.search(name):
                    per_act[k] = value
                    break
        fixed = per_act[c.activity] if n else fixed
    wait_cost = wait * float(cc.waiting_hourly) / _HOUR if cc.waiting_hourly is not None else np.full(n, np.nan)
    # the sum of the parts that are known (NaN when none is): what np.nansum over the stacked parts gives,
    # added in the same order, without stacking three full-length copies
    missing = np.ones(n, dtype=bool)
    total = np.zeros(n)  # nansum starts from +0.0 (so -0.0 parts sum to +0.0, and total is never -0.0)
    parts = ((service_cost, has_rate), (fixed, bool(cc.fixed_by_activity)), (wait_cost, cc.waiting_hourly is not None))
    for part, set_up in parts:
        if not set_up:  # all NaN: it would add +0.0 everywhere (no change) and mark nothing known
            continue
        gap = np.isnan(part)
        np.add(total, part, out=total, where=~gap)  # where the part is NaN, total + 0.0 == total
        missing &= gap
    total[missing] = np.nan
    configured = has_rate or bool(cc.fixed_by_activity) or cc.waiting_hourly is not None
    return EventCosts(service_s=service, wait_s=wait, service_cost=service_cost, fixed_cost=fixed,
                      wait_cost=wait_cost, total=total, configured=configured, currency=cc.currency)


@dataclass(frozen=True, slots=True, kw_only=True)
class CostTable:
    """Time and cost per activity, per stage and per case.

    Attributes
    ----------
    activities : DataFrame
        One row per activity: ``activity, stage, count, cases, service_known, service_total_s,
        service_mean_s, wait_total_s, wait_mean_s, service_cost, fixed_cost, wait_cost, cost_total,
        cost_per_execution, cost_per_case``; costs NaN when no rate applies.
    stages : DataFrame
        The same sums per stage (``stage, count, cases, ...``).
    cases : Series
        Cost of each case (indexed by case id; NaN when nothing is priced).
    configured : bool
        Whether any rate was configured.
    currency : str
    note : str
        What was (not) priced and why.
    """

    activities: pd.DataFrame
    stages: pd.DataFrame
    cases: pd.Series
    configured: bool
    currency: str
    note: str

    def to_frame(self) -> pd.DataFrame:
        """The per-activity table (a copy)."""
        return self.activities.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: per-activity and per-stage records and a per-case summary (never per-case lists)."""
        cost = self.cases.to_numpy(dtype=float)
        ok = cost[np.isfinite(cost)]
        summary = {"cases": len(cost), "priced": len(ok),
                   "mean": float(ok.mean()) if len(ok) else None,
                   "median": float(np.median(ok)) if len(ok) else None,
                   "p90": float(np.percentile(ok, 90)) if len(ok) else None,
                   "total": float(ok.sum()) if len(ok) else None}
        return {"configured": self.configured, "currency": self.currency, "note": self.note,
                "activities": jsonable(self.activities.to_dict(orient="records")),
                "stages": jsonable(self.stages.to_dict(orient="records")),
                "per_case": summary}

    def __repr__(self) -> str:
        total = float(np.nansum(self.cases.to_numpy(dtype=float))) if self.configured else None
        money = f"{total:,.2f} {self.currency}" if total is not None else "no rates configured"
        return f"CostTable({len(self.activities)} activities, {len(self.cases):,} cases, {money})"

    def _repr_html_(self) -> str:
        return f"<div><strong>{html.escape(repr(self))}</strong>{self.activities.to_html(index=False)}</div>"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/plain": repr(self), "text/html": self._repr_html_()}


def _sum_or_nan(values: np.ndarray, group: np.ndarray, n: int) -> np.ndarray:
    """Per-group sum of the finite values; NaN for groups with no finite value."""
    ok = np.isfinite(values)
    s = np.bincount(group[ok], weights=values[ok], minlength=n)
    has = np.bincount(group[ok], minlength=n) > 0
    return np.where(has, s, np.nan)


def cost_table(log: EventLog, config: Config | None = None) -> CostTable:
    """Time and cost per activity, per case and per stage.

    Parameters
    ----------
    log : EventLog
    config : Config, optional
        Its ``costs`` section gives the rates; default: the config the log was read with.

    Returns
    -------
    CostTable
        Per-case costs add up to the per-activity totals (``cases.sum() == activities.cost_total.sum()``).

    Examples
    --------
    >>> import flowopt
    >>> log = flowopt.datasets.example_log()
    >>> t = cost_table(log, flowopt.load_config({"costs": {"default_hourly": 60.0}}))
    >>> bool(abs(t.cases.sum() - t.activities["cost_total"].sum()) < 1e-6 * t.cases.sum())
    True
    >>> cost_table(log, flowopt.Config()).note
    'no cost rates configured ([costs] default_hourly, hourly_by_role, ...): costs are None'
    """
    ec = event_costs(log, config)
    c = log.codes()
    names = c.activity_names
    a = len(names)
    n_cases = len(c.case_start) - 1
    act = c.activity.astype(np.int64)
    count = np.bincount(act, minlength=a)
    cases = np.bincount((distinct(c.case * max(a, 1) + act) % max(a, 1)).astype(np.int64), minlength=a) \
        if len(act) else np.zeros(a, dtype=np.int64)
    known = np.isfinite(ec.service_s)
    svc_known = np.bincount(act[known], minlength=a)
    svc_total = np.bincount(act[known], weights=ec.service_s[known], minlength=a)
    wait_total = np.bincount(act, weights=ec.wait_s, minlength=a)
    with np.errstate(invalid="ignore", divide="ignore"):
        frame = pd.DataFrame({
            "activity": list(names), "stage": [log.stage_of(nm) for nm in names],
            "count": count.astype(np.int64), "cases": cases.astype(np.int64),
            "service_known": svc_known.astype(np.int64),
            "service_total_s": np.where(svc_known > 0, svc_total, np.nan),
            "service_mean_s": np.where(svc_known > 0, svc_total / np.maximum(svc_known, 1), np.nan),
            "wait_total_s": wait_total, "wait_mean_s": wait_total / np.maximum(count, 1),
            "service_cost": _sum_or_nan(ec.service_cost, act, a),
            "fixed_cost": _sum_or_nan(ec.fixed_cost, act, a),
            "wait_cost": _sum_or_nan(ec.wait_cost, act, a),
            "cost_total": _sum_or_nan(ec.total, act, a),
        })
        frame["cost_per_execution"] = frame["cost_total"] / frame["count"].where(frame["count"] > 0)
        frame["cost_per_case"] = frame["cost_total"] / frame["cases"].where(frame["cases"] > 0)
    frame = frame[frame["count"] > 0].sort_values("activity", kind="stable").reset_index(drop=True)

    sum_cols = ["count", "service_known", "service_total_s", "wait_total_s", "service_cost", "fixed_cost",
                "wait_cost", "cost_total"]
    stages = frame.groupby("stage", sort=True)[sum_cols].sum(min_count=1).reset_index()
    stage_list = sorted({log.stage_of(nm) for nm in names})
    stage_code = np.array([stage_list.index(log.stage_of(nm)) for nm in names] or [0], dtype=np.int64)
    n_st = max(len(stage_list), 1)
    pairs = distinct(c.case * n_st + stage_code[act]) if len(act) else np.zeros(0, dtype=np.int64)
    per_stage = np.bincount(pairs % n_st, minlength=n_st)
    stage_cases = dict(zip(stage_list, per_stage.tolist()))
    stages["cases"] = np.array([stage_cases.get(s, 0) for s in stages["stage"]], dtype=np.int64)
    stages["cost_per_case"] = stages["cost_total"] / stages["cases"].where(stages["cases"] > 0)
    stages = stages[["stage", "count", "cases", *sum_cols[1:], "cost_per_case"]]

    per_case = _sum_or_nan(ec.total, c.case, n_cases) if n_cases else np.zeros(0)
    series = pd.Series(per_case, index=pd.Index(c.case_ids, dtype="str", name="case_id"), name="cost")
    if not ec.configured:
        note = "no cost rates configured ([costs] default_hourly, hourly_by_role, ...): costs are None"
    else:
        parts = []
        cc = _costs_config(log, config)
        if cc.default_hourly is not None or cc.hourly_by_role or cc.hourly_by_resource:
            share = float(known.mean()) if len(known) else 0.0
            parts.append(f"service time at hourly rates ({share:.0%} of events have a known start)")
        if cc.fixed_by_activity:
            parts.append("fixed cost per execution")
        if cc.waiting_hourly is not None:
            parts.append("waiting time at waiting_hourly")
        note = "priced: " + "; ".join(parts)
    return CostTable(activities=frame, stages=stages.reset_index(drop=True), cases=series,
                     configured=ec.configured, currency=ec.currency, note=note)
