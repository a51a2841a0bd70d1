"""Bundled example log and the lending-flow log generator."""

from __future__ import annotations

import warnings
from importlib import resources

from flowopt.log import EventLog, read_log

__all__ = ["example_log", "example_log_path"]


def example_log_path() -> str:
    """Path of the bundled example CSV (a generated lending flow, ~300 cases)."""
    return str(resources.files("flowopt.datasets") / "data" / "example_log.csv")


def example_log() -> EventLog:
    """The bundled example lending log, read with its column mapping.

    Examples
    --------
    >>> import flowopt
    >>> flowopt.datasets.example_log().n_cases > 100
    True
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_log(example_log_path())
