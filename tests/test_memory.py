"""read_log and analyze run with NumPy's huge-page advice off and leave it as they found it."""

from __future__ import annotations

import threading

import pytest

import flowopt
from flowopt import _memory


def _numpy_switch():  # type: ignore[no-untyped-def]
    from numpy._core import multiarray

    return multiarray._set_madvise_hugepage


def test_read_log_and_analyze_switch_huge_pages_off_and_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NUMPY_MADVISE_HUGEPAGE", raising=False)
    switch = _numpy_switch()
    seen: dict[str, bool] = {}

    def recording(name: str, fn):  # type: ignore[no-untyped-def]
        def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
            seen[name] = switch(False)  # the setting inside the call (set to what it was)
            return fn(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(flowopt.log._read, "load_config", recording("read_log", flowopt.log._read.load_config))
    monkeypatch.setattr(flowopt._analyze, "log_summary", recording("analyze", flowopt._analyze.log_summary))
    example = flowopt.datasets.example_log()
    for before in (True, False):
        switch(before)
        seen.clear()
        flowopt.analyze(flowopt.read_log(example.frame, example.config))
        assert seen == {"read_log": False, "analyze": False}
        assert switch(before) == before  # restored on exit


def test_nested_and_concurrent_calls_share_one_switch_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NUMPY_MADVISE_HUGEPAGE", raising=False)
    switch = _numpy_switch()
    switch(True)
    inside = threading.Barrier(3)
    states: list[bool] = []

    def work() -> None:
        with _memory.small_pages():
            inside.wait()
            with _memory.small_pages():
                states.append(switch(False))
            inside.wait()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    inside.wait()
    inside.wait()
    for t in threads:
        t.join()
    assert states == [False, False]
    assert switch(True) is True  # back on once the last one left


def test_the_users_own_setting_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUMPY_MADVISE_HUGEPAGE", "1")
    switch = _numpy_switch()
    switch(True)
    with _memory.small_pages():
        assert switch(True) is True


def test_restored_when_reading_fails(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("NUMPY_MADVISE_HUGEPAGE", raising=False)
    switch = _numpy_switch()
    switch(True)
    with pytest.raises(flowopt.errors.LogFileNotFoundError):
        flowopt.read_log(tmp_path / "missing.csv")
    assert switch(True) is True


def test_the_parquet_read_takes_arrows_system_pool_and_restores_the_default(
        monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pyarrow as pa

    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL", raising=False)
    before = pa.default_memory_pool().backend_name
    seen: list[str] = []
    real = flowopt.io._sources._read_parquet_frame

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(pa.default_memory_pool().backend_name)
        return real(*args, **kwargs)

    monkeypatch.setattr(flowopt.io._sources, "_read_parquet_frame", spy)
    example = flowopt.datasets.example_log()
    path = tmp_path / "log.parquet"
    example.frame.to_parquet(path)
    log = flowopt.read_log(path, example.config)
    assert len(log) == len(example.frame)
    assert seen == ["system"] and pa.default_memory_pool().backend_name == before
    with _memory.arrow_system_pool():  # nested: one switch, undone by the outermost exit
        with _memory.arrow_system_pool():
            assert pa.default_memory_pool().backend_name == "system"
        assert pa.default_memory_pool().backend_name == "system"
    assert pa.default_memory_pool().backend_name == before
    monkeypatch.setenv("ARROW_DEFAULT_MEMORY_POOL", before)  # the user's own choice: left alone
    with _memory.arrow_system_pool():
        assert pa.default_memory_pool().backend_name == before
