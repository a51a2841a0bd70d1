"""The error hierarchy: every flowopt error is also the builtin a generic handler expects."""

from __future__ import annotations

import pytest

from flowopt import errors


@pytest.mark.parametrize(
    ("cls", "builtin"),
    [
        (errors.SchemaError, ValueError),
        (errors.ColumnDetectionError, ValueError),
        (errors.EmptyLogError, ValueError),
        (errors.LogReadError, ValueError),
        (errors.UnsafeInputError, ValueError),
        (errors.UnsupportedFormatError, ValueError),
        (errors.LogFileNotFoundError, FileNotFoundError),
        (errors.ConfigError, ValueError),
        (errors.ParameterError, ValueError),
        (errors.LimitExceededError, ValueError),
        (errors.MissingDependencyError, ImportError),
        (errors.HistoryError, ValueError),
    ],
)
def test_hierarchy(cls, builtin) -> None:
    assert issubclass(cls, errors.FlowoptError)
    assert issubclass(cls, builtin)


def test_warning_hierarchy() -> None:
    assert issubclass(errors.RowsDroppedWarning, errors.FlowoptWarning)
    assert issubclass(errors.FlowoptWarning, UserWarning)


def test_errors_carry_context() -> None:
    exc = errors.ColumnDetectionError("no case column", source="x.csv", columns=["a", "b"], field="case")
    assert exc.columns == ["a", "b"] and exc.field == "case" and exc.source == "x.csv"
    with pytest.raises(errors.SchemaError, match="no case column"):
        raise exc
