"""Variants: distinct activity sequences with their case counts and throughput times."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from flowopt.discovery._kernels import NAT, case_span, group_stats, sequence_hash
from flowopt.log import EventLog

__all__ = ["Variants", "case_table", "discover_variants"]

SEP = " → "


def case_table(log: EventLog) -> pd.DataFrame:
    """One row per case: ``case_id, first, last, throughput_s, events, service_s`` (service where known).

    Examples
    --------
    >>> import flowopt
    >>> t = case_table(flowopt.datasets.example_log())
    >>> bool((t["throughput_s"] >= 0).all())
    True
    """
    c = log.codes()
    if len(c.case) == 0:
        return pd.DataFrame(columns=["case_id", "first", "last", "throughput_s", "events", "service_s"])
    starts = c.case_start[:-1]
    first, last = case_span(c.case_start, c.start, c.end)
    known = c.start != NAT
    svc = np.where(known, (c.end - np.where(known, c.start, c.end)), 0).astype(np.float64) / 1e9
    service = np.add.reduceat(svc, starts)
    any_known = np.add.reduceat(known.astype(np.int64), starts) > 0
    return pd.DataFrame({
        "case_id": c.case_ids.astype(str),
        "first": pd.to_datetime(first.view("datetime64[ns]")).tz_localize("UTC"),
        "last": pd.to_datetime(last.view("datetime64[ns]")).tz_localize("UTC"),
        "throughput_s": (last - first).astype(np.float64) / 1e9,
        "events": np.diff(c.case_start).astype(np.int64),
        "service_s": np.where(any_known, service, np.nan),
    })


@dataclass(frozen=True, slots=True, kw_only=True)
class Variants:
    """Variants table (``variant, activities, cases, share, events, throughput_mean_s, _median_s, _p90_s``)
    and the variant number of every case (``case_variant``: case id -> variant index in the table)."""

    table: pd.DataFrame
    case_variant: pd.Series

    def to_frame(self) -> pd.DataFrame:
        """The variants table (a copy)."""
        return self.table.copy()

    def to_dict(self, top: int | None = 20) -> list[dict[str, Any]]:
        """The ``top`` most frequent variants as records."""
        t = self.table if top is None else self.table.head(top)
        return [{"variant": int(r.variant), "activities": list(r.activities), "cases": int(r.cases),
                 "share": float(r.share), "throughput_median_s": float(r.throughput_median_s),
                 "throughput_p90_s": float(r.throughput_p90_s)} for r in t.itertuples(index=False)]

    def __repr__(self) -> str:
        n = len(self.table)
        top = float(self.table["share"].iloc[0]) if n else 0.0
        return f"Variants({n:,} variants; the most frequent covers {top:.1%} of cases)"

    def _repr_html_(self) -> str:
        t = self.table.head(15).copy()
        t["activities"] = t["activities"].map(SEP.join)
        return str(t.drop(columns=["events"]).to_html(index=False, escape=True))


def _unique_rows(h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(h, axis=0, return_index=True, return_inverse=True)[1:]`` for an (n, 2) array, by one two-key
    sort (NumPy's row-wise unique views the rows as records and sorts those, several times slower).

    Examples
    --------
    >>> rep, inv = _unique_rows(np.array([[2, 1], [1, 5], [2, 1], [1, 4]], dtype=np.uint64))
    >>> rep.tolist(), inv.tolist()
    ([3, 1, 0], [2, 1, 2, 0])
    """
    order = np.lexsort((h[:, 1], h[:, 0]))  # stable: the first row of each run is the earliest occurrence
    s = h[order]
    new = np.ones(len(s), dtype=bool)
    new[1:] = (s[1:, 0] != s[:-1, 0]) | (s[1:, 1] != s[:-1, 1])
    ids = np.cumsum(new) - 1
    inv = np.empty(len(h), dtype=np.int64)
    inv[order] = ids
    return order[new], inv


def discover_variants(log: EventLog) -> Variants:
    """Group cases by their exact activity sequence.

    Sorted by case count (descending), ties by the sequence text, so the order is deterministic.

    Examples
    --------
    >>> import flowopt
    >>> v = flowopt.discover_variants(flowopt.datasets.example_log())
    >>> bool(abs(v.table["share"].sum() - 1.0) < 1e-9)
    True
    """
    c = log.codes()
    n_cases = len(c.case_start) - 1
    h = sequence_hash(c.activity, c.case_start)
    if n_cases == 0:
        empty = pd.DataFrame(columns=["variant", "activities", "cases", "share", "events", "throughput_mean_s",
                                      "throughput_median_s", "throughput_p90_s"])
        return Variants(table=empty, case_variant=pd.Series(dtype="int64"))
    rep, inv = _unique_rows(h)
    first, last = case_span(c.case_start, c.start, c.end)
    stats = group_stats(inv, (last - first).astype(np.float64) / 1e9, len(rep))  # throughput, as in case_table
    names = np.array(c.activity_names, dtype=object)
    seqs = [tuple(names[c.activity[c.case_start[r]:c.case_start[r + 1]]]) for r in rep]
    table = pd.DataFrame({"_id": np.arange(len(rep)), "activities": seqs, "cases": stats.count,
                          "share": stats.count / n_cases, "events": [len(s) for s in seqs],
                          "throughput_mean_s": stats.mean, "throughput_median_s": stats.median,
                          "throughput_p90_s": stats.p90})
    table["_key"] = table["activities"].map(SEP.join)
    table = table.sort_values(["cases", "_key"], ascending=[False, True], kind="stable").reset_index(drop=True)
    remap = np.empty(len(rep), dtype=np.int64)
    remap[table["_id"].to_numpy()] = np.arange(len(rep))
    table.insert(0, "variant", np.arange(1, len(rep) + 1))
    case_variant = pd.Series(remap[inv] + 1, index=pd.Index(c.case_ids, dtype="str", name="case_id"), name="variant")
    return Variants(table=table.drop(columns=["_id", "_key"]), case_variant=case_variant)
