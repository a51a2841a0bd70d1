"""Markdown summaries, spreadsheet-safe CSV and the JSON Schema of the analysis document."""

from __future__ import annotations

import copy
import io
import warnings
from pathlib import Path

import pandas as pd
import pytest

import flowopt
from flowopt.errors import SchemaError
from flowopt.report import (
    csv_safe,
    csv_safe_frame,
    escape_md,
    load_schema,
    to_markdown,
    to_safe_csv,
    validate_document,
)

SCRIPT = "<script>alert(1)</script>"
FORMULA = '=HYPERLINK("http://evil.example/x","click")'


@pytest.fixture(scope="module")
def doc() -> dict:
    return flowopt.analyze(flowopt.datasets.example_log()).to_dict()


def test_markdown_escapes_log_strings(doc: dict) -> None:
    d = copy.deepcopy(doc)
    d["log"]["source"] = "[click](javascript:alert(1))"
    d["findings"] = [{"id": "x-1", "kind": "bottleneck", "category": "design", "severity": "high",
                      "activities": [SCRIPT], "edge": None, "summary": f"Cases queue before {SCRIPT} | a\nb",
                      "evidence": {}, "cases_affected": 3}]
    md = to_markdown(d)
    assert "<script" not in md and "&lt;script&gt;" in md
    assert "](javascript" not in md and "\\[click\\]" in md
    line = next(ln for ln in md.splitlines() if "Cases queue" in ln)
    assert "\\|" in line and "\n" not in line
    assert to_markdown(doc, lang="zh").startswith("# 流程分析摘要")


@pytest.mark.parametrize("value", [FORMULA, "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"])
def test_csv_formulas_are_neutralised(value: str) -> None:
    assert csv_safe(value) == "'" + value
    frame = pd.DataFrame({"a": [value, "ok"], "n": [-1, 2], "c": pd.Categorical([value, "x"])})
    out = csv_safe_frame(frame)
    assert out["a"].tolist() == ["'" + value, "ok"] and out["c"].tolist() == ["'" + value, "x"]
    assert out["n"].tolist() == [-1, 2]  # numbers stay numbers
    back = pd.read_csv(io.StringIO(to_safe_csv(frame)), keep_default_na=False)
    assert len(back) == 2
    assert not back["a"].astype(str).str.match(r"^[=+\-@]").any()
    assert frame["a"].iloc[0] == value  # the input is not modified


def test_escape_md_plain_text_unchanged() -> None:
    assert escape_md("Document check 资料审核") == "Document check 资料审核"


def test_schema_accepts_generated_and_real_documents(doc: dict, data_dir: Path) -> None:
    assert load_schema()["$schema"].endswith("2020-12/schema")
    validate_document(doc)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", flowopt.errors.RowsDroppedWarning)
        real = flowopt.read_log(data_dir / "running-example.xes")
    validate_document(flowopt.analyze(real).to_dict())


@pytest.mark.parametrize("mutate", [
    lambda d: d.pop("kpis"),
    lambda d: d.__setitem__("schema_version", "2"),
    lambda d: d["log"].__setitem__("cases", -1),
    lambda d: d["graph"]["edges"][0].pop("wait_median_s"),
    lambda d: d["findings"].append({"id": "x", "kind": "bottleneck", "category": "bogus", "severity": "high",
                                    "activities": [], "edge": None, "summary": "", "evidence": {},
                                    "cases_affected": 1}),
    lambda d: d["findings"].append({"id": "x", "kind": "bottleneck", "category": "design", "severity": "high",
                                    "activities": [], "edge": ["only one"], "summary": "", "evidence": {},
                                    "cases_affected": 1}),
    lambda d: d["suggestions"].append({"id": "s", "heuristic": "automation", "finding_ids": [], "action": "a",
                                       "activities": [], "estimated_saving": {"hours_per_case": 1.0}, "risk": "r"}),
])
def test_schema_rejects_broken_documents(doc: dict, mutate) -> None:  # type: ignore[no-untyped-def]
    d = copy.deepcopy(doc)
    mutate(d)
    with pytest.raises(SchemaError, match="does not match its schema"):
        validate_document(d)


def test_schema_allows_extra_fields_and_kinds(doc: dict) -> None:
    d = copy.deepcopy(doc)
    d["kpis"]["new_kpi"] = 1.5
    d["log"]["extra"] = "x"
    d["findings"].append({"id": "y", "kind": "some_new_kind", "category": "practice", "severity": "low",
                          "activities": ["A"], "edge": ["A", "B"], "summary": "s",
                          "evidence": {"anything": {"nested": [1, 2]}, "causes": {"batching": 3.0}},
                          "cases_affected": 0, "future_field": True})
    validate_document(d)
