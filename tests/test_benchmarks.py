"""The benchmark harness itself: every task runs on a small generated log, and the approaches agree (the same
edges; every row read; the direct pyarrow pipeline's frame in read_log's order).

``benchmarks/run.py`` runs the same tasks in fresh processes on 1M and 10M events; here they run in this
process on ~2,000 events, so a broken anchor or a disagreement shows up in the suite, not on benchmark day.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, str]]:
    data = _load("_data")
    setattr(data, "CACHE", tmp_path_factory.mktemp("bench_cache"))  # noqa: B010 - a loaded module's global
    tasks = _load("_tasks")
    return tasks, data.dataset(2_000)


def _run(tasks: Any, name: str, paths: dict[str, str]) -> Any:
    prepare, run = tasks.TASKS[name]
    return run(prepare(paths))


_HAS_PM4PY = importlib.util.find_spec("pm4py") is not None  # an optional extra: its anchors need it


def test_every_approach_finds_the_floors_edges(harness: tuple[Any, dict[str, str]]) -> None:
    tasks, paths = harness
    floor = _run(tasks, "floor_dfg", paths)
    assert floor and sum(floor.values()) > 1_000
    for name in ("floor_full", "flowopt_dfg", "flowopt_full", "duckdb_dfg", "duckdb_full", "analyze_flowopt") \
            + (("pm4py_dfg", "pm4py_full") if _HAS_PM4PY else ()):
        assert _run(tasks, name, paths) == floor, name


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_the_direct_pyarrow_pipeline_builds_read_logs_frame(harness: tuple[Any, dict[str, str]], kind: str) -> None:
    """The reading row labelled "same frame by a pyarrow pipeline" really gives read_log's rows in its order."""
    import flowopt

    tasks, paths = harness
    cfg = tasks._config(paths)
    cols = cfg["columns"]
    direct = tasks._canonical_frame(paths, kind)
    log = flowopt.read_log(paths[kind], cfg).frame
    for field, col in (("case_id", cols["case"]), ("activity", cols["activity"])):
        assert direct[col].astype(str).tolist() == log[field].astype(str).tolist(), field
    assert (direct[cols["end"]].dt.tz_convert("UTC").to_numpy() == log["end"].to_numpy()).all()


def test_every_reader_reads_every_row(harness: tuple[Any, dict[str, str]]) -> None:
    import pyarrow.parquet as pq

    tasks, paths = harness
    rows = pq.read_metadata(paths["parquet"]).num_rows
    names = ["csv_flowopt", "csv_canonical", "csv_pyarrow", "parquet_flowopt", "parquet_canonical",
             "parquet_pyarrow", "textparquet_flowopt", "textparquet_pyarrow", "timeparquet_flowopt"] \
        + (["csv_pandas_pm4py"] if _HAS_PM4PY else [])
    if importlib.util.find_spec("polars") is not None:  # an anchor pip-installed by hand, not a dependency
        names += ["parquet_polars", "textparquet_polars", "timeparquet_polars"]
    for name in names:
        assert _run(tasks, name, paths) == rows, name


def test_the_text_parquet_holds_the_same_rows_with_plain_text_ids(harness: tuple[Any, dict[str, str]]) -> None:
    """The "ids as plain text" rows read the same log from a file whose id columns are plain strings."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    import flowopt

    tasks, paths = harness
    schema = pq.read_schema(paths["parquet_text"])
    assert schema.field("case_id").type == pa.string() and schema.metadata is None
    assert pa.types.is_dictionary(pq.read_schema(paths["parquet"]).field("case_id").type)
    cfg = tasks._config(paths)
    text, typed = flowopt.read_log(paths["parquet_text"], cfg).frame, flowopt.read_log(paths["parquet"], cfg).frame
    assert isinstance(typed["channel"].dtype, pd.CategoricalDtype)  # an extra column: kept as the file has it
    typed["channel"] = typed["channel"].astype(text["channel"].dtype)
    pd.testing.assert_frame_equal(text, typed, check_exact=True)


def test_the_time_ordered_parquet_holds_the_same_events_with_cases_interleaved(
        harness: tuple[Any, dict[str, str]]) -> None:
    import pyarrow.parquet as pq

    import flowopt

    tasks, paths = harness
    ends = pq.read_table(paths["parquet_time"], columns=["end", "case_id"])
    assert ends.column("end").to_pandas().is_monotonic_increasing
    assert not ends.column("case_id").to_pandas().is_monotonic_increasing  # the cases interleave
    cfg = tasks._config(paths)
    keys = ["case_id", "end", "start", "activity"]
    by_time = flowopt.read_log(paths["parquet_time"], cfg).frame.drop(columns="_row", errors="ignore")
    by_case = flowopt.read_log(paths["parquet_text"], cfg).frame.drop(columns="_row", errors="ignore")
    assert len(by_time) == len(by_case)
    a = by_time.astype({"case_id": str, "activity": str}).sort_values(keys, kind="stable").reset_index(drop=True)
    b = by_case.astype({"case_id": str, "activity": str}).sort_values(keys, kind="stable").reset_index(drop=True)
    assert (a[keys] == b[keys]).all().all()
