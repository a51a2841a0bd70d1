"""Detectors: each turns the log (and its graph) into findings with evidence.

Every detector has the signature ``detector(log, graph, config) -> list[Finding]`` and is listed in
:data:`DETECTORS`, which :func:`flowopt.analyze` runs in order.
"""

from __future__ import annotations

from collections.abc import Callable

from flowopt.analysis._api import find_handoffs, find_practice_variation, find_rework_loops
from flowopt.analysis._bottlenecks import find_bottlenecks
from flowopt.analysis._costs import CostTable, cost_table
from flowopt.analysis._findings import CATEGORIES, SEVERITIES, Finding, Findings, finding_id, jsonable
from flowopt.analysis._handoffs import handoff
from flowopt.analysis._hotspots import find_wait_hotspots
from flowopt.analysis._kpis import compute_kpis
from flowopt.analysis._practice import practice_variation
from flowopt.analysis._rework import rework_loop
from flowopt.analysis._signoff_order import find_knockout_order, find_signoff_triage
from flowopt.analysis._signoff_steps import SignoffTable, signoff_steps
from flowopt.analysis._signoffs import find_redundant_signoffs, find_sequential_signoffs
from flowopt.analysis._waits import waiting_times
from flowopt.discovery import ProcessGraph
from flowopt.log import EventLog
from flowopt.options import Config

__all__ = [
           "CATEGORIES",
           "DETECTORS",
           "SEVERITIES",
           "CostTable",
           "Detector",
           "Finding",
           "Findings",
           "SignoffTable",
           "compute_kpis",
           "cost_table",
           "find_bottlenecks",
           "find_handoffs",
           "find_knockout_order",
           "find_practice_variation",
           "find_redundant_signoffs",
           "find_rework_loops",
           "find_sequential_signoffs",
           "find_signoff_triage",
           "find_wait_hotspots",
           "finding_id",
           "jsonable",
           "signoff_steps",
           "waiting_times",
]

Detector = Callable[[EventLog, ProcessGraph, Config], "list[Finding]"]

# name -> detector; each detector module registers itself here (one line each, keep sorted by name)
DETECTORS: dict[str, Detector] = {
    "bottleneck": find_bottlenecks,
    "handoff": handoff,
    "knockout_order": find_knockout_order,
    "practice_variation": practice_variation,
    "redundant_signoff": find_redundant_signoffs,
    "rework_loop": rework_loop,
    "sequential_signoffs": find_sequential_signoffs,
    "signoff_triage": find_signoff_triage,
    "wait_hotspot": find_wait_hotspots,
}
