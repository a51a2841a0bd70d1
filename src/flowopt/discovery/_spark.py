"""The process graph and variants on Apache Spark, for logs larger than one machine.

The distributed engine computes exactly what :func:`flowopt.discover_graph` and
:func:`flowopt.discover_variants` compute on one machine — same edge meaning (events ordered by end time,
ties by an explicit order column; waits from end to the next start, clamped at 0, completion-to-completion
when the start is unknown), same counts, same exact percentiles (linear interpolation between order
statistics, which Spark's ``percentile`` and NumPy share). Means and totals agree up to floating-point
summation order.

Input is an event table in flowopt's canonical columns — ``case_id`` (string), ``activity`` (string),
``start`` (timestamp, may be null), ``end`` (timestamp), and ``order`` (a long that breaks ties in time,
e.g. the file's row number) — as a Spark DataFrame or Parquet path(s). ``EventLog.to_pandas()`` plus a
row number, written to Parquet, is such a table; so is the output of an ingestion job on the cluster.

What runs distributed: graph (nodes, edges, waits), variants, stage view inputs. The detectors that need
per-resource sweeps (wait causes, practice variation) run locally on a sample of cases brought to the driver
(``sample_cases``); sign-off reject rates, rework counts and hand-off counts are plain aggregates and can be
expressed in the same SQL (see the user guide, "Scaling out").

PySpark is an optional dependency, imported only here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from flowopt.discovery._graph import END, START, ProcessGraph
from flowopt.discovery._outofcore import assemble_graph
from flowopt.errors import MissingDependencyError, SchemaError

__all__ = ["spark_discover_graph", "spark_discover_variants", "spark_session"]

_EVENTS_VIEW = "flowopt_events"


def spark_session(app: str = "flowopt", *, cores: int = 2, memory: str = "2g") -> Any:
    """A local Spark session configured for flowopt: UTC session time zone, UI off, loopback only."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise MissingDependencyError("The Spark engine needs PySpark and a Java 17 runtime: "
                                     "`pip install pyspark` (and `apt-get install openjdk-17-jre-headless`).") from None
    return (SparkSession.builder.appName(app).master(f"local[{cores}]")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.ui.enabled", "false")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.driver.memory", memory)
            .config("spark.sql.shuffle.partitions", str(max(cores * 2, 2)))
            .config("spark.sql.ansi.enabled", "false")
            .config("spark.sql.execution.arrow.pyspark.enabled", "false")
            .getOrCreate())


def _events(spark: Any, source: Any) -> Any:
    df = spark.read.parquet(*([source] if isinstance(source, str) else list(source))) \
        if isinstance(source, (str, list, tuple)) else source
    missing = {"case_id", "activity", "end", "order"} - set(df.columns)
    if missing:
        raise SchemaError(f"The Spark event table lacks the column(s) {', '.join(sorted(missing))}. It needs "
                          "case_id, activity, start (may be null), end and order (tie-break).", column=min(missing))
    if "start" not in df.columns:
        from pyspark.sql import functions as F

        df = df.withColumn("start", F.lit(None).cast("timestamp"))
    df.createOrReplaceTempView(_EVENTS_VIEW)
    return df


_SEQ = f"""
  SELECT case_id, activity, start, `end`,
         LEAD(activity) OVER w AS nxt_act, LEAD(start) OVER w AS nxt_start, LEAD(`end`) OVER w AS nxt_end,
         ROW_NUMBER() OVER w AS rn, COUNT(*) OVER (PARTITION BY case_id) AS n
  FROM {_EVENTS_VIEW}
  WINDOW w AS (PARTITION BY case_id ORDER BY `end`, `order`)
"""


def _collect(spark: Any, sql: str) -> pd.DataFrame:
    """Run ``sql`` and bring the (small, aggregated) result to the driver as a DataFrame."""
    result = spark.sql(sql)
    rows = result.collect()
    return pd.DataFrame([r.asDict() for r in rows], columns=result.columns)


def spark_discover_graph(source: Any, spark: Any | None = None, *, stages: dict[str, Sequence[str]] | None = None
                         ) -> ProcessGraph:
    """Discover the process graph with Spark.

    Parameters
    ----------
    source : pyspark DataFrame, or Parquet path(s)
        Canonical events (see the module docstring).
    spark : SparkSession, optional
        Defaults to :func:`spark_session`.
    stages : dict, optional
        ``[stages]`` regexes, as in the config.

    Returns
    -------
    ProcessGraph
        Equal to ``flowopt.discover_graph`` on the same events.
    """
    spark = spark or spark_session()
    _events(spark, source)
    wait = ("GREATEST(CAST(unix_micros(COALESCE(nxt_start, nxt_end)) - unix_micros(`end`) AS DOUBLE) / 1e6, 0.0)")
    edges_sql = f"""
      WITH ev AS ({_SEQ})
      SELECT activity AS source, nxt_act AS target, COUNT(*) AS count, COUNT(DISTINCT case_id) AS cases,
             SUM(CASE WHEN nxt_start IS NOT NULL AND nxt_start < `end` THEN 1 ELSE 0 END) AS overlap_count,
             AVG({wait}) AS wait_mean_s, percentile({wait}, 0.5) AS wait_median_s,
             percentile({wait}, 0.9) AS wait_p90_s, MAX({wait}) AS wait_max_s, SUM({wait}) AS wait_total_s
      FROM ev WHERE nxt_act IS NOT NULL GROUP BY activity, nxt_act
      UNION ALL
      SELECT '{START}', activity, COUNT(*), COUNT(DISTINCT case_id), 0, NULL, NULL, NULL, NULL, NULL
      FROM ev WHERE rn = 1 GROUP BY activity
      UNION ALL
      SELECT activity, '{END}', COUNT(*), COUNT(DISTINCT case_id), 0, NULL, NULL, NULL, NULL, NULL
      FROM ev WHERE rn = n GROUP BY activity
    """
    svc = "CAST(unix_micros(`end`) - unix_micros(start) AS DOUBLE) / 1e6"
    nodes_sql = f"""
      SELECT activity, COUNT(*) AS count, COUNT(DISTINCT case_id) AS cases,
             AVG(CASE WHEN start IS NOT NULL THEN {svc} END) AS service_mean_s,
             percentile(CASE WHEN start IS NOT NULL THEN {svc} END, 0.5) AS service_median_s,
             percentile(CASE WHEN start IS NOT NULL THEN {svc} END, 0.9) AS service_p90_s,
             SUM(CASE WHEN start IS NOT NULL THEN {svc} END) AS service_total_s,
             COUNT(start) AS service_known
      FROM {_EVENTS_VIEW} GROUP BY activity
    """
    meta_sql = f"""
      WITH ev AS ({_SEQ})
      SELECT COUNT(DISTINCT case_id) AS n_cases, COUNT(*) AS n_events, COUNT(start) AS n_start,
             SUM(CASE WHEN rn > 1 AND start IS NULL THEN 1 ELSE 0 END) AS follow_no_start
      FROM ev
    """
    edges = _collect(spark, edges_sql)
    nodes = _collect(spark, nodes_sql)
    meta = _collect(spark, meta_sql).iloc[0]
    return assemble_graph(nodes, edges, tuple(meta[k] for k in ("n_cases", "n_events", "n_start", "follow_no_start")),
                          stages)


def spark_discover_variants(source: Any, spark: Any | None = None) -> pd.DataFrame:
    """Variants with Spark: ``activities`` (tuple), ``cases``, ``throughput_median_s``, ``throughput_p90_s``,
    sorted like :func:`flowopt.discover_variants` (case count descending, then the sequence text)."""
    spark = spark or spark_session()
    _events(spark, source)
    sql = f"""
      WITH c AS (
        SELECT case_id,
               transform(array_sort(collect_list(struct(`end`, `order`, activity))), x -> x.activity) AS seq,
               CAST(unix_micros(MAX(`end`)) - unix_micros(MIN(COALESCE(start, `end`))) AS DOUBLE) / 1e6 AS tp
        FROM {_EVENTS_VIEW} GROUP BY case_id)
      SELECT seq, COUNT(*) AS cases, percentile(tp, 0.5) AS throughput_median_s,
             percentile(tp, 0.9) AS throughput_p90_s
      FROM c GROUP BY seq
    """
    out = _collect(spark, sql)
    out["activities"] = out["seq"].map(tuple)
    out["_key"] = out["activities"].map(" → ".join)
    out["cases"] = out["cases"].astype(np.int64)
    for c in ("throughput_median_s", "throughput_p90_s"):
        out[c] = out[c].astype("float64")
    out = out.sort_values(["cases", "_key"], ascending=[False, True], kind="stable").reset_index(drop=True)
    return out[["activities", "cases", "throughput_median_s", "throughput_p90_s"]]
