"""flowopt: process mining for financial service flows.

Read a log, discover the process as it really runs, find bottlenecks, redundant sign-offs and
wait-time hotspots, and get suggestions with their estimated savings.

Examples
--------
>>> import flowopt
>>> log = flowopt.datasets.example_log()
>>> graph = flowopt.discover_graph(log)
"""

from __future__ import annotations

from flowopt import datasets, errors
from flowopt._analyze import Analysis, analyze
from flowopt.analysis import (
    Finding,
    Findings,
    compute_kpis,
    cost_table,
    find_bottlenecks,
    find_handoffs,
    find_knockout_order,
    find_practice_variation,
    find_redundant_signoffs,
    find_rework_loops,
    find_sequential_signoffs,
    find_signoff_triage,
    find_wait_hotspots,
    signoff_steps,
    waiting_times,
)
from flowopt.discovery import (
    Conformance,
    ProcessGraph,
    StageView,
    Variants,
    conformance,
    discover_graph,
    discover_model,
    discover_stages,
    discover_variants,
    filter_graph,
)
from flowopt.history import score
from flowopt.log import EventLog, read_log
from flowopt.options import Config, load_config
from flowopt.report import to_html, to_markdown
from flowopt.suggest import Saving, Suggestion, Suggestions, suggest

__version__ = "0.1.0"

__all__ = [
    "Analysis",
    "Config",
    "Conformance",
    "EventLog",
    "Finding",
    "Findings",
    "ProcessGraph",
    "Saving",
    "StageView",
    "Suggestion",
    "Suggestions",
    "Variants",
    "__version__",
    "analyze",
    "compute_kpis",
    "conformance",
    "cost_table",
    "datasets",
    "discover_graph",
    "discover_model",
    "discover_stages",
    "discover_variants",
    "errors",
    "filter_graph",
    "find_bottlenecks",
    "find_handoffs",
    "find_knockout_order",
    "find_practice_variation",
    "find_redundant_signoffs",
    "find_rework_loops",
    "find_sequential_signoffs",
    "find_signoff_triage",
    "find_wait_hotspots",
    "load_config",
    "read_log",
    "score",
    "signoff_steps",
    "suggest",
    "to_html",
    "to_markdown",
    "waiting_times",
]
