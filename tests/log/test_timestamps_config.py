"""Timestamps (offsets, zones across DST, date-only, epochs), column detection and stages."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest

import flowopt
from flowopt.errors import ColumnDetectionError, QuarantineReason, RowsDroppedWarning, SchemaError
from flowopt.io import detect_columns
from flowopt.log import classify_activities
from flowopt.log._timestamps import parse_timestamps
from flowopt.options import ColumnsConfig


def _log(times: list[object], config: dict | None = None, **extra: list[object]) -> flowopt.EventLog:
    df = pd.DataFrame({"case_id": ["c"] * len(times), "activity": [f"a{i}" for i in range(len(times))],
                       "timestamp": times, **extra})
    return flowopt.read_log(df, config)


def _utc(log: flowopt.EventLog) -> list[str]:
    return [t.isoformat() for t in log.to_pandas().sort_values("activity")["end"]]


def test_iso_with_offsets_and_mixed_offsets() -> None:
    log = _log(["2024-03-01T09:00:00+08:00", "2024-03-01T09:00:00Z", "2024-03-01T09:00:00-05:00",
                "2024-03-01 09:00:00+0100"])
    assert _utc(log) == ["2024-03-01T01:00:00+00:00", "2024-03-01T09:00:00+00:00", "2024-03-01T14:00:00+00:00",
                         "2024-03-01T08:00:00+00:00"]


def test_naive_times_in_a_zone_across_dst() -> None:
    # Europe/Amsterdam: clocks go 02:00 -> 03:00 on 2024-03-31 (CET +1 -> CEST +2)
    cfg = {"read": {"timezone": "Europe/Amsterdam"}}
    log = _log(["2024-03-30 12:00:00", "2024-03-31 01:30:00", "2024-03-31 12:00:00", "2024-10-27 12:00:00"], cfg)
    assert _utc(log) == ["2024-03-30T11:00:00+00:00", "2024-03-31T00:30:00+00:00", "2024-03-31T10:00:00+00:00",
                         "2024-10-27T11:00:00+00:00"]
    # wall clock 01:30 -> 12:00 spans the change: 10.5 h on the clock, 9.5 h in real time
    g = flowopt.discover_graph(log)
    e = g.edges.set_index(["source", "target"])
    assert e.loc[("a0", "a1"), "wait_median_s"] == 13.5 * 3600
    assert e.loc[("a1", "a2"), "wait_median_s"] == 9.5 * 3600


def test_dst_gap_and_overlap_hours_are_resolved() -> None:
    parsed, bad = parse_timestamps(pd.Series(["2024-03-31 02:30:00", "2024-10-27 02:30:00"]), tz="Europe/Amsterdam")
    assert not bad.any() and parsed.notna().all()
    assert str(parsed.iloc[0]) == "2024-03-31 01:00:00+00:00"  # non-existent hour shifted forward
    assert str(parsed.iloc[1]) == "2024-10-27 00:30:00+00:00"  # ambiguous hour: the first (summer time)


def test_date_only_and_epochs() -> None:
    assert _utc(_log(["2024-01-05", "2024-01-06"])) == ["2024-01-05T00:00:00+00:00", "2024-01-06T00:00:00+00:00"]
    secs = _log([1_704_067_200, 1_704_070_800])
    assert _utc(secs) == ["2024-01-01T00:00:00+00:00", "2024-01-01T01:00:00+00:00"]
    ms = _log(["1704067200000", "1704070800000"])
    assert _utc(ms) == ["2024-01-01T00:00:00+00:00", "2024-01-01T01:00:00+00:00"]


def test_datetime_dtypes() -> None:
    naive = pd.to_datetime(["2024-06-01 10:00", "2024-06-01 11:00"])
    log = _log(list(naive), {"read": {"timezone": "Asia/Shanghai"}})
    assert _utc(log)[0] == "2024-06-01T02:00:00+00:00"
    aware = pd.Series(pd.to_datetime(["2024-06-01 10:00", "2024-06-01 11:00"]).tz_localize("Europe/Amsterdam"))
    df = pd.DataFrame({"case_id": ["c", "c"], "activity": ["a", "b"], "timestamp": aware})
    assert _utc(flowopt.read_log(df))[0] == "2024-06-01T08:00:00+00:00"


def test_bad_and_out_of_range_timestamps_are_quarantined() -> None:
    with pytest.warns(RowsDroppedWarning):
        log = _log(["2024-01-01", "not a time", "1850-01-01", None])
    reasons = log.quarantine.sort_values("row")["reason"].tolist()
    assert reasons == [QuarantineReason.BAD_TIMESTAMP.value, QuarantineReason.OUT_OF_RANGE.value,
                       QuarantineReason.MISSING_TIMESTAMP.value]
    assert len(log) == 1


# ------------------------------------------------------------------ column detection
@pytest.mark.parametrize(("columns", "expected"), [
    (["case:concept:name", "concept:name", "time:timestamp", "org:resource", "lifecycle:transition"],
     {"case": "case:concept:name", "activity": "concept:name", "timestamp": "time:timestamp",
      "lifecycle": "lifecycle:transition", "resource": "org:resource"}),
    (["Case ID", "Activity", "Start Time", "End Time", "Resource", "Department"],
     {"case": "Case ID", "activity": "Activity", "start": "Start Time", "end": "End Time", "resource": "Resource",
      "role": "Department"}),
    (["案件编号", "活动", "开始时间", "完成时间", "处理人", "部门", "审批结果"],
     {"case": "案件编号", "activity": "活动", "start": "开始时间", "end": "完成时间", "resource": "处理人", "role": "部门",
      "outcome": "审批结果"}),
    (["工单号", "环节", "时间"], {"case": "工单号", "activity": "环节", "end": "时间"}),
])
def test_detect_known_names(columns: list[str], expected: dict[str, str]) -> None:
    assert detect_columns(columns, ColumnsConfig(), source="t") == expected


def test_config_overrides_detection() -> None:
    cols = ["id", "step", "when", "who", "case_id"]
    got = detect_columns(cols, ColumnsConfig(case="id", activity="step", timestamp="when"), source="t")
    assert got["case"] == "id" and got["activity"] == "step" and got["end"] == "when"
    assert "case_id" not in got.values()


def test_config_naming_a_missing_column() -> None:
    with pytest.raises(SchemaError, match="Did you mean 'Case ID'"):
        detect_columns(["Case ID", "activity", "time"], ColumnsConfig(case="case_id"), source="t")


@pytest.mark.parametrize("columns", [
    ["case_id", "caseid", "activity", "time"],  # two case columns
    ["case_id", "activity", "timestamp", "end_time"],  # timestamp or end?
    ["case_id", "activity", "lifecycle", "start_time", "end_time"],  # which time goes with the lifecycle?
    ["foo", "bar", "baz"],  # nothing fits
])
def test_unsure_detection_raises(columns: list[str]) -> None:
    with pytest.raises(ColumnDetectionError) as exc:
        detect_columns(columns, ColumnsConfig(), source="t")
    assert exc.value.columns == columns and "[columns]" in str(exc.value)


def test_read_log_with_config_file(tmp_path: Path) -> None:
    cfg = tmp_path / "cfg.toml"
    cfg.write_text('[columns]\ncase = "单号"\nactivity = "动作"\ntimestamp = "日期"\n', encoding="utf-8")
    df = pd.DataFrame({"单号": ["1", "1"], "动作": ["申请", "放款"], "日期": ["2024-01-01", "2024-01-03"]})
    log = flowopt.read_log(df, cfg)
    assert log.mapping == {"case": "单号", "activity": "动作", "end": "日期"}


# ------------------------------------------------------------------ stages
def test_builtin_stages_en_zh() -> None:
    got = classify_activities(["Inquiry", "Submit application", "Document check", "Credit risk approval",
                               "Disbursement", "Welcome call", "客户咨询", "提交申请", "资料审核", "风控审查", "放款",
                               "回访", "Something else"])
    assert got == {"Inquiry": "consultation", "Submit application": "application", "Document check": "application",
                   "Credit risk approval": "approval", "Disbursement": "disbursement",
                   "Welcome call": "after_service", "客户咨询": "consultation", "提交申请": "application",
                   "资料审核": "application", "风控审查": "approval", "放款": "disbursement", "回访": "after_service",
                   "Something else": "other"}


def test_config_stages_win_and_log_shows_the_rule() -> None:
    df = pd.DataFrame({"case_id": ["1"] * 3, "activity": ["Inquiry", "Pay fee", "Something"],
                       "timestamp": ["2024-01-01", "2024-01-02", "2024-01-03"]})
    log = flowopt.read_log(df, {"stages": {"application": ["^pay fee$"], "after_service": ["something"]}})
    st = log.stages.set_index("activity")
    assert st.loc["Pay fee", "stage"] == "application"
    assert st.loc["Pay fee", "rule"] == "config [stages] application: ^pay fee$"
    assert st.loc["Something", "stage"] == "after_service"
    assert st.loc["Inquiry", "stage"] == "consultation" and st.loc["Inquiry", "rule"].startswith("built-in")
    assert log.stage_of("Pay fee") == "application"
    moved = log.with_stages({"Inquiry": "application"})
    assert moved.stage_of("Inquiry") == "application" and log.stage_of("Inquiry") == "consultation"


def test_unknown_time_zone_is_a_config_error() -> None:
    with pytest.raises(flowopt.errors.ConfigError):
        _log(["2024-01-01"], {"read": {"timezone": "Mars/Olympus"}})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(_log(["2024-01-01"])) == 1
