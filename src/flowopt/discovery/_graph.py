"""The process graph: activities and directly-follows edges with frequencies and times.

What an edge means
------------------
``a -> b`` counts every pair of consecutive events of one case (events ordered by end time, ties by
the input's order) — the directly-follows relation, exactly as ``pm4py.discover_dfg`` counts it. Its
*wait* is the idle time between ``a`` finishing and ``b`` starting: ``b.start - a.end``. When ``b``'s
start is unknown the wait is measured from completion to completion (``b.end - a.end``), and the graph
says so (``wait_basis``). When ``b`` started before ``a`` finished (parallel work in the case), the
pair is still counted, its wait is 0 — never negative — and it is counted in ``overlap_count``.
Artificial nodes ``[start]`` and ``[end]`` mark where cases begin and end; their edges carry counts but
no waits.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from flowopt.discovery._kernels import NAT, dense_unique, dfg_pairs, distinct_counts, group_stats
from flowopt.log import EventLog

__all__ = ["END", "START", "ProcessGraph", "discover_graph", "edge_waits"]

START = "[start]"
END = "[end]"
_NS = 1e9


def edge_waits(log: EventLog) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Directly-follows pairs of ``log`` as (row index of the earlier event, wait in seconds, overlap flag).

    Row ``i`` is followed by row ``i + 1`` of the same case.
    """
    c = log.codes()
    i = dfg_pairs(c.case)
    nxt_start = c.start[i + 1]
    known = nxt_start != NAT
    begin = np.where(known, nxt_start, c.end[i + 1])
    gap = (begin - c.end[i]).astype(np.float64) / _NS
    overlap = known & (gap < 0)
    return i, np.maximum(gap, 0.0), overlap


@dataclass(frozen=True, slots=True, kw_only=True)
class ProcessGraph:
    """Nodes (activities) and edges (directly-follows relations) with counts and time statistics.

    Attributes
    ----------
    nodes : DataFrame
        ``activity, stage, count, cases, service_mean_s, service_median_s, service_p90_s, service_total_s,
        service_known`` (service times only where starts are known).
    edges : DataFrame
        ``source, target, count, cases, overlap_count, wait_mean_s, wait_median_s, wait_p90_s, wait_max_s,
        wait_total_s``; ``[start]``/``[end]`` edges have no waits.
    wait_basis : {"start", "completion", "mixed"}
        Whether waits run to the next activity's start, to its completion (no starts in the log), or both.
    n_cases, n_events : int

    Examples
    --------
    >>> import flowopt
    >>> g = flowopt.discover_graph(flowopt.datasets.example_log())
    >>> g.edges.columns[:4].tolist()
    ['source', 'target', 'count', 'cases']
    >>> int(g.edges.loc[g.edges.source == "[start]", "count"].sum()) == g.n_cases
    True
    """

    nodes: pd.DataFrame
    edges: pd.DataFrame
    wait_basis: Literal["start", "completion", "mixed"]
    n_cases: int
    n_events: int
    filtered: dict[str, Any] = field(default_factory=dict)

    # --------------------------------------------------------------- conversions
    def to_frame(self) -> pd.DataFrame:
        """The edges as a DataFrame (a copy)."""
        return self.edges.copy()

    def to_dict(self) -> dict[str, Any]:
        """The contract's ``graph`` section: ``{"nodes": [...], "edges": [...], ...}``."""
        return {
            "wait_basis": self.wait_basis,
            "n_cases": self.n_cases,
            "n_events": self.n_events,
            "nodes": _records(self.nodes),
            "edges": _records(self.edges),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProcessGraph:
        """Inverse of :meth:`to_dict`."""
        return cls(nodes=pd.DataFrame(data["nodes"]), edges=pd.DataFrame(data["edges"]),
                   wait_basis=data["wait_basis"], n_cases=int(data["n_cases"]), n_events=int(data["n_events"]))

    def to_networkx(self) -> Any:
        """A ``networkx.DiGraph`` with node and edge attributes (``[start]``/``[end]`` included)."""
        import networkx as nx

        g = nx.DiGraph()
        g.add_node(START, stage="", count=self.n_cases)
        g.add_node(END, stage="", count=self.n_cases)
        for rec in _records(self.nodes):
            g.add_node(rec["activity"], **{k: v for k, v in rec.items() if k != "activity"})
        for rec in _records(self.edges):
            g.add_edge(rec["source"], rec["target"], **{k: v for k, v in rec.items() if k not in ("source", "target")})
        return g

    # --------------------------------------------------------------- rendering
    def to_dot(self, **kwargs: Any) -> str:
        """Graphviz DOT source of the process map (see :func:`flowopt.discovery.render_dot`)."""
        from flowopt.discovery._render import render_dot

        return render_dot(self, **kwargs)

    def to_svg(self, **kwargs: Any) -> str:
        """SVG of the process map (needs the Graphviz ``dot`` program)."""
        from flowopt.discovery._render import render_svg

        return render_svg(self, **kwargs)

    def __repr__(self) -> str:
        inner = self.edges[(self.edges.source != START) & (self.edges.target != END)]
        return (f"ProcessGraph({len(self.nodes)} activities, {len(inner)} edges, {self.n_cases:,} cases, "
                f"{self.n_events:,} events, waits from {self.wait_basis})")

    def _repr_html_(self) -> str:
        from flowopt.discovery._render import try_render_svg

        svg = try_render_svg(self)
        top = self.edges.sort_values("wait_total_s", ascending=False, na_position="last").head(10)
        table = top[["source", "target", "count", "wait_median_s", "wait_p90_s"]].to_html(index=False, escape=True)
        return f"<div><strong>{html.escape(repr(self))}</strong>{svg or ''}{table}</div>"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/plain": repr(self), "text/html": self._repr_html_()}


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for rec in df.to_dict(orient="records"):
        clean = {}
        for k, v in rec.items():
            if isinstance(v, (np.integer,)):
                v = int(v)
            elif isinstance(v, (np.floating, float)):
                v = None if np.isnan(v) else float(v)
            elif v is pd.NA:
                v = None
            clean[k] = v
        out.append(clean)
    return out


def discover_graph(log: EventLog) -> ProcessGraph:
    """Discover the process graph of ``log``: directly-follows edges with counts and waits.

    Parameters
    ----------
    log : EventLog

    Returns
    -------
    ProcessGraph

    Examples
    --------
    >>> import flowopt
    >>> g = flowopt.discover_graph(flowopt.datasets.example_log())
    >>> g.wait_basis
    'start'
    """
    c = log.codes()
    names = c.activity_names
    a = len(names)
    n_nodes = a + 2
    s_code, e_code = a, a + 1
    n = len(c.case)
    n_cases = len(c.case_start) - 1

    # ---- nodes
    count = np.bincount(c.activity, minlength=a)
    cases = distinct_counts(c.activity, c.case, a, n_cases)
    known = c.start != NAT
    svc = (c.end[known] - c.start[known]).astype(np.float64) / _NS
    ss = group_stats(c.activity[known].astype(np.int64), svc, a)
    stage = [log.stage_of(nm) for nm in names]
    nodes = pd.DataFrame({
        "activity": list(names), "stage": stage, "count": count.astype(np.int64), "cases": cases.astype(np.int64),
        "service_mean_s": ss.mean, "service_median_s": ss.median, "service_p90_s": ss.p90,
        "service_total_s": ss.total, "service_known": ss.count.astype(np.int64),
    })
    nodes = nodes[nodes["count"] > 0].sort_values("activity", kind="stable").reset_index(drop=True)

    # ---- edges between activities
    i, wait, overlap = edge_waits(log)
    code = c.activity[i].astype(np.int64) * n_nodes + c.activity[i + 1]
    # start and end edges
    first = c.case_start[:-1]
    last = c.case_start[1:] - 1
    s_codes = s_code * n_nodes + c.activity[first].astype(np.int64)
    e_codes = c.activity[last].astype(np.int64) * n_nodes + e_code
    all_codes = np.concatenate([code, s_codes, e_codes])
    all_cases = np.concatenate([c.case[i], np.arange(n_cases), np.arange(n_cases)])
    if n_nodes * n_nodes <= max(4 * len(all_codes), 1 << 20):
        uniq, inv, ecount = dense_unique(all_codes, n_nodes * n_nodes)
    else:
        uniq, inv, ecount = np.unique(all_codes, return_inverse=True, return_counts=True)
    # distinct cases per edge
    ecases = distinct_counts(inv, all_cases, len(uniq), n_cases)
    inner_inv = inv[: len(code)]
    ws = group_stats(inner_inv, wait, len(uniq))
    ov = np.bincount(inner_inv, weights=overlap.astype(np.float64), minlength=len(uniq)).astype(np.int64)
    label = np.array(list(names) + [START, END], dtype=object)
    src, tgt = uniq // n_nodes, uniq % n_nodes
    is_artificial = (src == s_code) | (tgt == e_code)

    def nanif(x: np.ndarray) -> np.ndarray:
        out: np.ndarray = np.where(is_artificial, np.nan, x)
        return out

    edges = pd.DataFrame({
        "source": label[src], "target": label[tgt], "count": ecount.astype(np.int64),
        "cases": ecases.astype(np.int64), "overlap_count": ov,
        "wait_mean_s": nanif(ws.mean), "wait_median_s": nanif(ws.median), "wait_p90_s": nanif(ws.p90),
        "wait_max_s": nanif(ws.max), "wait_total_s": nanif(ws.total),
    })
    edges = edges.sort_values(["source", "target"], kind="stable").reset_index(drop=True)
    if n == 0 or not known.any():
        basis: Literal["start", "completion", "mixed"] = "completion"
    elif known.all() or known[i + 1].all():
        basis = "start"
    else:
        basis = "mixed"
    return ProcessGraph(nodes=nodes, edges=edges, wait_basis=basis, n_cases=n_cases, n_events=n)
