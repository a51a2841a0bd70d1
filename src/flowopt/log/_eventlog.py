"""The canonical event log: one row per activity instance, sorted by case and time."""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from flowopt.options import Config

__all__ = ["CANONICAL", "EventLog", "LogCodes"]

CANONICAL = ("case_id", "activity", "start", "end", "resource", "role")


@dataclass(frozen=True, slots=True, kw_only=True)
class LogCodes:
    """Integer views of the log used by the vectorised algorithms (rows in log order)."""

    case: np.ndarray  # int64 case number, 0..n_cases-1, non-decreasing
    activity: np.ndarray  # int32 activity code
    activity_names: tuple[str, ...]
    case_ids: np.ndarray  # object array: case number -> case id
    case_start: np.ndarray  # int64 row offset of each case's first event (length n_cases + 1)
    start: np.ndarray  # int64 ns since epoch, NaT as INT64 min
    end: np.ndarray  # int64 ns


class EventLog:
    """An event log in flowopt's canonical form.

    One row per activity instance (lifecycle transitions already paired), with ``case_id``,
    ``activity``, ``start`` (NaT when unknown), ``end``, ``resource``, ``role``, then the log's other
    attributes. Rows are sorted by case id, then end time; ties keep the input's order. Build one with
    :func:`flowopt.read_log`.

    Examples
    --------
    >>> import flowopt
    >>> log = flowopt.datasets.example_log()
    >>> len(log) > 0, log.n_cases > 0
    (True, True)
    >>> list(log.to_pandas().columns[:6])
    ['case_id', 'activity', 'start', 'end', 'resource', 'role']
    """

    __slots__ = (
        "_codes",
        "_config",
        "_frame",
        "_mapping",
        "_quarantine",
        "_rows_in",
        "_rows_used",
        "_source",
        "_stages",
        "_time_basis",
    )

    def __init__(self, frame: pd.DataFrame, *, quarantine: pd.DataFrame, source: str, rows_in: int,
                 rows_used: int, mapping: Mapping[str, str], config: Config,
                 stages: Mapping[str, tuple[str, str]]) -> None:
        self._frame = frame
        self._quarantine = quarantine
        self._source = source
        self._rows_in = rows_in
        self._rows_used = rows_used
        self._mapping = dict(mapping)
        self._config = config
        self._stages = dict(stages)
        self._codes: LogCodes | None = None

    # ----------------------------------------------------------------- basic facts
    def __len__(self) -> int:
        return len(self._frame)

    @property
    def n_cases(self) -> int:
        """Number of cases with at least one event (from the codes, computed once: no hashing per call)."""
        return len(self.codes().case_ids) if len(self._frame) else 0

    @property
    def source(self) -> str:
        """The file the log was read from, or ``"<DataFrame>"``."""
        return self._source

    @property
    def rows_in(self) -> int:
        """Rows in the input (for a file: data rows, malformed ones included)."""
        return self._rows_in

    @property
    def rows_used(self) -> int:
        """Input rows that went into an event (a start/complete pair uses two rows)."""
        return self._rows_used

    @property
    def quarantine(self) -> pd.DataFrame:
        """Every input row not used: the original values, ``row`` (1-based data row), ``reason``, ``detail``."""
        return self._quarantine.copy()

    @property
    def mapping(self) -> dict[str, str]:
        """Canonical field -> the input's column name."""
        return dict(self._mapping)

    @property
    def config(self) -> Config:
        """The configuration the log was read with (analysis uses it too)."""
        return self._config

    @property
    def has_start(self) -> bool:
        """True when at least one event has a known start time."""
        return bool(self._frame["start"].notna().any())

    @property
    def has_resource(self) -> bool:
        """True when at least one event names its resource."""
        return bool(self._frame["resource"].notna().any())

    @property
    def has_role(self) -> bool:
        """True when at least one event names a role / org unit."""
        return bool(self._frame["role"].notna().any())

    @property
    def activities(self) -> list[str]:
        """Distinct activity names, sorted."""
        return sorted(str(a) for a in self._frame["activity"].cat.categories)

    @property
    def time_range(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """(first, last) timestamp in the log."""
        first = self._frame["start"].min()
        first_end = self._frame["end"].min()
        lo = first_end if pd.isna(first) else min(first, first_end)
        return lo, self._frame["end"].max()

    # ----------------------------------------------------------------- stages
    @property
    def stages(self) -> pd.DataFrame:
        """Activity -> stage, with the rule that decided it (config or built-in)."""
        rows = [(a, s, r) for a, (s, r) in sorted(self._stages.items())]
        return pd.DataFrame(rows, columns=["activity", "stage", "rule"])

    def stage_of(self, activity: str) -> str:
        """The service stage of one activity."""
        return self._stages.get(activity, ("other", ""))[0]

    def with_stages(self, mapping: Mapping[str, str]) -> EventLog:
        """A copy with some activities moved to other stages (``{activity: stage}``)."""
        stages = dict(self._stages)
        for act, stage in mapping.items():
            stages[act] = (stage, "set by with_stages")
        return self._replace(self._frame, stages=stages)

    # ----------------------------------------------------------------- views
    def to_pandas(self) -> pd.DataFrame:
        """A copy of the events as a DataFrame: canonical columns first, then the log's other attributes."""
        cols = [c for c in self._frame.columns if not c.startswith("_")]
        out = self._frame[cols].copy()
        out["case_id"] = out["case_id"].astype("string")
        return out.reset_index(drop=True)

    @property
    def frame(self) -> pd.DataFrame:
        """The internal frame (read-only by convention; do not modify). Includes ``_row``."""
        return self._frame

    def codes(self) -> LogCodes:
        """Integer codes of the log, computed once."""
        if self._codes is None:
            f = self._frame
            case_cat = f["case_id"].cat
            # case codes follow sorted case order, so codes are non-decreasing along rows
            raw = case_cat.codes.to_numpy().astype(np.int64)
            if len(raw) and bool((raw[1:] >= raw[:-1]).all()):  # sorted by case: renumber runs, no hashing
                first = np.empty(len(raw), dtype=bool)
                first[0] = True
                np.not_equal(raw[1:], raw[:-1], out=first[1:])
                used, case = raw[first], np.cumsum(first) - 1
            else:
                used, case = np.unique(raw, return_inverse=True)
            n_cases = len(used)
            bounds = np.searchsorted(case, np.arange(n_cases + 1))
            act = f["activity"].cat.codes.to_numpy().astype(np.int32)
            start = f["start"].to_numpy(dtype="datetime64[ns]").view("i8") if len(f) else np.zeros(0, dtype=np.int64)
            end = f["end"].to_numpy(dtype="datetime64[ns]").view("i8") if len(f) else np.zeros(0, dtype=np.int64)
            self._codes = LogCodes(case=case.astype(np.int64), activity=act,
                                   activity_names=tuple(str(c) for c in f["activity"].cat.categories),
                                   case_ids=np.asarray(case_cat.categories.to_numpy(dtype=object))[used],
                                   case_start=bounds.astype(np.int64), start=np.asarray(start, dtype=np.int64),
                                   end=np.asarray(end, dtype=np.int64))
        return self._codes

    # ----------------------------------------------------------------- slicing
    def _replace(self, frame: pd.DataFrame, *, stages: Mapping[str, tuple[str, str]] | None = None,
                 quarantine: pd.DataFrame | None = None) -> EventLog:
        return EventLog(frame, quarantine=self._quarantine if quarantine is None else quarantine,
                        source=self._source, rows_in=self._rows_in, rows_used=self._rows_used,
                        mapping=self._mapping, config=self._config,
                        stages=self._stages if stages is None else stages)

    def filter_cases(self, case_ids: Iterable[Any]) -> EventLog:
        """A log with only the given cases (quarantine and row counts are kept from the full log)."""
        keep = self._frame["case_id"].isin(list(case_ids))
        frame = self._frame[keep.to_numpy()].copy()
        frame["case_id"] = frame["case_id"].cat.remove_unused_categories()
        frame["activity"] = frame["activity"].cat.remove_unused_categories()
        return self._replace(frame.reset_index(drop=True))

    def cases_ending_between(self, start: Any, end: Any) -> EventLog:
        """Cases whose last event falls in ``[start, end)`` — the cases a period "completed"."""
        lo, hi = pd.Timestamp(start), pd.Timestamp(end)
        lo = lo.tz_localize("UTC") if lo.tzinfo is None else lo
        hi = hi.tz_localize("UTC") if hi.tzinfo is None else hi
        last = self._frame.groupby("case_id", observed=True)["end"].max()
        ids = last[(last >= lo) & (last < hi)].index
        return self.filter_cases(ids)

    # ----------------------------------------------------------------- display
    def __repr__(self) -> str:
        if not len(self):
            return f"EventLog(0 events, source={self._source!r})"
        lo, hi = self.time_range
        return (f"EventLog({len(self):,} events, {self.n_cases:,} cases, "
                f"{len(self._frame['activity'].cat.categories):,} activities, {lo:%Y-%m-%d} .. {hi:%Y-%m-%d}, "
                f"{len(self._quarantine):,} rows quarantined, source={self._source!r})")

    def _repr_html_(self) -> str:
        q = self._quarantine
        reasons = "" if q.empty else "".join(
            f"<li>{html.escape(str(r))}: {n:,}</li>" for r, n in q["reason"].value_counts().sort_index().items())
        head = self.to_pandas().head(5).to_html(index=False, escape=True)
        return (f"<div><strong>flowopt EventLog</strong> — {html.escape(repr(self))}"
                f"{'<ul>' + reasons + '</ul>' if reasons else ''}{head}</div>")

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/plain": repr(self), "text/html": self._repr_html_()}
