"""The comparison logic on hand-made findings and KPIs (independent of the detectors)."""

from __future__ import annotations

import pytest

from flowopt.analysis import Finding
from flowopt.history import compare, diff_findings, kpi_deltas
from flowopt.report import comparison_markdown, validate_document


def _f(kind: str, acts: tuple[str, ...], severity: str = "high", edge: tuple[str, str] | None = None) -> Finding:
    return Finding(kind=kind, category="design", severity=severity, activities=acts, edge=edge,  # type: ignore[arg-type]
                   summary=f"{kind} at {' / '.join(acts)}", cases_affected=10)


def test_diff_findings_by_stable_id() -> None:
    a = _f("bottleneck", ("Document check",))
    b = _f("wait_hotspot", ("Contract signing", "Disbursement"), "medium", ("Contract signing", "Disbursement"))
    c = _f("rework_loop", ("Document check",), "low")
    # the same problem found again next week (other numbers, same subject) keeps its id
    a_again = Finding(kind="bottleneck", category="design", severity="medium", activities=("Document check",),
                      summary="other text", cases_affected=99)
    assert a_again.id == a.id
    d = diff_findings([a, c], [a_again, b])
    assert [f["id"] for f in d.new] == [b.id]
    assert [f["id"] for f in d.resolved] == [c.id]
    assert [f["id"] for f in d.persisting] == [a.id]
    assert d.persisting[0]["severity"] == "medium"  # reported as it is now
    # records work as well as objects, and the order is severity then id
    d2 = diff_findings([], [c.to_dict(), b.to_dict(), a.to_dict()])
    assert [f["severity"] for f in d2.new] == ["high", "medium", "low"]
    assert diff_findings([a], [a]).new == () and diff_findings([a], [a]).resolved == ()


def test_kpi_deltas_previous_and_baseline() -> None:
    d = kpi_deltas({"throughput_p50_s": 150.0, "cases": 10, "label": "x", "flag": True, "none": None},
                   {"throughput_p50_s": 100.0, "cases": 0}, {"throughput_p50_s": 120.0})
    assert d["throughput_p50_s"] == pytest.approx({"current": 150.0, "previous": 100.0, "baseline": 120.0,
                                                   "delta": 50.0, "delta_pct": 50.0, "baseline_delta_pct": 25.0})
    assert d["cases"]["delta"] == 10 and d["cases"]["delta_pct"] is None  # previous 0: no percentage
    assert "label" not in d and "flag" not in d and "none" not in d
    first = kpi_deltas({"throughput_p50_s": 1.0})
    assert first["throughput_p50_s"]["previous"] is None and first["throughput_p50_s"]["delta"] is None


def test_compare_documents() -> None:
    a, b = _f("bottleneck", ("X",)), _f("rework_loop", ("<script>alert(1)</script>",), "low")
    before = {"log": {"source": "w1.csv", "cases": 10}, "kpis": {"throughput_p50_s": 100.0}, "findings": [a.to_dict()]}
    after = {"log": {"source": "w2.csv", "cases": 12}, "kpis": {"throughput_p50_s": 80.0}, "findings": [b.to_dict()]}
    c = compare(before, after)
    doc = c.to_dict()
    validate_document(doc)
    assert doc["deltas"]["throughput_p50_s"]["delta_pct"] == pytest.approx(-20.0)
    assert [f["id"] for f in doc["new_findings"]] == [b.id]
    assert [f["id"] for f in doc["resolved_findings"]] == [a.id]
    md = comparison_markdown(doc)
    assert "<script" not in md and "-20.0%" in md and a.id in md
