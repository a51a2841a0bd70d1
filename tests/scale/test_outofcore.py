"""DuckDB-over-Parquet (out of core) gives the same graph as the embedded engine."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import flowopt
from flowopt.datasets import generate_lending_log
from flowopt.discovery._outofcore import discover_graph_parquet


def _logs() -> dict[str, flowopt.EventLog]:
    gen = generate_lending_log(300, seed=3, problems=("batching", "rework", "sequential_signoffs"))
    comp = generate_lending_log(150, seed=5, problems=("rework",), shape="complete", language="zh")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {"example": flowopt.datasets.example_log(), "generated": flowopt.read_log(gen.frame, gen.config),
                "completion_only_zh": flowopt.read_log(comp.frame, comp.config)}


LOGS = _logs()


def _write(log: flowopt.EventLog, path, parts: int = 1) -> list[str]:
    df = log.to_pandas()[["case_id", "activity", "start", "end"]].astype({"case_id": str, "activity": str})
    df["order"] = np.arange(len(df), dtype=np.int64)
    # split by case into several files, as an ingestion job would write them
    codes = pd.factorize(df["case_id"])[0] % parts
    out = []
    for k in range(parts):
        p = path / f"part-{k}.parquet"
        df[codes == k].to_parquet(p, index=False)
        out.append(str(p))
    return out


@pytest.mark.parametrize("name", sorted(LOGS))
def test_parquet_graph_equals_embedded(tmp_path, name) -> None:
    log = LOGS[name]
    files = _write(log, tmp_path, parts=3)
    local = flowopt.discover_graph(log)
    ooc = discover_graph_parquet(files, memory_limit="256MB", threads=1, temp_directory=str(tmp_path / "spill"),
                                 stages=dict(log.config.stages))
    assert (ooc.n_cases, ooc.n_events, ooc.wait_basis) == (local.n_cases, local.n_events, local.wait_basis)
    cols = ["source", "target", "count", "cases", "overlap_count"]
    assert local.edges[cols].equals(ooc.edges[cols])
    for col in ("wait_median_s", "wait_p90_s", "wait_max_s"):
        np.testing.assert_allclose(local.edges[col].to_numpy(), ooc.edges[col].to_numpy(), rtol=1e-12, err_msg=col)
    for col in ("wait_mean_s", "wait_total_s"):
        np.testing.assert_allclose(local.edges[col].to_numpy(), ooc.edges[col].to_numpy(), rtol=1e-9, err_msg=col)
    ncols = ["activity", "stage", "count", "cases", "service_known"]
    assert local.nodes[ncols].equals(ooc.nodes[ncols])
    np.testing.assert_allclose(local.nodes["service_median_s"].to_numpy(), ooc.nodes["service_median_s"].to_numpy(),
                               rtol=1e-12)


def test_glob_and_missing_columns(tmp_path) -> None:
    _write(LOGS["example"], tmp_path, parts=2)
    g = discover_graph_parquet(str(tmp_path / "*.parquet"))
    assert g.n_cases == LOGS["example"].n_cases
    bad = tmp_path / "bad"
    bad.mkdir()
    pd.DataFrame({"case_id": ["a"], "activity": ["x"]}).to_parquet(bad / "x.parquet")
    with pytest.raises(flowopt.errors.SchemaError, match="lack the column"):
        discover_graph_parquet(str(bad / "x.parquet"))
