"""flowopt leaves the process's memory settings to NumPy and Arrow (user guide §7): reading and analysing a log
neither switches NumPy's huge-page advice nor changes Arrow's default memory pool, not even for a while."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import flowopt
from flowopt.datasets import example_config_path, example_log_path

try:
    from numpy._core import multiarray
except ImportError:  # pragma: no cover - NumPy 1.x
    from numpy.core import multiarray  # type: ignore[no-redef]


def test_reading_and_analysing_leave_memory_settings_alone(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    frame = pd.read_csv(example_log_path())
    parquet = tmp_path / "log.parquet"
    frame.to_parquet(parquet)
    changes: list[Any] = []
    monkeypatch.setattr(pa, "set_memory_pool", lambda pool: changes.append(("arrow pool", pool)))
    if hasattr(multiarray, "_set_madvise_hugepage"):
        monkeypatch.setattr(multiarray, "_set_madvise_hugepage", lambda on: changes.append(("huge pages", on)))
    pool = pa.default_memory_pool().backend_name
    logs = [flowopt.read_log(source, example_config_path()) for source in (example_log_path(), parquet, frame)]
    analysis = flowopt.analyze(logs[0])
    assert changes == []
    assert pa.default_memory_pool().backend_name == pool
    # the three routes read the same events (so each really ran)
    assert len(analysis.findings) > 0 and len({len(log) for log in logs}) == 1
    assert np.array_equal(logs[0].frame["end"].to_numpy(), logs[1].frame["end"].to_numpy())
