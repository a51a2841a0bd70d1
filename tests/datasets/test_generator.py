"""Tests of the seeded lending-log generator: determinism, planted problems, changes, shapes, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flowopt.datasets._generator import (
    CHANGES,
    PROBLEMS,
    GeneratedLog,
    generate_lending_log,
    throughput_hours,
)
from flowopt.datasets._queues import WorkCalendar, fifo_pool, next_release
from flowopt.errors import ParameterError
from flowopt.options import load_config

N = 1500
EXAMPLE = Path(__file__).parents[2] / "src" / "flowopt" / "datasets" / "data" / "example_log.csv"


@pytest.fixture(scope="module")
def healthy() -> GeneratedLog:
    return generate_lending_log(N, seed=11)


@pytest.fixture(scope="module")
def sick() -> GeneratedLog:
    return generate_lending_log(N, seed=11, problems=PROBLEMS)


def _acts(log: GeneratedLog, name: str) -> pd.DataFrame:
    f = log.frame
    return f[f["activity"] == name]


def _wait_hours(frame: pd.DataFrame) -> pd.Series:
    """Start minus the latest end seen before it in the same case (the enabling time), in hours."""
    f = frame.sort_values(["case_id", "start", "end"])
    enabled = f.groupby("case_id", observed=True)["end"].cummax().groupby(f["case_id"], observed=True).shift()
    return ((f["start"] - enabled).dt.total_seconds() / 3600).rename("wait")


def _median_wait(log: GeneratedLog, activity: str) -> float:
    w = _wait_hours(log.frame)
    return float(w[log.frame.loc[w.index, "activity"] == activity].median())


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Categorical columns as plain strings, so frames with different category sets compare by value."""
    return frame.astype({c: str for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)})


# ---------------------------------------------------------------------------------------------- basics
def test_deterministic() -> None:
    a = generate_lending_log(300, seed=5, problems=PROBLEMS)
    b = generate_lending_log(300, seed=5, problems=PROBLEMS)
    pd.testing.assert_frame_equal(a.frame, b.frame)
    assert a.injected == b.injected
    c = generate_lending_log(300, seed=6, problems=PROBLEMS)
    assert not a.frame["start"].equals(c.frame["start"])


def test_schema(healthy: GeneratedLog) -> None:
    f = healthy.frame
    assert list(f.columns) == ["case_id", "activity", "start", "end", "resource", "role", "outcome", "amount",
                               "channel"]
    assert str(f["start"].dtype) == "datetime64[us, UTC]"
    assert (f["end"] >= f["start"]).all()
    assert f["case_id"].nunique() == N
    assert f.groupby("case_id", observed=True)["start"].is_monotonic_increasing.all()
    first = f.groupby("case_id", observed=True)["activity"].first()
    assert (first == "Inquiry").all()
    assert set(f["channel"].unique()) == {"branch", "online", "phone"}
    assert f.groupby("case_id", observed=True)["amount"].nunique().max() == 1
    assert set(f.loc[f["outcome"].notna(), "activity"]) == {"Branch manager approval", "Credit risk approval",
                                                             "Compliance approval"}


def test_config_reads_the_frame(sick: GeneratedLog) -> None:
    cfg = load_config(sick.config)
    cols = cfg.columns
    for value in (cols.case, cols.activity, cols.start, cols.end, cols.resource, cols.role, cols.outcome):
        assert value in sick.frame.columns
    assert cfg.signoffs.protected == ("^Compliance approval",)
    assert "^Regional director approval$" in cfg.signoffs.activities
    assert set(sick.frame["outcome"].dropna().unique()) == {*cfg.signoffs.reject_values,
                                                            *cfg.signoffs.approve_values}
    acts = set(sick.frame["activity"].unique())
    import re

    for stage, patterns in cfg.stages.items():
        assert any(re.search(p, a) for p in patterns for a in acts), stage


def test_healthy_flow(healthy: GeneratedLog) -> None:
    f = healthy.frame
    assert healthy.injected == ()
    assert "Regional director approval" not in set(f["activity"])
    util = {k: v["utilisation"] for k, v in healthy.truth["pools"].items()}
    assert max(util.values()) < 0.6
    rework = _acts(healthy, "Request missing documents")["case_id"].nunique() / N
    assert rework < 0.05
    for name in ("Branch manager approval", "Credit risk approval", "Compliance approval"):
        rate = (_acts(healthy, name)["outcome"] == "rejected").mean()
        assert 0.01 < rate < 0.15, name
    # sign-offs by risk and compliance run side by side
    risk = _acts(healthy, "Credit risk approval").set_index("case_id")
    comp = _acts(healthy, "Compliance approval").set_index("case_id")
    both = risk.merge(comp, left_index=True, right_index=True, suffixes=("_r", "_c"))
    overlap = (both["start_r"] < both["end_c"]) & (both["start_c"] < both["end_r"])
    assert overlap.mean() > 0.6
    # disbursement is on demand: never a common release time
    disb = _acts(healthy, "Disbursement")
    assert disb.groupby("start").size().max() <= 2
    # rejected cases end with a notification and never reach disbursement
    rejected = set(f.loc[f["outcome"] == "rejected", "case_id"])
    assert rejected.isdisjoint(set(disb["case_id"]))
    assert rejected == set(_acts(healthy, "Notify rejection")["case_id"])


def test_working_hours(healthy: GeneratedLog) -> None:
    f = healthy.frame
    human = f[~f["role"].isin(["SYSTEM", "CUSTOMER"])]
    start = human["start"]
    minutes = start.dt.hour * 60 + start.dt.minute
    assert (start.dt.day_of_week < 5).all()
    assert ((minutes >= 8 * 60) & (minutes < 17 * 60)).all()
    system = f[f["role"] == "SYSTEM"]["start"]
    assert ((system.dt.hour < 8) | (system.dt.hour >= 17) | (system.dt.day_of_week >= 5)).any()


def test_resources_per_role(healthy: GeneratedLog) -> None:
    f = healthy.frame
    roles_per_resource = f.groupby("resource", observed=True)["role"].nunique()
    assert (roles_per_resource == 1).all()
    checkers = _acts(healthy, "Document check")["resource"].unique()
    assert len(checkers) == healthy.truth["pools"]["Document check"]["servers"]
    assert all("." in r for r in checkers)


def test_no_resource_overlap(sick: GeneratedLog) -> None:
    f = sick.frame
    people = f[~f["role"].isin(["SYSTEM", "CUSTOMER"]) & (f["activity"] != "Request missing documents")]
    people = people.sort_values(["resource", "start"])
    prev_end = people.groupby("resource", observed=True)["end"].shift()
    assert ((people["start"] - prev_end).dt.total_seconds().dropna() >= -1).all()


# ---------------------------------------------------------------------------------------------- problems
def test_rubber_stamp(sick: GeneratedLog) -> None:
    inj = next(i for i in sick.injected if i.problem == "rubber_stamp")
    assert inj.activities == ("Regional director approval",)
    director = _acts(sick, inj.activities[0])
    assert len(director) > 500
    assert (director["outcome"] == "approved").all()
    assert set(director["role"]) == {"DIRECTOR"}
    assert _median_wait(sick, inj.activities[0]) > 0.25  # adds a queue


def test_understaffed_waits_grow() -> None:
    healthy = generate_lending_log(N, seed=3)
    sick = generate_lending_log(N, seed=3, problems=["understaffed"])
    inj = sick.injected[0]
    assert inj.activities == ("Document check",) and inj.details["servers"] < 0.6 * (
        healthy.truth["pools"]["Document check"]["servers"])
    slow = _median_wait(sick, "Document check")
    assert slow > 4 * _median_wait(healthy, "Document check")
    for other in ("Branch manager approval", "Credit risk approval", "Compliance approval"):
        assert slow > 10 * max(_median_wait(sick, other), 0.1)
    w = _wait_hours(sick.frame)
    checks = w[sick.frame.loc[w.index, "activity"] == "Document check"]
    order = sick.frame.loc[checks.index, "start"].argsort()
    thirds = np.array_split(checks.to_numpy()[order], 3)
    assert np.median(thirds[2]) > np.median(thirds[0])


def test_batching(sick: GeneratedLog) -> None:
    inj = next(i for i in sick.injected if i.problem == "batching")
    assert inj.activities == ("Contract signing", "Disbursement")
    starts = _acts(sick, "Disbursement")["start"]
    assert set(starts.dt.day_of_week) <= {0, 3}
    assert (starts.dt.strftime("%H:%M:%S") == "15:30:00").all()
    assert starts.value_counts().median() >= 10
    assert _median_wait(sick, "Disbursement") > 12


def test_rework(sick: GeneratedLog) -> None:
    share = _acts(sick, "Request missing documents")["case_id"].nunique() / N
    assert 0.28 < share < 0.42
    checks = _acts(sick, "Document check").groupby("case_id", observed=True).size()
    assert checks.max() >= 3
    requests = _acts(sick, "Request missing documents").groupby("case_id", observed=True).size()
    assert (checks[requests.index] == requests + 1).all()


def test_sequential_signoffs(sick: GeneratedLog) -> None:
    risk = _acts(sick, "Credit risk approval").set_index("case_id")
    comp = _acts(sick, "Compliance approval").set_index("case_id")
    both = risk.merge(comp, left_index=True, right_index=True, suffixes=("_r", "_c"))
    assert (both["start_c"] >= both["end_r"]).all()
    assert set(comp.index) <= set(risk.index[risk["outcome"] == "approved"])


def test_amount_threshold(sick: GeneratedLog) -> None:
    inj = next(i for i in sick.injected if i.problem == "amount_threshold")
    threshold = inj.details["threshold"]
    risk = _acts(sick, inj.activities[0])
    rejected = risk["outcome"] == "rejected"
    assert rejected.sum() > 10
    assert (risk.loc[rejected, "amount"] > threshold).all()
    assert ((risk["amount"] > threshold) & ~rejected).any()


# ---------------------------------------------------------------------------------------------- changes
@pytest.mark.parametrize("change", CHANGES)
def test_changes_use_common_random_numbers(sick: GeneratedLog, change: str) -> None:
    after = sick.with_change(change)
    assert after.params["changes"] == (change,)
    assert any(i.details.get("change") == change for i in after.injected)
    before_f, after_f = sick.frame, after.frame
    # the customers, their amounts and their inquiries are identical
    for f in (before_f, after_f):
        assert f["case_id"].nunique() == N
    inq_b = before_f[before_f["activity"] == "Inquiry"].reset_index(drop=True)
    inq_a = after_f[after_f["activity"] == "Inquiry"].reset_index(drop=True)
    pd.testing.assert_frame_equal(_plain(inq_b), _plain(inq_a))
    # sign-off decisions are the same draws
    rej_b = set(before_f.loc[before_f["outcome"] == "rejected", "case_id"])
    rej_a = set(after_f.loc[after_f["outcome"] == "rejected", "case_id"])
    if change == "parallelize_signoffs":
        assert rej_b <= rej_a  # compliance now also reviews what risk rejected
        assert set(_acts(after, "Notify rejection")["case_id"]) == set(_acts(sick, "Notify rejection")["case_id"])
    else:
        assert rej_a == rej_b
    saving = sick.true_saving_hours_per_case(change)
    assert saving > 0.5, change


def test_changes_alter_only_their_target(sick: GeneratedLog) -> None:
    no_batch = sick.with_change("no_batching")
    upstream = ["Inquiry", "Submit application", "Document check", "Credit scoring", "Contract signing"]
    keep_b = sick.frame[sick.frame["activity"].isin(upstream)].reset_index(drop=True)
    keep_a = no_batch.frame[no_batch.frame["activity"].isin(upstream)].reset_index(drop=True)
    pd.testing.assert_frame_equal(_plain(keep_b), _plain(keep_a))
    daily = sick.with_change("batch_daily")
    starts = _acts(daily, "Disbursement")["start"]
    assert set(starts.dt.day_of_week) == {0, 1, 2, 3, 4}
    assert (starts.dt.strftime("%H:%M") == "15:30").all()
    gone = sick.with_change("eliminate_rubber_stamp")
    assert "Regional director approval" not in set(gone.frame["activity"])
    assert len(sick.frame) - len(gone.frame) == len(_acts(sick, "Regional director approval"))
    more = sick.with_change("add_capacity")
    assert _median_wait(more, "Document check") < _median_wait(sick, "Document check") / 3
    clean = sick.with_change("remove_rework")
    assert len(_acts(clean, "Request missing documents")) == 0
    par = sick.with_change("parallelize_signoffs")
    assert next(i for i in par.injected if i.problem == "sequential_signoffs").details["order"] == "parallel"


def test_throughput_hours_helper(sick: GeneratedLog) -> None:
    t = sick.throughput_hours()
    assert len(t) == N and (t > 0).all()
    lc = generate_lending_log(N, seed=11, problems=PROBLEMS, shape="lifecycle")
    pd.testing.assert_series_equal(throughput_hours(lc.frame).sort_index(), t.sort_index())


# ---------------------------------------------------------------------------------------------- shapes
def test_lifecycle_shape(sick: GeneratedLog) -> None:
    lc = generate_lending_log(N, seed=11, problems=PROBLEMS, shape="lifecycle")
    f = lc.frame
    assert {"time", "lifecycle"} <= set(f.columns) and "start" not in f.columns
    assert len(f) == 2 * len(sick.frame)
    assert f["time"].is_monotonic_increasing
    assert (f["lifecycle"] == "start").sum() == (f["lifecycle"] == "complete").sum()
    assert lc.config["columns"]["lifecycle"] == "lifecycle" and lc.config["columns"]["timestamp"] == "time"
    load_config(lc.config)


def test_complete_shape(sick: GeneratedLog) -> None:
    c = generate_lending_log(N, seed=11, problems=PROBLEMS, shape="complete")
    assert "lifecycle" not in c.frame.columns and len(c.frame) == len(sick.frame)
    assert sorted(c.frame["time"]) == sorted(sick.frame["end"])
    assert c.frame["time"].is_monotonic_increasing


@pytest.mark.parametrize(("language", "approve", "reject", "sep"), [("en", "approved", "rejected", " - "),
                                                                     ("zh", "通过", "驳回", "-")])
def test_outcome_in_name(language: str, approve: str, reject: str, sep: str) -> None:
    import re

    log = generate_lending_log(400, seed=2, problems=["rubber_stamp"], outcome_in="name", language=language)
    assert "outcome" not in log.frame.columns and "outcome" not in log.config["columns"]
    pattern = re.compile(log.config["signoffs"]["outcome_pattern"])
    acts = set(log.frame["activity"])
    tagged = {a for a in acts if pattern.search(a)}
    assert {pattern.search(a).group("outcome") for a in tagged} == {approve, reject}
    step = "Branch manager approval" if language == "en" else "分行经理审批"
    assert f"{step}{sep}{reject}" in acts
    director = "Regional director approval" if language == "en" else "区域总监审批"
    assert f"{director}{sep}{reject}" not in acts
    load_config(log.config)


def test_chinese_names() -> None:
    log = generate_lending_log(300, seed=2, problems=PROBLEMS, language="zh")
    acts = set(log.frame["activity"])
    assert {"客户咨询", "提交申请", "资料审核", "补充材料", "信用评分", "分行经理审批", "风控审批", "合规审查",
            "区域总监审批", "签约", "放款", "回访"} <= acts
    assert set(log.frame["outcome"].dropna()) == {"通过", "驳回"}
    assert set(log.frame["channel"]) == {"网点", "线上", "电话"}
    assert log.injected[0].activities == ("区域总监审批",)
    en = generate_lending_log(300, seed=2, problems=PROBLEMS)
    pd.testing.assert_series_equal(log.frame["start"], en.frame["start"])


# ---------------------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(("kwargs", "match"), [
    ({"n_cases": 0}, r"The 'n_cases' parameter of generate_lending_log must be an int >= 1. Got 0 instead."),
    ({"n_cases": 2.5}, "'n_cases'"),
    ({"seed": -1}, "'seed' parameter .* int >= 0"),
    ({"problems": ["slow"]}, "'problems' parameter .* Got 'slow' instead"),
    ({"changes": ["faster"]}, "'changes' parameter"),
    ({"changes": ["no_batching"]}, "needs problem 'batching'"),
    ({"problems": ["batching"], "changes": ["no_batching", "batch_daily"]}, "at most one"),
    ({"language": "fr"}, "'language' parameter"),
    ({"shape": "wide"}, "'shape' parameter"),
    ({"outcome_in": "both"}, "'outcome_in' parameter"),
    ({"start": "not a date"}, "'start' parameter"),
    ({"cases_per_day": 0}, "'cases_per_day' parameter .* > 0"),
])
def test_parameter_errors(kwargs: dict, match: str) -> None:
    n = kwargs.pop("n_cases", 10)
    with pytest.raises(ParameterError, match=match):
        generate_lending_log(n, **kwargs)


def test_single_problem_name_and_start() -> None:
    log = generate_lending_log(50, seed=1, problems="rework", start="2024-03-06", cases_per_day=10)
    assert [i.problem for i in log.injected] == ["rework"]
    assert log.frame["start"].min() >= pd.Timestamp("2024-03-06", tz="UTC")


# ---------------------------------------------------------------------------------------------- size
def test_size() -> None:
    log = generate_lending_log(20_000, seed=0, problems=PROBLEMS)
    per_case = len(log.frame) / 20_000
    assert 10 < per_case < 13
    assert log.frame["case_id"].nunique() == 20_000
    assert log.frame.memory_usage(deep=True).sum() / len(log.frame) < 80


# ---------------------------------------------------------------------------------------------- kernels
def test_calendar_roundtrip() -> None:
    cal = WorkCalendar()
    t = np.linspace(0, 3 * 7 * 86400, 5000)
    w = cal.to_work(t)
    assert np.all(np.diff(w) >= 0)
    back = cal.from_work(w)
    inside = np.isclose(cal.to_work(back), w)
    assert inside.all()
    assert np.all(back >= t - 1e-6)


def test_fifo_pool_matches_simulation() -> None:
    rng = np.random.default_rng(0)
    a = np.sort(rng.uniform(0, 100, 200))
    s = rng.exponential(1.5, 200)
    start, end, server = fifo_pool(a, s, 3)
    free = np.zeros(3)
    for i in range(200):  # reference: round-robin servers, FIFO
        k = i % 3
        assert server[i] == k
        begin = max(a[i], free[k])
        assert np.isclose(start[i], begin)
        free[k] = begin + s[i]
        assert np.isclose(end[i], free[k])


def test_next_release() -> None:
    releases = np.array([15.5 * 3600, 3 * 86400 + 15.5 * 3600])
    ready = np.array([0.0, 15.5 * 3600, 15.6 * 3600, 6 * 86400])
    out = next_release(ready, releases) / 3600
    assert out.tolist() == [15.5, 15.5, 72 + 15.5, 168 + 15.5]


def test_example_csv_is_the_generator_output() -> None:
    df = pd.read_csv(EXAMPLE)
    assert list(df.columns) == ["case_id", "activity", "start", "end", "resource", "role", "outcome", "amount",
                                "channel"]
    assert df["case_id"].nunique() == 500
    assert df["start"].str.endswith("Z").all()
    assert EXAMPLE.stat().st_size < 700_000
    log = generate_lending_log(500, seed=7, problems=PROBLEMS)
    assert len(df) == len(log.frame)
    assert (pd.to_datetime(df["end"], utc=True) == log.frame["end"].reset_index(drop=True)).all()
