"""The process graph of a log larger than memory: DuckDB streaming over Parquet files, with bounded memory.

Same meaning and same numbers as :func:`flowopt.discover_graph` (events ordered by end time, ties by the
``order`` column; waits from end to the next start, clamped at 0, completion-to-completion when the start
is unknown; exact linear-interpolated percentiles), computed by DuckDB's out-of-core operators: with a
``memory_limit`` DuckDB sorts and aggregates in bounded memory and spills the rest to ``temp_directory``.

Input: Parquet file(s) (paths or a glob) in flowopt's canonical columns — ``case_id``, ``activity``,
``start`` (may be null), ``end`` (timestamps) and ``order`` (a tie-breaking long, e.g. the row number) —
as written by an ingestion job, or by ``EventLog.to_pandas()`` plus a row number for a test.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from flowopt.discovery._graph import END, START, ProcessGraph
from flowopt.errors import SchemaError
from flowopt.log import classify_activities

__all__ = ["discover_graph_parquet"]


def _source(paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> str:
    items = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    quoted = ", ".join("'" + str(p).replace("'", "''") + "'" for p in items)
    return f"read_parquet([{quoted}])"


def discover_graph_parquet(paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], *,
                           memory_limit: str = "2GB", threads: int | None = None,
                           temp_directory: str | None = None,
                           stages: dict[str, Sequence[str]] | None = None) -> ProcessGraph:
    """Discover the process graph of canonical events stored in Parquet, in bounded memory.

    Parameters
    ----------
    paths : path, glob or list of paths
        Parquet files with ``case_id``, ``activity``, ``start``, ``end``, ``order``.
    memory_limit : str
        DuckDB's memory limit (e.g. ``"2GB"``); work beyond it spills to ``temp_directory``.
    threads : int, optional
        DuckDB threads (default: all cores).
    temp_directory : str, optional
        Where DuckDB spills (default: DuckDB's own ``.tmp`` next to the working directory).
    stages : dict, optional
        ``[stages]`` regexes, as in the config.

    Returns
    -------
    ProcessGraph
        Equal to ``flowopt.discover_graph`` on the same events (means and totals up to summation order).

    Examples
    --------
    >>> import flowopt, numpy as np, tempfile, os
    >>> log = flowopt.datasets.example_log()
    >>> df = log.to_pandas()[["case_id", "activity", "start", "end"]].astype({"case_id": str, "activity": str})
    >>> df["order"] = np.arange(len(df))
    >>> path = os.path.join(tempfile.mkdtemp(), "events.parquet"); df.to_parquet(path)
    >>> g = discover_graph_parquet(path, memory_limit="512MB")
    >>> bool(g.edges["count"].sum() == flowopt.discover_graph(log).edges["count"].sum())
    True
    """
    import duckdb

    src = _source(paths)
    con = duckdb.connect()
    try:
        con.execute(f"SET memory_limit = '{memory_limit}'")
        con.execute("SET preserve_insertion_order = false")
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        if temp_directory:
            con.execute("SET temp_directory = ?", [temp_directory])
        cols = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()}
        missing = {"case_id", "activity", "end", "order"} - cols
        if missing:
            raise SchemaError(f"The Parquet events lack the column(s) {', '.join(sorted(missing))}. They need "
                              "case_id, activity, start (may be null), end and order (tie-break).",
                              column=min(missing))
        con.execute("SET TimeZone = 'UTC'")
        s_expr = 'epoch_ns(CAST("start" AS TIMESTAMP_NS))' if "start" in cols else "CAST(NULL AS BIGINT)"
        con.execute(f"""
            CREATE TEMP VIEW raw AS
            SELECT CAST(case_id AS VARCHAR) AS case_id, CAST(activity AS VARCHAR) AS activity,
                   {s_expr} AS s_ns, epoch_ns(CAST("end" AS TIMESTAMP_NS)) AS e_ns, "order" AS ord
            FROM {src}
        """)
        con.execute("""
            CREATE TEMP TABLE ev AS
            SELECT case_id, activity, s_ns, e_ns,
                   LEAD(activity) OVER w AS nxt_act, LEAD(s_ns) OVER w AS nxt_s, LEAD(e_ns) OVER w AS nxt_e,
                   ROW_NUMBER() OVER w AS rn, COUNT(*) OVER (PARTITION BY case_id) AS n
            FROM raw
            WINDOW w AS (PARTITION BY case_id ORDER BY e_ns, ord)
        """)
        wait = "GREATEST(CAST(COALESCE(nxt_s, nxt_e) - e_ns AS DOUBLE) / 1e9, 0.0)"
        con.execute(f"""
            CREATE TEMP TABLE edges AS
            WITH stats AS (
                SELECT activity AS source, nxt_act AS target, COUNT(*) AS count,
                       SUM(CASE WHEN nxt_s IS NOT NULL AND nxt_s < e_ns THEN 1 ELSE 0 END) AS overlap_count,
                       AVG({wait}) AS wait_mean_s, quantile_cont({wait}, 0.5) AS wait_median_s,
                       quantile_cont({wait}, 0.9) AS wait_p90_s, MAX({wait}) AS wait_max_s,
                       SUM({wait}) AS wait_total_s
                FROM ev WHERE nxt_act IS NOT NULL GROUP BY activity, nxt_act),
            -- distinct cases per edge in two spillable group-bys (no per-group hash sets of case ids)
            pairs AS (SELECT activity AS source, nxt_act AS target, case_id FROM ev WHERE nxt_act IS NOT NULL
                      GROUP BY ALL),
            ncases AS (SELECT source, target, COUNT(*) AS cases FROM pairs GROUP BY ALL)
            SELECT s.source, s.target, s.count, n.cases, s.overlap_count, s.wait_mean_s, s.wait_median_s,
                   s.wait_p90_s, s.wait_max_s, s.wait_total_s, 0 AS kind
            FROM stats s JOIN ncases n USING (source, target)
            UNION ALL
            SELECT '{START}', activity, COUNT(*), COUNT(*), 0, NULL, NULL, NULL, NULL, NULL, 1
            FROM ev WHERE rn = 1 GROUP BY activity
            UNION ALL
            SELECT activity, '{END}', COUNT(*), COUNT(*), 0, NULL, NULL, NULL, NULL, NULL, 2
            FROM ev WHERE rn = n GROUP BY activity
        """)
        svc = "CAST(e_ns - s_ns AS DOUBLE) / 1e9"
        nodes = con.execute(f"""
            WITH stats AS (
                SELECT activity, COUNT(*) AS count, AVG({svc}) AS service_mean_s,
                       quantile_cont({svc}, 0.5) AS service_median_s, quantile_cont({svc}, 0.9) AS service_p90_s,
                       SUM({svc}) AS service_total_s, COUNT(s_ns) AS service_known
                FROM ev GROUP BY activity),
            ncases AS (SELECT activity, COUNT(*) AS cases FROM (SELECT activity, case_id FROM ev GROUP BY ALL)
                       GROUP BY activity)
            SELECT s.activity, s.count, n.cases, s.service_mean_s, s.service_median_s, s.service_p90_s,
                   s.service_total_s, s.service_known
            FROM stats s JOIN ncases n USING (activity)
        """).df()
        meta = con.execute("""
            SELECT SUM(CASE WHEN rn = 1 THEN 1 ELSE 0 END) AS n_cases, COUNT(*) AS n_events, COUNT(s_ns) AS n_start,
                   SUM(CASE WHEN rn > 1 AND s_ns IS NULL THEN 1 ELSE 0 END) AS follow_no_start
            FROM ev
        """).fetchone()
        edges = con.execute("SELECT * EXCLUDE (kind) FROM edges").df()
    finally:
        con.close()
    return assemble_graph(nodes, edges, meta, stages)


def assemble_graph(nodes: pd.DataFrame, edges: pd.DataFrame, meta: Any,
                   stages: dict[str, Sequence[str]] | None) -> ProcessGraph:
    """A :class:`ProcessGraph` from SQL results (shared by the DuckDB and Spark engines): the same dtypes,
    column order and sorting as :func:`flowopt.discover_graph`. ``meta`` is (cases, events, events with a
    start, events after the first of their case without a start)."""
    nodes = nodes.copy()
    nodes["activity"] = nodes["activity"].astype(str)
    stage_map = classify_activities(nodes["activity"].tolist(), stages or {})
    nodes.insert(1, "stage", nodes["activity"].map(stage_map))
    for c in ("count", "cases", "service_known"):
        nodes[c] = nodes[c].astype(np.int64)
    for c in ("service_mean_s", "service_median_s", "service_p90_s", "service_total_s"):
        nodes[c] = nodes[c].astype("float64")
    nodes = nodes.sort_values("activity", kind="stable").reset_index(drop=True)
    edges = edges.copy()
    for c in ("source", "target"):
        edges[c] = edges[c].astype(str)
    for c in ("count", "cases", "overlap_count"):
        edges[c] = edges[c].astype(np.int64)
    for c in ("wait_mean_s", "wait_median_s", "wait_p90_s", "wait_max_s", "wait_total_s"):
        edges[c] = edges[c].astype("float64")
    edges = edges.sort_values(["source", "target"], kind="stable").reset_index(drop=True)
    n_cases, n_events, n_start, follow_no_start = (int(x or 0) for x in meta)
    if n_start == 0:
        basis = "completion"
    elif n_start == n_events or follow_no_start == 0:
        basis = "start"
    else:
        basis = "mixed"
    return ProcessGraph(nodes=nodes, edges=edges, wait_basis=basis,  # type: ignore[arg-type]
                        n_cases=n_cases, n_events=n_events)
