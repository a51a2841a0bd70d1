"""Process maps: Graphviz DOT always, SVG/PNG where the ``dot`` program is installed.

Edge thickness follows frequency and edge colour follows the median wait (pale → deep red), so the
hand-offs where cases sit idle stand out; labels give the count and the median / p90 wait in human
units. A CJK-capable font is named first, so Chinese activity names render as glyphs, not boxes.
"""

from __future__ import annotations

import math
import shutil
import subprocess
from typing import TYPE_CHECKING, Any

from flowopt._format import human_duration
from flowopt.errors import MissingDependencyError

if TYPE_CHECKING:
    from flowopt.discovery._graph import ProcessGraph

__all__ = ["dot_available", "render_dot", "render_png", "render_svg", "try_render_svg"]

FONT = "Noto Sans CJK SC,Noto Sans SC,WenQuanYi Zen Hei,Microsoft YaHei,PingFang SC,DejaVu Sans,Helvetica,Arial"
_STAGE_COLOURS = {"consultation": "#e8f1fb", "application": "#e9f7ef", "approval": "#fff4e0",
                  "disbursement": "#f3e9fb", "after_service": "#fdecef", "other": "#f4f4f4"}
_PALETTE = ["#9e9e9e", "#f4a582", "#e66a4f", "#d6302b", "#a50f15"]


def _q(s: str) -> str:
    return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def dot_available() -> bool:
    """True when the Graphviz ``dot`` program is on the PATH."""
    return shutil.which("dot") is not None


def render_dot(graph: ProcessGraph, *, max_edges: int | None = 60, title: str | None = None) -> str:
    """DOT source of the process map.

    ``max_edges`` keeps the most frequent edges (always keeping each activity's strongest in- and
    out-edge, so the map stays connected); ``None`` draws all.

    Examples
    --------
    >>> import flowopt
    >>> dot = flowopt.discover_graph(flowopt.datasets.example_log()).to_dot()
    >>> dot.startswith("digraph")
    True
    """
    from flowopt.discovery._filter import filter_graph
    from flowopt.discovery._graph import END, START

    g = graph
    if max_edges is not None and len(graph.edges) > max_edges:
        g = filter_graph(graph, max_edges=max_edges)
    edges = g.edges
    max_count = max(int(edges["count"].max()) if len(edges) else 1, 1)
    waits = edges["wait_median_s"].dropna()
    hi = float(waits.max()) if len(waits) else 0.0
    lines = ["digraph process {", f'  graph [rankdir=TB, fontname={_q(FONT)}, nodesep=0.35, ranksep=0.45'
             + (f", label={_q(title)}, labelloc=t" if title else "") + "];",
             f"  node [shape=box, style=\"rounded,filled\", fontname={_q(FONT)}, fontsize=11];",
             f"  edge [fontname={_q(FONT)}, fontsize=9];",
             f'  {_q(START)} [label="", shape=circle, width=0.25, fillcolor="#4caf50"];',
             f'  {_q(END)} [label="", shape=doublecircle, width=0.2, fillcolor="#424242"];']
    for rec in g.nodes.itertuples(index=False):
        fill = _STAGE_COLOURS.get(str(rec.stage), "#f4f4f4")
        svc = "" if math.isnan(rec.service_median_s) else f"\nservice {human_duration(rec.service_median_s)}"
        label = f"{rec.activity}\n{int(rec.count):,}{svc}"
        lines.append(f"  {_q(rec.activity)} [label={_q(label)}, "
                     f"fillcolor={_q(fill)}];")
    for rec in edges.itertuples(index=False):
        width = 0.6 + 5.0 * math.sqrt(int(rec.count) / max_count)
        wm = rec.wait_median_s
        if math.isnan(wm) or hi <= 0:
            colour = _PALETTE[0]
            label = f"{int(rec.count):,}"
        else:
            colour = _PALETTE[min(int(4.999 * math.sqrt(wm / hi)), 4)]
            label = f"{int(rec.count):,}\nmed {human_duration(wm)} / p90 {human_duration(rec.wait_p90_s)}"
        lines.append(f"  {_q(rec.source)} -> {_q(rec.target)} [penwidth={width:.2f}, color={_q(colour)}, "
                     f"label={_q(label)}];")
    lines.append("}")
    return "\n".join(lines)


def _run_dot(dot: str, fmt: str) -> bytes:
    exe = shutil.which("dot")
    if exe is None:
        raise MissingDependencyError("Rendering the process map needs the Graphviz `dot` program. Install it "
                                     "(Debian/Ubuntu: `apt-get install graphviz`; macOS: `brew install graphviz`; "
                                     "conda: `conda install graphviz`) — `make setup` does this when run as root. "
                                     "The DOT source is available without it: graph.to_dot().")
    proc = subprocess.run([exe, f"-T{fmt}"], input=dot.encode("utf-8"), capture_output=True, timeout=120, check=False)
    if proc.returncode != 0:
        raise MissingDependencyError(f"Graphviz `dot` failed: {proc.stderr.decode('utf-8', 'replace')[:500]}")
    return proc.stdout


def render_svg(graph: ProcessGraph, **kwargs: Any) -> str:
    """SVG text of the process map (needs Graphviz ``dot``)."""
    return _run_dot(render_dot(graph, **kwargs), "svg").decode("utf-8")


def render_png(graph: ProcessGraph, **kwargs: Any) -> bytes:
    """PNG bytes of the process map (needs Graphviz ``dot``)."""
    return _run_dot(render_dot(graph, **kwargs), "png")


def try_render_svg(graph: ProcessGraph, **kwargs: Any) -> str | None:
    """SVG, or None (with no error) when ``dot`` is missing — for notebook displays."""
    if not dot_available():
        return None
    try:
        return render_svg(graph, **kwargs)
    except (MissingDependencyError, subprocess.TimeoutExpired):
        return None
