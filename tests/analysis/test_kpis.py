"""Tests of compute_kpis against hand-computed values on a tiny log."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import flowopt
from flowopt.analysis._kpis import compute_kpis
from flowopt.datasets._generator import generate_lending_log

H = 3600.0


def _tiny_frame() -> pd.DataFrame:
    t0 = pd.Timestamp("2024-03-04 09:00", tz="UTC")  # a Monday

    def at(h: float, days: int = 0) -> pd.Timestamp:
        return t0 + pd.Timedelta(days=days) + pd.Timedelta(hours=h)

    rows = [
        # case A: rework on Document check; 6 h; 3.5 h of service; 3 hand-offs
        ("A", "Inquiry", at(0), at(0.5), "ADV"), ("A", "Submit application", at(1), at(1.5), "CUST"),
        ("A", "Document check", at(2), at(3), "BACK"), ("A", "Document check", at(4), at(4.5), "BACK"),
        ("A", "Disbursement", at(5), at(6), "SYS"),
        # case B: a complaint answered after 1 h 50 min and resolved 2 h 50 min after it; 13 h; 4 h 10 min service
        ("B", "Inquiry", at(0), at(1), "ADV"), ("B", "Submit application", at(1), at(2), "CUST"),
        ("B", "Disbursement", at(3), at(4), "SYS"), ("B", "Complaint", at(10), at(10 + 1 / 6), "CUST"),
        ("B", "Complaint resolved", at(12), at(13), "SERV"),
        # case C, a week later: two sign-offs overlap (2-4 h and 3-5 h); 5 h; 4 h busy
        ("C", "Inquiry", at(0, 7), at(1, 7), "ADV"), ("C", "Credit risk approval", at(2, 7), at(4, 7), "RISK"),
        ("C", "Compliance approval", at(3, 7), at(5, 7), "COMP"),
    ]
    return pd.DataFrame(rows, columns=["case_id", "activity", "start", "end", "role"])


CONFIG = {"columns": {"role": "role"},
          "sla": {"throughput_hours": 8, "stage_hours": {"application": 2}, "complaint_response_hours": 2},
          "costs": {"default_hourly": 60.0, "currency": "CNY"}}


@pytest.fixture(scope="module")
def kpis() -> dict:
    log = flowopt.read_log(_tiny_frame(), CONFIG)
    return compute_kpis(log, None, log.config)


def test_throughput_and_sla(kpis: dict) -> None:
    assert kpis["cases"] == 3 and kpis["events_per_case"] == pytest.approx(13 / 3)
    assert kpis["throughput_p50_s"] == pytest.approx(6 * H)
    assert kpis["throughput_p90_s"] == pytest.approx(11.6 * H)  # 6 + 0.8 * (13 - 6)
    assert kpis["throughput_mean_s"] == pytest.approx(8 * H)
    assert kpis["sla_throughput_hours"] == 8.0
    assert kpis["sla_compliance"] == pytest.approx(2 / 3)
    assert kpis["sla_stage_compliance"] == {"application": pytest.approx(0.5)}  # A 3.5 h, B 1 h


def test_stage_throughput(kpis: dict) -> None:
    st = kpis["stage_throughput"]
    assert list(st) == ["consultation", "application", "approval", "disbursement", "after_service"]
    assert st["consultation"] == {"p50_s": pytest.approx(H), "p90_s": pytest.approx(H), "cases": 3}
    assert st["application"]["p50_s"] == pytest.approx(2.25 * H)  # A 3.5 h, B 1 h
    assert st["approval"] == {"p50_s": pytest.approx(3 * H), "p90_s": pytest.approx(3 * H), "cases": 1}
    assert st["after_service"]["p50_s"] == pytest.approx(3 * H)  # 10:00 -> 13:00


def test_rework_flow_efficiency_handoffs(kpis: dict) -> None:
    assert kpis["rework_rate"] == pytest.approx(1 / 3)
    assert kpis["first_time_right_rate"] == pytest.approx(2 / 3)
    busy = 3.5 + (4 + 1 / 6) + 4.0  # C's overlapping sign-offs count once
    assert kpis["flow_efficiency"] == pytest.approx(busy / 24)
    assert kpis["flow_efficiency_median"] == pytest.approx(3.5 / 6)
    assert kpis["flow_efficiency_cases"] == 3
    assert kpis["handoffs_per_case"] == pytest.approx((3 + 4 + 2) / 3)
    assert kpis["handoff_level"] == "role"


def test_cost_complaints_weekly(kpis: dict) -> None:
    # service hours at 60/h: A 3.5 h, B 25/6 h, C 5 h (overlap charged for both people)
    assert kpis["cost_per_case_mean"] == pytest.approx((210 + 250 + 300) / 3)
    assert kpis["cost_per_case_median"] == pytest.approx(250)
    assert kpis["cost_currency"] == "CNY"
    assert kpis["complaint_rate"] == pytest.approx(1 / 3) and kpis["complaints"] == 1
    assert kpis["complaint_response_median_s"] == pytest.approx(6600)
    assert kpis["complaint_resolution_median_s"] == pytest.approx(10200)
    assert kpis["complaint_resolved_share"] == 1.0
    assert kpis["complaint_response_sla_compliance"] == 1.0
    assert kpis["weekly"] == [{"week": "2024-03-04", "cases": 2, "p50_s": pytest.approx(9.5 * H)},
                              {"week": "2024-03-11", "cases": 1, "p50_s": pytest.approx(5 * H)}]
    assert kpis["cases_per_week"] == pytest.approx(1.5)
    assert kpis["weekly_trend"]["trend"] == "none" and kpis["weekly_trend"]["weeks"] == 2
    assert kpis["notes"] == {}
    json.dumps(kpis, allow_nan=False)


def test_without_starts_rates_or_complaints() -> None:
    df = _tiny_frame()
    df = df[~df["activity"].str.startswith("Complaint")].drop(columns="start")
    log = flowopt.read_log(df, {"columns": {"role": "role", "timestamp": "end"}})
    k = compute_kpis(log, None, flowopt.Config())
    assert k["flow_efficiency"] is None and "start times" in k["notes"]["flow_efficiency"]
    assert k["cost_per_case_mean"] is None and "no cost rates" in k["notes"]["cost_per_case_mean"]
    assert k["complaint_rate"] is None and "complaint" in k["notes"]["complaint_rate"]
    assert k["sla_compliance"] is None and k["sla_stage_compliance"] is None
    assert k["throughput_p50_s"] == pytest.approx(4 * H)  # ends only: A 5.5 h, B 3 h, C 4 h
    json.dumps(k, allow_nan=False)


@pytest.mark.parametrize("shape", ["interval", "lifecycle", "complete"])
def test_generated_log_json_and_deterministic(shape: str) -> None:
    g = generate_lending_log(400, seed=5, problems=("rework",), shape=shape, language="zh")
    log = flowopt.read_log(g.frame, g.config)
    cfg = flowopt.load_config({"sla": {"throughput_hours": 240, "complaint_response_hours": 24}})
    a = compute_kpis(log, None, cfg)
    b = compute_kpis(flowopt.read_log(g.frame.sample(frac=1.0, random_state=3), g.config), None, cfg)
    assert json.dumps(a, allow_nan=False, sort_keys=True) == json.dumps(b, allow_nan=False, sort_keys=True)
    assert 0.2 < a["rework_rate"] < 0.5  # the planted rework
    assert a["complaint_rate"] is not None and a["complaint_rate"] < 0.1  # 投诉 after Welcome call
    assert a["complaint_resolution_median_s"] > 0
    assert sum(w["cases"] for w in a["weekly"]) == a["cases"] == 400
    assert (a["flow_efficiency"] is None) == (shape == "complete")
