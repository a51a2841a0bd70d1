"""The canonical event log: building it from raw rows, lifecycle pairing, timestamps, stages."""

from __future__ import annotations

from flowopt.log._eventlog import CANONICAL, EventLog, LogCodes
from flowopt.log._read import read_log
from flowopt.log._stages import STAGES, classify_activities

__all__ = ["CANONICAL", "STAGES", "EventLog", "LogCodes", "classify_activities", "read_log"]
