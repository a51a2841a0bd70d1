"""Before/after: KPI deltas and which findings are new, resolved or still there.

Works on plain documents (``Analysis.to_dict()``) or objects, so two stored weeks compare the same way
as two fresh analyses. Finding ids are stable across logs (kind + subject), which is what makes
"new" and "resolved" meaningful.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from flowopt.analysis import Finding

if TYPE_CHECKING:
    from flowopt import Analysis

__all__ = ["Comparison", "FindingDiff", "compare", "diff_findings", "finding_ref", "kpi_deltas"]

_SEV = {"high": 0, "medium": 1, "low": 2}


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        return None
    f = float(v)
    return None if math.isnan(f) or math.isinf(f) else f


def _pct(cur: float | None, ref: float | None) -> float | None:
    if cur is None or ref is None or ref == 0:
        return None
    return (cur - ref) / abs(ref) * 100.0


def kpi_deltas(current: Mapping[str, Any], previous: Mapping[str, Any] | None = None,
               baseline: Mapping[str, Any] | None = None) -> dict[str, dict[str, float | None]]:
    """For every numeric KPI of ``current``: the previous and baseline values and the changes.

    ``delta`` is current - previous; ``delta_pct`` is that change in percent of the previous value
    (None when there is no previous value or it is 0); ``baseline_delta_pct`` the same against the baseline.

    Examples
    --------
    >>> d = kpi_deltas({"throughput_p50_s": 120.0}, {"throughput_p50_s": 100.0}, {"throughput_p50_s": 80.0})
    >>> d["throughput_p50_s"]["delta_pct"], d["throughput_p50_s"]["baseline_delta_pct"]
    (20.0, 50.0)
    """
    out: dict[str, dict[str, float | None]] = {}
    for key in current:
        cur = _num(current[key])
        if cur is None and _num((previous or {}).get(key)) is None:
            continue
        prev = _num((previous or {}).get(key))
        base = _num((baseline or {}).get(key))
        out[str(key)] = {"current": cur, "previous": prev, "baseline": base,
                         "delta": None if cur is None or prev is None else cur - prev,
                         "delta_pct": _pct(cur, prev), "baseline_delta_pct": _pct(cur, base)}
    return out


def _as_record(f: Finding | Mapping[str, Any]) -> dict[str, Any]:
    return f.to_dict() if isinstance(f, Finding) else dict(f)


def finding_ref(f: Finding | Mapping[str, Any]) -> dict[str, Any]:
    """The short record of a finding used in scores and comparisons."""
    r = _as_record(f)
    return {"id": r["id"], "kind": r["kind"], "severity": r["severity"], "category": r.get("category"),
            "summary": r.get("summary", ""), "activities": list(r.get("activities", [])), "edge": r.get("edge"),
            "cases_affected": int(r.get("cases_affected") or 0)}


@dataclass(frozen=True, slots=True, kw_only=True)
class FindingDiff:
    """Findings of the current period that are new, those of the previous period that are gone, and the rest."""

    new: tuple[dict[str, Any], ...] = ()
    resolved: tuple[dict[str, Any], ...] = ()
    persisting: tuple[dict[str, Any], ...] = ()


def diff_findings(previous: Iterable[Finding | Mapping[str, Any]],
                  current: Iterable[Finding | Mapping[str, Any]]) -> FindingDiff:
    """Match findings by id: new (only in ``current``), resolved (only in ``previous``), persisting (both).

    Each list is ordered by severity, then id. Persisting findings are reported as they are now.

    Examples
    --------
    >>> from flowopt.analysis import Finding
    >>> a = Finding(kind="bottleneck", category="design", severity="high", activities=("A",), summary="a")
    >>> b = Finding(kind="rework_loop", category="practice", severity="low", activities=("B",), summary="b")
    >>> d = diff_findings([a], [b])
    >>> [f["kind"] for f in d.new], [f["kind"] for f in d.resolved], d.persisting
    (['rework_loop'], ['bottleneck'], ())
    """
    prev = {r["id"]: r for r in map(finding_ref, previous)}
    cur = {r["id"]: r for r in map(finding_ref, current)}

    def order(items: Iterable[dict[str, Any]]) -> tuple[dict[str, Any], ...]:
        return tuple(sorted(items, key=lambda r: (_SEV.get(r["severity"], 9), r["id"])))

    return FindingDiff(new=order(r for k, r in cur.items() if k not in prev),
                       resolved=order(r for k, r in prev.items() if k not in cur),
                       persisting=order(r for k, r in cur.items() if k in prev))


@dataclass(frozen=True, slots=True, kw_only=True)
class Comparison:
    """A before/after comparison of two analyses."""

    before: Mapping[str, Any]
    after: Mapping[str, Any]
    deltas: Mapping[str, Mapping[str, float | None]]
    findings: FindingDiff = field(default_factory=FindingDiff)

    def to_dict(self) -> dict[str, Any]:
        """JSON document (``document: "comparison"``; schema ``flowopt/report/score.schema.json``)."""
        return {"schema_version": "1", "document": "comparison", "before": dict(self.before),
                "after": dict(self.after), "deltas": {k: dict(v) for k, v in self.deltas.items()},
                "new_findings": list(self.findings.new), "resolved_findings": list(self.findings.resolved),
                "persisting_findings": list(self.findings.persisting)}


def compare(before: Analysis | Mapping[str, Any], after: Analysis | Mapping[str, Any]) -> Comparison:
    """Compare two analyses (objects or their JSON documents): KPI deltas, new and resolved findings.

    Examples
    --------
    >>> import flowopt
    >>> a = flowopt.analyze(flowopt.datasets.example_log())
    >>> c = compare(a, a)
    >>> c.deltas["throughput_p50_s"]["delta"], c.findings.new
    (0.0, ())
    """
    b = before if isinstance(before, Mapping) else before.to_dict()
    a = after if isinstance(after, Mapping) else after.to_dict()

    def head(doc: Mapping[str, Any]) -> dict[str, Any]:
        lg = doc.get("log", {})
        return {k: lg.get(k) for k in ("source", "cases", "events", "start", "end")}

    return Comparison(before=head(b), after=head(a), deltas=kpi_deltas(a.get("kpis", {}), b.get("kpis", {})),
                      findings=diff_findings(b.get("findings", []), a.get("findings", [])))
