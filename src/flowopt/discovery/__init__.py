"""Discovering the process as it runs: graph, variants, stage view, filtering, process maps."""

from __future__ import annotations

from flowopt.discovery._conformance import Conformance, Model, conformance, discover_model
from flowopt.discovery._filter import filter_graph
from flowopt.discovery._graph import END, START, ProcessGraph, discover_graph, edge_waits
from flowopt.discovery._outofcore import discover_graph_parquet
from flowopt.discovery._render import dot_available, render_dot, render_png, render_svg
from flowopt.discovery._spark import spark_discover_graph, spark_discover_variants, spark_session
from flowopt.discovery._stageview import StageView, discover_stages
from flowopt.discovery._variants import Variants, case_table, discover_variants

__all__ = ["END", "START", "Conformance", "Model", "ProcessGraph", "StageView", "Variants", "case_table", "conformance", "discover_graph", "discover_graph_parquet",
           "discover_model", "discover_stages", "discover_variants", "dot_available", "edge_waits", "filter_graph", "render_dot",
           "render_png", "render_svg", "spark_discover_graph", "spark_discover_variants", "spark_session"]
