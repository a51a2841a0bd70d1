"""Exceptions and warnings raised by flowopt.

Every error flowopt raises on purpose is a :class:`FlowoptError`. Each also subclasses the builtin a
generic handler would expect (``ValueError``, ``FileNotFoundError``, ...), so ``except ValueError``
keeps working.

::

    FlowoptError
    ├── SchemaError (ValueError)              the log's columns or values cannot be used
    │   ├── ColumnDetectionError             auto-detection is unsure which column is which
    │   └── EmptyLogError                    nothing valid is left to analyse
    ├── LogReadError (ValueError)             the file cannot be read (corrupt, truncated, wrong encoding)
    │   └── UnsafeInputError                 the file tries something dangerous (XML entities, ...)
    ├── UnsupportedFormatError (ValueError)   the file type is not one flowopt reads
    ├── LogFileNotFoundError (FileNotFoundError)
    ├── ConfigError (ValueError)              the configuration file or dict is wrong
    ├── ParameterError (ValueError)           a function argument is out of range
    ├── LimitExceededError (ValueError)       the log is larger than a configured safety limit
    ├── MissingDependencyError (ImportError)  an optional extra (pm4py, graphviz ``dot``) is missing
    └── HistoryError (ValueError)             the weekly-scoring history store is unusable

    FlowoptWarning (UserWarning)
    └── RowsDroppedWarning                    rows were quarantined while reading

Examples
--------
>>> import flowopt
>>> try:
...     flowopt.read_log("no/such/file.csv")
... except flowopt.errors.LogFileNotFoundError as exc:
...     print(type(exc).__name__, "-", exc.path)
LogFileNotFoundError - no/such/file.csv
"""

from __future__ import annotations

from enum import Enum
from typing import Any

__all__ = [
    "ColumnDetectionError",
    "ConfigError",
    "EmptyLogError",
    "FlowoptError",
    "FlowoptWarning",
    "HistoryError",
    "LimitExceededError",
    "LogFileNotFoundError",
    "LogReadError",
    "MissingDependencyError",
    "ParameterError",
    "QuarantineReason",
    "RowsDroppedWarning",
    "SchemaError",
    "UnsafeInputError",
    "UnsupportedFormatError",
]


class QuarantineReason(str, Enum):
    """Why an input row was not used. The value is the text shown in ``log.quarantine['reason']``."""

    MISSING_CASE = "missing case id"
    MISSING_ACTIVITY = "missing activity"
    BAD_TIMESTAMP = "unparseable timestamp"
    MISSING_TIMESTAMP = "missing timestamp"
    END_BEFORE_START = "end before start"
    UNMATCHED_START = "start without a matching complete"
    UNMATCHED_SCHEDULE = "schedule without a matching start or complete"
    UNSUPPORTED_LIFECYCLE = "unsupported lifecycle transition"
    DUPLICATE = "exact duplicate of an earlier row"
    OUT_OF_RANGE = "timestamp outside the plausible range"
    MALFORMED_ROW = "malformed row"


class FlowoptError(Exception):
    """Base class of every error flowopt raises on purpose."""


class SchemaError(FlowoptError, ValueError):
    """The log's columns or values cannot be used.

    Attributes
    ----------
    source : str or None
        The file (or ``"<DataFrame>"``) being read.
    column : str or None
        The offending column, when one is to blame.
    failure_cases : pandas.DataFrame or None
        A few of the offending rows, with their original values.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        column: str | None = None,
        failure_cases: Any = None,
    ) -> None:
        super().__init__(message)
        self.source = source
        self.column = column
        self.failure_cases = failure_cases


class ColumnDetectionError(SchemaError):
    """Auto-detection could not tell with certainty which column holds a canonical field.

    The message lists the columns seen and the ``[columns]`` config lines that fix it.
    """

    def __init__(self, message: str, *, source: str | None = None, columns: list[str] | None = None,
                 field: str | None = None) -> None:
        super().__init__(message, source=source, column=field)
        self.columns = columns or []
        self.field = field


class EmptyLogError(SchemaError):
    """No usable event is left: the file is empty, header-only, or every row was quarantined."""


class LogReadError(FlowoptError, ValueError):
    """The file exists but cannot be read (corrupt, truncated, undecodable)."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class UnsafeInputError(LogReadError):
    """The file attempts something flowopt refuses to do (XML external entities, entity expansion)."""


class UnsupportedFormatError(FlowoptError, ValueError):
    """The source is not a format flowopt reads (CSV, CSV.gz, Parquet, XES, XES.gz, DataFrame)."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class LogFileNotFoundError(FlowoptError, FileNotFoundError):
    """The log file does not exist."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class ConfigError(FlowoptError, ValueError):
    """The configuration (TOML file or dict) has an unknown key or a value of the wrong type."""

    def __init__(self, message: str, *, key: str | None = None, path: str | None = None) -> None:
        super().__init__(message)
        self.key = key
        self.path = path


class ParameterError(FlowoptError, ValueError):
    """A function argument is invalid.

    Examples
    --------
    >>> raise ParameterError("The 'min_cases' parameter of find_bottlenecks must be an int >= 1. Got 0 instead.")
    Traceback (most recent call last):
    ...
    flowopt.errors.ParameterError: The 'min_cases' parameter of find_bottlenecks must be an int >= 1. Got 0 instead.
    """


class LimitExceededError(FlowoptError, ValueError):
    """The log exceeds a safety limit (e.g. distinct activities); the message says how to raise it."""


class MissingDependencyError(FlowoptError, ImportError):
    """An optional dependency is not installed; the message says what to install."""


class HistoryError(FlowoptError, ValueError):
    """The history store used by ``flowopt score`` cannot be opened or is inconsistent."""


class FlowoptWarning(UserWarning):
    """Base class of flowopt's warnings."""


class RowsDroppedWarning(FlowoptWarning):
    """Some input rows were quarantined while reading; see ``log.quarantine``."""
