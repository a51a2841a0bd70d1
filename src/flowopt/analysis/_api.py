"""The notebook verbs for the detectors whose registry signature needs a graph and a config.

``find_rework_loops(log)`` reads better in a notebook than ``rework_loop(log, None, log.config)``; each
verb fills in the defaults and returns the same findings the detector adds to :func:`flowopt.analyze`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowopt.analysis._findings import Findings
from flowopt.analysis._handoffs import handoff
from flowopt.analysis._practice import practice_variation
from flowopt.analysis._rework import rework_loop
from flowopt.discovery import ProcessGraph
from flowopt.log import EventLog
from flowopt.options import Config, load_config

__all__ = ["find_handoffs", "find_practice_variation", "find_rework_loops"]


def _cfg(log: EventLog, config: Config | Mapping[str, Any] | None) -> Config:
    return log.config if config is None else load_config(config)


def find_rework_loops(log: EventLog, graph: ProcessGraph | None = None,
                      config: Config | Mapping[str, Any] | None = None) -> Findings:
    """Repeated activities, loops (a → b → a) and ping-pong between roles, with the time they add.

    Examples
    --------
    >>> import flowopt
    >>> fs = flowopt.find_rework_loops(flowopt.datasets.example_log())
    >>> fs[0].kind
    'rework_loop'
    """
    return Findings(rework_loop(log, graph, _cfg(log, config)))


def find_handoffs(log: EventLog, graph: ProcessGraph | None = None,
                  config: Config | Mapping[str, Any] | None = None) -> Findings:
    """Hand-offs between roles (or resources) that add waiting compared with work that stays in one role.

    Examples
    --------
    >>> import flowopt
    >>> all(f.category == "communication" for f in flowopt.find_handoffs(flowopt.datasets.example_log()))
    True
    """
    return Findings(handoff(log, graph, _cfg(log, config)))


def find_practice_variation(log: EventLog, graph: ProcessGraph | None = None,
                            config: Config | Mapping[str, Any] | None = None) -> Findings:
    """The same activity done very differently by different resources or roles (statistically solid only).

    Examples
    --------
    >>> import flowopt
    >>> all(f.category == "practice" for f in flowopt.find_practice_variation(flowopt.datasets.example_log()))
    True
    """
    return Findings(practice_variation(log, graph, _cfg(log, config)))
