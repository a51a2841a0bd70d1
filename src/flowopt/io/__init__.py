"""Reading raw logs: CSV, Parquet, XES, DataFrames, pm4py objects; column detection.

This is the only layer that knows the input's own column names; everything above works on the
canonical :class:`~flowopt.log.EventLog`.
"""

from __future__ import annotations

from flowopt.io._detect import FIELDS, detect_columns
from flowopt.io._sources import RawSource, read_raw, read_raw_typed

__all__ = ["FIELDS", "RawSource", "detect_columns", "read_raw", "read_raw_typed"]
