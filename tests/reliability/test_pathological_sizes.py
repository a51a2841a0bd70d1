"""Pathological sizes: one case with 1M events, 1M single-event cases, 100k distinct activities.

Each scenario runs in a child process with an address-space cap (``RLIMIT_AS``) and a timeout, so a
regression that explodes memory or time fails the test instead of taking the machine down. The frames are
built with NumPy/Arrow (no Python loop per row). Measured on the 2-core box, read_log + discover_graph
(idle / shared with other test runs): single 1M-event case 0.4 s / 1.4 s; 1M single-event cases 2.3 s /
4.8 s; refusing 100k activities 0.1 s / 0.4 s; reading them with the limit raised 1.0 s / 3.9 s. Peak RSS
260-620 MB.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from typing import Any

import pytest

ADDRESS_SPACE_CAP = 6 << 30  # bytes
RSS_LIMIT_MB = 2048
WORK_LIMIT_S = 30.0  # read_log + discover_graph, per scenario; typical runs take 1-5 s
CHILD_TIMEOUT_S = 180

_CHILD = textwrap.dedent("""
    import json, resource, sys, time
    cap = int(sys.argv[3])
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    import numpy as np, pandas as pd, pyarrow as pa, pyarrow.compute as pc
    import flowopt

    def strings(prefix, codes):
        arr = pa.array(codes).cast(pa.string())
        return pd.array(pc.binary_join_element_wise(prefix, arr, ""), dtype="string[pyarrow]")

    scenario, config = sys.argv[1], json.loads(sys.argv[2])
    t0 = time.perf_counter()
    n = 1_000_000
    if scenario == "one_case_1m_events":
        case, act = np.zeros(n, dtype=np.int64), np.arange(n) % 20
    elif scenario == "1m_single_event_cases":
        case, act = np.arange(n), np.arange(n) % 20
    elif scenario == "100k_activities":
        n = 100_000
        case, act = np.arange(n) // 10, np.arange(n)
    else:
        raise SystemExit(f"unknown scenario {scenario}")
    end = pd.Timestamp("2024-01-01", tz="UTC").value + np.arange(n, dtype=np.int64) * 1_000_000_000
    df = pd.DataFrame({"case_id": strings("c", case), "activity": strings("act ", act),
                       "timestamp": pd.to_datetime(end, utc=True)})
    t1 = time.perf_counter()
    out = {"scenario": scenario, "build_s": t1 - t0}
    try:
        log = flowopt.read_log(df, config or None)
        t2 = time.perf_counter()
        graph = flowopt.discover_graph(log)
        t3 = time.perf_counter()
        start_count = int(graph.edges.loc[graph.edges["source"] == "[start]", "count"].sum())
        out.update(outcome="done", read_s=t2 - t1, graph_s=t3 - t2, events=len(log), cases=log.n_cases,
                   activities=len(graph.nodes), start_count=start_count, quarantined=len(log.quarantine))
    except flowopt.errors.FlowoptError as exc:
        out.update(outcome="error", type=type(exc).__name__, message=str(exc), read_s=time.perf_counter() - t1,
                   graph_s=0.0)
    out["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))
""")


def _run(scenario: str, config: dict[str, Any] | None = None) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-c", _CHILD, scenario, json.dumps(config or {}), str(ADDRESS_SPACE_CAP)],
                          check=False, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert proc.returncode == 0, f"{scenario}: the child died (rc {proc.returncode}): {proc.stderr[-3000:]}"
    res: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    assert res["max_rss_mb"] < RSS_LIMIT_MB, res
    assert res["read_s"] + res["graph_s"] < WORK_LIMIT_S, res
    return res


def test_one_case_with_a_million_events() -> None:
    res = _run("one_case_1m_events")
    assert res["outcome"] == "done", res
    assert (res["events"], res["cases"], res["activities"], res["start_count"]) == (1_000_000, 1, 20, 1)


def test_a_million_single_event_cases() -> None:
    res = _run("1m_single_event_cases")
    assert res["outcome"] == "done", res
    assert (res["events"], res["cases"], res["start_count"]) == (1_000_000, 1_000_000, 1_000_000)


def test_100k_activities_stop_early_with_the_limit_and_how_to_raise_it() -> None:
    res = _run("100k_activities")
    assert res["outcome"] == "error", res
    assert res["type"] == "LimitExceededError"
    assert "100,000 distinct activities" in res["message"]
    assert "limit of 20,000" in res["message"]
    assert "[read] max_activities" in res["message"]
    assert res["read_s"] < 10, res  # stops early, before any analysis


@pytest.mark.parametrize("limit", [200_000])
def test_100k_activities_with_the_limit_raised(limit: int) -> None:
    res = _run("100k_activities", {"read": {"max_activities": limit}})
    assert res["outcome"] == "done", res
    assert (res["events"], res["cases"], res["activities"], res["start_count"]) == (100_000, 10_000, 100_000, 10_000)
