"""Parquet files whose id columns are plain text (as Spark, DuckDB or pyarrow write them from strings): the
mapped id columns are read as dictionaries, and the log, the quarantine and the counts are exactly those of
reading them as text."""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import flowopt
import flowopt.log._read as read_module
from flowopt.datasets import generate_lending_log
from flowopt.errors import EmptyLogError, QuarantineReason, RowsDroppedWarning
from flowopt.io._sources import _read_parquet

CFG = {"columns": {"case": "case_id", "activity": "activity", "start": "start", "end": "end",
                   "resource": "resource", "role": "role", "outcome": "outcome"}}


def _plain_text_file(path: Path, frame: pd.DataFrame, row_group_size: int | None) -> None:
    """``frame`` written with every text column as plain Arrow strings (no pandas categories, no metadata)."""
    columns = {}
    for name in frame.columns:
        col = frame[name]
        if isinstance(col.dtype, pd.CategoricalDtype) or col.dtype == object or pd.api.types.is_string_dtype(col):
            columns[name] = pa.array(col.astype(object).where(col.notna(), None).tolist(), pa.string())
        else:
            columns[name] = pa.Array.from_pandas(col)
    pq.write_table(pa.table(columns), path, row_group_size=row_group_size)


def _both(path: Path, config: dict, monkeypatch: pytest.MonkeyPatch) -> tuple[flowopt.EventLog, flowopt.EventLog]:
    """The log read with the id columns as dictionaries, and as text (the route before, forced)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RowsDroppedWarning)
        fast = flowopt.read_log(path, config)
        with monkeypatch.context() as m:
            m.setattr(read_module, "_category_columns", lambda names, cfg: [])
            text = flowopt.read_log(path, config)
    return fast, text


def _assert_same(a: flowopt.EventLog, b: flowopt.EventLog) -> None:
    pd.testing.assert_frame_equal(a.frame, b.frame, check_exact=True)
    pd.testing.assert_frame_equal(a.quarantine, b.quarantine, check_exact=True)  # dtypes included
    assert (a.rows_in, a.rows_used) == (b.rows_in, b.rows_used)


def _dirty(frame: pd.DataFrame) -> pd.DataFrame:
    f = frame.copy()
    for col in ("case_id", "activity", "resource", "role", "outcome", "channel"):
        f[col] = f[col].astype(object)
    f.loc[f.index[3], "case_id"] = None  # missing case id
    f.loc[f.index[8], "activity"] = None  # missing activity
    f.loc[f.index[11], "activity"] = "审批-驳回"  # a Chinese activity name, as any other
    f.loc[f.index[15], "resource"] = None  # a missing resource is allowed
    f.loc[f.index[21], "end"] = f.loc[f.index[21], "start"] - pd.Timedelta(hours=1)  # end before start
    return pd.concat([f, f.iloc[[30, 31]]], ignore_index=True)  # two exact duplicates


@pytest.mark.parametrize("row_group_size", [None, 1, 53])  # one row group; many (read in two halves)
def test_plain_text_ids_read_as_dictionaries_give_the_text_read_log(tmp_path: Path, row_group_size: int | None,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "plain.parquet"
    _plain_text_file(path, _dirty(generate_lending_log(40, seed=11).frame), row_group_size)
    assert pq.read_schema(path).field("case_id").type == pa.string()
    # the route is taken: the mapped text columns arrive as categoricals, the others as text
    frame, text_dtypes = _read_parquet(path, None, lambda names: ["case_id", "activity", "resource"])
    assert all(isinstance(frame[c].dtype, pd.CategoricalDtype) for c in ("case_id", "activity", "resource"))
    assert not isinstance(frame["channel"].dtype, pd.CategoricalDtype)
    plain, none = _read_parquet(path)
    assert none == {}
    assert text_dtypes == {c: plain[c].dtype for c in ("case_id", "activity", "resource")}
    pd.testing.assert_frame_equal(frame, plain, check_exact=True, check_dtype=False, check_categorical=False)

    fast, text = _both(path, CFG, monkeypatch)
    _assert_same(fast, text)
    reasons = set(fast.quarantine["reason"])
    assert {r.value for r in (QuarantineReason.MISSING_CASE, QuarantineReason.MISSING_ACTIVITY,
                              QuarantineReason.END_BEFORE_START, QuarantineReason.DUPLICATE)} <= reasons, reasons
    assert "审批-驳回" in set(fast.frame["activity"].astype(str))
    # the quarantine shows the file's text, not categories
    for c in ("case_id", "activity", "resource", "role", "outcome"):
        assert fast.quarantine[c].dtype == plain[c].dtype


@pytest.mark.parametrize("row_group_size", [None, 7])
def test_text_ids_in_time_order_arrive_with_sorted_categories(tmp_path: Path, row_group_size: int | None,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A log stored in time order (its dictionaries follow the rows, not the ids' order): the id columns read as
    dictionaries arrive with sorted categories (as the build wants them), the same values row by row; a column
    the file stores as categories of its own keeps their order; the log is the text read's."""
    f = generate_lending_log(30, seed=4).frame.sort_values(["end", "case_id"], kind="stable", ignore_index=True)
    path = tmp_path / "time_order.parquet"
    _plain_text_file(path, f, row_group_size)
    table = pq.read_table(path)
    own = pa.array(["z", "a", "m"] * (len(f) // 3) + ["z"] * (len(f) % 3)).dictionary_encode()
    assert own.dictionary.to_pylist() == ["z", "a", "m"]
    pq.write_table(table.append_column("kind", own), path, row_group_size=row_group_size)
    frame, _ = _read_parquet(path, None, lambda names: ["case_id", "activity", "resource"])
    for c in ("case_id", "activity", "resource"):
        cats = list(frame[c].cat.categories)
        assert cats == sorted(cats, key=lambda t: t.encode("utf-8")), c
        assert frame[c].astype(object).tolist() == f[c].astype(object).tolist(), c
    assert list(frame["kind"].cat.categories) == ["z", "a", "m"]
    fast, text = _both(path, CFG, monkeypatch)
    _assert_same(fast, text)


def test_a_text_column_mapped_as_a_time_stays_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Times written as text are parsed from the text, whatever the id columns' route."""
    f = generate_lending_log(10, seed=2).frame
    f = f.assign(start=f["start"].dt.strftime("%Y-%m-%d %H:%M:%S"), end=f["end"].dt.strftime("%Y-%m-%d %H:%M:%S"))
    path = tmp_path / "text_times.parquet"
    _plain_text_file(path, f, None)
    frame, text_dtypes = _read_parquet(path, None, lambda names: read_module._category_columns(names,
                                                                                               flowopt.load_config(CFG)))
    assert "start" not in text_dtypes and not isinstance(frame["start"].dtype, pd.CategoricalDtype)
    _assert_same(*_both(path, CFG, monkeypatch))


_TEXTS = st.sampled_from(["a", "b", "a ", " a", "", "A", "nan", "None", "审批-驳回", "c,d", None])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(_TEXTS, _TEXTS, _TEXTS, st.integers(0, 5), st.integers(0, 3)), min_size=1,
                     max_size=25),
       row_group_size=st.sampled_from([None, 1, 4]))
def test_any_text_values_give_the_text_read_log(rows: list[tuple], row_group_size: int | None,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Blank, padded, look-alike or missing ids: the dictionary route and the text route agree, row for row."""
    base = pd.Timestamp("2024-03-01", tz="UTC")
    frame = pd.DataFrame({
        "case_id": [r[0] for r in rows], "activity": [r[1] for r in rows], "resource": [r[2] for r in rows],
        "start": [base + pd.Timedelta(hours=r[3]) for r in rows],
        "end": [base + pd.Timedelta(hours=r[3] + r[4]) for r in rows],
    })
    config = {"columns": {"case": "case_id", "activity": "activity", "start": "start", "end": "end",
                          "resource": "resource"}}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "log.parquet"
        _plain_text_file(path, frame, row_group_size)
        try:
            fast, text = _both(path, config, monkeypatch)
        except EmptyLogError as exc:  # every row quarantined: the same error, with the same rows
            with monkeypatch.context() as m:
                m.setattr(read_module, "_category_columns", lambda names, cfg: [])
                with pytest.raises(EmptyLogError) as other:
                    flowopt.read_log(path, config)
            assert str(other.value) == str(exc)
            pd.testing.assert_frame_equal(other.value.failure_cases, exc.failure_cases, check_exact=True)
            return
    _assert_same(fast, text)


def test_large_strings_and_columns_with_no_value_give_the_text_read_log(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Case ids as ``large_string``, a resource column with no value at all, a role column of Arrow's null type."""
    base = pd.Timestamp("2024-01-01", tz="UTC")
    n = 50
    table = pa.table({
        "case_id": pa.array([f"c{i % 7}" for i in range(n)], pa.large_string()),
        "activity": pa.array([["a", "审批-驳回", None][i % 3] for i in range(n)], pa.string()),
        "resource": pa.array([None] * n, pa.string()),
        "role": pa.array([None] * n, pa.null()),
        "start": pa.array([base + pd.Timedelta(hours=i) for i in range(n)]),
        "end": pa.array([base + pd.Timedelta(hours=i + 1) for i in range(n)]),
    })
    path = tmp_path / "edge.parquet"
    pq.write_table(table, path, row_group_size=10)
    config = {"columns": {"case": "case_id", "activity": "activity", "start": "start", "end": "end",
                          "resource": "resource", "role": "role"}}
    frame, text_dtypes = _read_parquet(path, None, lambda names: ["case_id", "activity", "resource", "role"])
    assert set(text_dtypes) == {"case_id", "activity", "resource"}  # the null-typed column is not text
    assert isinstance(frame["case_id"].dtype, pd.CategoricalDtype)
    fast, text = _both(path, config, monkeypatch)
    _assert_same(fast, text)
    assert len(fast.quarantine) == 16 and len(fast.frame) == 34
