"""Benchmark inputs: generated lending logs of a given number of events, cached on disk as Parquet and CSV."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CACHE = Path(__file__).resolve().parent / ".cache"
EVENTS_PER_CASE = 11.6  # the generator's average with all problems on (measured on 20k cases)
SEED = 20260401


def dataset(n_events: int) -> dict[str, str]:
    """Paths (``parquet``, ``parquet_text``, ``parquet_time``, ``csv``, ``config``) of a generated log of about
    ``n_events`` events, built once.

    The log comes from :func:`flowopt.datasets._generator.generate_lending_log` with every problem injected,
    so the findings have something to find. ``parquet`` keeps the categoricals and UTC timestamps (as pandas
    writes them); ``parquet_text`` holds the id columns as plain strings instead (as Spark, DuckDB or pyarrow
    write them from strings; the writer still dictionary-encodes the pages); ``parquet_time`` is that file with
    the rows in time order (by end, then case and activity), cases interleaved as a system exports them; the CSV
    holds the same rows as text (ISO 8601 timestamps with ``Z``).
    """
    CACHE.mkdir(parents=True, exist_ok=True)
    stem = CACHE / f"lending_{n_events}"
    paths = {"parquet": f"{stem}.parquet", "csv": f"{stem}.csv", "config": f"{stem}.json"}
    if not all(Path(p).exists() for p in paths.values()):
        _generate(n_events, paths)
    import pyarrow.parquet as pq

    paths["parquet_text"] = f"{stem}.text.parquet"
    if not Path(paths["parquet_text"]).exists():  # added later than the others: made from the cached Parquet
        _write_parquet(_plain(pq.read_table(paths["parquet"])), paths["parquet_text"])
    paths["parquet_time"] = f"{stem}.time.parquet"
    if not Path(paths["parquet_time"]).exists():  # the same rows in time order, as a system exports them
        table = pq.read_table(paths["parquet_text"])
        table = table.sort_by([("end", "ascending"), ("case_id", "ascending"), ("activity", "ascending")])
        _write_parquet(table, paths["parquet_time"])
    return paths


def _write_parquet(table: Any, path: str) -> None:
    """``table`` written to ``path`` through a temporary file, so an interrupted run leaves no half file."""
    import pyarrow.parquet as pq

    pq.write_table(table, path + ".tmp")
    Path(path + ".tmp").replace(path)


def _plain(table: Any) -> Any:
    """``table`` with its dictionary columns cast to their plain value type, and no pandas metadata."""
    import pyarrow as pa

    plain = table.cast(pa.schema([pa.field(f.name, f.type.value_type if pa.types.is_dictionary(f.type) else f.type)
                                  for f in table.schema]))
    return plain.replace_schema_metadata(None)


def _generate(n_events: int, paths: dict[str, str]) -> None:
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from flowopt.datasets._generator import PROBLEMS, generate_lending_log

    n_cases = max(1, round(n_events / EVENTS_PER_CASE))
    g = generate_lending_log(n_cases, seed=SEED, problems=PROBLEMS)
    table = pa.Table.from_pandas(g.frame, preserve_index=False)
    pq.write_table(table, paths["parquet"] + ".tmp")
    pacsv.write_csv(_plain(table), paths["csv"] + ".tmp")
    Path(paths["config"] + ".tmp").write_text(json.dumps(g.config, ensure_ascii=False, indent=1))
    for p in paths.values():
        Path(p + ".tmp").replace(p)


def n_rows(parquet: str) -> int:
    """Number of events in a cached Parquet file (from its footer)."""
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(parquet).metadata.num_rows)
