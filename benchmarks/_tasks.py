"""One benchmark measurement per process: ``python benchmarks/_tasks.py TASK PATHS_JSON OUT_JSON``.

Each task has an untimed ``prepare`` (load the input into the form the approach works on) and a timed
``run``. The worker writes the elapsed time, its peak resident memory (``ru_maxrss``), the peak before the
timed part, and the directly-follows edge counts (for the agreement check) to ``OUT_JSON``.
"""

from __future__ import annotations

import json
import resource
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

Edges = dict[str, int]


def _hwm_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _frame(paths: dict[str, str]) -> Any:
    import pyarrow.parquet as pq

    return pq.read_table(paths["parquet"]).to_pandas()


def _config(paths: dict[str, str]) -> dict[str, Any]:
    with open(paths["config"], encoding="utf-8") as fh:
        return dict(json.load(fh))


# ------------------------------------------------------------------ the numpy floor
def _floor(df: Any, full: bool) -> Edges:
    """Minimal numpy pass: stable sort by case and end on integer codes, directly-follows pairs, bincount of
    edge codes, wait mean/median/p90 per edge; ``full`` adds service-time stats per activity and variants."""
    case = df["case_id"].cat.codes.to_numpy()
    act = df["activity"].cat.codes.to_numpy().astype(np.int64)
    names = np.asarray(df["activity"].cat.categories, dtype=object)
    end = df["end"].array.asi8
    start = df["start"].array.asi8
    order = np.lexsort((end, case))
    case, act, end, start = case[order], act[order], end[order], start[order]
    n_act = len(names)
    i = np.flatnonzero(case[1:] == case[:-1])
    code = act[i] * n_act + act[i + 1]
    counts = np.bincount(code, minlength=n_act * n_act)
    wait = np.maximum(start[i + 1] - end[i], 0).astype(np.float64) / 1e6
    _grouped_quantiles(code, wait, counts)
    if full:
        svc = (end - start).astype(np.float64) / 1e6
        _grouped_quantiles(act, svc, np.bincount(act, minlength=n_act))
        first = np.flatnonzero(np.r_[True, case[1:] != case[:-1]])
        pos = np.arange(len(act)) - np.repeat(first, np.diff(np.r_[first, len(act)]))
        with np.errstate(over="ignore"):
            h = (act.astype(np.uint64) + np.uint64(1)) * (np.uint64(0x9E3779B97F4A7C15) ** pos.astype(np.uint64))
        seq = np.add.reduceat(h, first)
        throughput = (np.maximum.reduceat(end, first) - np.minimum.reduceat(start, first)) / 1e6
        _, var_id = np.unique(seq, return_inverse=True)
        _grouped_quantiles(var_id, throughput.astype(np.float64), np.bincount(var_id))
    nz = np.flatnonzero(counts)
    return {f"{names[c // n_act]}->{names[c % n_act]}": int(counts[c]) for c in nz}


def _grouped_quantiles(group: np.ndarray, values: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, ...]:
    o = np.lexsort((values, group))
    v = values[o]
    lo = np.r_[0, np.cumsum(counts)[:-1]]
    has = counts > 0
    med = v[lo[has] + (counts[has] - 1) // 2]
    p90 = v[lo[has] + ((counts[has] - 1) * 9) // 10]
    mean = np.bincount(group, weights=values, minlength=len(counts))[has] / counts[has]
    return med, p90, mean


# ------------------------------------------------------------------ flowopt
def _flowopt(df: Any, cfg: dict[str, Any], full: bool) -> Edges:
    import flowopt

    log = flowopt.read_log(df, cfg)
    g = flowopt.discover_graph(log)
    if full:
        flowopt.discover_variants(log)
    return _graph_edges(g)


def _graph_edges(g: Any) -> Edges:
    e = g.edges[(g.edges.source != "[start]") & (g.edges.target != "[end]")]
    return {f"{s}->{t}": int(c) for s, t, c in zip(e.source, e.target, e["count"])}


# ------------------------------------------------------------------ pm4py
def _pm4py_prepare(paths: dict[str, str]) -> Any:
    import pm4py

    df = _frame(paths)
    df = df[["case_id", "activity", "start", "end", "resource"]].copy()
    for c in ("case_id", "activity", "resource"):
        df[c] = df[c].astype(str)
    # the start column keeps its name: pm4py then orders events by completion time, as the others do
    return pm4py.format_dataframe(df, case_id="case_id", activity_key="activity", timestamp_key="end")


def _pm4py(df: Any, full: bool) -> Edges:
    import pm4py

    dfg, _, _ = pm4py.discover_dfg(df)
    pm4py.discover_performance_dfg(df, perf_aggregation_key="all")
    if full:
        pm4py.get_variants(df)
        pm4py.get_service_time(df, aggregation_measure="median", start_timestamp_key="start")
    return {f"{a}->{b}": int(c) for (a, b), c in dfg.items()}


# ------------------------------------------------------------------ DuckDB
def _duckdb_prepare(paths: dict[str, str]) -> Any:
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    t = pq.read_table(paths["parquet"], columns=["case_id", "activity", "start", "end", "resource"])
    t = t.append_column("rn", pa.array(np.arange(t.num_rows, dtype=np.int64)))
    con = duckdb.connect()
    con.register("t", t)
    con.execute("CREATE TABLE ev AS SELECT case_id::VARCHAR AS case_id, activity::VARCHAR AS activity, "
                "start, \"end\", resource::VARCHAR AS resource, rn FROM t")
    con.unregister("t")
    return con


_DUCK_DFG = """
WITH p AS (
  SELECT activity AS src, lead(activity) OVER w AS tgt, "end" AS e, lead(start) OVER w AS ns
  FROM ev WINDOW w AS (PARTITION BY case_id ORDER BY "end", rn))
SELECT src, tgt, count(*) AS n, avg(wt) AS mean_s, median(wt) AS median_s, quantile_cont(wt, 0.9) AS p90_s,
       max(wt) AS max_s
FROM (SELECT src, tgt, greatest(epoch(ns) - epoch(e), 0) AS wt FROM p WHERE tgt IS NOT NULL)
GROUP BY src, tgt
"""
_DUCK_SERVICE = """
SELECT activity, count(*), avg(s), median(s), quantile_cont(s, 0.9)
FROM (SELECT activity, epoch("end") - epoch(start) AS s FROM ev) GROUP BY activity
"""
_DUCK_VARIANTS = """
SELECT seq, count(*) AS cases, median(tp) AS median_s, quantile_cont(tp, 0.9) AS p90_s
FROM (SELECT case_id, string_agg(activity, '|' ORDER BY "end", rn) AS seq,
             epoch(max("end")) - epoch(min(start)) AS tp FROM ev GROUP BY case_id)
GROUP BY seq
"""


def _duckdb(con: Any, full: bool) -> Edges:
    rows = con.execute(_DUCK_DFG).fetchall()
    if full:
        con.execute(_DUCK_SERVICE).fetchall()
        con.execute(_DUCK_VARIANTS).fetchall()
    return {f"{s}->{t}": int(n) for s, t, n, *_ in rows}


# ------------------------------------------------------------------ reading
def _read_flowopt(paths: dict[str, str], kind: str) -> int:
    import flowopt

    return len(flowopt.read_log(paths[kind], _config(paths)))


def _read_pandas_pm4py(paths: dict[str, str]) -> int:
    import pandas as pd
    import pm4py

    df = pd.read_csv(paths["csv"])
    df = pm4py.format_dataframe(df, case_id="case_id", activity_key="activity", timestamp_key="end",
                                start_timestamp_key="start")
    return len(df)


def _read_pyarrow_csv(path: str) -> int:
    import pyarrow.csv as pacsv

    return int(pacsv.read_csv(path).num_rows)


def _read_polars(path: str) -> int:
    import polars as pl

    return int(pl.read_parquet(path).height)


def _read_pyarrow_parquet(path: str) -> int:
    import pyarrow.parquet as pq

    return int(pq.read_table(path).num_rows)


def _canonical(paths: dict[str, str], kind: str) -> int:
    return len(_canonical_frame(paths, kind))


def _canonical_frame(paths: dict[str, str], kind: str) -> Any:
    """flowopt's canonical frame the direct pyarrow way, with no validation at all: the file read typed (id
    columns dictionary-encoded, times as timestamps), case codes in sorted-id order, the rows taken in (case,
    end) order, ``to_pandas``. The reading targets compare ``read_log`` with a plain parse, which neither
    sorts nor builds categoricals; this row shows what producing the same frame costs without flowopt's
    checks (missing values, duplicates, time ranges, whitespace, numbers in the other columns, quarantine)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    cols = _config(paths)["columns"]
    ids = [cols[f] for f in ("case", "activity", "resource", "role", "outcome") if f in cols]
    times = [cols[f] for f in ("start", "end") if f in cols]
    if kind == "csv":
        import pyarrow.csv as pacsv

        with open(paths["csv"], encoding="utf-8") as fh:
            names = [n.strip('"') for n in fh.readline().rstrip("\n").split(",")]
        types = {n: pa.string() for n in names}
        types.update({n: pa.dictionary(pa.int32(), pa.string()) for n in ids})
        types.update({n: pa.timestamp("us", tz="UTC") for n in times})
        table = pacsv.read_csv(paths["csv"], convert_options=pacsv.ConvertOptions(
            column_types=types, null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=True))
    else:
        import pyarrow.parquet as pq

        table = pq.read_table(paths["parquet"])
    table = table.unify_dictionaries()
    case = table.column(cols["case"]).combine_chunks()
    rank = pc.rank(case.dictionary, sort_keys="ascending", tiebreaker="first").to_numpy().astype(np.int64) - 1
    codes = rank[case.indices.to_numpy(zero_copy_only=False)]
    end = table.column(cols["end"]).cast(pa.int64()).to_numpy(zero_copy_only=False)
    order = np.lexsort((end, codes))
    return table.take(order).to_pandas(split_blocks=True, self_destruct=True)


def _analyze(state: tuple[Any, dict[str, Any]]) -> Edges:
    import flowopt

    df, cfg = state
    log = flowopt.read_log(df, cfg)
    result = flowopt.analyze(log)
    return _graph_edges(result.graph)


# name -> (prepare(paths) -> state, run(state) -> edges or row count)
TASKS: dict[str, tuple[Callable[[dict[str, str]], Any], Callable[[Any], Any]]] = {
    "floor_dfg": (_frame, lambda df: _floor(df, False)),
    "floor_full": (_frame, lambda df: _floor(df, True)),
    "flowopt_dfg": (lambda p: (_frame(p), _config(p)), lambda s: _flowopt(s[0], s[1], False)),
    "flowopt_full": (lambda p: (_frame(p), _config(p)), lambda s: _flowopt(s[0], s[1], True)),
    "duckdb_dfg": (_duckdb_prepare, lambda con: _duckdb(con, False)),
    "duckdb_full": (_duckdb_prepare, lambda con: _duckdb(con, True)),
    "pm4py_dfg": (_pm4py_prepare, lambda df: _pm4py(df, False)),
    "pm4py_full": (_pm4py_prepare, lambda df: _pm4py(df, True)),
    "analyze_flowopt": (lambda p: (_frame(p), _config(p)), _analyze),
    "csv_flowopt": (lambda p: p, lambda p: _read_flowopt(p, "csv")),
    "csv_pyarrow": (lambda p: p["csv"], _read_pyarrow_csv),
    "csv_pandas_pm4py": (lambda p: p, _read_pandas_pm4py),
    "parquet_flowopt": (lambda p: p, lambda p: _read_flowopt(p, "parquet")),
    "parquet_pyarrow": (lambda p: p["parquet"], _read_pyarrow_parquet),
    "parquet_polars": (lambda p: p["parquet"], _read_polars),
    "csv_canonical": (lambda p: p, lambda p: _canonical(p, "csv")),
    "parquet_canonical": (lambda p: p, lambda p: _canonical(p, "parquet")),
    "textparquet_flowopt": (lambda p: p, lambda p: _read_flowopt(p, "parquet_text")),
    "textparquet_pyarrow": (lambda p: p["parquet_text"], _read_pyarrow_parquet),
    "textparquet_polars": (lambda p: p["parquet_text"], _read_polars),
    "timeparquet_flowopt": (lambda p: p, lambda p: _read_flowopt(p, "parquet_time")),
    "timeparquet_polars": (lambda p: p["parquet_time"], _read_polars),
}


_PRELOAD: dict[str, tuple[str, ...]] = {
    "flowopt": ("flowopt",), "analyze": ("flowopt",), "pm4py": ("pm4py", "pandas"), "duckdb": ("duckdb",),
    "csv": ("pyarrow.csv", "pandas"), "parquet": ("pyarrow.parquet",), "textparquet": ("pyarrow.parquet",),
    "timeparquet": ("pyarrow.parquet",), "polars": ("polars",),
    "canonical": ("pyarrow.csv", "pyarrow.parquet", "pyarrow.compute", "pandas"),
}


def main(argv: list[str]) -> None:
    task, paths_json, out = argv
    warnings.simplefilter("ignore")
    prepare, run = TASKS[task]
    for module in _PRELOAD.get(task.split("_")[0], ()) + _PRELOAD.get(task.rsplit("_", 1)[-1], ()):
        __import__(module)  # imports are not part of the timed work
    state = prepare(json.loads(paths_json))
    base = _hwm_mb()
    t0 = time.perf_counter()
    result = run(state)
    seconds = time.perf_counter() - t0
    record = {"task": task, "seconds": seconds, "peak_mb": _hwm_mb(), "base_mb": base,
              "edges": result if isinstance(result, dict) else None,
              "rows": result if isinstance(result, int) else None}
    with open(out, "w", encoding="utf-8") as fh:
        json.dump(record, fh)


if __name__ == "__main__":
    main(sys.argv[1:])
