"""Sign-off detectors: redundant_signoff, sequential_signoffs, signoff_triage, knockout_order."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import flowopt
from flowopt.analysis import DETECTORS
from flowopt.analysis._signoff_order import find_knockout_order, find_signoff_triage
from flowopt.analysis._signoff_steps import signoff_steps
from flowopt.analysis._signoffs import (
    _prev_in_group,
    find_redundant_signoffs,
    find_sequential_signoffs,
    reject_upper,
)
from flowopt.datasets import generate_lending_log
from flowopt.log import EventLog

PROBLEMS = ("rubber_stamp", "sequential_signoffs", "amount_threshold")
EN = {"branch": "Branch manager approval", "risk": "Credit risk approval", "compliance": "Compliance approval",
      "director": "Regional director approval"}
ZH = {"branch": "分行经理审批", "risk": "风控审批", "compliance": "合规审查", "director": "区域总监审批"}
T0 = pd.Timestamp("2024-01-01 08:00", tz="UTC")


def _gen(n: int, seed: int, problems: Sequence[str] = PROBLEMS, *, config: dict | None = None,
         **kw: object) -> tuple[EventLog, object]:
    g = generate_lending_log(n, seed=seed, problems=tuple(problems), **kw)  # type: ignore[arg-type]
    cfg = dict(g.config)
    if config:
        cfg = {**cfg, "signoffs": {**cfg.get("signoffs", {}), **config}}
    return flowopt.read_log(g.frame, cfg), g


def build(cases: Sequence[Sequence[tuple[str, str | None, str | None]]], *, hours: float = 1.0,
          amounts: Sequence[float] | None = None, signoffs: dict | None = None) -> EventLog:
    """A log from case sequences of (activity, role, outcome); events one after the other."""
    rows = []
    for i, seq in enumerate(cases):
        t = T0 + pd.Timedelta(hours=3 * i)
        for j, (act, role, out) in enumerate(seq):
            dur = pd.Timedelta(hours=hours * (4 if act.startswith("Slow") else 1))
            rows.append({"case_id": f"c{i:05d}", "activity": act, "start": t, "end": t + dur, "role": role,
                         "resource": f"{role}-{i % 7}" if role else None, "decision": out,
                         **({"amount": amounts[i]} if amounts is not None else {})})
            t = t + dur + pd.Timedelta(minutes=30)
    cfg = {"columns": {"case": "case_id", "activity": "activity", "start": "start", "end": "end",
                       "role": "role", "resource": "resource", "outcome": "decision"},
           "signoffs": signoffs or {}}
    return flowopt.read_log(pd.DataFrame(rows), cfg)


def _by(findings: list, kind: str) -> list:
    return [f for f in findings if f.kind == kind]


# ---------------------------------------------------------------- redundant_signoff on generated logs
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(("outcome_in", "language"), [("column", "en"), ("name", "en"), ("column", "zh"),
                                                      ("name", "zh")])
def test_rubber_stamp_found_and_real_controls_kept(seed: int, outcome_in: str, language: str) -> None:
    log, _ = _gen(500, seed, outcome_in=outcome_in, language=language)
    names = EN if language == "en" else ZH
    found = find_redundant_signoffs(log, None, log.config)
    assert [f.activities for f in found] == [(names["director"],)]
    ev = found[0].evidence
    assert ev["reason"] == "rubber_stamp" and ev["rejections"] == 0 and ev["protected"] is False
    assert ev["reject_rate_upper"] < 0.01 and ev["confidence"] == 0.95 and ev["cases"] >= 300
    assert ev["time_added_median_s"] > 0 and ev["time_added_total_s"] > ev["time_added_median_s"]
    assert ev["preceded_by"][0]["step"] in (names["compliance"], names["risk"])
    for key in ("step", "approvals", "reject_rate", "method", "outcome_source"):
        assert key in ev
    # every sign-off that does reject (branch 5%, risk, compliance 3%) keeps its place
    table = signoff_steps(log).steps.set_index("step")
    assert (table.loc[[names["branch"], names["risk"], names["compliance"]], "rejections"] > 0).all()


@pytest.mark.parametrize("seed", [3, 4])
def test_no_redundancy_without_a_rubber_stamp(seed: int) -> None:
    log, _ = _gen(800, seed, problems=("sequential_signoffs",))
    assert find_redundant_signoffs(log, None, log.config) == []


def test_three_percent_rejecting_signoff_never_redundant() -> None:
    rng = np.random.default_rng(5)
    cases = [[("Submit", "CLIENT", None), ("Check approval", "OPS", "rejected" if r else "approved")]
             for r in rng.random(2000) < 0.03]
    log = build(cases)
    assert signoff_steps(log).step("Check approval")["reject_rate"] > 0.02
    assert find_redundant_signoffs(log, None, log.config) == []


def test_small_samples_are_never_called_redundant() -> None:
    cases = [[("Submit", "CLIENT", None), ("Check approval", "OPS", "approved")] for _ in range(80)]
    log = build(cases)  # 0 rejections in 80 cases says little
    assert find_redundant_signoffs(log, None, log.config) == []
    cases = [[("Submit", "CLIENT", None), ("Check approval", "OPS", "approved")] for _ in range(400)]
    assert len(find_redundant_signoffs(build(cases), None, None)) == 1


def test_unknown_outcomes_block_a_verdict() -> None:
    cases = [[("Submit", "CLIENT", None), ("Check approval", "OPS", "approved" if i % 5 else None)]
             for i in range(600)]  # a fifth of the outcomes missing: they could be the rejections
    log = build(cases)
    st = signoff_steps(log).step("Check approval")
    assert (st["decided"], st["rejections"]) == (480, 0)
    assert find_redundant_signoffs(log, None, None) == []


def test_protected_controls_are_flagged_never_eliminable() -> None:
    log, _ = _gen(500, 1, config={"protected": ["director"]})
    (f,) = find_redundant_signoffs(log, None, log.config)
    assert f.evidence["protected"] is True and f.evidence["eliminable"] is False
    assert f.severity == "low" and "protected" in f.summary
    for det in DETECTORS.values():
        for g in det(log, None, log.config):  # type: ignore[arg-type]
            if g.evidence.get("protected"):
                assert g.evidence.get("eliminable") is False


def test_stricter_settings_are_respected() -> None:
    log, _ = _gen(500, 1)
    assert find_redundant_signoffs(log, None, {"signoffs": {"min_cases": 1000}}) == []
    assert find_redundant_signoffs(log, None, {"signoffs": {"max_reject_rate": 0.002}}) == []
    assert len(find_redundant_signoffs(log, None, {"signoffs": {"confidence": 0.9}})) == 1


def test_reject_upper_is_a_one_sided_bound() -> None:
    assert float(reject_upper(0, 300, 0.95)) == pytest.approx(1 - 0.05 ** (1 / 300))
    assert float(reject_upper(0, 40, 0.95)) > 0.07
    with pytest.raises(flowopt.errors.ParameterError, match="confidence"):
        reject_upper(0, 10, 1.5)


# ---------------------------------------------------------------- conditional redundancy
def test_never_overturns_redundant_when_overall_rate_is_tiny() -> None:
    cases = [[("Team approval", "TEAM", "approved"), ("Board approval", "BOARD", "approved")] for _ in range(400)]
    cases += [[("Team approval", "TEAM", "rejected")] for _ in range(40)]
    cases += [[("Board approval", "BOARD", "rejected" if i < 4 else "approved")] for i in range(100)]
    found = find_redundant_signoffs(build(cases), None, None)
    (f,) = found
    assert f.evidence["reason"] == "never_overturns" and f.activities == ("Board approval",)
    assert f.evidence["condition"] == "Team approval" and f.evidence["condition_cases"] == 400
    assert f.evidence["rejections"] == 4


def test_never_overturns_becomes_triage_when_the_step_rejects_elsewhere() -> None:
    cases = [[("Team approval", "TEAM", "approved"), ("Board approval", "BOARD", "approved")] for _ in range(400)]
    cases += [[("Team approval", "TEAM", "rejected")] for _ in range(40)]
    cases += [[("Board approval", "BOARD", "rejected" if i < 30 else "approved")] for i in range(200)]
    log = build(cases)
    assert find_redundant_signoffs(log, None, None) == []
    tri = [f for f in find_signoff_triage(log, None, None) if f.evidence["basis"] == "prior_approval"]
    (f,) = tri
    assert f.evidence["fast_track"] == "after Team approval approved" and f.evidence["eliminable"] is False
    assert f.evidence["reject_rate"] == pytest.approx(30 / 600)


def test_repeat_by_the_same_role() -> None:
    cases = [[("Credit approval", "RISK", "approved"), ("Submit docs", "CLIENT", None),
              ("Final review", "RISK", "approved")] for _ in range(300)]
    cases += [[("Credit approval", "RISK", "rejected")] for _ in range(30)]
    cases += [[("Final review", "RISK", "rejected" if i < 1 else "approved")] for i in range(150)]
    (f,) = find_redundant_signoffs(build(cases), None, None)  # one finding per step, other reasons listed
    assert f.activities == ("Final review",) and f.evidence["reason"] == "never_overturns"
    assert f.evidence["other_reasons"] == ["repeat_same_role: same role"]
    # the same step signed twice by its role, nothing rejected in between
    cases = [[("Final review", "RISK", "approved"), ("Submit docs", "CLIENT", None),
              ("Final review", "RISK", "approved")] for _ in range(300)]
    cases += [[("Final review", "RISK", "rejected"), ("Submit docs", "CLIENT", None)] for _ in range(2)]
    (f,) = find_redundant_signoffs(build(cases), None, None)
    assert f.evidence["reason"] == "repeat_same_role" and f.evidence["condition_cases"] == 300
    assert f.example_cases[0].startswith("c")


def test_repeat_after_a_rejection_is_rework_not_redundancy() -> None:
    cases = [[("Credit approval", "RISK", "rejected"), ("Submit docs", "CLIENT", None),
              ("Credit approval", "RISK", "approved")] for _ in range(300)]
    found = find_redundant_signoffs(build(cases), None, None)
    assert found == []


# ---------------------------------------------------------------- sequential_signoffs
@pytest.mark.parametrize("seed", [0, 7])
@pytest.mark.parametrize("language", ["en", "zh"])
def test_sequential_signoffs_found(seed: int, language: str) -> None:
    names = EN if language == "en" else ZH
    log, _ = _gen(400, seed, problems=("sequential_signoffs",), language=language, outcome_in="name")
    found = find_sequential_signoffs(log, None, log.config)
    pair = [f for f in found if set(f.activities) == {names["risk"], names["compliance"]}]
    assert len(pair) == 1
    ev = pair[0].evidence
    assert ev["steps"] == [names["risk"], names["compliance"]] and ev["roles"] == [["RISK"], ["COMPLIANCE"]]
    assert ev["cases"] >= 300 and ev["saving_median_s"] > 0
    assert ev["saving_total_s"] == pytest.approx(pair[0].score * 3600)
    assert ev["safety"] in ("weak", "moderate", "strong") and "verify" in ev["risk"]
    assert "dependence" in ev and "both_orders_seen" in ev


@pytest.mark.parametrize("seed", [0, 7])
def test_parallel_signoffs_are_not_sequential(seed: int) -> None:
    log, _ = _gen(400, seed, problems=())
    found = find_sequential_signoffs(log, None, log.config)
    assert not [f for f in found if set(f.activities) == {EN["risk"], EN["compliance"]}]


def test_both_orders_and_independence_make_it_safe() -> None:
    rng = np.random.default_rng(3)
    cases = []
    for i in range(400):
        a = ("Legal sign-off", "LEGAL", "rejected" if rng.random() < 0.1 else "approved")
        b = ("Finance sign-off", "FINANCE", "rejected" if rng.random() < 0.1 else "approved")
        cases.append([("Submit", "CLIENT", None), *((a, b) if i % 3 else (b, a))])
    (f,) = find_sequential_signoffs(build(cases), None, None)
    assert f.evidence["both_orders_seen"] and f.evidence["dependence"]["testable"]
    assert f.evidence["safety"] == "strong" and f.severity == "high"
    # one hour each, so side by side saves the smaller: one hour plus the 30-minute hand-off
    assert f.evidence["saving_median_s"] == pytest.approx(5400)


def test_amounts_written_as_text_are_read() -> None:
    rng = np.random.default_rng(4)
    amounts = rng.uniform(100, 10_000, 700).round(2)
    cases = [[("Submit", "CLIENT", None),
              ("Loan approval", "RISK", "rejected" if (a > 8_000 and rng.random() < 0.5) else "approved")]
             for a in amounts]
    log = build(cases, amounts=[f"{a:.2f}" for a in amounts])
    (f,) = find_signoff_triage(log, None, None)
    assert f.evidence["fast_track_side"] == "below" and 7_000 <= f.evidence["threshold"] <= 8_100


def test_same_role_chain_is_not_a_department_chain() -> None:
    cases = [[("Check approval", "OPS", "approved"), ("Second approval", "OPS", "approved")] for _ in range(100)]
    assert find_sequential_signoffs(build(cases), None, None) == []


# ---------------------------------------------------------------- signoff_triage
@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("outcome_in", ["column", "name"])
def test_amount_threshold_gives_a_fast_track(seed: int, outcome_in: str) -> None:
    log, _ = _gen(700, seed, problems=("amount_threshold",), outcome_in=outcome_in)
    found = [f for f in find_signoff_triage(log, None, log.config) if f.evidence["basis"] == "attribute"]
    (f,) = found
    ev = f.evidence
    assert f.activities == (EN["risk"],) and ev["attribute"] == "amount" and ev["fast_track_side"] == "below"
    assert 40_000 <= ev["threshold"] <= 60_000
    assert ev["fast_track_reject_rate_upper"] < 0.01 and ev["fast_track_rejections"] == 0
    assert ev["fast_track_cases"] >= 0.8 * ev["fast_track_executions"] > 400
    assert ev["other_reject_rate"] > 0.2 and ev["time_saved_total_s"] > 0


def test_no_fast_track_without_a_threshold() -> None:
    log, _ = _gen(700, 1, problems=())
    assert [f for f in find_signoff_triage(log, None, log.config) if f.evidence["basis"] == "attribute"] == []


def test_fast_track_above_a_threshold() -> None:
    rng = np.random.default_rng(0)
    amounts = rng.uniform(100, 10_000, 800)
    cases = [[("Submit", "CLIENT", None),
              ("Fraud review", "FRAUD", "rejected" if (a < 1_000 and rng.random() < 0.5) else "approved")]
             for a in amounts]
    (f,) = find_signoff_triage(build(cases, amounts=list(amounts)), None, None)
    assert f.evidence["fast_track_side"] == "above" and 900 <= f.evidence["threshold"] <= 1_500
    assert f.evidence["fast_track_rejections"] == 0


# ---------------------------------------------------------------- knockout_order
def test_costly_check_before_a_cheap_often_rejecting_one() -> None:
    rng = np.random.default_rng(1)
    cases = []
    for _ in range(300):
        a = "rejected" if rng.random() < 0.02 else "approved"
        seq = [("Submit", "CLIENT", None), ("Slow credit approval", "RISK", a)]
        if a == "approved":
            seq.append(("ID review", "KYC", "rejected" if rng.random() < 0.3 else "approved"))
        cases.append(seq)
    (f,) = find_knockout_order(build(cases), None, None)
    ev = f.evidence
    assert ev["first"] == "Slow credit approval" and ev["second"] == "ID review"
    assert ev["first_cost_median_s"] > 3 * ev["second_cost_median_s"] and ev["cost_basis"] == "service_s"
    assert ev["second_reject_rate"] > ev["first_reject_rate"] and ev["p_value"] < 0.05
    assert ev["wasted_first_step_total_s"] == pytest.approx(ev["knocked_out_cases"] * 4 * 3600)


def test_cheap_check_first_is_fine() -> None:
    rng = np.random.default_rng(1)
    cases = [[("ID review", "KYC", "approved"), ("Slow credit approval", "RISK",
                                                 "rejected" if rng.random() < 0.3 else "approved")]
             for _ in range(300)]
    assert find_knockout_order(build(cases), None, None) == []


# ---------------------------------------------------------------- real logs (BPIC 2020)
@pytest.fixture(scope="module", params=["DomesticDeclarations.xes.gz", "RequestForPayment.xes.gz"])
def bpic2020(request: pytest.FixtureRequest, real_log: Callable[[str], EventLog]) -> EventLog:
    return real_log(request.param)


def test_bpic2020_no_rejecting_step_called_redundant(bpic2020: EventLog) -> None:
    table = signoff_steps(bpic2020)
    found = find_redundant_signoffs(bpic2020, None, None, table=table)
    rates = table.steps.set_index("step")
    for f in found:
        step = f.evidence["step"]
        assert rates.loc[step, "case_reject_rate"] <= 0.01 and rates.loc[step, "reject_rate"] <= 0.01
    # every role's step with > 1% rejections is analysed (enough cases) and kept
    assert (rates.loc[rates["cases"] >= 100, "reject_rate"] > 0.01).all()
    assert found == []


def test_bpic2020_budget_owner_then_supervisor_chain(bpic2020: EventLog) -> None:
    found = find_sequential_signoffs(bpic2020, None, None)
    prefix = "Declaration" if "Declaration by SUPERVISOR" in signoff_steps(bpic2020).steps["step"].tolist() \
        else "Request For Payment"
    pair = [f for f in found if f.activities == (f"{prefix} by BUDGET OWNER", f"{prefix} by SUPERVISOR")]
    assert len(pair) == 1
    ev = pair[0].evidence
    assert ev["cases"] > 1500 and ev["saving_median_s"] > 3600 and not ev["both_orders_seen"]
    assert ev["safety"] in ("weak", "moderate")  # one order only: never graded strong


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(-1, 3)), max_size=60))
def test_previous_row_of_the_same_case_and_key_is_pandas_groupby_shift(rows: list[tuple[int, int]]) -> None:
    """``_prev_in_group`` (the context's repeat-by-same-role link) equals ``groupby([case, key]).shift(1)``."""
    case = np.array(sorted(c for c, _ in rows), dtype=np.int64)
    key = np.array([k for _, k in rows], dtype=np.int64)
    frame = pd.DataFrame({"case": case, "key": pd.array(np.where(key >= 0, key, -1)).astype("Int64"),
                          "row": np.arange(len(rows))})
    frame.loc[key < 0, "key"] = pd.NA
    expected = frame.groupby(["case", "key"], sort=False, dropna=True)["row"].shift(1).fillna(-1).astype(np.int64)
    assert _prev_in_group(case, key).tolist() == expected.tolist()
