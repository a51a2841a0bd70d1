"""Escaping of text that comes from the log: HTML, Markdown and spreadsheet (CSV) cells.

Activity names, resources and case ids are data written by other people; a report must show them
as text and never let them act as markup, links or formulas.
"""

from __future__ import annotations

import csv
import html
import re
from typing import Any

import pandas as pd

__all__ = ["csv_safe", "csv_safe_frame", "escape_html", "escape_md", "to_safe_csv"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#|~])")


def escape_html(value: Any) -> str:
    """HTML-escape ``value`` (quotes included), so it is inert in text and attribute positions.

    Examples
    --------
    >>> escape_html("<script>alert(1)</script>")
    '&lt;script&gt;alert(1)&lt;/script&gt;'
    """
    return html.escape("" if value is None else str(value), quote=True)


def escape_md(value: Any) -> str:
    """Escape ``value`` for Markdown text and table cells: no markup, links, raw HTML or line breaks.

    Examples
    --------
    >>> escape_md("<b>[x](javascript:1)</b> | a")
    '&lt;b&gt;\\\\[x\\\\]\\\\(javascript:1\\\\)&lt;/b&gt; \\\\| a'
    """
    text = "" if value is None else str(value)
    text = " ".join(text.split())  # newlines would break tables and lists
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


def csv_safe(value: Any) -> Any:
    """Neutralise a spreadsheet formula: text starting with ``= + - @`` (or tab/CR) gets a leading ``'``.

    Non-text values are returned unchanged.

    Examples
    --------
    >>> csv_safe('=HYPERLINK("http://x","y")'), csv_safe("Approve"), csv_safe(-3)
    ('\\'=HYPERLINK("http://x","y")', 'Approve', -3)
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every text cell (and column name) passed through :func:`csv_safe`.

    Examples
    --------
    >>> import pandas as pd
    >>> csv_safe_frame(pd.DataFrame({"a": ["@SUM(A1)", "ok"]}))["a"].tolist()
    ["'@SUM(A1)", 'ok']
    """
    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if not (pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s)
                or isinstance(s.dtype, pd.CategoricalDtype)):
            continue
        text = s.astype("object")
        is_text = text.map(type).eq(str) if pd.api.types.is_object_dtype(s) else s.notna()
        mask = (s.astype("string").str.startswith(_FORMULA_START).fillna(False).astype(bool) & is_text).to_numpy()
        if mask.any():
            text = text.where(~mask, "'" + text[mask].astype(str))
        out[col] = text
    out.columns = [csv_safe(str(c)) for c in out.columns]
    return out


def to_safe_csv(frame: pd.DataFrame) -> str:
    """CSV text for spreadsheets: formulas neutralised (:func:`csv_safe_frame`), every text cell quoted
    (so a carriage return or delimiter inside a value cannot split a row).

    Examples
    --------
    >>> import pandas as pd
    >>> print(to_safe_csv(pd.DataFrame({"activity": ["=1+1"], "n": [3]})), end="")
    "activity","n"
    "'=1+1",3
    """
    return str(csv_safe_frame(frame).to_csv(index=False, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n"))
