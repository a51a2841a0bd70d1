"""Bundled example log and the lending-flow log generator."""

from __future__ import annotations

import warnings
from importlib import resources

from flowopt.datasets._generator import (
    CHANGES,
    PROBLEMS,
    GeneratedLog,
    Injection,
    generate_lending_log,
    throughput_hours,
)
from flowopt.log import EventLog, read_log

__all__ = ["CHANGES", "PROBLEMS", "GeneratedLog", "Injection", "example_config_path", "example_log",
           "example_log_path", "generate_lending_log", "throughput_hours"]


def example_log_path() -> str:
    """Path of the bundled example CSV (a generated consumer-loan flow, 500 cases)."""
    return str(resources.files("flowopt.datasets") / "data" / "example_log.csv")


def example_config_path() -> str:
    """Path of the bundled example's TOML configuration (columns, protected controls, costs, SLA)."""
    return str(resources.files("flowopt.datasets") / "data" / "example_config.toml")


def example_log() -> EventLog:
    """The bundled example lending log, read with its configuration.

    Examples
    --------
    >>> import flowopt
    >>> log = flowopt.datasets.example_log()
    >>> log.n_cases, log.config.signoffs.protected
    (500, ('^Compliance approval',))
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_log(example_log_path(), example_config_path())
