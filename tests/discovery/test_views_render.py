"""Variants, case table, stage view, graph filtering and process-map rendering (English and Chinese)."""

from __future__ import annotations

import shutil
import subprocess
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import flowopt
from flowopt.datasets import generate_lending_log
from flowopt.discovery import END, START, case_table, render_dot, render_svg
from flowopt.discovery._render import FONT
from flowopt.errors import ParameterError
from flowopt.log import EventLog


@pytest.fixture(scope="module")
def example() -> EventLog:
    return flowopt.datasets.example_log()


@pytest.fixture(scope="module")
def zh_log() -> EventLog:
    g = generate_lending_log(150, seed=5, language="zh")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", flowopt.errors.RowsDroppedWarning)
        return flowopt.read_log(g.frame, g.config)


# ------------------------------------------------------------------ variants and cases
@pytest.mark.parametrize("name", ["running-example.xes", "receipt.xes.gz", "helpdesk.xes.gz"])
def test_variants_partition_the_cases(real_log: Callable[[str], EventLog], name: str) -> None:
    log = real_log(name)
    v = flowopt.discover_variants(log)
    t = v.table
    assert t["share"].sum() == pytest.approx(1.0) and int(t["cases"].sum()) == log.n_cases
    assert (t["cases"].diff().dropna() <= 0).all()  # most frequent first
    assert t["variant"].tolist() == list(range(1, len(t) + 1))
    # independent: the activity sequence of every case
    seqs = log.to_pandas().groupby("case_id", sort=True)["activity"].agg(lambda s: tuple(map(str, s)))
    assert len(set(seqs)) == len(t)
    counts = seqs.value_counts()
    by_seq = dict(zip(t["activities"].map(tuple), t["cases"]))
    assert all(by_seq[s] == n for s, n in counts.items())
    mapped = t.set_index("variant")["activities"].reindex(v.case_variant.to_numpy()).map(tuple)
    assert list(mapped) == list(seqs.reindex(v.case_variant.index))
    assert len(v.to_dict(top=3)) == min(3, len(t))


def test_case_table_matches_pandas(real_log: Callable[[str], EventLog]) -> None:
    log = real_log("BPIC_2012_W.csv.gz")
    ct = case_table(log).set_index("case_id")
    df = log.to_pandas()
    g = df.groupby("case_id")
    first = pd.concat([df["start"].fillna(df["end"]), df["case_id"]], axis=1).groupby("case_id")["start"].min()
    exp = (g["end"].max() - first).dt.total_seconds()
    np.testing.assert_allclose(ct["throughput_s"].to_numpy(), exp.reindex(ct.index).to_numpy())
    assert (ct["events"] == g.size().reindex(ct.index)).all()
    svc = (df["end"] - df["start"]).dt.total_seconds().groupby(df["case_id"]).sum()
    np.testing.assert_allclose(ct["service_s"].to_numpy(), svc.reindex(ct.index).to_numpy(), rtol=1e-9)


# ------------------------------------------------------------------ stage view
def test_stage_view_small() -> None:
    df = pd.DataFrame({"case_id": ["1"] * 4 + ["2"] * 2,
                       "activity": ["Inquiry", "Submit application", "Document check", "Credit risk approval",
                                    "Inquiry", "Credit risk approval"],
                       "start": ["2024-01-01 09:00", "2024-01-01 10:00", "2024-01-01 11:00", "2024-01-01 14:00",
                                 "2024-01-02 09:00", "2024-01-02 12:00"],
                       "end": ["2024-01-01 09:30", "2024-01-01 10:30", "2024-01-01 12:00", "2024-01-01 15:00",
                               "2024-01-02 10:00", "2024-01-02 13:00"]})
    sv = flowopt.discover_stages(flowopt.read_log(df))
    s = sv.stages.set_index("stage")
    assert s.loc["application", "visits"] == 1 and s.loc["application", "time_in_median_s"] == 2 * 3600
    assert s.loc["consultation", "visits"] == 2 and s.loc["approval", "cases"] == 2
    tr = sv.transitions.set_index(["source", "target"])
    assert tr.loc[("consultation", "application"), "count"] == 1
    assert tr.loc[("application", "approval"), "wait_median_s"] == 2 * 3600
    assert tr.loc[("consultation", "approval"), "wait_median_s"] == 2 * 3600
    d = sv.to_dict()
    assert {r["stage"] for r in d["stages"]} == {"consultation", "application", "approval"}


def test_stage_view_visits_sum_to_runs(example: EventLog) -> None:
    sv = flowopt.discover_stages(example)
    df = example.to_pandas()
    stage = df["activity"].astype(str).map(example.stage_of)
    new = (stage != stage.shift()) | (df["case_id"] != df["case_id"].shift())
    assert int(sv.stages["visits"].sum()) == int(new.sum())
    assert int(sv.transitions["count"].sum()) == int(new.sum()) - example.n_cases
    assert (sv.stages["time_in_median_s"] >= 0).all()


# ------------------------------------------------------------------ filtering
def _reachable(g: flowopt.ProcessGraph) -> None:
    dg = nx.DiGraph()
    dg.add_edges_from(zip(g.edges["source"], g.edges["target"]))
    acts = set(g.nodes["activity"])
    assert acts <= set(dg.nodes)
    from_start = nx.descendants(dg, START)
    to_end = nx.ancestors(dg, END)
    assert acts <= from_start and acts <= to_end


@pytest.fixture(scope="module")
def example_graph(example: EventLog) -> flowopt.ProcessGraph:
    return flowopt.discover_graph(example)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(coverage=st.floats(0.05, 1.0), max_edges=st.one_of(st.none(), st.integers(1, 40)),
       share=st.sampled_from([0.0, 0.01, 0.05, 0.2]))
def test_filter_graph_keeps_activities_reachable(example_graph: flowopt.ProcessGraph, coverage: float,
                                                 max_edges: Any, share: float) -> None:
    g = example_graph
    small = flowopt.filter_graph(g, coverage=coverage, max_edges=max_edges, min_activity_share=share)
    _reachable(small)
    assert len(small.edges) <= len(g.edges)
    assert set(small.edges["source"]) | set(small.edges["target"]) <= set(small.nodes["activity"]) | {START, END}
    counts = g.nodes.set_index("activity")["count"]
    frequent = set(counts[counts / counts.sum() >= share].index) or {str(counts.idxmax())}
    # frequent activities stay; rarer ones come back only where they are the way to reach a frequent one
    assert frequent <= set(small.nodes["activity"])
    assert set(small.nodes["activity"]) == frequent | set(small.filtered["activities_restored"])
    assert small.filtered["edges_kept"] == len(small.edges)


def test_filter_graph_bridges_dropped_activities() -> None:
    # B is reachable only through the rare X: dropping X must not leave B stranded
    df = pd.DataFrame({"case_id": ["1"] * 5 + ["2", "2", "3", "3", "4", "4"],
                       "activity": ["A", "X", "B", "B", "B", "A", "C", "A", "C", "A", "C"],
                       "timestamp": pd.date_range("2024-01-01", periods=11, freq="h").astype(str)})
    log = flowopt.read_log(df)
    g = flowopt.filter_graph(flowopt.discover_graph(log), min_activity_share=0.1)
    assert "B" in set(g.nodes["activity"])
    _reachable(g)
    assert "X" in g.filtered["activities_restored"]


def test_filter_graph_full_coverage_is_identity(example: EventLog) -> None:
    g = flowopt.discover_graph(example)
    same = flowopt.filter_graph(g)
    pd.testing.assert_frame_equal(same.edges, g.edges)


@pytest.mark.parametrize("kwargs", [{"coverage": 0.0}, {"coverage": 1.5}, {"max_edges": 0},
                                    {"min_activity_share": 1.0}])
def test_filter_graph_parameters(example: EventLog, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ParameterError, match=next(iter(kwargs))):
        flowopt.filter_graph(flowopt.discover_graph(example), **kwargs)


# ------------------------------------------------------------------ rendering
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz dot is not installed")


def _svg_text(svg: str) -> str:
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    return " ".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))


@needs_dot
def test_render_english_svg(example: EventLog) -> None:
    g = flowopt.discover_graph(example)
    svg = render_svg(g, title="Lending")
    text = _svg_text(svg)
    for act in g.nodes["activity"]:
        assert act in text
    assert "Lending" in text


@needs_dot
def test_render_chinese_svg_uses_a_cjk_font(zh_log: EventLog) -> None:
    g = flowopt.discover_graph(zh_log)
    names = [a for a in g.nodes["activity"] if any("\u4e00" <= ch <= "\u9fff" for ch in a)]
    assert len(names) >= 5
    dot = render_dot(g, max_edges=None)
    assert 'fontname="Noto Sans CJK SC' in dot
    svg = render_svg(g, max_edges=None)
    text = _svg_text(svg)
    for act in names:
        assert act in text
    # the font dot was given resolves to an installed CJK font, so glyphs (not boxes) are drawn
    fam = FONT.split(",")[0]
    assert 'font-family="' + fam in svg or "font-family=\"" + FONT in svg
    if shutil.which("fc-match"):
        found = subprocess.run(["fc-match", fam], capture_output=True, text=True, check=False).stdout
        assert "CJK" in found, found


def test_render_dot_escapes_quotes() -> None:
    df = pd.DataFrame({"case_id": ["1", "1"], "activity": ['Say "hi"', "back\\slash"],
                       "timestamp": ["2024-01-01", "2024-01-02"]})
    dot = render_dot(flowopt.discover_graph(flowopt.read_log(df)))
    assert '"Say \\"hi\\"' in dot and "back\\\\slash" in dot
    if shutil.which("dot"):
        ET.fromstring(render_svg(flowopt.discover_graph(flowopt.read_log(df))))
