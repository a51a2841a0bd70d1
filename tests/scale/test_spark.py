"""The Spark engine gives the same graph and variants as the embedded engine (Spark in local mode)."""

from __future__ import annotations

import os
import shutil
import warnings

import numpy as np
import pandas as pd
import pytest

import flowopt
from flowopt.datasets import generate_lending_log

pyspark = pytest.importorskip("pyspark") if not os.environ.get("CI") else __import__("pyspark")
if shutil.which("java") is None and not os.environ.get("CI"):
    pytest.skip("no Java runtime for Spark", allow_module_level=True)

from flowopt.discovery._spark import spark_discover_graph, spark_discover_variants, spark_session


@pytest.fixture(scope="module")
def spark():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        session = spark_session("flowopt-tests", cores=2, memory="1g")
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _logs():
    gen = generate_lending_log(250, seed=3, problems=("batching", "rework", "sequential_signoffs"))
    lifecycle = generate_lending_log(120, seed=5, problems=("rework",), shape="complete", language="zh")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            "example": flowopt.datasets.example_log(),
            "generated": flowopt.read_log(gen.frame, gen.config),
            "completion_only_zh": flowopt.read_log(lifecycle.frame, lifecycle.config),
        }


LOGS = _logs()


def _events_frame(log: flowopt.EventLog) -> pd.DataFrame:
    df = log.to_pandas()[["case_id", "activity", "start", "end"]].copy()
    df["case_id"] = df["case_id"].astype(str)
    df["activity"] = df["activity"].astype(str)
    for col in ("start", "end"):  # Spark reads microsecond timestamps
        df[col] = df[col].astype("datetime64[us, UTC]")
    df["order"] = np.arange(len(df), dtype=np.int64)  # the embedded log's order: end time, then file order
    return df


pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")


@pytest.mark.parametrize("name", sorted(LOGS))
def test_spark_graph_equals_embedded(spark, tmp_path, name) -> None:
    log = LOGS[name]
    path = tmp_path / "events.parquet"
    _events_frame(log).to_parquet(path, index=False)
    local = flowopt.discover_graph(log)
    dist = spark_discover_graph(str(path), spark, stages=dict(log.config.stages))
    assert dist.n_cases == local.n_cases and dist.n_events == local.n_events
    assert dist.wait_basis == local.wait_basis
    le, de = local.edges, dist.edges
    assert le[["source", "target", "count", "cases", "overlap_count"]].equals(
        de[["source", "target", "count", "cases", "overlap_count"]])
    for col in ("wait_median_s", "wait_p90_s", "wait_max_s"):  # exact percentiles
        np.testing.assert_array_equal(le[col].to_numpy(), de[col].to_numpy(), err_msg=col)
    for col in ("wait_mean_s", "wait_total_s"):  # up to summation order
        np.testing.assert_allclose(le[col].to_numpy(), de[col].to_numpy(), rtol=1e-9, err_msg=col)
    ln, dn = local.nodes, dist.nodes
    assert ln[["activity", "stage", "count", "cases", "service_known"]].equals(
        dn[["activity", "stage", "count", "cases", "service_known"]])
    np.testing.assert_array_equal(ln["service_median_s"].to_numpy(), dn["service_median_s"].to_numpy())
    np.testing.assert_array_equal(ln["service_p90_s"].to_numpy(), dn["service_p90_s"].to_numpy())


def test_spark_variants_equal_embedded(spark, tmp_path) -> None:
    log = LOGS["generated"]
    path = tmp_path / "events.parquet"
    _events_frame(log).to_parquet(path, index=False)
    local = flowopt.discover_variants(log).table
    dist = spark_discover_variants(str(path), spark)
    assert list(local["activities"]) == list(dist["activities"])
    assert local["cases"].tolist() == dist["cases"].tolist()
    np.testing.assert_array_equal(local["throughput_median_s"].to_numpy(), dist["throughput_median_s"].to_numpy())
    np.testing.assert_array_equal(local["throughput_p90_s"].to_numpy(), dist["throughput_p90_s"].to_numpy())


def test_missing_columns_are_reported(spark) -> None:
    df = spark.createDataFrame(pd.DataFrame({"case_id": ["a"], "activity": ["x"]}))
    with pytest.raises(flowopt.errors.SchemaError, match="lacks the column"):
        spark_discover_graph(df, spark)
