"""Interop with pm4py objects (pm4py is an optional extra, imported lazily)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from flowopt.errors import MissingDependencyError, UnsupportedFormatError

__all__ = ["import_pm4py", "pm4py_to_frame"]


def import_pm4py() -> Any:
    """Import pm4py quietly (it prints a banner and warnings on import) or explain how to install it."""
    import contextlib
    import io
    import warnings

    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pm4py
    except ImportError:
        raise MissingDependencyError("This needs pm4py, an optional extra (AGPL-3.0). Install it with "
                                     "`pip install 'flowopt[pm4py]'`.") from None
    return pm4py


def pm4py_to_frame(obj: Any) -> pd.DataFrame:
    """A pm4py EventLog/EventStream as a pandas DataFrame in pm4py's column convention."""
    pm4py = import_pm4py()
    try:
        return pm4py.convert_to_dataframe(obj)
    except Exception as exc:  # noqa: BLE001 - pm4py raises bare Exception
        raise UnsupportedFormatError(f"cannot convert the pm4py object {type(obj).__name__} to a table ({exc}).") \
            from None
