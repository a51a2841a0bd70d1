"""The benchmark harness itself: every task runs on a small generated log, and the approaches agree.

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


def test_every_approach_finds_the_floors_edges(harness: tuple[Any, dict[str, str]]) -> None:
    tasks, paths = harness
    floor = _run(tasks, "floor_dfg", paths)
    assert floor and sum(floor.values()) > 1_000
    for name in ("floor_full", "flowopt_dfg", "flowopt_full", "duckdb_dfg", "duckdb_full", "pm4py_dfg",
                 "pm4py_full", "analyze_flowopt"):
        assert _run(tasks, name, paths) == floor, name


def test_every_reader_reads_every_row(harness: tuple[Any, dict[str, str]]) -> None:
    import pyarrow.parquet as pq

    tasks, paths = harness
    rows = pq.read_metadata(paths["parquet"]).num_rows
    names = ["csv_flowopt", "csv_canonical", "csv_pyarrow", "csv_pandas_pm4py", "parquet_flowopt",
             "parquet_canonical", "parquet_pyarrow"]
    if importlib.util.find_spec("polars") is not None:  # an anchor pip-installed by hand, not a dependency
        names.append("parquet_polars")
    for name in names:
        assert _run(tasks, name, paths) == rows, name
