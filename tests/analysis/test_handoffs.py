"""Tests of the handoff detector and hand-off statistics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import flowopt
from flowopt.analysis import DETECTORS
from flowopt.analysis._handoffs import handoff, handoff_stats, holm
from flowopt.datasets._generator import generate_lending_log
from flowopt.errors import ParameterError


def _frame(seed: int, across_wait_h: float, within_wait_h: float, n: int = 80) -> pd.DataFrame:
    """Half the cases reach Review from FRONT (another role), half from BACK (Review's own role)."""
    rng = np.random.default_rng(seed)
    t0 = pd.Timestamp("2024-03-04 08:00", tz="UTC")
    rows = []
    for k in range(n):
        t = t0 + pd.Timedelta(hours=3 * k)
        first, role = ("Prepare", "FRONT") if k % 2 == 0 else ("Check", "BACK")
        wait_h = (across_wait_h if k % 2 == 0 else within_wait_h) * rng.lognormal(0.0, 0.3)
        e1 = t + pd.Timedelta(minutes=20)
        s2 = e1 + pd.Timedelta(hours=wait_h)
        rows.append((f"K{k:03d}", first, t, e1, f"{role.lower()}{k % 3}", role))
        rows.append((f"K{k:03d}", "Review", s2, s2 + pd.Timedelta(minutes=15), f"back{k % 4}", "BACK"))
    return pd.DataFrame(rows, columns=["case_id", "activity", "start", "end", "resource", "role"])


def _log(df: pd.DataFrame) -> flowopt.EventLog:
    return flowopt.read_log(df, {"columns": {"role": "role"}})


def test_handoff_wait_is_found() -> None:
    log = _log(_frame(0, across_wait_h=8.0, within_wait_h=0.5))
    found = handoff(log, None, flowopt.Config())
    assert len(found) == 1
    f = found[0]
    assert f.kind == "handoff" and f.category == "communication"
    assert f.activities == ("Review",) and f.edge == ("Prepare", "Review")
    ev = f.evidence
    assert ev["level"] == "role" and ev["to_party"] == "BACK" and ev["from_parties"] == {"FRONT": 40}
    assert ev["across_count"] == 40 and ev["within_count"] == 40
    assert 6 * 3600 < ev["wait_median_across_s"] < 10 * 3600
    assert ev["wait_median_within_s"] < 3600
    assert ev["p_adjusted"] < 0.01 and ev["effect"] > 0.9
    assert f.severity != "high"  # 40 cases: too few for "high"


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_same_waits_no_finding(seed: int) -> None:
    log = _log(_frame(seed, across_wait_h=2.0, within_wait_h=2.0))
    assert handoff(log, None, flowopt.Config()) == []


def test_handoff_stats_hand_computed() -> None:
    log = _log(_frame(0, across_wait_h=8.0, within_wait_h=0.5))
    s = handoff_stats(log)
    assert s["level"] == "role"
    assert s["handoffs_per_case"] == pytest.approx(0.5)  # FRONT -> BACK in half the cases
    assert s["transitions_across"] == 40 and s["transitions_within"] == 40
    assert s["handoff_share"] == pytest.approx(0.5)


def test_resources_when_no_roles() -> None:
    df = _frame(0, across_wait_h=8.0, within_wait_h=0.5).drop(columns="role")
    s = handoff_stats(flowopt.read_log(df))
    # the same person does Check and Review when k % 3 == k % 4 (odd k: k % 12 == 1): 7 of 80 cases
    assert s["level"] == "resource" and s["handoffs_per_case"] == pytest.approx(73 / 80)
    none = handoff_stats(flowopt.read_log(df.drop(columns="resource")))
    assert none["level"] is None and none["handoffs_per_case"] is None


@pytest.mark.parametrize("seed", [0, 1])
def test_healthy_generated_flow_no_finding(seed: int) -> None:
    g = generate_lending_log(1200, seed=seed)
    log = flowopt.read_log(g.frame, g.config)
    assert handoff(log, None, log.config) == []
    assert handoff_stats(log)["handoffs_per_case"] > 5


def test_holm_and_parameters() -> None:
    p = np.array([0.001, 0.02, 0.04, 0.5])
    assert holm(p).tolist() == pytest.approx([0.004, 0.06, 0.08, 0.5])
    assert holm(np.zeros(0)).size == 0
    log = _log(_frame(0, 8.0, 0.5))
    with pytest.raises(ParameterError, match="'alpha' parameter of handoff"):
        handoff(log, None, flowopt.Config(), alpha=2.0)
    with pytest.raises(ParameterError, match="'min_wait_added_s' parameter of handoff"):
        handoff(log, None, flowopt.Config(), min_wait_added_s=-1)
    assert DETECTORS["handoff"] is handoff
