"""Weekly scoring: a DuckDB history of periods, KPI deltas, new and resolved findings, drift and alerts.

Examples
--------
>>> import tempfile, os, flowopt
>>> from flowopt.history import score
>>> r = score(flowopt.datasets.example_log(), os.path.join(tempfile.mkdtemp(), "h.duckdb"), period="wk1")
>>> r.history
('wk1',)
"""

from __future__ import annotations

from flowopt.history._compare import Comparison, FindingDiff, compare, diff_findings, finding_ref, kpi_deltas
from flowopt.history._drift import DriftResult, DriftTest, PeriodProfile, drift_test, period_profile
from flowopt.history._score import Alert, ScoreResult, extra_kpis, period_label, score
from flowopt.history._store import HistoryStore, StoredPeriod

__all__ = ["Alert", "Comparison", "DriftResult", "DriftTest", "FindingDiff", "HistoryStore", "PeriodProfile",
           "ScoreResult", "StoredPeriod", "compare", "diff_findings", "drift_test", "extra_kpis", "finding_ref",
           "kpi_deltas", "period_label", "period_profile", "score"]
