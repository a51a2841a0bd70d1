"""Keep the main paths of a busy graph without disconnecting it; the full graph stays available."""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

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
    # connectivity: each kept activity keeps its strongest in- and out-edge ...
    for act in keep_nodes:
        for col in ("target", "source"):
            cand = ranked[ranked[col] == act]
            if len(cand):
                chosen.add(cand.index[0])
    # ... and the strongest paths that make it reachable from [start] and able to reach [end]: first through
    # kept activities only, then (when dropped activities were the only way) through the full graph
    if _unconnected(chosen, graph.edges, keep_nodes):
        chosen = _connect(chosen, edges, graph.edges, keep_nodes)
    if _unconnected(chosen, graph.edges, keep_nodes):
        chosen = _connect(chosen, graph.edges, graph.edges, keep_nodes)
    kept = graph.edges.loc[sorted(chosen)].sort_values(["source", "target"], kind="stable").reset_index(drop=True)
    restored = (set(kept["source"]) | set(kept["target"])) - keep_nodes - {START, END}
    new_nodes = nodes[nodes["activity"].isin(keep_nodes | restored)].reset_index(drop=True)
    info = {"coverage": coverage, "max_edges": max_edges, "min_activity_share": min_activity_share,
            "edges_kept": len(kept), "edges_total": len(graph.edges),
            "transitions_covered": float(kept["count"].sum() / total),
            "activities_restored": sorted(restored)}
    return dataclasses.replace(graph, nodes=new_nodes, edges=kept, filtered=info)


def _reached(chosen: set[Any], all_edges: pd.DataFrame, forward: bool) -> set[str]:
    """Nodes reachable from [start] (forward) or that reach [end] (backward) over the chosen edges."""
    import networkx as nx

    sub = all_edges.loc[sorted(chosen)]
    g = nx.DiGraph()
    g.add_nodes_from([START, END])
    if forward:
        g.add_edges_from(zip(sub["source"], sub["target"]))
        return set(nx.descendants(g, START)) | {START}
    g.add_edges_from(zip(sub["target"], sub["source"]))
    return set(nx.descendants(g, END)) | {END}


def _unconnected(chosen: set[Any], all_edges: pd.DataFrame, needed: set[str]) -> bool:
    return bool(needed - _reached(chosen, all_edges, True) or needed - _reached(chosen, all_edges, False))


def _connect(chosen: set[Any], pool: pd.DataFrame, all_edges: pd.DataFrame, needed: set[str]) -> set[Any]:
    """Add the most frequent paths (fewest, strongest hops) from ``pool`` so every needed node is reachable
    from [start] and reaches [end] (a loop over activities, not events)."""
    import networkx as nx

    chosen = set(chosen)
    for forward in (True, False):
        g = nx.DiGraph()
        for idx, s, t, c in zip(pool.index, pool["source"], pool["target"], pool["count"]):
            a, b = (s, t) if forward else (t, s)
            g.add_edge(a, b, weight=1.0 / max(float(c), 1.0), idx=idx)
        reached = _reached(chosen, all_edges, forward)
        for act in sorted(needed):
            if act in reached or act not in g:
                continue
            sources = reached & set(g.nodes)
            if not sources:
                continue
            try:
                _, path = nx.multi_source_dijkstra(g, sources, target=act)
            except nx.NetworkXNoPath:
                continue
            chosen.update(g.edges[a, b]["idx"] for a, b in itertools.pairwise(path))
            reached = _reached(chosen, all_edges, forward)
    return chosen
