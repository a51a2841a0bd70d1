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
from flowopt.analysis import Finding, Findings
from flowopt.discovery import (
    ProcessGraph,
    StageView,
    Variants,
    discover_graph,
    discover_stages,
    discover_variants,
    filter_graph,
)
from flowopt.log import EventLog, read_log
from flowopt.options import Config, load_config
from flowopt.suggest import Saving, Suggestion, Suggestions

__version__ = "0.1.0"

__all__ = [
    "Analysis",
    "Config",
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
    "datasets",
    "discover_graph",
    "discover_stages",
    "discover_variants",
    "errors",
    "filter_graph",
    "load_config",
    "read_log",
]
