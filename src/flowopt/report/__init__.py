"""Reports: a self-contained HTML page, Markdown summaries, the JSON Schema, spreadsheet-safe CSV.

Examples
--------
>>> import flowopt
>>> from flowopt.report import to_markdown, validate_document
>>> a = flowopt.analyze(flowopt.datasets.example_log())
>>> validate_document(a.to_dict())
>>> to_markdown(a).startswith("# Process analysis summary")
True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from flowopt.report._escape import csv_safe, csv_safe_frame, escape_html, escape_md, to_safe_csv
from flowopt.report._html import to_html
from flowopt.report._i18n import LANGS
from flowopt.report._markdown import analysis_markdown, comparison_markdown, score_markdown
from flowopt.report._schema import load_schema, validate_document

if TYPE_CHECKING:
    from flowopt import Analysis

__all__ = ["LANGS", "analysis_markdown", "comparison_markdown", "csv_safe", "csv_safe_frame", "escape_html",
           "escape_md", "load_schema", "score_markdown", "to_html", "to_markdown", "to_safe_csv", "validate_document"]


def to_markdown(analysis: Analysis | Mapping[str, Any], lang: str = "en", *, top: int = 5) -> str:
    """Markdown summary (headline KPIs, top suggestions, top findings) of an analysis or its JSON document."""
    doc = analysis if isinstance(analysis, Mapping) else analysis.to_dict()
    return analysis_markdown(doc, lang, top=top)
