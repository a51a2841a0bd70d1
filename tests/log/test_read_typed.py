"""read_log's typed CSV route (ids as categories, ISO times as timestamps) gives exactly the text route's log.

Each input is read twice: as read_log does it, and with the typed route switched off (the text read, the
reference). Frames, quarantines, warnings and counts must be identical, dtypes and category order included.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import flowopt
from flowopt.datasets import generate_lending_log
from flowopt.log import _read
from flowopt.options import load_config
from strategies import raw_logs

HDR = "case_id,activity,start,end,resource,role,amount\n"
# more rows than the typed route samples to choose the time columns' types: the odd rows below come after
GOOD = [f"C{i:04d},Act{i % 5},2024-01-0{1 + i % 8}T08:00:00Z,2024-01-0{1 + i % 8}T09:{i % 60:02d}:00Z,"
        f"user{i % 3},ROLE{i % 2},{100 + i}" for i in range(2100)]
ROW = "C900,Act1,2024-01-01T08:00:00Z,2024-01-01T09:00:00Z,u,R,5"

# name: (extra or replacing lines, config, does the typed route keep it)
CASES: dict[str, tuple[list[str], dict[str, Any] | None, bool]] = {
    "clean": ([], None, True),
    "junk time": (["C900,Act1,2024-01-01T08:00:00Z,not a time,u,R,5"], None, False),
    "naive next to zoned": (["C900,Act1,2024-01-01 08:00:00,2024-01-01 09:00:00,u,R,5"], None, False),
    "out of range": (["C900,Act1,1500-01-01T08:00:00Z,1500-01-01T09:00:00Z,u,R,5"], None, False),
    "empty case": ([ROW.replace("C900", "")], None, False),
    "blank case": ([ROW.replace("C900", "   ")], None, False),
    "blank activity": ([ROW.replace("Act1", "  ")], None, False),
    "padded ids": ([" C0001 , Act1 ,2024-01-01T08:00:00Z,2024-01-01T09:00:00Z,  user1  , ROLE1 ,5"], None, True),
    "padded time": ([ROW.replace("T09:00:00Z", "T09:00:00Z ")], None, False),
    "text amount": ([ROW.replace(",5", ",abc")], None, True),
    "hex amount": ([ROW.replace(",5", ",0x10")], None, True),
    "duplicates": (GOOD[:3], None, False),
    "duplicates kept": (GOOD[:3], {"read": {"drop_duplicates": False}}, True),
    "malformed line": (["C900,Act1,2024-01-01T08:00:00Z"], None, False),
    "zero-padded and NA ids": ([ROW.replace("C900", "0012"), ROW.replace("C900", "NA").replace(",u,", ",NA,")],
                               None, True),
    "chinese": ([ROW.replace("Act1", "审批-驳回").replace(",u,", ",张三,")], None, True),
    "end before start": (["C900,Act1,2024-01-02T08:00:00Z,2024-01-01T09:00:00Z,u,R,5"], None, False),
    "empty start": ([ROW.replace("2024-01-01T08:00:00Z", "")], None, True),
    "empty resource": ([ROW.replace(",u,R,", ",,,")], None, True),
    "nanoseconds": ([ROW.replace("09:00:00Z", "09:00:00.123456789Z")], None, False),
    "min year": ([], {"read": {"min_year": 2024, "max_year": 2024}}, True),
}


def _both(path: Path, config: Any) -> tuple[Any, Any]:
    """(read_log as it is, read_log with the typed route off): each a log with its warnings, or an error."""
    out = []
    for typed in (True, False):
        with warnings.catch_warnings(record=True) as caught, pytest.MonkeyPatch.context() as mp:
            warnings.simplefilter("always")
            if not typed:
                mp.setattr(_read, "_read_typed", lambda source, cfg: None)
            try:
                log: Any = flowopt.read_log(path, config)
            except Exception as exc:  # noqa: BLE001 - the same error must come from both routes
                log = f"{type(exc).__name__}: {exc}"
        out.append((log, [(w.category, str(w.message)) for w in caught]))
    return out[0], out[1]


def _assert_same(path: Path, config: Any = None) -> None:
    (a, wa), (b, wb) = _both(path, config)
    assert wa == wb
    if isinstance(a, str) or isinstance(b, str):
        assert a == b
        return
    for x, y in ((a.to_pandas(), b.to_pandas()), (a.quarantine, b.quarantine)):
        assert list(x.columns) == list(y.columns)
        assert [str(t) for t in x.dtypes] == [str(t) for t in y.dtypes]
        pd.testing.assert_frame_equal(x, y, check_exact=True, check_categorical=True)
        for c in x.columns:
            if isinstance(x[c].dtype, pd.CategoricalDtype):
                assert x[c].cat.categories.dtype == y[c].cat.categories.dtype
                assert list(x[c].cat.categories) == list(y[c].cat.categories)
                assert np.array_equal(x[c].cat.codes, y[c].cat.codes)
    assert (a.rows_in, a.rows_used, a.source, a.mapping) == (b.rows_in, b.rows_used, b.source, b.mapping)


def _kept(path: Path, config: Any = None) -> bool:
    return _read._read_typed(str(path), load_config(config)) is not None


def test_a_sample_that_reads_as_text_keeps_the_column_text(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"  # the odd time is in the sample: the column is read as text, parsed as before
    path.write_text(HDR + "\n".join([*GOOD[:30], ROW.replace("T09:00:00Z", "T09:00:00.123456789Z")]) + "\n",
                    encoding="utf-8")
    _assert_same(path)
    assert _kept(path)


@pytest.mark.parametrize("name", sorted(CASES))
def test_typed_route_matches_the_text_route(tmp_path: Path, name: str) -> None:
    lines, config, kept = CASES[name]
    path = tmp_path / "log.csv"
    path.write_text(HDR + "\n".join(GOOD + lines) + "\n", encoding="utf-8")
    _assert_same(path, config)
    assert _kept(path, config) == kept


@pytest.mark.parametrize("shape", ["interval", "lifecycle", "complete"])
@pytest.mark.parametrize("language", ["en", "zh"])
def test_generated_logs_take_the_typed_route(tmp_path: Path, shape: str, language: str) -> None:
    g = generate_lending_log(80, seed=5, shape=shape, language=language)  # type: ignore[arg-type]
    path = tmp_path / "log.csv"
    g.frame.to_csv(path, index=False)
    config = {k: v for k, v in g.config.items() if k in ("columns", "stages")}
    _assert_same(path, config)
    _assert_same(path)
    assert _kept(path, config)


def test_naive_times_in_a_configured_zone(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    naive = [ln.replace("T", " ").replace("Z", "") for ln in GOOD]
    path.write_text(HDR + "\n".join([*naive, "C9,A,2024-03-31 02:30:00,2024-10-27 02:30:00,u,R,1"]) + "\n",
                    encoding="utf-8")
    _assert_same(path, {"read": {"timezone": "Europe/Amsterdam"}})
    assert _kept(path, {"read": {"timezone": "Europe/Amsterdam"}})


def test_gzip_tsv_and_bom(tmp_path: Path) -> None:
    frame = generate_lending_log(40, seed=1).frame
    gz = tmp_path / "log.tsv.gz"
    frame.to_csv(gz, index=False, sep="\t", compression="gzip")
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + frame.to_csv(index=False).encode())
    for path in (gz, bom):
        _assert_same(path)
        assert _kept(path)


CELLS = {
    "id": st.sampled_from(["C1", "C2", "0012", "NA", " C1", "", "  ", "审批", "C3 "]),
    "time": st.sampled_from(["2024-01-01T08:00:00Z", "2024-01-01T09:30:00+08:00", "2024-01-01 08:00:00",
                             "2024-01-02", "junk", "", " 2024-01-01T08:00:00Z", "1500-01-01T00:00:00Z",
                             "2024-01-01T08:00:00.5Z", "1704096000"]),
    "amount": st.sampled_from(["1", "2.5", "x", "", "0x1", "NaN", "-3"]),
}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_mix_of_cells_reads_the_same_both_ways(tmp_path: Path, data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 12))
    clean = data.draw(st.booleans())  # mostly clean logs exercise the typed route's success
    rows = []
    for i in range(n):
        if clean:
            rows.append(f"C{i % 3},A{i % 2},2024-01-01T0{i % 10}:00:00Z,2024-01-01T0{i % 10}:30:00Z,u{i % 2},{i}")
            continue
        case, act = data.draw(CELLS["id"]), data.draw(CELLS["id"])
        start, end, amount = data.draw(CELLS["time"]), data.draw(CELLS["time"]), data.draw(CELLS["amount"])
        rows.append(f"{case},{act},{start},{end},{data.draw(CELLS['id'])},{amount}")
    path = tmp_path / "mix.csv"
    path.write_text("case_id,activity,start,end,resource,amount\n" + "\n".join(rows) + "\n", encoding="utf-8")
    _assert_same(path, data.draw(st.sampled_from([None, {"read": {"timezone": "Asia/Shanghai"}}])))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data(), shape=st.sampled_from(["complete", "interval", "lifecycle"]))
def test_generated_raw_logs_read_the_same_both_ways(tmp_path: Path, data: st.DataObject, shape: str) -> None:
    raw = data.draw(raw_logs(shape=shape))  # type: ignore[arg-type]
    path = tmp_path / "raw.csv"
    raw.frame.to_csv(path, index=False)
    _assert_same(path)



@pytest.mark.parametrize("mapping", [{"resource": "who", "role": "who"}, {"resource": "who", "role": "role"},
                                     {"activity": "case_id"}, {"start": "end"}])
def test_rows_moved_by_the_sort_with_columns_shared_or_not(tmp_path: Path, mapping: dict[str, str]) -> None:
    # stored by case, every 20th case's events in reverse time order: the sort moves few rows, which the typed
    # route moves in the codes' own memory, but never twice for a column two fields share
    header = ["case_id", "activity", "start", "end", "who", "role", "amount"]
    rows = []
    for c in range(300):
        events = [[f"C{c:03d}", f"Act{(c + k) % 6}", f"2024-02-01T0{k}:00:00Z", f"2024-02-01T0{k}:30:00Z",
                   f"u{(c * k) % 7}", f"R{k % 3}", "" if (c + k) % 5 == 0 else str(c * 10 + k)] for k in range(7)]
        rows += events[::-1] if c % 20 == 0 else events
    path = tmp_path / "log.csv"
    path.write_text(",".join(header) + "\n" + "\n".join(",".join(r) for r in rows) + "\n", encoding="utf-8")
    columns = {"case": "case_id", "activity": "activity", "start": "start", "end": "end", **mapping}
    config = {"columns": columns}
    _assert_same(path, config)
    assert _kept(path, config)
    log = flowopt.read_log(path, config)
    frame, source_rows = log.to_pandas(), log.frame["_row"].to_numpy()
    assert not np.array_equal(source_rows, np.arange(len(rows)))  # the sort moved rows
    for field, name in (("case_id", "case"), ("activity", "activity"), ("resource", "resource"), ("role", "role"),
                        ("start", "start"), ("end", "end")):
        if name in columns:
            at = header.index(columns[name])
            got = frame[field].dt.strftime("%Y-%m-%dT%H:%M:%SZ") if name in ("start", "end") else frame[field]
            assert got.astype(str).tolist() == [rows[r][at] for r in source_rows], field
    assert str(frame["amount"].dtype) == "Int64"  # an extra column of numbers, moved with the rows
    amounts = [rows[r][header.index("amount")] for r in source_rows]
    assert [None if pd.isna(x) else int(x) for x in frame["amount"]] == [int(a) if a else None for a in amounts]
