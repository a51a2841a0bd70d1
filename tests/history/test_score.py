"""Weekly scoring: three weeks, deltas, a new and a resolved finding, alerts, idempotence, concurrency."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from flowopt.errors import HistoryError
from flowopt.history import HistoryStore, drift_test, period_profile, score
from flowopt.log import EventLog
from flowopt.report import score_markdown, validate_document

ALERTS = {"alerts": {"throughput_p50_increase_pct": 1.0, "new_high_findings": 1}}
BATCH_EDGE = ["Contract signing", "Disbursement"]


def _dump(path: Path) -> dict[str, list[tuple[object, ...]]]:
    with HistoryStore(path).session() as s:
        return s.dump()


def test_three_weeks(weeks: list[EventLog], tmp_path: Path) -> None:
    store = tmp_path / "history.duckdb"
    w1 = score(weeks[0], store, period="2024-W01", config=ALERTS)
    assert w1.previous_period is None and w1.history == ("2024-W01",)
    assert w1.findings.new == () and w1.alerts == () and w1.exit_code == 0 and w1.drift is None
    validate_document(w1.to_dict())

    w2 = score(weeks[1], store, period="2024-W02", config=ALERTS)
    assert w2.previous_period == "2024-W01" and w2.baseline_periods == ("2024-W01",)
    d = w2.deltas["throughput_p50_s"]
    assert d["previous"] == pytest.approx(w1.kpis["throughput_p50_s"])
    assert d["delta"] == pytest.approx(w2.kpis["throughput_p50_s"] - w1.kpis["throughput_p50_s"])
    assert d["delta_pct"] > 1.0  # payment batching makes cases slower
    new_edges = [f["edge"] for f in w2.findings.new]
    assert BATCH_EDGE in new_edges, w2.findings.new  # the batching wait hotspot is new this week
    assert "throughput_p50_increase_pct" in {a.name for a in w2.alerts} and w2.exit_code == 3
    assert w2.drift is not None and w2.drift.p_value is not None and w2.drift.p_value < 0.05
    doc = w2.to_dict()
    validate_document(doc)
    md = score_markdown(doc)
    assert "2024-W02" in md and "throughput\\_p50\\_s rose" in md

    w3 = score(weeks[2], store, period="2024-W03", config=ALERTS)
    assert w3.previous_period == "2024-W02" and w3.baseline_periods == ("2024-W01", "2024-W02")
    assert BATCH_EDGE in [f["edge"] for f in w3.findings.resolved]  # and resolved the week after
    assert w3.deltas["throughput_p50_s"]["delta_pct"] < 0
    base = np.median([w1.kpis["throughput_p50_s"], w2.kpis["throughput_p50_s"]])
    assert w3.deltas["throughput_p50_s"]["baseline"] == pytest.approx(base)
    assert w3.exit_code == 0, w3.alerts
    assert w3.history == ("2024-W01", "2024-W02", "2024-W03")

    # re-scoring a week replaces it: the history is exactly the same afterwards
    before = _dump(store)
    again = score(weeks[1], store, period="2024-W02", config=ALERTS)
    assert _dump(store) == before
    assert again.previous_period == "2024-W01"
    assert {**again.to_dict(), "history": None} == {**w2.to_dict(), "history": None}


def test_default_label_is_iso_week_of_last_event(weeks: list[EventLog], tmp_path: Path) -> None:
    r = score(weeks[0], tmp_path / "h.duckdb")
    end = weeks[0].time_range[1]
    year, week, _ = end.isocalendar()
    assert r.period == f"{year}-W{week:02d}"


def test_sla_rework_and_drift_alerts(weeks: list[EventLog], tmp_path: Path) -> None:
    cfg = {"sla": {"throughput_hours": 1.0}, "alerts": {"sla_compliance_below": 0.9, "rework_rate_above": 0.0001,
                                                       "drift_p_value": 0.05}}
    store = tmp_path / "h.duckdb"
    r = score(weeks[0], store, period="a", config=cfg)
    names = {a.name for a in r.alerts}
    assert {"sla_compliance_below", "rework_rate_above"} <= names and r.exit_code == 3
    assert r.kpis["sla_compliance"] < 0.9
    r = score(weeks[1], store, period="b", config=cfg)
    assert "drift_p_value" in {a.name for a in r.alerts}


def test_drift_on_identical_and_changed_periods(weeks: list[EventLog]) -> None:
    p0, p1 = period_profile(weeks[0]), period_profile(weeks[1])
    same = drift_test(p0, p0)
    assert same.p_value == 1.0 and same.new_variants == ()
    changed = drift_test(p0, p1)
    assert changed.p_value is not None and changed.p_value < 1e-3
    waits = [t for t in changed.tests if t.name.startswith("waits:")]
    assert waits and all(0.0 <= t.p_value <= 1.0 for t in waits)


def test_bad_store(tmp_path: Path, weeks: list[EventLog]) -> None:
    junk = tmp_path / "junk.duckdb"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(HistoryError, match="junk.duckdb"):
        score(weeks[0], junk)
    with pytest.raises(HistoryError, match="does not exist"):
        HistoryStore(tmp_path / "no" / "such" / "h.duckdb")


_SCORER = """
import sys, warnings, flowopt
from flowopt.history import score
sys.path.insert(0, {here!r})
from conftest import make_week
log = make_week({start!r}, n_cases=120)
score(log, {store!r}, period={period!r})
"""


def test_two_processes_scoring_at_once(tmp_path: Path) -> None:
    store = str(tmp_path / "h.duckdb")
    here = str(Path(__file__).parent)
    procs = [subprocess.Popen([sys.executable, "-c", _SCORER.format(here=here, start=s, store=store, period=p)],
                              stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
             for s, p in (("2024-01-01", "w1"), ("2024-01-08", "w2"))]
    for p in procs:
        _, err = p.communicate(timeout=240)
        assert p.returncode == 0, err
    with HistoryStore(store).session() as s:
        assert sorted(s.labels()) == ["w1", "w2"]
        assert s.read("w1").cases == 120 and s.read("w2").cases == 120
