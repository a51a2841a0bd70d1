"""Weekly scoring: analyse one period, store it, compare it with earlier periods and raise alerts."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from flowopt.analysis import jsonable
from flowopt.errors import EmptyLogError, ParameterError
from flowopt.history._compare import FindingDiff, diff_findings, finding_ref, kpi_deltas
from flowopt.history._drift import DriftResult, PeriodProfile, drift_test, period_profile
from flowopt.history._store import HistoryStore, StoredPeriod
from flowopt.options import Config, load_config

if TYPE_CHECKING:
    from flowopt import Analysis, EventLog

__all__ = ["Alert", "ScoreResult", "period_label", "score"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Alert:
    """A crossed threshold from ``[alerts]``."""

    name: str
    threshold: float
    value: float | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON."""
        return dict(jsonable({"name": self.name, "threshold": self.threshold, "value": self.value,
                              "message": self.message}))


@dataclass(frozen=True, slots=True, kw_only=True)
class ScoreResult:
    """One scored period compared with the history.

    Attributes
    ----------
    period : str
        The label it is stored under.
    previous_period : str or None
        The latest earlier period (None for the first period in the store).
    baseline_periods : tuple of str
        The earlier periods whose KPI medians form the baseline.
    history : tuple of str
        Every period in the store after this one was written, oldest first.
    kpis, deltas : dict
        This period's KPIs; per KPI the previous value, baseline, change and change in percent.
    findings : FindingDiff
        New, resolved and persisting findings against the previous period.
    drift : DriftResult or None
    alerts : tuple of Alert
        Crossed ``[alerts]`` thresholds; ``exit_code`` is 3 when there is any.
    """

    period: str
    period_end: pd.Timestamp
    previous_period: str | None
    baseline_periods: tuple[str, ...]
    history: tuple[str, ...]
    kpis: Mapping[str, Any]
    deltas: Mapping[str, Mapping[str, float | None]]
    findings: FindingDiff
    drift: DriftResult | None
    alerts: tuple[Alert, ...]
    analysis: Analysis = field(repr=False, compare=False)

    @property
    def exit_code(self) -> int:
        """3 when an alert threshold was crossed, else 0 (the ``flowopt score`` exit code)."""
        return 3 if self.alerts else 0

    def to_dict(self) -> dict[str, Any]:
        """JSON document (``document: "score"``; schema ``flowopt/report/score.schema.json``)."""
        return dict(jsonable({
            "schema_version": "1", "document": "score", "period": self.period,
            "period_end": self.period_end.isoformat(), "previous_period": self.previous_period,
            "baseline_periods": list(self.baseline_periods), "history": list(self.history),
            "kpis": dict(self.kpis), "deltas": {k: dict(v) for k, v in self.deltas.items()},
            "new_findings": list(self.findings.new), "resolved_findings": list(self.findings.resolved),
            "persisting_findings": list(self.findings.persisting),
            "drift": self.drift.to_dict() if self.drift else None,
            "alerts": [a.to_dict() for a in self.alerts]}))


def period_label(end: pd.Timestamp) -> str:
    """ISO week label of a timestamp: ``2024-W07``.

    Examples
    --------
    >>> import pandas as pd
    >>> period_label(pd.Timestamp("2024-02-15T10:00Z")), period_label(pd.Timestamp("2021-01-03"))
    ('2024-W07', '2020-W53')
    """
    year, week, _ = end.isocalendar()
    return f"{year:04d}-W{week:02d}"


def extra_kpis(log: EventLog, config: Config) -> dict[str, float]:
    """KPIs the alerts need that ``analyze`` may not report: ``rework_rate`` and ``sla_compliance``.

    ``rework_rate`` is the share of cases where some activity happens more than once; ``sla_compliance``
    the share of cases whose throughput time is within ``[sla] throughput_hours`` (only when set).
    """
    from flowopt.discovery import case_table

    out: dict[str, float] = {}
    c = log.codes()
    n_cases = len(c.case_start) - 1
    if n_cases == 0:
        return out
    a = max(len(c.activity_names), 1)
    key = c.case.astype(np.int64) * a + c.activity
    uniq_pairs = np.unique(key)
    distinct_per_case = np.bincount(uniq_pairs // a, minlength=n_cases)
    events_per_case = np.diff(c.case_start)
    out["rework_rate"] = float(np.mean(events_per_case > distinct_per_case))
    if config.sla.throughput_hours is not None:
        tp = case_table(log)["throughput_s"].to_numpy(float)
        out["sla_compliance"] = float(np.mean(tp <= config.sla.throughput_hours * 3600.0))
    return out


def _fraction(threshold: float) -> float:
    return threshold / 100.0 if threshold > 1.0 else threshold


def _alerts(cfg: Config, kpis: Mapping[str, Any], deltas: Mapping[str, Mapping[str, Any]], diff: FindingDiff,
            drift: DriftResult | None, has_previous: bool) -> list[Alert]:
    al = cfg.alerts
    out: list[Alert] = []
    for key, name in (("throughput_p50_s", "throughput_p50_increase_pct"),
                      ("throughput_p90_s", "throughput_p90_increase_pct")):
        thr = getattr(al, name)
        pct = deltas.get(key, {}).get("delta_pct")
        if thr is not None and pct is not None and pct > thr:
            out.append(Alert(name=name, threshold=thr, value=pct,
                             message=f"{key} rose {pct:.1f}% against the previous period (threshold {thr:g}%)."))
    if al.sla_compliance_below is not None and kpis.get("sla_compliance") is not None:
        thr, v = _fraction(al.sla_compliance_below), float(kpis["sla_compliance"])
        if v < thr:
            out.append(Alert(name="sla_compliance_below", threshold=thr, value=v,
                             message=f"SLA compliance {v:.1%} is below {thr:.1%}."))
    if al.rework_rate_above is not None and kpis.get("rework_rate") is not None:
        thr, v = _fraction(al.rework_rate_above), float(kpis["rework_rate"])
        if v > thr:
            out.append(Alert(name="rework_rate_above", threshold=thr, value=v,
                             message=f"Rework rate {v:.1%} is above {thr:.1%}."))
    if al.new_high_findings is not None and has_previous:
        n = sum(1 for f in diff.new if f["severity"] == "high")
        if n >= al.new_high_findings:
            out.append(Alert(name="new_high_findings", threshold=float(al.new_high_findings), value=float(n),
                             message=f"{n} new high-severity finding(s) (threshold {al.new_high_findings}): "
                                     + "; ".join(f["summary"] for f in diff.new if f["severity"] == "high")[:300]))
    if (al.drift_p_value is not None and drift is not None and drift.p_value is not None
            and drift.p_value < al.drift_p_value):
        out.append(Alert(name="drift_p_value", threshold=al.drift_p_value, value=drift.p_value,
                         message=f"The process changed: drift p-value {drift.p_value:.3g} < {al.drift_p_value:g}. "
                                 + drift.summary))
    return out


def score(log: EventLog, store: HistoryStore | str | os.PathLike[str], period: str | None = None,
          config: Config | Mapping[str, Any] | str | os.PathLike[str] | None = None, *,
          baseline_periods: int = 8) -> ScoreResult:
    """Score one period's log: analyse it, store it under ``period`` and compare it with earlier periods.

    Parameters
    ----------
    log : EventLog
        The period's events (for example the cases completed in one week).
    store : HistoryStore or path
        The DuckDB history file (created when missing).
    period : str, optional
        Label to store it under; default the ISO week of the log's last event (``"2024-W07"``).
        Scoring a label again replaces what was stored under it.
    config : optional
        Config (``[alerts]`` thresholds, SLA); default the log's own.
    baseline_periods : int, default 8
        How many earlier periods form the baseline (median of each KPI).

    Returns
    -------
    ScoreResult

    Examples
    --------
    >>> import tempfile, os, flowopt
    >>> from flowopt.history import score
    >>> path = os.path.join(tempfile.mkdtemp(), "h.duckdb")
    >>> r = score(flowopt.datasets.example_log(), path)
    >>> r.period, r.previous_period, r.exit_code
    ('2024-W09', None, 0)
    """
    from flowopt import analyze

    if baseline_periods < 1:
        raise ParameterError(f"The 'baseline_periods' parameter of score must be an int >= 1. "
                             f"Got {baseline_periods!r} instead.")
    if len(log) == 0:
        raise EmptyLogError("The log of this period has no events; there is nothing to score.")
    cfg = log.config if config is None else load_config(config)
    st = store if isinstance(store, HistoryStore) else HistoryStore(store)
    analysis = analyze(log, cfg)
    end = log.time_range[1].tz_convert("UTC")
    label = period or period_label(end)
    if not isinstance(label, str) or not label.strip():
        raise ParameterError(f"The 'period' parameter of score must be a non-empty label. Got {period!r} instead.")
    kpis = dict(jsonable(analysis.kpis))
    for k, v in extra_kpis(log, cfg).items():
        if kpis.get(k) is None:
            kpis[k] = v
    doc = analysis.to_dict()
    profile = period_profile(log)
    findings = tuple(f.to_dict() for f in analysis.findings)
    with st.session() as s:
        ends = s.ends()
        earlier = [p for p, e in ends.items() if p != label and (e, p) < (end, label)]
        prev = s.read(earlier[-1]) if earlier else None
        base_labels = earlier[-baseline_periods:]
        base_kpis = [s.read(p).kpis for p in base_labels]
        seen = s.variants_before(end, label)
        s.write(StoredPeriod(period=label, period_end=end, source=doc["log"].get("source"), cases=log.n_cases,
                             events=len(log), kpis=kpis, document=doc, findings=findings, edges=profile.edges,
                             waits=profile.waits, variants=profile.variants))
        history = tuple(s.labels())
    baseline = _median_kpis(base_kpis)
    deltas = kpi_deltas(kpis, prev.kpis if prev else None, baseline)
    diff = diff_findings(prev.findings, findings) if prev else FindingDiff(persisting=())
    drift = None
    if prev is not None:
        drift = drift_test(PeriodProfile(edges=prev.edges, waits=prev.waits, variants=prev.variants), profile,
                           seen_variants=seen)
    alerts = _alerts(cfg, kpis, deltas, diff, drift, prev is not None)
    return ScoreResult(period=label, period_end=end, previous_period=prev.period if prev else None,
                       baseline_periods=tuple(base_labels), history=history, kpis=kpis, deltas=deltas,
                       findings=diff, drift=drift, alerts=tuple(alerts), analysis=analysis)


def _median_kpis(items: list[Mapping[str, Any]]) -> dict[str, float] | None:
    if not items:
        return None
    frame = pd.DataFrame([{k: v for k, v in d.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
                          for d in items])
    return {str(k): float(v) for k, v in frame.median(numeric_only=True).items() if pd.notna(v)}


def current_refs(result: ScoreResult) -> list[dict[str, Any]]:
    """Short records of every finding of the scored period."""
    return [finding_ref(f) for f in result.analysis.findings]
