"""Hypothesis fuzzing of the readers and of ``analyze``: only flowopt's own errors, no row lost, counts
consistent, waits never negative, causes adding up to waits.

Random *valid* logs are built with NumPy from a few drawn parameters (shape of the log, a seed), so each
example is cheap even when it holds a huge case or thousands of activities.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import flowopt
from flowopt.analysis._waits import CAUSES, waiting_times
from flowopt.discovery import END, START
from flowopt.errors import FlowoptError, QuarantineReason

EXAMPLES = int(os.environ.get("FLOWOPT_FUZZ_EXAMPLES", "40"))  # raise for a deep run, e.g. 1000
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                        HealthCheck.function_scoped_fixture])
BASE_NS = pd.Timestamp("2024-03-01 08:00").value


def _read(source: Any, config: Any = None) -> flowopt.EventLog:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", flowopt.errors.RowsDroppedWarning)
        return flowopt.read_log(source, config)


def _assert_no_row_lost(log: flowopt.EventLog, rows: int | None = None) -> None:
    assert log.rows_in == log.rows_used + len(log.quarantine)
    if rows is not None:
        assert log.rows_in == rows
    assert len(log) <= log.rows_used


# --------------------------------------------------------------------------- readers on random input

CELL = st.one_of(st.none(), st.text(max_size=6), st.integers(-10**12, 10**19), st.floats(allow_nan=True),
                 st.sampled_from(["", " ", "NA", "nan", "2024-03-01 09:00", "2024-03-01T09:00:00+08:00",
                                  "1900-01-01", "2999-12-31", "31/12/2024", "1700000000", "案1", "审批"]))
TIME_CELL = st.one_of(CELL, st.datetimes().map(lambda d: d.isoformat()),
                      st.integers(0, 4_000_000_000), st.floats(min_value=-1e20, max_value=1e20))


@FUZZ
@given(rows=st.lists(st.tuples(CELL, CELL, TIME_CELL, CELL), min_size=0, max_size=25),
       lifecycle=st.booleans())
def test_read_random_dataframe(rows: list[tuple[Any, Any, Any, Any]], lifecycle: bool) -> None:
    df = pd.DataFrame(rows, columns=["case_id", "activity", "timestamp", "resource"], dtype=object)
    config = None
    if lifecycle:
        df["lifecycle"] = np.resize(np.array(["start", "complete", "complete", "schedule", "bogus"], dtype=object),
                                    len(df))
        config = {"columns": {"lifecycle": "lifecycle"}}
    try:
        log = _read(df, config)
    except FlowoptError:
        return
    _assert_no_row_lost(log, len(df))
    assert log.n_cases >= 1
    out = log.to_pandas()
    assert out["end"].notna().all()
    years = out["end"].dt.year
    assert ((years >= 1970) & (years <= 2100)).all()


HEADER = st.sampled_from([b"case_id,activity,timestamp\n", b"case;activity;time;resource\n",
                          b"\xef\xbb\xbfcase_id,activity,timestamp\n", b"", b"caseid\tactivity\ttimestamp\n"])
LINE_ALPHABET = st.sampled_from([b",", b";", b"\t", b'"', b"\n", b"\r\n", b"c1", b"A", b"2024-03-01 09:00",
                                 b"2999-01-01", b"\xe6\xa1\x88", b"\xb0\xb8", b"\xff", b"\x00", b" ", b"x" * 50])


BOM = b"\xef\xbb\xbf"


@FUZZ
@given(header=HEADER, body=st.lists(LINE_ALPHABET, max_size=80), suffix=st.sampled_from([".csv", ".tsv", ".txt"]))
def test_read_random_csv_bytes(tmp_path_factory: pytest.TempPathFactory, header: bytes, body: list[bytes],
                               suffix: str) -> None:
    path = tmp_path_factory.mktemp("fuzz") / f"log{suffix}"
    data = header + b"".join(body)
    path.write_bytes(data)
    try:
        log = _read(path)
    except FlowoptError:
        return
    _assert_no_row_lost(log)


def test_bom_file_with_one_invalid_utf8_row(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(BOM + b"case_id,activity,timestamp\nc1,A,2024-03-01 09:00\nc2,\xb0\xb8,x,2024-03-01\n"
                     b"c3,B,2024-03-01 10:00\n")
    log = _read(path)
    assert len(log) == 2
    assert log.quarantine["reason"].tolist() == [QuarantineReason.MALFORMED_ROW.value]


@FUZZ
@given(data=st.binary(max_size=3000), suffix=st.sampled_from([".csv", ".csv.gz", ".xes", ".xes.gz", ".parquet"]))
def test_read_random_bytes(tmp_path_factory: pytest.TempPathFactory, data: bytes, suffix: str) -> None:
    path = tmp_path_factory.mktemp("fuzz") / f"log{suffix}"
    path.write_bytes(data)
    try:
        log = _read(path)
    except FlowoptError:
        return
    _assert_no_row_lost(log)


# --------------------------------------------------------------------------- analyze on random valid logs

SHAPES = ("mixed", "one_event_cases", "one_huge_case", "many_activities", "one_instant", "identical_timestamps")


@st.composite
def valid_logs(draw: st.DrawFn) -> tuple[pd.DataFrame, dict[str, Any], str]:
    """A valid raw log (no missing or bad values) of a drawn shape, built with NumPy from a drawn seed."""
    shape = draw(st.sampled_from(SHAPES))
    interval = draw(st.booleans())
    with_resource = draw(st.booleans())
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if shape == "one_event_cases":
        lengths = np.ones(int(rng.integers(1, 300)), dtype=np.int64)
    elif shape == "one_huge_case":
        lengths = np.array([int(rng.integers(200, 3000))])
    elif shape == "many_activities":
        lengths = rng.integers(1, 12, size=int(rng.integers(20, 200)))
    else:
        lengths = rng.integers(1, 9, size=int(rng.integers(1, 80)))
    n = int(lengths.sum())
    n_act = n if shape == "many_activities" else int(rng.integers(1, 12))
    case = np.repeat(np.arange(len(lengths)), lengths)
    act = rng.integers(0, n_act, size=n)
    if shape == "one_instant":
        end = np.full(n, BASE_NS, dtype=np.int64)
    elif shape == "identical_timestamps":
        end = BASE_NS + rng.integers(0, 3, size=n) * 3_600_000_000_000
    else:
        gaps = rng.exponential(3600.0, size=n) * 1e9
        end = BASE_NS + rng.integers(0, 30 * 86400, size=len(lengths)).repeat(lengths) * 1_000_000_000
        end = end + (np.cumsum(gaps) - np.repeat(np.cumsum(gaps)[np.cumsum(lengths) - lengths] - gaps[
            np.cumsum(lengths) - lengths], lengths)).astype(np.int64)
        end = (end // 1_000_000_000) * 1_000_000_000  # whole seconds
    df = pd.DataFrame({"case_id": np.char.add("case-", case.astype(str)),
                       "activity": np.char.add("Activity ", act.astype(str))})
    if interval:
        service = 0 if shape in ("one_instant", "identical_timestamps") else rng.integers(0, 1800, size=n) * 10**9
        df["start_time"] = pd.to_datetime(end - service)
        df["end_time"] = pd.to_datetime(end)
        config: dict[str, Any] = {"columns": {"start": "start_time", "end": "end_time"}}
    else:
        df["timestamp"] = pd.to_datetime(end)
        config = {"columns": {"timestamp": "timestamp"}}
    if with_resource:
        df["resource"] = np.char.add("res", rng.integers(0, 5, size=n).astype(str))
        config["columns"]["resource"] = "resource"
    order = rng.permutation(n) if draw(st.booleans()) else np.arange(n)
    return df.iloc[order].reset_index(drop=True), config, shape


def _check_graph(a: flowopt.Analysis, log: flowopt.EventLog) -> None:
    g = a.graph
    e, nodes = g.edges, g.nodes
    assert int(e.loc[e["source"] == START, "count"].sum()) == log.n_cases == g.n_cases
    assert int(e.loc[e["target"] == END, "count"].sum()) == log.n_cases
    assert int(nodes["count"].sum()) == len(log) == g.n_events
    inflow = e.groupby("target")["count"].sum()
    outflow = e.groupby("source")["count"].sum()
    for act, count in zip(nodes["activity"], nodes["count"], strict=True):
        assert inflow.get(act, 0) == outflow.get(act, 0) == count, act
    waits = e[[c for c in e.columns if c.startswith("wait_")]].to_numpy(dtype=float)
    assert not (waits < 0).any()
    assert (e["cases"] <= e["count"]).all()


def _check_findings(doc: dict[str, Any]) -> None:
    for f in doc["findings"]:
        ev = f["evidence"]
        causes = ev.get("causes")
        total = ev.get("wait_total_s", ev.get("wait_before_total_s"))
        if isinstance(causes, dict) and total is not None:
            assert all(v >= 0 for v in causes.values()), f
            assert math.isclose(sum(causes.values()), total, rel_tol=1e-6, abs_tol=1e-3), f
        for key, value in ev.items():
            if key.startswith("wait") and isinstance(value, (int, float)):
                assert value >= 0, (key, f)
        assert f["cases_affected"] >= 0


def _check_wait_table(log: flowopt.EventLog) -> None:
    w = waiting_times(log)
    assert (w["wait_s"] >= 0).all()
    parts = w[[f"{c}_s" for c in CAUSES]]
    assert (parts >= 0).all().all()
    np.testing.assert_allclose(parts.sum(axis=1), w["wait_s"], rtol=1e-9, atol=1e-6)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=valid_logs())
def test_analyze_random_valid_logs(case: tuple[pd.DataFrame, dict[str, Any], str]) -> None:
    df, config, shape = case
    log = _read(df, config)
    _assert_no_row_lost(log, len(df))
    # every input row is valid; only exact duplicates (possible with tied timestamps) may be quarantined
    assert set(log.quarantine["reason"]) <= {QuarantineReason.DUPLICATE.value}
    if shape in ("one_event_cases", "one_huge_case", "mixed"):
        assert log.n_cases == df["case_id"].nunique()
    a = flowopt.analyze(log)
    doc = json.loads(json.dumps(a.to_dict(), allow_nan=False))
    assert doc["log"]["rows_in"] == doc["log"]["rows_used"] + doc["log"]["rows_quarantined"]
    _check_graph(a, log)
    _check_findings(doc)
    _check_wait_table(log)


@pytest.mark.parametrize("seed", [1, 2])
def test_causes_sum_to_waits_on_planted_problems(seed: int) -> None:
    """Generated logs with planted batching, understaffing and rework do produce cause-split findings."""
    g = flowopt.datasets.generate_lending_log(300, seed=seed, problems=("understaffed", "batching", "rework"))
    log = _read(g.frame, g.config)
    a = flowopt.analyze(log)
    doc = a.to_dict()
    with_causes = [f for f in doc["findings"] if isinstance(f["evidence"].get("causes"), dict)]
    assert with_causes, "expected wait findings with causes on a log with planted queues"
    _check_findings(doc)
    _check_graph(a, log)
    _check_wait_table(log)


def test_mixed_cell_types_in_one_column(tmp_path: Path) -> None:
    """Object columns mixing ints, floats, text and datetimes are read as text, never crash."""
    df = pd.DataFrame({"case_id": [1, "1", 1.0, None, "c2"], "activity": ["A", 2, "B", "C", True],
                       "timestamp": [pd.Timestamp("2024-01-01"), "2024-01-02", 1_704_000_000, None, "x"]},
                      dtype=object)
    try:
        log = _read(df)
    except FlowoptError:
        return
    _assert_no_row_lost(log, len(df))
