"""Which steps are sign-offs and what each execution decided: names, outcomes, inference, real logs."""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import flowopt
from flowopt.analysis._signoff_steps import classify_outcome, signoff_steps, step_name
from flowopt.datasets import generate_lending_log
from flowopt.log import EventLog

PROBLEMS = ("rubber_stamp", "sequential_signoffs", "amount_threshold")


def _log(n: int = 400, seed: int = 1, problems: tuple[str, ...] = PROBLEMS, config: bool = True,
         **kw: object) -> tuple[EventLog, object]:
    g = generate_lending_log(n, seed=seed, problems=problems, **kw)  # type: ignore[arg-type]
    cfg = g.config if config else {"columns": g.config["columns"]}
    return flowopt.read_log(g.frame, cfg), g


# ---------------------------------------------------------------- step names (the contract's rule)
@pytest.mark.parametrize(("activity", "pattern", "expected"), [
    ("分行行长审批-驳回", r"-(?P<outcome>通过|驳回)$", ("分行行长审批", "驳回")),
    ("分行行长审批-通过", r"-(?P<outcome>通过|驳回)$", ("分行行长审批", "通过")),
    ("Permit FINAL_APPROVED by DIRECTOR", None, ("Permit by DIRECTOR", "FINAL_APPROVED")),
    ("Declaration APPROVED by ADMINISTRATION", None, ("Declaration by ADMINISTRATION", "APPROVED")),
    ("Declaration REJECTED by ADMINISTRATION", None, ("Declaration by ADMINISTRATION", "REJECTED")),
    ("Credit risk approval - rejected", None, ("Credit risk approval", "rejected")),
    ("风控审批-驳回", None, ("风控审批", "驳回")),
    ("Approval: Compliance / approved", None, ("Approval: Compliance", "approved")),
    ("Sign-off (risk) rejected", r"^Sign-off \((?P<step>\w+)\) (?P<outcome>\w+)$", ("risk", "rejected")),
])
def test_step_name_follows_the_contract(activity: str, pattern: str | None, expected: tuple[str, str]) -> None:
    rx = re.compile(pattern) if pattern else None
    assert step_name(activity, rx) == expected


def test_step_name_none_without_outcome() -> None:
    assert step_name("Declaration SUBMITTED by EMPLOYEE") is None
    assert step_name("Credit risk approval") is None
    assert step_name("approved") is None  # nothing left to name the step


@pytest.mark.parametrize(("value", "expected"), [
    ("APPROVED", "approved"), ("FINAL_APPROVED", "approved"), ("approved", "approved"), ("通过", "approved"),
    ("同意", "approved"), ("REJECTED", "rejected"), ("declined", "rejected"), ("Denied", "rejected"),
    ("驳回", "rejected"), ("拒绝", "rejected"), ("returned", "returned"), ("退回", "returned"),
    ("pending", None), (None, None), (float("nan"), None), ("", None),
])
def test_classify_outcome_defaults(value: object, expected: str | None) -> None:
    assert classify_outcome(value) == expected


def test_classify_outcome_config_values_win() -> None:
    assert classify_outcome("NOK", reject_values=("nok",)) == "rejected"
    assert classify_outcome("Akkoord", approve_values=("akkoord",)) == "approved"


# ---------------------------------------------------------------- generated logs
@pytest.mark.parametrize("outcome_in", ["column", "name"])
@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("config", [True, False])
def test_generated_steps_and_counts_match_the_truth(outcome_in: str, language: str, config: bool) -> None:
    log, g = _log(outcome_in=outcome_in, language=language, config=config)
    table = signoff_steps(log)
    names = {"en": ["Branch manager approval", "Compliance approval", "Credit risk approval",
                    "Regional director approval"],
             "zh": ["分行经理审批", "区域总监审批", "合规审查", "风控审批"]}[language]
    assert sorted(table.steps["step"]) == sorted(names)
    # counts equal the generator's own outcome codes
    frame = g.frame  # type: ignore[attr-defined]
    for row in table.steps.itertuples(index=False):
        if outcome_in == "column":
            sub = frame[frame["activity"] == row.step]
            rej = int(sub["outcome"].isin(["rejected", "驳回"]).sum())
        else:
            acts = frame["activity"].astype(str)
            rej = int(acts.str.startswith(row.step).mul(acts.str.endswith(("rejected", "驳回"))).sum())
        assert row.rejections == rej
        assert row.approvals + row.rejections == row.executions == row.decided
        assert row.outcome_source == outcome_in
    director = table.step("Regional director approval" if language == "en" else "区域总监审批")
    assert director["rejections"] == 0 and director["approvals"] > 300
    prot = table.steps.set_index("step")["protected"]
    assert prot[names[1] if language == "en" else "合规审查"] == config  # the generator's config protects compliance
    assert prot.sum() == (1 if config else 0)


def test_executions_carry_timing_and_roles() -> None:
    log, _ = _log(n=200)
    ex = signoff_steps(log).executions
    assert (ex["time_added_s"] >= 0).all() and (ex["service_s"] > 0).all()
    np.testing.assert_allclose(ex["time_added_s"], ex["wait_s"] + ex["service_s"])
    assert set(ex["role"]) == {"BRANCH", "RISK", "COMPLIANCE", "DIRECTOR"}
    assert ex["row"].is_monotonic_increasing


def test_outcomes_inferred_when_not_recorded() -> None:
    g = generate_lending_log(400, seed=2, problems=("rubber_stamp",))
    frame = g.frame.drop(columns=["outcome"])
    cfg = {"columns": {k: v for k, v in g.config["columns"].items() if k != "outcome"},
           "stages": g.config["stages"]}
    log = flowopt.read_log(frame, cfg)
    table = signoff_steps(log)
    assert table.inferred
    steps = table.steps.set_index("step")
    assert (steps["outcome_source"] == "inferred").all()
    truth = g.frame[g.frame["activity"].isin(steps.index)].groupby("activity", observed=True)["outcome"].apply(
        lambda s: int((s == "rejected").sum()))
    # the last sign-off before a rejection is read exactly; the director never rejects
    assert steps.loc["Regional director approval", "rejections"] == 0
    assert steps.loc["Branch manager approval", "rejections"] == truth["Branch manager approval"]
    # risk and compliance run side by side: a rejection is attributed to the one that finished last
    both = steps.loc[["Credit risk approval", "Compliance approval"], "rejections"].sum()
    assert abs(both - truth[["Credit risk approval", "Compliance approval"]].sum()) <= 0.25 * both + 3


def test_rework_after_a_step_reads_as_a_return() -> None:
    rows = []
    t0 = pd.Timestamp("2024-01-01 09:00", tz="UTC")
    for i in range(20):
        acts = ["Submit application", "Manager review", "Contract signing"]
        if i % 4 == 0:
            acts = ["Submit application", "Manager review", "Submit application", "Manager review",
                    "Contract signing"]
        for j, a in enumerate(acts):
            rows.append({"case_id": f"c{i}", "activity": a, "end": t0 + pd.Timedelta(hours=i * 24 + j)})
    rows.append({"case_id": "late", "activity": "Submit application", "end": t0 + pd.Timedelta(days=40)})
    log = flowopt.read_log(pd.DataFrame(rows), {"columns": {"case": "case_id", "activity": "activity",
                                                             "timestamp": "end"}})
    st = signoff_steps(log).step("Manager review")
    assert st["returns"] == 5 and st["approvals"] == 20 and st["outcome_source"] == "inferred"


def test_rejection_notice_then_resubmission_reads_as_a_return() -> None:
    rows = []
    t0 = pd.Timestamp("2024-01-01 09:00", tz="UTC")
    for i in range(30):
        acts = ["Submit application", "Credit approval", "Payout"]
        if i % 3 == 0:
            acts = ["Submit application", "Credit approval", "Send notice", "Submit application",
                    "Credit approval", "Payout"]
        if i % 5 == 1:
            acts = ["Submit application", "Credit approval", "Send notice"]  # rejected: ends without payout
        for j, a in enumerate(acts):
            rows.append({"case_id": f"c{i}", "activity": a, "end": t0 + pd.Timedelta(hours=i * 24 + j)})
    rows.append({"case_id": "late", "activity": "Credit approval", "end": t0 + pd.Timedelta(days=40)})
    log = flowopt.read_log(pd.DataFrame(rows), {"columns": {"case": "case_id", "activity": "activity",
                                                             "timestamp": "end"}})
    table = signoff_steps(log)
    st = table.step("Credit approval")
    n_back = sum(1 for i in range(30) if i % 3 == 0 and i % 5 != 1)
    n_end = sum(1 for i in range(30) if i % 5 == 1)
    assert (st["returns"], st["rejections"]) == (n_back, n_end)
    assert st["approvals"] == 30 - n_end  # every completed pass, the resubmitted ones included
    ex = table.executions
    assert ex.loc[ex["case_id"] == "late", "outcome"].tolist() == ["unknown"]  # still open


def test_no_completion_stage_means_no_approval_is_inferred() -> None:
    rows = []
    t0 = pd.Timestamp("2024-01-01 09:00", tz="UTC")
    for i in range(10):
        for j, a in enumerate(["Registration", "Manager approval", "Archive"]):
            rows.append({"case_id": f"c{i}", "activity": a, "end": t0 + pd.Timedelta(hours=i * 24 + j)})
    log = flowopt.read_log(pd.DataFrame(rows), {"columns": {"timestamp": "end"}})
    st = signoff_steps(log).step("Manager approval")
    assert st["decided"] == 0 and st["executions"] == 10


def test_configured_activities_and_outcome_pattern() -> None:
    rows = []
    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    for i in range(10):
        out = "驳回" if i < 3 else "通过"
        for j, a in enumerate(["提交申请", f"分行行长审批-{out}", "合规检查"]):
            rows.append({"case_id": i, "activity": a, "time": t0 + pd.Timedelta(hours=10 * i + j)})
    cfg = {"columns": {"case": "case_id", "activity": "activity", "timestamp": "time"},
           "signoffs": {"activities": ["审批", "合规"], "outcome_pattern": "-(?P<outcome>通过|驳回)$",
                        "protected": ["合规"]}}
    table = signoff_steps(flowopt.read_log(pd.DataFrame(rows), cfg))
    st = table.step("分行行长审批")
    assert (st["approvals"], st["rejections"], st["outcome_source"]) == (7, 3, "name")
    assert table.step("合规检查")["protected"] and not st["protected"]


def test_no_signoffs_gives_an_empty_table() -> None:
    frame = pd.DataFrame({"case_id": ["a", "a"], "activity": ["Inquiry", "Payout"],
                          "time": pd.to_datetime(["2024-01-01", "2024-01-02"], utc=True)})
    table = signoff_steps(flowopt.read_log(frame, {"columns": {"timestamp": "time"}}))
    assert len(table) == 0 and table.executions.empty


# ---------------------------------------------------------------- real logs (BPIC 2020)
@pytest.fixture(scope="module")
def domestic(real_log: Callable[[str], EventLog]) -> EventLog:
    return real_log("DomesticDeclarations.xes.gz")


@pytest.fixture(scope="module")
def rfp(real_log: Callable[[str], EventLog]) -> EventLog:
    return real_log("RequestForPayment.xes.gz")


def test_domestic_declarations_roles_and_reject_rates(domestic: EventLog) -> None:
    steps = signoff_steps(domestic).steps.set_index("step")
    expected = {"ADMINISTRATION": 0.10, "PRE_APPROVER": 0.11, "SUPERVISOR": 0.028, "BUDGET OWNER": 0.020}
    assert sorted(steps.index) == sorted(f"Declaration by {r}" for r in expected)
    for role, rate in expected.items():
        row = steps.loc[f"Declaration by {role}"]
        assert row["roles"] == [role]
        assert row["outcome_source"] == "name"
        # DOMAIN.md's rates are per decided execution
        assert row["reject_rate"] == pytest.approx(rate, abs=0.006)
    sup = steps.loc["Declaration by SUPERVISOR"]
    assert "Declaration FINAL_APPROVED by SUPERVISOR" in sup["activities"]
    assert (sup["approvals"], sup["rejections"]) == (9999, 286)
    # "REJECTED by EMPLOYEE" is the employee being told, not a decision: never a sign-off
    assert "Declaration by EMPLOYEE" not in steps.index


def test_request_for_payment_roles(rfp: EventLog) -> None:
    steps = signoff_steps(rfp).steps.set_index("step")
    for role in ("ADMINISTRATION", "BUDGET OWNER", "PRE_APPROVER", "SUPERVISOR", "DIRECTOR"):
        assert f"Request For Payment by {role}" in steps.index
    sup = steps.loc["Request For Payment by SUPERVISOR"]
    assert sup["approvals"] == 6226 + 37  # FINAL_APPROVED and APPROVED by SUPERVISOR are one step
    assert steps.loc["Request For Payment by ADMINISTRATION", "reject_rate"] > 0.1


@settings(max_examples=80, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=4), min_size=1, max_size=30, unique=True), st.booleans(),
       st.lists(st.integers(-1, 29), max_size=60))
def test_categorical_equals_pandas_astype_category(labels: list[str], presorted: bool, raw: list[int]) -> None:
    # the fast path (texts already sorted: no hashing) and the general one give what astype("category") gives
    from flowopt.analysis._signoff_steps import _used_labels_categorical

    lab = np.array(sorted(labels) if presorted else labels, dtype=object)
    codes = np.array([c if c < len(lab) else -1 for c in raw], dtype=np.int64)
    got = _used_labels_categorical(codes, lab)
    want = pd.Series([lab[c] if c >= 0 else None for c in codes], dtype=object).astype("category")
    assert got.dtype == want.dtype
    assert got.codes.tolist() == want.cat.codes.tolist()
