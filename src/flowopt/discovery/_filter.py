"""Keep the main paths of a busy graph without disconnecting it; the full graph stays available."""

from __future__ import annotations

import dataclasses

import pandas as pd

from flowopt.discovery._graph import END, START, ProcessGraph
from flowopt.errors import ParameterError

__all__ = ["filter_graph"]


def filter_graph(graph: ProcessGraph, *, coverage: float = 1.0, max_edges: int | None = None,
                 min_activity_share: float = 0.0) -> ProcessGraph:
    """A simplified copy of ``graph`` for display.

    Activities seen in fewer than ``min_activity_share`` of events are dropped; then edges are kept in
    order of frequency until they cover ``coverage`` of all transitions (or ``max_edges`` are kept),
    always keeping each remaining activity's most frequent incoming and outgoing edge so every
    activity stays reachable from ``[start]`` and can reach ``[end]``.

    Examples
    --------
    >>> import flowopt
    >>> g = flowopt.discover_graph(flowopt.datasets.example_log())
    >>> small = flowopt.filter_graph(g, coverage=0.8)
    >>> len(small.edges) <= len(g.edges)
    True
    """
    if not 0.0 < coverage <= 1.0:
        raise ParameterError(f"The 'coverage' parameter of filter_graph must be a float in (0, 1]. Got {coverage!r} "
                             "instead.")
    if max_edges is not None and max_edges < 1:
        raise ParameterError(f"The 'max_edges' parameter of filter_graph must be an int >= 1. Got {max_edges!r} "
                             "instead.")
    if not 0.0 <= min_activity_share < 1.0:
        raise ParameterError("The 'min_activity_share' parameter of filter_graph must be a float in [0, 1). "
                             f"Got {min_activity_share!r} instead.")
    nodes = graph.nodes
    total_events = max(int(nodes["count"].sum()), 1)
    keep_nodes = set(nodes.loc[nodes["count"] / total_events >= min_activity_share, "activity"])
    if not keep_nodes:
        keep_nodes = {str(nodes.sort_values("count", ascending=False).iloc[0]["activity"])}
    allowed = keep_nodes | {START, END}
    edges = graph.edges[graph.edges["source"].isin(allowed) & graph.edges["target"].isin(allowed)]
    ranked = edges.sort_values(["count", "source", "target"], ascending=[False, True, True], kind="stable")
    total = max(int(ranked["count"].sum()), 1)
    cum = ranked["count"].cumsum() / total
    chosen = set(ranked.index[(cum.shift(fill_value=0.0) < coverage).to_numpy()])
    if max_edges is not None:
        chosen &= set(ranked.index[:max_edges])
    # connectivity: each kept activity keeps its strongest in- and out-edge
    for act in keep_nodes:
        for col in ("target", "source"):
            cand = ranked[ranked[col] == act]
            if len(cand):
                chosen.add(cand.index[0])
    kept = edges.loc[sorted(chosen)].sort_values(["source", "target"], kind="stable").reset_index(drop=True)
    new_nodes = nodes[nodes["activity"].isin(keep_nodes)].reset_index(drop=True)
    info = {"coverage": coverage, "max_edges": max_edges, "min_activity_share": min_activity_share,
            "edges_kept": len(kept), "edges_total": len(graph.edges),
            "transitions_covered": float(kept["count"].sum() / total)}
    return dataclasses.replace(graph, nodes=new_nodes, edges=kept, filtered=info)
