"""Has the process changed between two periods? Edge frequencies, waits and new variants.

- **Edge frequencies**: a chi-square test of homogeneity on the directly-follows counts of the two
  periods (edges with small expected counts pooled into one "other" column), with Cramér's V as the
  effect size — with thousands of hand-offs even a trivial change is "significant", so read both.
- **Waits**: a two-sided Mann–Whitney U test on the waits of each of the busiest edges seen in both
  periods (a sample of at most ``MAX_WAITS`` waits per edge is kept in the history).
- **New variants**: activity sequences never seen in any earlier period, with their share of cases.

The overall ``p_value`` is the smallest p-value of all tests times their number (Bonferroni), capped at 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from flowopt.analysis import jsonable
from flowopt.discovery import discover_variants, edge_waits
from flowopt.log import EventLog

__all__ = ["DriftResult", "DriftTest", "PeriodProfile", "drift_test", "period_profile"]

MAX_WAITS = 500
_SEP = " → "


@dataclass(frozen=True, slots=True, kw_only=True)
class PeriodProfile:
    """What drift tests need from one period: edge counts, a sample of waits per edge, variant counts."""

    edges: pd.DataFrame  # source, target, count
    waits: pd.DataFrame  # source, target, wait_s (at most MAX_WAITS per edge)
    variants: pd.DataFrame  # variant (activities joined by " → "), cases


@dataclass(frozen=True, slots=True, kw_only=True)
class DriftTest:
    """One test: its name, statistic, p-value and what it compared."""

    name: str
    statistic: float
    p_value: float
    detail: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON."""
        return dict(jsonable({"name": self.name, "statistic": self.statistic, "p_value": self.p_value,
                              "detail": dict(self.detail)}))


@dataclass(frozen=True, slots=True, kw_only=True)
class DriftResult:
    """All drift tests between a period and the one before it."""

    p_value: float | None
    tests: tuple[DriftTest, ...] = ()
    new_variants: tuple[tuple[str, int], ...] = ()
    new_variant_share: float = 0.0
    summary: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON."""
        return {"p_value": self.p_value, "tests": [t.to_dict() for t in self.tests],
                "new_variants": [{"variant": v, "cases": c} for v, c in self.new_variants],
                "new_variant_share": self.new_variant_share, "summary": self.summary}


def period_profile(log: EventLog, *, max_waits: int = MAX_WAITS) -> PeriodProfile:
    """Edge counts, a deterministic sample of waits per edge and the variant counts of ``log``.

    Examples
    --------
    >>> import flowopt
    >>> p = period_profile(flowopt.datasets.example_log())
    >>> int(p.variants["cases"].sum())
    500
    """
    c = log.codes()
    names = np.asarray(c.activity_names, dtype=object)
    if len(c.case) == 0:
        empty = pd.DataFrame({"source": pd.Series(dtype=object), "target": pd.Series(dtype=object)})
        return PeriodProfile(edges=empty.assign(count=pd.Series(dtype="int64")),
                             waits=empty.assign(wait_s=pd.Series(dtype=float)),
                             variants=pd.DataFrame({"variant": pd.Series(dtype=object),
                                                    "cases": pd.Series(dtype="int64")}))
    idx, wait, _ = edge_waits(log)
    a = len(names)
    code = c.activity[idx].astype(np.int64) * a + c.activity[idx + 1]
    uniq, inv, counts = np.unique(code, return_inverse=True, return_counts=True)
    edges = pd.DataFrame({"source": names[uniq // a], "target": names[uniq % a], "count": counts.astype(np.int64)})
    # deterministic sample: a seeded random rank within each edge, keep the first max_waits
    rank_key = np.random.default_rng(0).random(len(code))
    order = np.lexsort((rank_key, inv))
    pos = np.arange(len(order)) - np.repeat(np.r_[0, np.cumsum(counts)[:-1]], counts)
    keep = order[pos < max_waits]
    keep.sort()
    waits = pd.DataFrame({"source": names[c.activity[idx[keep]]], "target": names[c.activity[idx[keep] + 1]],
                          "wait_s": wait[keep]})
    t = discover_variants(log).table
    variants = pd.DataFrame({"variant": t["activities"].map(_SEP.join), "cases": t["cases"].astype(np.int64)})
    return PeriodProfile(edges=edges, waits=waits, variants=variants)


def _edge_chi2(prev: pd.DataFrame, cur: pd.DataFrame) -> DriftTest | None:
    m = pd.merge(prev, cur, on=["source", "target"], how="outer", suffixes=("_prev", "_cur")).fillna(0)
    if m.empty:
        return None
    table = m[["count_prev", "count_cur"]].to_numpy(dtype=float).T
    if table[0].sum() == 0 or table[1].sum() == 0:
        return None
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    small = expected.min(axis=0) < 5
    if small.any():
        table = np.column_stack([table[:, ~small], table[:, small].sum(axis=1)])
        table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return None
    chi2, p, dof, _ = stats.chi2_contingency(table, correction=False)
    v = float(np.sqrt(chi2 / table.sum()))  # Cramér's V for a 2 x k table
    m["share_prev"] = m["count_prev"] / m["count_prev"].sum()
    m["share_cur"] = m["count_cur"] / m["count_cur"].sum()
    m["change"] = m["share_cur"] - m["share_prev"]
    top = m.reindex(m["change"].abs().sort_values(ascending=False, kind="stable").index).head(5)
    return DriftTest(name="edge_frequencies", statistic=float(chi2), p_value=float(p),
                     detail={"dof": int(dof), "cramers_v": v, "edges_compared": len(m),
                             "largest_changes": [{"edge": [r.source, r.target], "share_before": r.share_prev,
                                                  "share_after": r.share_cur} for r in top.itertuples()]})


def _wait_tests(prev: pd.DataFrame, cur: pd.DataFrame, max_edges: int, min_n: int) -> list[DriftTest]:
    np_ = prev.groupby(["source", "target"], sort=True).size().rename("n_prev")
    nc = cur.groupby(["source", "target"], sort=True).size().rename("n_cur")
    both = pd.concat([np_, nc], axis=1, join="inner")
    both = both[(both["n_prev"] >= min_n) & (both["n_cur"] >= min_n)]
    both = both.assign(n=both["n_prev"] + both["n_cur"]).sort_values("n", ascending=False, kind="stable")
    out = []
    pg = prev.groupby(["source", "target"], sort=False)["wait_s"]
    cg = cur.groupby(["source", "target"], sort=False)["wait_s"]
    for (s, t) in both.index[:max_edges]:
        x = pg.get_group((s, t)).to_numpy(float)
        y = cg.get_group((s, t)).to_numpy(float)
        if np.all(x == x[0]) and np.all(y == x[0]):
            continue  # identical constants: nothing to test
        u, p = stats.mannwhitneyu(x, y, alternative="two-sided")
        out.append(DriftTest(name=f"waits: {s}{_SEP}{t}", statistic=float(u), p_value=float(p),
                             detail={"edge": [s, t], "median_before_s": float(np.median(x)),
                                     "median_after_s": float(np.median(y)), "n_before": len(x),
                                     "n_after": len(y)}))
    return out


def drift_test(previous: PeriodProfile, current: PeriodProfile, *, seen_variants: set[str] | None = None,
               max_wait_edges: int = 5, min_waits: int = 10) -> DriftResult:
    """Test whether ``current`` differs from ``previous`` (see the module docstring).

    Parameters
    ----------
    previous, current : PeriodProfile
    seen_variants : set of str, optional
        Variants of all earlier periods; default: those of ``previous``.
    max_wait_edges : int, default 5
        How many of the busiest common edges get a wait test.
    min_waits : int, default 10
        Fewer waits than this on either side: the edge is not tested.

    Examples
    --------
    >>> import flowopt
    >>> p = period_profile(flowopt.datasets.example_log())
    >>> drift_test(p, p).p_value
    1.0
    """
    tests: list[DriftTest] = []
    chi = _edge_chi2(previous.edges, current.edges)
    if chi is not None:
        tests.append(chi)
    tests.extend(_wait_tests(previous.waits, current.waits, max_wait_edges, min_waits))
    seen = set(previous.variants["variant"]) if seen_variants is None else seen_variants
    new = current.variants[~current.variants["variant"].isin(seen)]
    total = int(current.variants["cases"].sum())
    share = float(new["cases"].sum() / total) if total else 0.0
    new_list = tuple((str(v), int(n)) for v, n in zip(new["variant"], new["cases"]))
    p = min(1.0, min(t.p_value for t in tests) * len(tests)) if tests else None
    parts = []
    if p is not None:
        worst = min(tests, key=lambda t: t.p_value)
        parts.append(f"Drift test p-value {p:.3g} (Bonferroni over {len(tests)} tests; strongest: {worst.name}).")
    if chi is not None:
        parts.append(f"Edge frequencies: chi-square p={chi.p_value:.3g}, Cramér's V={chi.detail['cramers_v']:.3f}.")
    parts.append(f"{len(new_list)} new variant(s) covering {share:.1%} of cases.")
    return DriftResult(p_value=p, tests=tuple(tests), new_variants=new_list, new_variant_share=share,
                       summary=" ".join(parts))
