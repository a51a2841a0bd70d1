"""The data behind the report's charts, computed from the log (vectorised)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from flowopt.discovery import END, START, ProcessGraph, case_table, edge_waits
from flowopt.log import EventLog

__all__ = ["ChartData", "chart_data"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ChartData:
    """Waits of the top edges, weekly throughput, daily work in progress."""

    edge_waits: list[tuple[str, str, np.ndarray]]  # (source, target, waits in seconds)
    weekly: pd.DataFrame  # week (Timestamp, Monday), completed, throughput_median_s
    wip: pd.DataFrame  # day (Timestamp), open


def top_wait_edges(graph: ProcessGraph, n: int = 3) -> pd.DataFrame:
    """The ``n`` hand-off edges with the most waiting in total (``[start]``/``[end]`` excluded)."""
    e = graph.edges
    e = e[(e["source"] != START) & (e["target"] != END) & e["wait_total_s"].notna() & (e["wait_total_s"] > 0)]
    return e.sort_values(["wait_total_s", "source", "target"], ascending=[False, True, True]).head(n)


def chart_data(log: EventLog, graph: ProcessGraph, *, top_edges: int = 3) -> ChartData:
    """Compute the chart series of ``log``.

    Examples
    --------
    >>> import flowopt
    >>> log = flowopt.datasets.example_log()
    >>> d = chart_data(log, flowopt.discover_graph(log))
    >>> int(d.weekly["completed"].sum()) == log.n_cases
    True
    """
    c = log.codes()
    names = list(c.activity_names)
    series: list[tuple[str, str, np.ndarray]] = []
    if len(c.case):
        idx, wait, _ = edge_waits(log)
        src = c.activity[idx]
        dst = c.activity[idx + 1]
        code = {a: i for i, a in enumerate(names)}
        for rec in top_wait_edges(graph, top_edges).itertuples(index=False):
            s, t = code.get(rec.source), code.get(rec.target)
            if s is None or t is None:
                continue
            series.append((str(rec.source), str(rec.target), wait[(src == s) & (dst == t)]))
    ct = case_table(log)
    if len(ct):
        last = ct["last"].dt.tz_convert("UTC").dt.tz_localize(None)
        week = last.dt.to_period("W-SUN").dt.start_time
        weekly = (pd.DataFrame({"week": week, "tp": ct["throughput_s"].to_numpy(dtype=float)})
                  .groupby("week", sort=True)["tp"].agg(completed="size", throughput_median_s="median")
                  .reset_index())
        first = ct["first"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[ns]")
        lastv = last.to_numpy("datetime64[ns]")
        days = pd.date_range(pd.Timestamp(first.min()).normalize(), pd.Timestamp(lastv.max()).normalize(), freq="D")
        probe = (days + pd.Timedelta(hours=12)).to_numpy("datetime64[ns]")  # open at noon
        opened = np.searchsorted(np.sort(first), probe, side="right")
        closed = np.searchsorted(np.sort(lastv), probe, side="right")
        wip = pd.DataFrame({"day": days, "open": (opened - closed).astype(np.int64)})
    else:
        weekly = pd.DataFrame(columns=["week", "completed", "throughput_median_s"])
        wip = pd.DataFrame(columns=["day", "open"])
    return ChartData(edge_waits=series, weekly=weekly, wip=wip)


def describe(data: ChartData) -> dict[str, Any]:
    """A small JSON-ready summary of the chart data (for tests and debugging)."""
    return {"edges": [(s, t, len(w)) for s, t, w in data.edge_waits], "weeks": len(data.weekly),
            "days": len(data.wip)}
