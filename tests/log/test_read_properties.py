"""Properties of reading any valid raw log (Hypothesis): nothing lost, order-independent, never mutating."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import flowopt
from flowopt.log import EventLog
from strategies import RawLog, raw_logs

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NO_DEDUP = {"read": {"drop_duplicates": False}}


def _read(frame: pd.DataFrame, config: dict | None = None) -> EventLog:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", flowopt.errors.RowsDroppedWarning)
        return flowopt.read_log(frame, config)


def _instances(log: EventLog) -> pd.DataFrame:
    df = log.to_pandas()[["case_id", "activity", "start", "end"]].copy()
    df["case_id"] = df["case_id"].astype(str)
    df["activity"] = df["activity"].astype(str)
    return df.sort_values(["case_id", "end", "start", "activity"]).reset_index(drop=True)


def _truth(raw: RawLog) -> pd.DataFrame:
    t = raw.truth.copy()
    t["start"] = pd.to_datetime(t["start"]).dt.tz_localize("UTC")
    t["end"] = pd.to_datetime(t["end"]).dt.tz_localize("UTC")
    return t.sort_values(["case_id", "end", "start", "activity"]).reset_index(drop=True)


shapes = st.sampled_from(["complete", "interval", "lifecycle"])


@SETTINGS
@given(data=st.data(), shape=shapes, ties=st.booleans())
def test_rows_in_equals_rows_used_plus_quarantined(data: st.DataObject, shape: str, ties: bool) -> None:
    raw = data.draw(raw_logs(shape=shape, ties=ties))  # type: ignore[arg-type]
    log = _read(raw.frame)
    assert log.rows_in == len(raw.frame)
    assert log.rows_in == log.rows_used + len(log.quarantine)
    # only exact duplicates are quarantined from a valid log (for lifecycle logs, dropping a duplicated
    # transition row can leave a start without its complete)
    reasons = log.quarantine["reason"]
    dup = flowopt.errors.QuarantineReason.DUPLICATE.value
    assert int((reasons == dup).sum()) == int(raw.frame.duplicated().sum())
    allowed = {dup} | ({flowopt.errors.QuarantineReason.UNMATCHED_START.value} if shape == "lifecycle" else set())
    assert set(reasons) <= allowed
    if not raw.frame.duplicated().any():
        assert reasons.empty
    # the case count comes from the codes: it must be the frame's distinct case ids, also after filtering
    assert log.n_cases == log.frame["case_id"].nunique()
    if log.n_cases:
        keep = list(log.frame["case_id"].unique()[::2])
        assert log.filter_cases(keep).n_cases == len(keep)


@SETTINGS
@given(data=st.data(), shape=shapes)
def test_log_rebuilds_the_generated_instances(data: st.DataObject, shape: str) -> None:
    raw = data.draw(raw_logs(shape=shape, ties=False))  # type: ignore[arg-type]
    log = _read(raw.frame)
    assert log.quarantine.empty
    pd.testing.assert_frame_equal(_instances(log), _truth(raw), check_dtype=False, check_categorical=False)


@SETTINGS
@given(data=st.data(), shape=shapes)
def test_shuffling_rows_does_not_change_the_log(data: st.DataObject, shape: str) -> None:
    raw = data.draw(raw_logs(shape=shape, ties=False))  # type: ignore[arg-type]
    perm = np.asarray(data.draw(st.permutations(range(len(raw.frame)))))
    a = _read(raw.frame).to_pandas()
    b = _read(raw.frame.iloc[perm].reset_index(drop=True)).to_pandas()
    pd.testing.assert_frame_equal(a, b)


@SETTINGS
@given(data=st.data(), reverse=st.booleans())
def test_ties_follow_the_file_order(data: st.DataObject, reverse: bool) -> None:
    raw = data.draw(raw_logs(shape="complete", ties=True))
    frame = raw.frame.iloc[::-1].reset_index(drop=True) if reverse else raw.frame
    log = _read(frame, NO_DEDUP)
    # independent expectation: a stable sort of the file's rows by time, within each case
    exp = frame.assign(_t=pd.to_datetime(frame["timestamp"])).sort_values("_t", kind="stable")
    expected = {c: g["activity"].tolist() for c, g in exp.groupby("case_id", sort=False)}
    got = {str(c): g["activity"].astype(str).tolist()
           for c, g in log.to_pandas().groupby("case_id", sort=False)}
    assert got == expected
    assert len(log) == len(frame)


@SETTINGS
@given(data=st.data(), ties=st.booleans())
def test_lifecycle_pairing_is_fifo_and_never_ends_before_start(data: st.DataObject, ties: bool) -> None:
    raw = data.draw(raw_logs(shape="lifecycle", ties=ties))
    log = _read(raw.frame, NO_DEDUP)
    df = log.to_pandas()
    assert df["start"].notna().all()
    assert (df["start"] <= df["end"]).all()
    assert log.rows_used == len(raw.frame) and log.quarantine.empty
    pd.testing.assert_frame_equal(_instances(log), _truth(raw), check_dtype=False, check_categorical=False)


def test_repeated_overlapping_activity_pairs_fifo() -> None:
    # two overlapping "Review" instances in one case: the first complete closes the first start
    df = pd.DataFrame({
        "case": ["A"] * 4,
        "activity": ["Review"] * 4,
        "time": ["2024-01-01 09:00", "2024-01-01 09:30", "2024-01-01 10:00", "2024-01-01 11:00"],
        "lifecycle": ["start", "start", "complete", "complete"],
    })
    got = _read(df).to_pandas()
    assert got["start"].dt.strftime("%H:%M").tolist() == ["09:00", "09:30"]
    assert got["end"].dt.strftime("%H:%M").tolist() == ["10:00", "11:00"]


@SETTINGS
@given(data=st.data(), shape=shapes, ties=st.booleans())
def test_input_frame_is_never_modified(data: st.DataObject, shape: str, ties: bool) -> None:
    raw = data.draw(raw_logs(shape=shape, ties=ties))  # type: ignore[arg-type]
    frame = raw.frame
    before = frame.copy(deep=True)
    columns, index = list(frame.columns), frame.index.copy()
    _read(frame)
    assert list(frame.columns) == columns
    pd.testing.assert_index_equal(frame.index, index)
    pd.testing.assert_frame_equal(frame, before)


def test_input_frame_with_odd_index_and_int_columns_is_not_modified() -> None:
    df = pd.DataFrame({"case_id": ["1", "1", "2"], "activity": ["a", "b", "a"],
                       "timestamp": ["2024-01-01", "2024-01-02", "2024-01-03"], 7: [1, 2, 3]},
                      index=[10, 5, 99])
    before = df.copy(deep=True)
    log = _read(df)
    pd.testing.assert_frame_equal(df, before)
    assert len(log) == 3 and "7" in log.to_pandas().columns
