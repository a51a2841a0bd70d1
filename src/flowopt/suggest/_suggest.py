"""``suggest``: findings -> ranked suggestions with estimated savings."""

from __future__ import annotations

from flowopt.analysis import Findings
from flowopt.discovery import ProcessGraph
from flowopt.log import EventLog
from flowopt.options import Config
from flowopt.suggest._types import Suggestions

__all__ = ["suggest"]


def suggest(log: EventLog, findings: Findings, graph: ProcessGraph, config: Config) -> Suggestions:
    """Map findings to redesign heuristics and estimate each one's saving (work in progress)."""
    return Suggestions([])
