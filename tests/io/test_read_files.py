"""Reading files: corrupt rows are quarantined with their reason; unusable files raise typed errors;
delimiters, encodings and Chinese headers are handled."""

from __future__ import annotations

import gzip
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import flowopt
from flowopt.errors import (
    ColumnDetectionError,
    EmptyLogError,
    LogFileNotFoundError,
    LogReadError,
    QuarantineReason,
    RowsDroppedWarning,
    UnsupportedFormatError,
)
from flowopt.log import EventLog

R = QuarantineReason


def _quiet(source: Any, config: Any = None) -> EventLog:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RowsDroppedWarning)
        return flowopt.read_log(source, config)


@pytest.fixture(scope="module")
def w_head(data_dir: Path) -> pd.DataFrame:
    """The first 400 rows of BPIC_2012_W.csv.gz (an interval log), as text."""
    path = data_dir / "BPIC_2012_W.csv.gz"
    return pd.read_csv(path, dtype=str, keep_default_na=False, nrows=400)


def test_corrupted_copy_quarantines_exactly_the_bad_rows(w_head: pd.DataFrame, tmp_path: Path) -> None:
    df = w_head.copy()
    bad = {  # 0-based data row -> reason
        3: R.BAD_TIMESTAMP, 10: R.MISSING_CASE, 17: R.MISSING_ACTIVITY, 25: R.END_BEFORE_START,
    }
    df.loc[3, "end_time"] = "2011-13-45T99:00:00"
    df.loc[10, "case_id"] = ""
    df.loc[17, "activity"] = "   "
    df.loc[25, ["start_time", "end_time"]] = ["2012-01-02T10:00:00", "2012-01-01T10:00:00"]
    df = pd.concat([df, df.iloc[[40]]], ignore_index=True)  # an exact duplicate, last data row
    bad[len(df) - 1] = R.DUPLICATE
    path = tmp_path / "w_corrupt.csv"
    text = df.to_csv(index=False)
    lines = text.splitlines()
    # a malformed line with too many fields, inserted after data row 50 (file line 52)
    lines.insert(52, lines[51] + ",extra,fields")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    with pytest.warns(RowsDroppedWarning, match="quarantined"):
        log = flowopt.read_log(path)
    q = log.quarantine
    assert log.rows_in == len(df) + 1
    assert log.rows_in == log.rows_used + len(q)
    assert len(log) == len(df) - len(bad)
    got = dict(zip(q["row"].astype(int), q["reason"]))
    # rows are the file's 1-based data rows: the inserted malformed line is data row 52 and pushes later rows down
    expected = {(i + 1 if i < 51 else i + 2): why.value for i, why in bad.items()} | {52: R.MALFORMED_ROW.value}
    assert got == expected
    malformed = q[q["reason"] == R.MALFORMED_ROW.value]
    assert len(malformed) == 1 and "extra,fields" in malformed["detail"].iloc[0]
    for idx, why in bad.items():
        hit = q[(q["reason"] == why.value)]
        assert len(hit) == 1, why
        if why is not R.DUPLICATE:
            assert why is R.MISSING_CASE or hit["case_id"].iloc[0] == df.loc[idx, "case_id"]
    assert q["detail"].str.len().gt(0).all()
    # the good rows are all there
    kept = log.to_pandas()
    assert kept["activity"].notna().all() and (kept["start"] <= kept["end"]).all()


def test_unmatched_start_is_quarantined(w_head: pd.DataFrame, tmp_path: Path) -> None:
    w = w_head.head(60)
    starts = w.assign(timestamp=w["start_time"], lifecycle="start")
    ends = w.assign(timestamp=w["end_time"], lifecycle="complete")
    rows = pd.concat([starts, ends]).drop(columns=["start_time", "end_time"])
    rows = rows.sort_values("timestamp", kind="stable")
    victim = rows[rows["lifecycle"] == "complete"].index[5]  # original row index 5 loses its complete
    is_victim = (rows.index == victim) & (rows["lifecycle"] == "complete").to_numpy()
    rows = rows[~is_victim]
    path = tmp_path / "lc.csv"
    rows.to_csv(path, index=False)
    with pytest.warns(RowsDroppedWarning):
        log = flowopt.read_log(path)
    q = log.quarantine
    assert q["reason"].tolist() == [R.UNMATCHED_START.value]
    assert q["case_id"].iloc[0] == w.loc[victim, "case_id"]
    assert len(log) == 59 and log.rows_used == 118 and log.rows_in == 119


# ------------------------------------------------------------------ unusable files: one typed error each
def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(LogFileNotFoundError, match="no such file") as exc:
        flowopt.read_log(tmp_path / "nope.csv")
    assert isinstance(exc.value, FileNotFoundError)


def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(EmptyLogError, match="empty"):
        flowopt.read_log(_write(tmp_path / "e.csv", b""))


def test_whitespace_only_file(tmp_path: Path) -> None:
    with pytest.raises(EmptyLogError, match="empty"):
        flowopt.read_log(_write(tmp_path / "e.csv", b"\n\n  \n"))


def test_header_only(tmp_path: Path) -> None:
    with pytest.raises(EmptyLogError, match="no data rows"):
        flowopt.read_log(_write(tmp_path / "h.csv", b"case_id,activity,timestamp\n"))


def test_binary_garbage(tmp_path: Path) -> None:
    data = bytes(range(256)) * 64
    with pytest.raises(LogReadError, match="binary"):
        flowopt.read_log(_write(tmp_path / "g.csv", data))


def test_unknown_extension(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedFormatError, match="extension"):
        flowopt.read_log(_write(tmp_path / "log.xlsx", b"PK\x03\x04 not really"))


def test_folder_is_not_a_log(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedFormatError, match="folder"):
        flowopt.read_log(tmp_path)


def test_not_a_path() -> None:
    with pytest.raises(UnsupportedFormatError, match="DataFrame"):
        flowopt.read_log(42)  # type: ignore[arg-type]


def test_truncated_gzip_csv(tmp_path: Path) -> None:
    body = ("case_id,activity,timestamp\n" + "".join(f"c{i},a{i % 5},2024-01-01 10:{i % 60:02d}\n"
                                                      for i in range(5000))).encode()
    data = gzip.compress(body)
    with pytest.raises(LogReadError, match="corrupt or truncated"):
        flowopt.read_log(_write(tmp_path / "t.csv.gz", data[: len(data) // 2]))


def test_parquet_that_is_not_parquet(tmp_path: Path) -> None:
    with pytest.raises(LogReadError, match="Parquet"):
        flowopt.read_log(_write(tmp_path / "x.parquet", b"case,activity\n1,a\n"))


def test_parquet_with_csv_name(tmp_path: Path) -> None:
    path = tmp_path / "real.csv"
    pd.DataFrame({"case_id": ["1"], "activity": ["a"], "timestamp": ["2024-01-01"]}).to_parquet(path)
    with pytest.raises(UnsupportedFormatError, match="Parquet"):
        flowopt.read_log(path)


def test_parquet_roundtrip(tmp_path: Path) -> None:
    path = tmp_path / "ok.parquet"
    pd.DataFrame({"case_id": ["NA", "NA", "2"], "activity": ["a", "b", "a"],
                  "timestamp": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"])}).to_parquet(path)
    log = flowopt.read_log(path)
    assert (len(log), log.n_cases) == (3, 2)
    assert "NA" in set(log.to_pandas()["case_id"])


def test_missing_case_column(tmp_path: Path) -> None:
    path = _write(tmp_path / "m.csv", b"activity,timestamp\na,2024-01-01\n")
    with pytest.raises(ColumnDetectionError, match="no column found for case") as exc:
        flowopt.read_log(path)
    assert exc.value.field == "case" and exc.value.columns == ["activity", "timestamp"]
    assert "[columns]" in str(exc.value)


def test_missing_activity_column(tmp_path: Path) -> None:
    path = _write(tmp_path / "m.csv", b"case_id,timestamp\n1,2024-01-01\n")
    with pytest.raises(ColumnDetectionError, match="activity"):
        flowopt.read_log(path)


def test_ambiguous_columns_list_columns_and_config_lines(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.csv", b"case_id,activity,task,timestamp\n1,a,b,2024-01-01\n")
    with pytest.raises(ColumnDetectionError) as exc:
        flowopt.read_log(path)
    msg = str(exc.value)
    assert "'activity'" in msg and "'task'" in msg
    assert "[columns]" in msg and 'activity = "' in msg
    assert "case_id, activity, task, timestamp" in msg
    assert exc.value.columns == ["case_id", "activity", "task", "timestamp"]


# ------------------------------------------------------------------ delimiters, encodings, Chinese headers
ZH = "案件编号,活动,时间,处理人\nNA,提交申请,2024-03-01 09:00:00,张三\nNA,分行行长审批,2024-03-01 11:00:00,李四\n" \
     "A2,提交申请,2024-03-02 09:00:00,张三\n"


@pytest.mark.parametrize("delim", [";", "\t", "|"])
def test_delimiters(tmp_path: Path, delim: str) -> None:
    path = tmp_path / ("log.tsv" if delim == "\t" else "log.csv")
    path.write_text(ZH.replace(",", delim), encoding="utf-8")
    log = flowopt.read_log(path)
    assert (len(log), log.n_cases) == (3, 2)
    assert log.mapping == {"case": "案件编号", "activity": "活动", "resource": "处理人", "end": "时间"}


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig", "utf-8"])
def test_encodings_and_chinese_headers(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "zh.csv"
    path.write_bytes(ZH.encode(encoding))
    log = flowopt.read_log(path)
    df = log.to_pandas()
    assert list(df.columns[:5]) == ["case_id", "activity", "start", "end", "resource"]
    assert set(df["activity"].astype(str)) == {"提交申请", "分行行长审批"}
    assert set(df["resource"].astype(str)) == {"张三", "李四"}
    assert sorted(set(df["case_id"])) == ["A2", "NA"]


def test_gzip_csv_with_configured_encoding(tmp_path: Path) -> None:
    path = tmp_path / "zh.csv.gz"
    path.write_bytes(gzip.compress(ZH.encode("gbk")))
    log = flowopt.read_log(path, {"read": {"encoding": "gbk"}})
    assert len(log) == 3 and "分行行长审批" in log.activities


def test_na_case_id_stays_a_real_id(tmp_path: Path) -> None:
    path = tmp_path / "na.csv"
    path.write_text("case_id,activity,timestamp\nNA,a,2024-01-01\nNA,b,2024-01-02\nN/A,a,2024-01-03\n"
                    "null,a,2024-01-04\n", encoding="utf-8")
    log = flowopt.read_log(path)
    assert log.quarantine.empty
    assert sorted(set(log.to_pandas()["case_id"])) == ["N/A", "NA", "null"]
    df = pd.DataFrame({"case_id": ["NA", "NA"], "activity": ["a", "b"], "timestamp": ["2024-01-01", "2024-01-02"]})
    assert flowopt.read_log(df).n_cases == 1


def test_leading_zero_ids_stay_text(tmp_path: Path) -> None:
    path = tmp_path / "z.csv"
    path.write_text("case_id,activity,timestamp\n0012,a,2024-01-01\n12,a,2024-01-02\n", encoding="utf-8")
    assert sorted(flowopt.read_log(path).to_pandas()["case_id"]) == ["0012", "12"]


def test_quoted_newlines_and_a_malformed_row(tmp_path: Path) -> None:
    path = tmp_path / "nl.csv"
    path.write_text('case_id,activity,timestamp,note\n1,a,2024-01-01,"two\nlines"\n1,b,2024-01-02,x,surplus\n'
                    '2,a,2024-01-03,"y"\n2,b,not a time,z\n', encoding="utf-8")
    with pytest.warns(RowsDroppedWarning):
        log = flowopt.read_log(path)
    assert log.to_pandas()["note"].tolist() == ["two\nlines", "y"]
    q = log.quarantine.set_index("row")["reason"].to_dict()
    assert q == {2: R.MALFORMED_ROW.value, 4: R.BAD_TIMESTAMP.value}
    assert log.rows_in == 4 == log.rows_used + len(log.quarantine)


def test_explicit_order_column_breaks_ties(tmp_path: Path) -> None:
    # same date for every event: the .order column, not the file's row order, decides
    path = tmp_path / "o.csv"
    path.write_text("case_id,activity,timestamp,.order\nA,third,2024-01-01,3\nA,first,2024-01-01,1\n"
                    "A,second,2024-01-01,2\n", encoding="utf-8")
    log = flowopt.read_log(path)
    assert log.mapping["order"] == ".order"
    assert log.to_pandas()["activity"].astype(str).tolist() == ["first", "second", "third"]
    # without it, ties keep the file's order
    no_order = flowopt.read_log(pd.read_csv(path, dtype=str).drop(columns=[".order"]))
    assert no_order.to_pandas()["activity"].astype(str).tolist() == ["third", "first", "second"]


def test_dataframe_with_missing_values_and_categoricals() -> None:
    df = pd.DataFrame({"case_id": pd.Categorical(["1", None, "2", "2"]), "activity": ["a", "b", None, "c"],
                       "timestamp": ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"]})
    with pytest.warns(RowsDroppedWarning):
        log = flowopt.read_log(df)
    assert sorted(log.quarantine["reason"]) == sorted([R.MISSING_CASE.value, R.MISSING_ACTIVITY.value])
    assert len(log) == 2 and log.n_cases == 2


def test_pm4py_event_log_object(data_dir: Path) -> None:
    from flowopt.io._pm4py import import_pm4py

    pm4py = import_pm4py()
    df = pm4py.read_xes(str(data_dir / "running-example.xes"))
    obj = pm4py.convert_to_event_log(df)
    log = flowopt.read_log(obj)
    assert (len(log), log.n_cases) == (42, 6)
    assert log.source.startswith("<pm4py")


def test_quoted_line_breaks_across_many_blocks_read_as_in_one(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Files are parsed in blocks of about 1/32 of their size: a value with a line break that a block boundary
    cuts must read as it does in one block — on the typed route and on the text route (with a malformed row)."""
    import flowopt.io._csv as csv_module

    rows = [f'c{i // 3},A{i % 3},2024-01-{1 + i % 9:02d}T10:{i % 60:02d}:00Z,"line one\nline two {i}"'
            for i in range(3000)]
    clean = tmp_path / "clean.csv"
    clean.write_text("case,activity,time,note\n" + "\n".join(rows) + "\n", encoding="utf-8")
    messy = tmp_path / "messy.csv"
    messy.write_text("case,activity,time,note\n" + "\n".join(rows[:1500] + ["c9,A1,2024-01-02,x,surplus"]
                                                           + rows[1500:]) + "\n", encoding="utf-8")
    cfg = {"columns": {"case": "case", "activity": "activity", "end": "time"}}
    monkeypatch.setattr(csv_module, "_BLOCK_MIN", 1 << 30)  # one block
    whole = flowopt.read_log(clean, cfg)
    with pytest.warns(RowsDroppedWarning):
        whole_messy = flowopt.read_log(messy, cfg)
    monkeypatch.setattr(csv_module, "_BLOCK_MIN", 1024)  # ~1/32 of the file: boundaries inside quoted values
    monkeypatch.setattr(csv_module, "_BLOCK", 4096)
    assert csv_module._block_size(clean) == 4096
    cut = flowopt.read_log(clean, cfg)
    with pytest.warns(RowsDroppedWarning):
        cut_messy = flowopt.read_log(messy, cfg)
    assert len(whole) == 3000 and whole.to_pandas()["note"].iloc[0] == "line one\nline two 0"
    pd.testing.assert_frame_equal(whole.frame, cut.frame, check_exact=True)
    pd.testing.assert_frame_equal(whole_messy.frame, cut_messy.frame, check_exact=True)
    pd.testing.assert_frame_equal(whole_messy.quarantine, cut_messy.quarantine, check_exact=True)
    assert cut_messy.quarantine["reason"].tolist() == [R.MALFORMED_ROW.value]


def test_block_size_is_about_a_32nd_of_the_file_within_bounds(tmp_path: Path) -> None:
    from flowopt.io._csv import _BLOCK, _BLOCK_MIN, _block_size

    small = tmp_path / "s.csv"
    small.write_bytes(b"a\n" * 10)
    assert _block_size(small) == _BLOCK_MIN
    mid = tmp_path / "m.csv"
    with mid.open("wb") as fh:
        fh.truncate(96 << 20)  # 96 MB (sparse)
    assert _block_size(mid) == 3 << 20
    with mid.open("r+b") as fh:
        fh.truncate(1 << 30)
    assert _block_size(mid) == _BLOCK
    assert _block_size(tmp_path / "missing.csv") == _BLOCK
