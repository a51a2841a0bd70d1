"""Tests of cost_table: time and cost per activity, case and stage."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import flowopt
from flowopt.analysis._costs import cost_table, event_costs
from flowopt.datasets._generator import generate_lending_log


def _tiny() -> flowopt.EventLog:
    t = pd.Timestamp("2024-03-04 09:00", tz="UTC")
    h = pd.Timedelta(hours=1)
    rows = [  # case, activity, start, end, resource, role
        ("A", "Submit application", t, t + 0.5 * h, "cust", "CUSTOMER"),
        ("A", "Credit risk approval", t + 2 * h, t + 3 * h, "rita", "RISK"),
        ("A", "Disbursement", t + 5 * h, t + 5 * h, "core", "SYSTEM"),
        ("B", "Submit application", t, t + 1 * h, "cust", "CUSTOMER"),
        ("B", "Credit risk approval", t + 1 * h, t + 3 * h, "ron", "RISK"),
    ]
    df = pd.DataFrame(rows, columns=["case_id", "activity", "start", "end", "resource", "role"])
    return flowopt.read_log(df, {"columns": {"role": "role"}})


def test_hand_computed_costs() -> None:
    cfg = flowopt.load_config({"costs": {"default_hourly": 10.0, "hourly_by_role": {"RISK": 100.0, "CUSTOMER": 0.0},
                                         "hourly_by_resource": {"ron": 50.0},
                                         "fixed_by_activity": {"^Disburs": 5.0, "approval": 1.0},
                                         "waiting_hourly": 2.0, "currency": "CNY"}})
    t = cost_table(_tiny(), cfg)
    acts = t.activities.set_index("activity")
    # rita 1 h at the RISK rate + ron 2 h at his own rate, one fixed 1.0 each, waits 1.5 h and 0 h at 2/h
    risk = acts.loc["Credit risk approval"]
    assert risk["service_cost"] == pytest.approx(100.0 + 100.0)
    assert risk["fixed_cost"] == pytest.approx(2.0)
    assert risk["wait_cost"] == pytest.approx(3.0)
    assert risk["cost_total"] == pytest.approx(205.0)
    assert risk["cost_per_execution"] == pytest.approx(102.5)
    disb = acts.loc["Disbursement"]  # SYSTEM falls back to default_hourly, 0 h; fixed 5; waited 2 h
    assert disb["cost_total"] == pytest.approx(0.0 + 5.0 + 4.0)
    assert acts.loc["Submit application", "cost_total"] == pytest.approx(0.0)
    assert t.cases.to_dict() == pytest.approx({"A": 0.0 + 101.0 + 3.0 + 9.0, "B": 101.0})
    assert t.currency == "CNY" and t.configured
    stages = t.stages.set_index("stage")
    assert stages.loc["approval", "cost_total"] == pytest.approx(205.0)
    assert stages.loc["approval", "cases"] == 2
    assert stages.loc["disbursement", "cost_per_case"] == pytest.approx(9.0)
    assert acts.loc["Credit risk approval", "service_total_s"] == pytest.approx(3 * 3600)
    assert acts.loc["Credit risk approval", "wait_mean_s"] == pytest.approx(0.75 * 3600)


@pytest.mark.parametrize("shape", ["interval", "lifecycle", "complete"])
def test_costs_add_up(shape: str) -> None:
    g = generate_lending_log(250, seed=2, problems=("rework",), shape=shape)
    log = flowopt.read_log(g.frame, g.config)
    cfg = flowopt.load_config({"costs": {"default_hourly": 45.0, "hourly_by_role": {"RISK": 80.0},
                                         "fixed_by_activity": {"scoring": 2.0}, "waiting_hourly": 0.5}})
    t = cost_table(log, cfg)
    total = float(t.activities["cost_total"].sum())
    assert float(t.cases.sum()) == pytest.approx(total, rel=1e-9)
    assert float(t.stages["cost_total"].sum()) == pytest.approx(total, rel=1e-9)
    assert int(t.activities["count"].sum()) == len(log) == int(t.stages["count"].sum())
    assert len(t.cases) == log.n_cases
    ec = event_costs(log, cfg)
    assert float(np.nansum(ec.total)) == pytest.approx(total, rel=1e-9)
    # each event's total is the sum of its known parts, NaN when none is known (bit for bit)
    parts = np.stack([ec.service_cost, ec.fixed_cost, ec.wait_cost])
    expected = np.where(np.isnan(parts).all(axis=0), np.nan, np.nansum(parts, axis=0))
    assert np.array_equal(ec.total, expected, equal_nan=True)
    if shape == "complete":  # no start times: no service cost, only fixed and waiting costs
        assert t.activities["service_cost"].isna().all()
        assert t.activities["service_known"].sum() == 0
    d = t.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["per_case"]["total"] == pytest.approx(total, rel=1e-9)


def test_no_rates_means_no_costs() -> None:
    t = cost_table(_tiny(), flowopt.Config())
    assert not t.configured
    assert t.activities["cost_total"].isna().all() and t.cases.isna().all()
    assert "no cost rates configured" in t.note
    d = t.to_dict()
    assert d["per_case"]["mean"] is None and d["activities"][0]["cost_total"] is None
    assert "no rates configured" in repr(t)
    # times are still there
    assert t.activities["service_total_s"].notna().all()
    assert t.to_frame().equals(t.activities)


def test_uses_log_config_by_default() -> None:
    log = flowopt.datasets.example_log()
    assert log.config.costs.default_hourly is not None
    t = cost_table(log)
    assert t.configured and float(t.cases.mean()) > 0
    assert "text/plain" in t._repr_mimebundle_()


@pytest.mark.parametrize("costs", [{}, {"waiting_hourly": 0.5}, {"default_hourly": 45.0},
                                   {"fixed_by_activity": {"scoring": 2.0}, "hourly_by_role": {"RISK": 80.0}}])
def test_total_is_the_nansum_of_the_parts_whatever_is_configured(costs: dict[str, object]) -> None:
    g = generate_lending_log(200, seed=4, problems=("rework",))
    log = flowopt.read_log(g.frame, g.config)
    ec = event_costs(log, flowopt.load_config({"costs": costs}))
    parts = np.stack([ec.service_cost, ec.fixed_cost, ec.wait_cost])
    expected = np.where(np.isnan(parts).all(axis=0), np.nan, np.nansum(parts, axis=0))
    assert np.array_equal(ec.total, expected, equal_nan=True)
    assert np.array_equal(ec.service_s, np.where(log.codes().start != np.iinfo(np.int64).min,
                                                 (log.codes().end - log.codes().start) / 1e9, np.nan), equal_nan=True)
