"""The process graph: counts equal pm4py's DFG on every real log, waits equal an independent pandas
computation, and the flow-conservation / duplication properties hold on generated logs."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import flowopt
from flowopt.discovery import END, START, edge_waits
from flowopt.io._pm4py import import_pm4py
from flowopt.log import EventLog
from strategies import raw_logs

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LOGS = ["BPIC_2012_W.csv.gz", "DomesticDeclarations.xes.gz", "RequestForPayment.xes.gz", "bpic2012.xes.gz",
        "helpdesk.xes.gz", "receipt.xes.gz", "running-example.xes", "traffic_fines.csv.gz"]


def _read(frame: pd.DataFrame, config: Any = None) -> EventLog:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", flowopt.errors.RowsDroppedWarning)
        return flowopt.read_log(frame, config)


@pytest.fixture(scope="module")
def pm4py() -> Any:
    return import_pm4py()


def _pm4py_dfg(pm4py: Any, log: EventLog) -> tuple[dict, dict, dict]:
    """pm4py's DFG on our canonical frame (same rows, same order; time = completion)."""
    df = log.to_pandas()
    pdf = pd.DataFrame({"case:concept:name": df["case_id"].astype(str), "concept:name": df["activity"].astype(str),
                        "time:timestamp": df["end"]})
    dfg, start, end = pm4py.discover_dfg(pdf)
    return dict(dfg), dict(start), dict(end)


@pytest.mark.parametrize("name", LOGS)
def test_edge_counts_equal_pm4py(real_log: Callable[[str], EventLog], pm4py: Any, name: str) -> None:
    log = real_log(name)
    dfg, start, end = _pm4py_dfg(pm4py, log)
    e = flowopt.discover_graph(log).edges
    inner = e[(e.source != START) & (e.target != END)]
    assert {(s, t): int(c) for s, t, c in zip(inner.source, inner.target, inner["count"])} == dfg
    assert {t: int(c) for t, c in zip(e.loc[e.source == START, "target"], e.loc[e.source == START, "count"])} == start
    assert {s: int(c) for s, c in zip(e.loc[e.target == END, "source"], e.loc[e.target == END, "count"])} == end


def test_waits_on_interval_log_match_pandas(real_log: Callable[[str], EventLog], data_dir: Path) -> None:
    log = real_log("BPIC_2012_W.csv.gz")
    raw = pd.read_csv(data_dir / "BPIC_2012_W.csv.gz", dtype=str, keep_default_na=False)
    raw["s"] = pd.to_datetime(raw["start_time"], format="ISO8601")
    raw["e"] = pd.to_datetime(raw["end_time"], format="ISO8601")
    raw = raw.sort_values(["case_id", "e"], kind="stable")  # ties keep the file's order
    nxt = raw.groupby("case_id", sort=False).shift(-1)
    pairs = pd.DataFrame({"source": raw["activity"], "target": nxt["activity"],
                          "gap": (nxt["s"] - raw["e"]).dt.total_seconds()}).dropna(subset=["target"])
    pairs["wait"] = pairs["gap"].clip(lower=0)
    exp = pairs.groupby(["source", "target"])["wait"].agg(
        count="size", median="median", p90=lambda w: w.quantile(0.9), mean="mean", max="max")
    exp["overlap"] = pairs.assign(o=pairs["gap"] < 0).groupby(["source", "target"])["o"].sum()
    g = flowopt.discover_graph(log).edges.set_index(["source", "target"])
    got = g.loc[exp.index]
    assert g["wait_median_s"].notna().sum() == len(exp)
    np.testing.assert_array_equal(got["count"].to_numpy(), exp["count"].to_numpy())
    np.testing.assert_allclose(got["wait_median_s"].to_numpy(), exp["median"].to_numpy(), rtol=1e-9, atol=1e-3)
    np.testing.assert_allclose(got["wait_p90_s"].to_numpy(), exp["p90"].to_numpy(), rtol=1e-9, atol=1e-3)
    np.testing.assert_allclose(got["wait_mean_s"].to_numpy(), exp["mean"].to_numpy(), rtol=1e-9, atol=1e-3)
    np.testing.assert_allclose(got["wait_max_s"].to_numpy(), exp["max"].to_numpy(), rtol=1e-9, atol=1e-3)
    np.testing.assert_array_equal(got["overlap_count"].to_numpy(), exp["overlap"].to_numpy())
    assert flowopt.discover_graph(log).wait_basis == "start"


def _check_flow(log: EventLog) -> None:
    g = flowopt.discover_graph(log)
    e, nodes = g.edges, g.nodes.set_index("activity")
    occurrences = log.to_pandas()["activity"].astype(str).value_counts()
    incoming = e.groupby("target")["count"].sum()
    outgoing = e.groupby("source")["count"].sum()
    for act, n in occurrences.items():
        assert incoming[act] == n and outgoing[act] == n and nodes.loc[act, "count"] == n
    assert incoming[END] == outgoing[START] == log.n_cases == g.n_cases
    assert (e["wait_min_s"] >= 0).all() if "wait_min_s" in e else True
    inner = e[(e.source != START) & (e.target != END)]
    assert (inner[["wait_mean_s", "wait_median_s", "wait_p90_s", "wait_max_s"]] >= 0).all().all()
    assert (inner["overlap_count"] <= inner["count"]).all()
    assert e.loc[(e.source == START) | (e.target == END), "wait_median_s"].isna().all()


shapes = st.sampled_from(["complete", "interval", "lifecycle"])


def _between(value: pd.Series, lo: pd.Series, hi: pd.Series) -> None:
    v, lo_, hi_ = value.to_numpy(dtype=float), lo.to_numpy(dtype=float), hi.to_numpy(dtype=float)
    nan = np.isnan(lo_)
    assert (np.isnan(v) == nan).all()
    assert (v[~nan] >= lo_[~nan] - 1e-6).all() and (v[~nan] <= hi_[~nan] + 1e-6).all()


@SETTINGS
@given(data=st.data(), shape=shapes, ties=st.booleans())
def test_flow_conservation(data: st.DataObject, shape: str, ties: bool) -> None:
    raw = data.draw(raw_logs(shape=shape, ties=ties))  # type: ignore[arg-type]
    _check_flow(_read(raw.frame))


@SETTINGS
@given(data=st.data(), shape=shapes, ties=st.booleans())
def test_duplicating_cases_doubles_counts_and_keeps_time_stats(data: st.DataObject, shape: str, ties: bool) -> None:
    raw = data.draw(raw_logs(shape=shape, ties=ties))  # type: ignore[arg-type]
    cfg = {"read": {"drop_duplicates": False}}
    twin = raw.frame.assign(case_id="twin-" + raw.frame["case_id"])
    one = flowopt.discover_graph(_read(raw.frame, cfg))
    two = flowopt.discover_graph(_read(pd.concat([raw.frame, twin], ignore_index=True), cfg))
    a, b = one.edges, two.edges
    assert a[["source", "target"]].equals(b[["source", "target"]])
    for col in ("count", "cases", "overlap_count"):
        np.testing.assert_array_equal(b[col].to_numpy(), 2 * a[col].to_numpy())
    # mean, median and max do not move; a linearly interpolated p90 may move up towards the next order
    # statistic (p90 of [90, 91] is 90.9, of [90, 90, 91, 91] it is 91.0), never past the maximum
    for col in ("wait_mean_s", "wait_median_s", "wait_max_s"):
        np.testing.assert_allclose(b[col].to_numpy(), a[col].to_numpy(), rtol=1e-12, atol=1e-6, equal_nan=True)
    _between(b["wait_p90_s"], a["wait_p90_s"], a["wait_max_s"])
    np.testing.assert_allclose(b["wait_total_s"].to_numpy(), 2 * a["wait_total_s"].to_numpy(), equal_nan=True)
    for col in ("service_mean_s", "service_median_s"):
        np.testing.assert_allclose(two.nodes[col].to_numpy(), one.nodes[col].to_numpy(), equal_nan=True)
    _between(two.nodes["service_p90_s"], one.nodes["service_p90_s"],
             one.nodes["service_p90_s"].where(one.nodes["service_known"] < 2, np.inf))
    np.testing.assert_array_equal(two.nodes["count"].to_numpy(), 2 * one.nodes["count"].to_numpy())


@SETTINGS
@given(data=st.data())
def test_waits_never_negative_and_overlaps_counted(data: st.DataObject) -> None:
    raw = data.draw(raw_logs(shape="interval", ties=True))
    log = _read(raw.frame)
    i, wait, overlap = edge_waits(log)
    assert (wait >= 0).all()
    df = log.to_pandas()
    nxt_start = df["start"].shift(-1).iloc[i].to_numpy()
    gap = ((nxt_start - df["end"].iloc[i].to_numpy()) / np.timedelta64(1, "s")).astype(np.float64)
    np.testing.assert_array_equal(overlap, gap < 0)
    np.testing.assert_allclose(wait, np.maximum(gap, 0))
    e = flowopt.discover_graph(log).edges
    assert int(e["overlap_count"].sum()) == int((gap < 0).sum())


def test_overlap_small_example() -> None:
    df = pd.DataFrame({"case_id": ["1", "1", "1"], "activity": ["a", "b", "c"],
                       "start": ["2024-01-01 09:00", "2024-01-01 09:30", "2024-01-01 12:00"],
                       "end": ["2024-01-01 10:00", "2024-01-01 11:00", "2024-01-01 13:00"]})
    e = flowopt.discover_graph(flowopt.read_log(df)).edges.set_index(["source", "target"])
    assert e.loc[("a", "b"), "overlap_count"] == 1 and e.loc[("a", "b"), "wait_median_s"] == 0
    assert e.loc[("b", "c"), "overlap_count"] == 0 and e.loc[("b", "c"), "wait_median_s"] == 3600


def test_completion_basis_without_starts() -> None:
    df = pd.DataFrame({"case_id": ["1", "1"], "activity": ["a", "b"], "time": ["2024-01-01 09:00", "2024-01-01 10:30"]})
    g = flowopt.discover_graph(flowopt.read_log(df))
    assert g.wait_basis == "completion"
    assert g.edges.set_index(["source", "target"]).loc[("a", "b"), "wait_median_s"] == 5400
    assert g.nodes["service_known"].sum() == 0 and g.nodes["service_median_s"].isna().all()


def test_graph_dict_roundtrip_and_networkx(real_log: Callable[[str], EventLog]) -> None:
    g = flowopt.discover_graph(real_log("running-example.xes"))
    d = g.to_dict()
    assert {"nodes", "edges"} <= set(d) and d["n_cases"] == 6
    assert {"source", "target", "count", "wait_mean_s", "wait_median_s", "wait_p90_s"} <= set(d["edges"][0])
    back = flowopt.ProcessGraph.from_dict(d)
    assert back.edges["count"].tolist() == g.edges["count"].tolist()
    nx = g.to_networkx()
    assert nx.number_of_edges() == len(g.edges) and nx.has_node(START) and nx.has_node(END)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 50), st.integers(0, 400), st.booleans())
def test_group_stats_compiled_grouping_equals_numpy(seed: int, n_groups: int, n: int, ties: bool) -> None:
    # group_stats groups the values by one compiled counting pass; without the loops, by a stable radix sort
    from flowopt.discovery import _kernels

    rng = np.random.default_rng(seed)
    group = rng.integers(0, n_groups, n)
    values = np.round(rng.exponential(5.0, n)) if ties else rng.normal(0.0, 3.0, n)
    values[rng.random(n) < 0.05] = np.nan
    got = _kernels.group_stats(group, values, n_groups)
    old = _kernels.loops
    _kernels.loops = lambda: None  # type: ignore[assignment]
    try:
        want = _kernels.group_stats(group, values, n_groups)
    finally:
        _kernels.loops = old
    for field in ("count", "total", "mean", "median", "p90", "max"):
        assert np.array_equal(getattr(got, field), getattr(want, field), equal_nan=True), field


def test_case_indexed_results_keep_the_case_ids_as_text() -> None:
    # the per-case series (variants, costs) are indexed by the case ids as text, in case order
    from flowopt.analysis._costs import cost_table

    log = flowopt.datasets.example_log()
    want = pd.Index(log.codes().case_ids.astype(str), name="case_id")
    for index in (flowopt.discover_variants(log).case_variant.index, cost_table(log, log.config).cases.index):
        assert index.dtype == want.dtype and index.equals(want) and index.name == "case_id"
