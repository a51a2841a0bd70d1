"""The stage view: the process collapsed to consultation → application → approval → disbursement →
after-service, with the time cases spend in each stage and between stages."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from flowopt.discovery._kernels import NAT, group_stats
from flowopt.log import STAGES, EventLog

__all__ = ["StageView", "discover_stages"]


@dataclass(frozen=True, slots=True, kw_only=True)
class StageView:
    """Per stage: ``stage, visits, cases, time_in_mean_s, time_in_median_s, time_in_p90_s, time_in_total_s``;
    per stage transition: ``source, target, count, wait_median_s, wait_p90_s, wait_total_s``.

    A *visit* is a run of consecutive events of one case in the same stage; a case that goes back to
    an earlier stage visits it again.
    """

    stages: pd.DataFrame
    transitions: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """The per-stage table (a copy)."""
        return self.stages.copy()

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        def rec(df: pd.DataFrame) -> list[dict[str, Any]]:
            return [{k: (None if isinstance(v, float) and np.isnan(v) else (v.item() if hasattr(v, "item") else v))
                     for k, v in r.items()} for r in df.to_dict(orient="records")]
        return {"stages": rec(self.stages), "transitions": rec(self.transitions)}

    def __repr__(self) -> str:
        return f"StageView({', '.join(self.stages['stage'])})"

    def _repr_html_(self) -> str:
        return f"<div><strong>{html.escape(repr(self))}</strong>{self.stages.to_html(index=False)}" \
               f"{self.transitions.to_html(index=False)}</div>"


def discover_stages(log: EventLog) -> StageView:
    """Collapse ``log`` to its service stages.

    Examples
    --------
    >>> import flowopt
    >>> sv = flowopt.discover_stages(flowopt.datasets.example_log())
    >>> "approval" in set(sv.stages["stage"])
    True
    """
    c = log.codes()
    order = {s: i for i, s in enumerate(STAGES)}
    act_stage = np.array([order.get(log.stage_of(a), len(STAGES) - 1) for a in c.activity_names], dtype=np.int64)
    st = act_stage[c.activity] if len(c.activity) else np.zeros(0, dtype=np.int64)
    n = len(st)
    if n == 0:
        return StageView(stages=pd.DataFrame(columns=["stage"]), transitions=pd.DataFrame(columns=["source"]))
    new = np.ones(n, dtype=bool)
    new[1:] = (st[1:] != st[:-1]) | (c.case[1:] != c.case[:-1])
    vstart = np.flatnonzero(new)
    begin = np.where(c.start != NAT, c.start, c.end)
    v_begin = np.minimum.reduceat(begin, vstart)
    v_end = np.maximum.reduceat(c.end, vstart)
    v_stage = st[vstart]
    v_case = c.case[vstart]
    k = len(STAGES)
    dur = (v_end - v_begin).astype(np.float64) / 1e9
    s = group_stats(v_stage, dur, k)
    seen = np.zeros((int(v_case.max()) + 1) * k, dtype=bool)  # (case, stage) visited: no sort needed
    seen[v_case * k + v_stage] = True
    cases = seen.reshape(-1, k).sum(axis=0).astype(np.int64)
    stages = pd.DataFrame({"stage": list(STAGES), "visits": s.count, "cases": cases, "time_in_mean_s": s.mean,
                           "time_in_median_s": s.median, "time_in_p90_s": s.p90, "time_in_total_s": s.total})
    stages = stages[stages["visits"] > 0].reset_index(drop=True)
    same = np.flatnonzero(v_case[1:] == v_case[:-1])
    code = v_stage[same] * k + v_stage[same + 1]
    gap = np.maximum((v_begin[same + 1] - v_end[same]).astype(np.float64) / 1e9, 0.0)
    uniq = np.flatnonzero(np.bincount(code, minlength=k * k))  # np.unique of small codes, without sorting
    lut = np.zeros(k * k, dtype=np.int64)
    lut[uniq] = np.arange(len(uniq))
    g = group_stats(lut[code], gap, len(uniq))
    names = np.array(STAGES, dtype=object)
    transitions = pd.DataFrame({"source": names[uniq // k], "target": names[uniq % k], "count": g.count,
                                "wait_median_s": g.median, "wait_p90_s": g.p90, "wait_total_s": g.total})
    return StageView(stages=stages, transitions=transitions.reset_index(drop=True))
