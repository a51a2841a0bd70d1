"""Suggestions and their estimated savings."""

from __future__ import annotations

import hashlib
import html
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from flowopt.analysis._findings import jsonable

__all__ = ["HEURISTICS", "Saving", "Suggestion", "Suggestions", "suggestion_id"]

HEURISTICS: tuple[str, ...] = ("task_elimination", "parallelism", "knockout_reordering", "triage", "task_composition",
                               "automation", "batch_frequency", "capacity", "empowerment", "calendar_alignment",
                               "contact_reduction", "case_manager")


def suggestion_id(heuristic: str, activities: Iterable[str], finding_ids: Iterable[str]) -> str:
    """A stable id from the heuristic, activities and findings."""
    key = json.dumps([heuristic, list(activities), sorted(finding_ids)], ensure_ascii=False)
    return f"{heuristic}-{hashlib.sha1(key.encode('utf-8')).hexdigest()[:8]}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Saving:
    """An estimated saving. Hours are case throughput hours; ``low``/``high`` bound ``hours_per_case``.

    ``method`` says how it was computed: ``"replay"`` (counterfactual replay of every real case),
    ``"simulation"`` (discrete-event simulation fitted to the log), or both.
    """

    hours_per_case: float
    hours_total: float
    throughput_p50_change_pct: float
    throughput_p90_change_pct: float | None = None
    hours_per_week: float | None = None
    cost_total: float | None = None
    currency: str | None = None
    hours_per_case_low: float | None = None
    hours_per_case_high: float | None = None
    cases_affected: int = 0
    method: str = "replay"
    period_days: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The contract's ``estimated_saving`` record."""
        out: dict[str, Any] = jsonable({"hours_per_case": self.hours_per_case, "hours_total": self.hours_total,
                         "throughput_p50_change_pct": self.throughput_p50_change_pct,
                         "throughput_p90_change_pct": self.throughput_p90_change_pct,
                         "hours_per_week": self.hours_per_week, "cost_total": self.cost_total,
                         "currency": self.currency, "hours_per_case_low": self.hours_per_case_low,
                         "hours_per_case_high": self.hours_per_case_high, "cases_affected": self.cases_affected,
                         "method": self.method, "period_days": self.period_days})
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Saving:
        """Inverse of :meth:`to_dict`."""
        return cls(**{k: d.get(k) for k in cls.__dataclass_fields__ if k in d})  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True, kw_only=True)
class Suggestion:
    """A simplification to consider, with its findings, estimated saving, evidence and risk."""

    heuristic: str
    finding_ids: tuple[str, ...]
    action: str
    activities: tuple[str, ...]
    estimated_saving: Saving
    risk: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    protected: bool = False  # True when a protected control is involved (never eliminated)
    id: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "finding_ids", tuple(self.finding_ids))
        object.__setattr__(self, "activities", tuple(str(a) for a in self.activities))
        object.__setattr__(self, "evidence", jsonable(dict(self.evidence)))
        if not self.id:
            object.__setattr__(self, "id", suggestion_id(self.heuristic, self.activities, self.finding_ids))

    def __hash__(self) -> int:
        return hash(self.id)

    def to_dict(self) -> dict[str, Any]:
        """The contract's suggestion record."""
        return {"id": self.id, "heuristic": self.heuristic, "finding_ids": list(self.finding_ids),
                "action": self.action, "activities": list(self.activities),
                "estimated_saving": self.estimated_saving.to_dict(), "risk": self.risk,
                "evidence": jsonable(self.evidence), "protected": self.protected}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Suggestion:
        """Inverse of :meth:`to_dict`."""
        return cls(id=d["id"], heuristic=d["heuristic"], finding_ids=tuple(d["finding_ids"]), action=d["action"],
                   activities=tuple(d["activities"]), estimated_saving=Saving.from_dict(d["estimated_saving"]),
                   risk=d["risk"], evidence=d.get("evidence", {}), protected=bool(d.get("protected", False)))


class Suggestions:
    """Suggestions ranked by cost saved when every one is priced, else by total hours saved (ties: heuristic,
    then id)."""

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[Suggestion]) -> None:
        items = list(items)
        # money when every suggestion is priced, hours otherwise (a half-priced list would rank by accident)
        by_cost = bool(items) and all(s.estimated_saving.cost_total is not None for s in items)
        self._items = tuple(sorted(items, key=lambda s: (-(s.estimated_saving.cost_total or 0.0) if by_cost else 0.0,
                                                         -s.estimated_saving.hours_total, s.heuristic, s.id)))

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Suggestion]:
        return iter(self._items)

    def __getitem__(self, i: int) -> Suggestion:
        return self._items[i]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Suggestions) and self._items == other._items

    def to_dict(self) -> list[dict[str, Any]]:
        """List of suggestion records."""
        return [s.to_dict() for s in self._items]

    @classmethod
    def from_dict(cls, records: Iterable[Mapping[str, Any]]) -> Suggestions:
        """Inverse of :meth:`to_dict`."""
        return cls(Suggestion.from_dict(r) for r in records)

    def to_frame(self) -> pd.DataFrame:
        """One row per suggestion with its saving."""
        rows = [[s.id, s.heuristic, " | ".join(s.activities), s.action, s.estimated_saving.hours_per_case,
                 s.estimated_saving.hours_total, s.estimated_saving.throughput_p50_change_pct, s.risk]
                for s in self._items]
        return pd.DataFrame(rows, columns=["id", "heuristic", "activities", "action", "hours_per_case", "hours_total",
                                           "throughput_p50_change_pct", "risk"])

    def __repr__(self) -> str:
        total = sum(s.estimated_saving.hours_total for s in self._items)
        return f"Suggestions({len(self)}, {total:,.0f} h saved in total if all were applied separately)"

    def _repr_html_(self) -> str:
        return f"<div><strong>{html.escape(repr(self))}</strong>{self.to_frame().to_html(index=False, escape=True)}</div>"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/plain": repr(self), "text/html": self._repr_html_()}
