"""Findings: what the detectors report, each with the evidence a process engineer can check.

A :class:`Finding` is small, frozen and JSON-ready. Its ``id`` is derived from its kind and subject
(activities / edge), so the same problem keeps the same id from one week's log to the next — weekly
scoring relies on that to tell new findings from resolved ones.

Kinds and the evidence each carries (keys in ``evidence``; all times in seconds):

- ``bottleneck`` (design): ``activity``, ``wait_before_median_s``, ``wait_before_p90_s``,
  ``wait_before_total_s``, ``service_median_s``, ``share_of_throughput``, ``queue_trend``, ``utilisation``,
  ``causes``.
- ``wait_hotspot`` (communication or design): ``count``, ``wait_median_s``, ``wait_p90_s``,
  ``wait_total_s``, ``causes`` ({batching, contention, unavailability, prioritization, extraneous} → s),
  ``dominant_cause``, and for batching ``batching`` = {``schedule`` text, ``release_times``, ...}.
- ``rework_loop`` (practice or design): ``pattern`` (repeat | loop | ping_pong), ``sequence``, ``cases``,
  ``share_of_cases``, ``extra_time_total_s``, ``extra_time_per_case_s``.
- ``handoff`` (communication), ``practice_variation`` (practice).
- ``redundant_signoff`` (design): ``step``, ``cases``, ``approvals``, ``rejections``, ``reject_rate``,
  ``reject_rate_upper``, ``confidence``, ``reason``, ``protected``, ``time_added_median_s``, ``preceded_by``.
- ``sequential_signoffs`` (design): ``steps``, ``roles``, ``cases``, ``both_orders_seen``, ``dependence``.
- ``signoff_triage``, ``knockout_order`` (design).
"""

from __future__ import annotations

import hashlib
import html
import json
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, overload

import numpy as np
import pandas as pd

__all__ = ["CATEGORIES", "SEVERITIES", "Finding", "Findings", "finding_id", "jsonable"]

Category = Literal["design", "practice", "communication"]
Severity = Literal["high", "medium", "low"]
CATEGORIES: tuple[str, ...] = ("design", "practice", "communication")
SEVERITIES: tuple[str, ...] = ("high", "medium", "low")
_SEV_RANK = {"high": 0, "medium": 1, "low": 2}


def jsonable(value: Any) -> Any:
    """Convert NumPy/pandas scalars and containers into plain JSON values (NaN -> None)."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, np.ndarray, pd.Index, pd.Series)):
        items = sorted(value) if isinstance(value, set) else list(value)
        return [jsonable(v) for v in items]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return None if math.isnan(f) or f in (float("inf"), float("-inf")) else f
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def finding_id(kind: str, activities: Iterable[str], edge: tuple[str, str] | None = None, extra: str = "") -> str:
    """A stable id from the finding's kind and subject: ``"wait_hotspot-3f9c2a1b"``."""
    key = json.dumps([kind, list(activities), list(edge) if edge else None, extra], ensure_ascii=False)
    return f"{kind}-{hashlib.sha1(key.encode('utf-8')).hexdigest()[:8]}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One problem found in the log.

    Examples
    --------
    >>> f = Finding(kind="bottleneck", category="design", severity="high", activities=("Document check",),
    ...             summary="Cases queue 2.1 d before Document check", evidence={"wait_before_median_s": 181440.0},
    ...             cases_affected=120)
    >>> f.id.startswith("bottleneck-")
    True
    >>> Finding.from_dict(f.to_dict()) == f
    True
    """

    kind: str
    category: Category
    severity: Severity
    activities: tuple[str, ...]
    summary: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    cases_affected: int = 0
    edge: tuple[str, str] | None = None
    example_cases: tuple[str, ...] = ()
    score: float = 0.0  # ranking weight, e.g. hours lost in total
    id: str = ""

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise ValueError(f"category must be one of {CATEGORIES}; got {self.category!r}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}; got {self.severity!r}")
        object.__setattr__(self, "activities", tuple(str(a) for a in self.activities))
        object.__setattr__(self, "example_cases", tuple(str(c) for c in self.example_cases))
        if self.edge is not None:
            object.__setattr__(self, "edge", (str(self.edge[0]), str(self.edge[1])))
        object.__setattr__(self, "evidence", jsonable(dict(self.evidence)))
        if not self.id:
            object.__setattr__(self, "id", finding_id(self.kind, self.activities, self.edge))

    def __hash__(self) -> int:
        return hash(self.id)

    def to_dict(self) -> dict[str, Any]:
        """The contract's finding record (plus ``example_cases`` and ``score``)."""
        return {"id": self.id, "kind": self.kind, "category": self.category, "severity": self.severity,
                "activities": list(self.activities), "edge": list(self.edge) if self.edge else None,
                "summary": self.summary, "evidence": jsonable(self.evidence),
                "cases_affected": int(self.cases_affected), "example_cases": list(self.example_cases),
                "score": jsonable(self.score)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Finding:
        """Inverse of :meth:`to_dict`."""
        edge = d.get("edge")
        return cls(id=d["id"], kind=d["kind"], category=d["category"], severity=d["severity"],
                   activities=tuple(d.get("activities", ())), edge=(str(edge[0]), str(edge[1])) if edge else None,
                   summary=d["summary"], evidence=d.get("evidence", {}), cases_affected=int(d.get("cases_affected", 0)),
                   example_cases=tuple(d.get("example_cases", ())), score=float(d.get("score") or 0.0))


class Findings:
    """An ordered, immutable collection of findings (most severe and costly first).

    Examples
    --------
    >>> fs = Findings([])
    >>> len(fs), fs.to_frame().shape[0]
    (0, 0)
    """

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[Finding]) -> None:
        self._items = tuple(sorted(items, key=lambda f: (_SEV_RANK[f.severity], -f.score, f.kind, f.id)))

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Finding]:
        return iter(self._items)

    @overload
    def __getitem__(self, i: int) -> Finding: ...
    @overload
    def __getitem__(self, i: slice) -> Findings: ...

    def __getitem__(self, i: int | slice) -> Finding | Findings:
        if isinstance(i, slice):
            return Findings(self._items[i])
        return self._items[i]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Findings) and self._items == other._items

    def of_kind(self, *kinds: str) -> Findings:
        """Only the findings of the given kinds."""
        return Findings(f for f in self._items if f.kind in kinds)

    def by_id(self, fid: str) -> Finding:
        """The finding with this id (KeyError if none)."""
        for f in self._items:
            if f.id == fid:
                return f
        raise KeyError(fid)

    def to_dict(self) -> list[dict[str, Any]]:
        """List of finding records."""
        return [f.to_dict() for f in self._items]

    @classmethod
    def from_dict(cls, records: Iterable[Mapping[str, Any]]) -> Findings:
        """Inverse of :meth:`to_dict`."""
        return cls(Finding.from_dict(r) for r in records)

    def to_frame(self) -> pd.DataFrame:
        """One row per finding: id, kind, category, severity, activities, edge, cases_affected, summary."""
        cols = ["id", "kind", "category", "severity", "activities", "edge", "cases_affected", "summary"]
        rows = [[f.id, f.kind, f.category, f.severity, " | ".join(f.activities),
                 " → ".join(f.edge) if f.edge else "", f.cases_affected, f.summary] for f in self._items]
        return pd.DataFrame(rows, columns=cols)

    def __repr__(self) -> str:
        counts = pd.Series([f.severity for f in self._items]).value_counts().to_dict() if self._items else {}
        return f"Findings({len(self)}: " + ", ".join(f"{counts.get(s, 0)} {s}" for s in SEVERITIES) + ")"

    def _repr_html_(self) -> str:
        return f"<div><strong>{html.escape(repr(self))}</strong>{self.to_frame().to_html(index=False, escape=True)}</div>"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/plain": repr(self), "text/html": self._repr_html_()}
