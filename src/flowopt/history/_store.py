"""The history store: one embedded DuckDB file holding every scored period.

Tables (all keyed by the period label): ``periods`` (end of the period, KPIs, the full analysis
document), ``findings``, ``edges`` (directly-follows counts), ``waits`` (a sample of waits per edge),
``variants``. Writing a period first deletes what was stored under its label, inside one transaction,
so re-scoring a period replaces it. Every session holds an exclusive ``fcntl.flock`` on
``STORE.lock`` around its DuckDB transaction, so two processes scoring at once queue up instead of
corrupting the file or failing on DuckDB's own file lock.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from flowopt.errors import HistoryError

__all__ = ["HistoryStore", "StoredPeriod"]

STORE_VERSION = "1"

_DDL = [
    "CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
    ("CREATE TABLE IF NOT EXISTS periods (period VARCHAR PRIMARY KEY, period_end TIMESTAMPTZ, source VARCHAR, "
     "cases BIGINT, events BIGINT, kpis VARCHAR, document VARCHAR)"),
    ("CREATE TABLE IF NOT EXISTS findings (period VARCHAR, id VARCHAR, kind VARCHAR, category VARCHAR, "
     "severity VARCHAR, summary VARCHAR, cases_affected BIGINT, record VARCHAR)"),
    "CREATE TABLE IF NOT EXISTS edges (period VARCHAR, source VARCHAR, target VARCHAR, count BIGINT)",
    "CREATE TABLE IF NOT EXISTS waits (period VARCHAR, source VARCHAR, target VARCHAR, wait_s DOUBLE)",
    "CREATE TABLE IF NOT EXISTS variants (period VARCHAR, variant VARCHAR, cases BIGINT)",
]
_TABLES = ("findings", "edges", "waits", "variants", "periods")


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredPeriod:
    """One period as stored."""

    period: str
    period_end: pd.Timestamp
    source: str | None
    cases: int
    events: int
    kpis: Mapping[str, Any]
    document: Mapping[str, Any]
    findings: tuple[dict[str, Any], ...]
    edges: pd.DataFrame
    waits: pd.DataFrame
    variants: pd.DataFrame


class HistoryStore:
    """A DuckDB file of scored periods.

    Parameters
    ----------
    path : path
        The store file; created on first write (its folder must exist).
    lock_timeout : float, default 120
        Seconds to wait for another process's session to finish before giving up.

    Examples
    --------
    >>> import tempfile, os
    >>> store = HistoryStore(os.path.join(tempfile.mkdtemp(), "history.duckdb"))
    >>> with store.session() as s:
    ...     s.labels()
    []
    """

    def __init__(self, path: str | os.PathLike[str], *, lock_timeout: float = 120.0) -> None:
        self.path = Path(path)
        self.lock_timeout = lock_timeout
        if self.path.exists() and self.path.is_dir():
            raise HistoryError(f"The history store {self.path} is a folder. Pass a file path such as "
                               f"{self.path / 'history.duckdb'}.")
        if not self.path.parent.exists():
            raise HistoryError(f"The folder of the history store {self.path} does not exist. Create it first.")

    def __repr__(self) -> str:
        return f"HistoryStore({str(self.path)!r})"

    @contextmanager
    def _lock(self) -> Iterator[None]:
        lock_path = self.path.with_name(self.path.name + ".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            deadline = time.monotonic() + self.lock_timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise HistoryError(f"The history store {self.path} stayed locked by another process for "
                                           f"{self.lock_timeout:.0f} s. Wait for it to finish and retry.") from None
                    time.sleep(0.05)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    @contextmanager
    def session(self) -> Iterator[_Session]:
        """An exclusive session: file lock + one DuckDB transaction, committed on success, rolled back on error."""
        import duckdb

        with self._lock():
            try:
                con = duckdb.connect(str(self.path))
            except duckdb.Error as exc:
                raise HistoryError(f"{self.path} cannot be opened as a flowopt history store (a DuckDB file): "
                                   f"{exc}. Pass a new file name or the store an earlier `flowopt score` wrote.") from None
            try:
                con.execute("BEGIN TRANSACTION")
                try:
                    for stmt in _DDL:
                        con.execute(stmt)
                    row = con.execute("SELECT value FROM meta WHERE key = 'store_version'").fetchone()
                    if row is None:
                        con.execute("INSERT INTO meta VALUES ('store_version', ?)", [STORE_VERSION])
                    elif row[0] != STORE_VERSION:
                        raise HistoryError(f"{self.path} is a history store of version {row[0]}; this flowopt reads "
                                           f"version {STORE_VERSION}. Use a new store file.")
                    yield _Session(con, self.path)
                    con.execute("COMMIT")
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
            except duckdb.Error as exc:
                raise HistoryError(f"The history store {self.path} is unusable: {exc}. Use a new store file.") from None
            finally:
                con.close()


class _Session:
    def __init__(self, con: Any, path: Path) -> None:
        self._con = con
        self.path = path

    def labels(self) -> list[str]:
        """Period labels, oldest first (by the end of each period, then label)."""
        rows = self._con.execute("SELECT period FROM periods ORDER BY period_end, period").fetchall()
        return [r[0] for r in rows]

    def ends(self) -> dict[str, pd.Timestamp]:
        """Period label -> end of the period."""
        rows = self._con.execute("SELECT period, period_end FROM periods ORDER BY period_end, period").fetchall()
        return {r[0]: pd.Timestamp(r[1]).tz_convert("UTC") for r in rows}

    def read(self, period: str) -> StoredPeriod:
        """One stored period (KeyError when absent)."""
        con = self._con
        row = con.execute("SELECT period, period_end, source, cases, events, kpis, document FROM periods "
                          "WHERE period = ?", [period]).fetchone()
        if row is None:
            raise KeyError(period)
        recs = con.execute("SELECT record FROM findings WHERE period = ? ORDER BY id", [period]).fetchall()
        edges = con.execute("SELECT source, target, count FROM edges WHERE period = ? ORDER BY source, target",
                            [period]).df()
        waits = con.execute("SELECT source, target, wait_s FROM waits WHERE period = ? ORDER BY source, target, "
                            "wait_s", [period]).df()
        variants = con.execute("SELECT variant, cases FROM variants WHERE period = ? ORDER BY cases DESC, variant",
                               [period]).df()
        return StoredPeriod(period=row[0], period_end=pd.Timestamp(row[1]).tz_convert("UTC"), source=row[2],
                            cases=int(row[3]), events=int(row[4]), kpis=json.loads(row[5]),
                            document=json.loads(row[6]), findings=tuple(json.loads(r[0]) for r in recs),
                            edges=edges, waits=waits, variants=variants)

    def variants_before(self, period_end: pd.Timestamp, period: str) -> set[str]:
        """Every variant seen in periods ending before ``period_end`` (ties: label before ``period``)."""
        rows = self._con.execute(
            "SELECT DISTINCT v.variant FROM variants v JOIN periods p USING (period) "
            "WHERE p.period <> ? AND (p.period_end < ? OR (p.period_end = ? AND p.period < ?))",
            [period, period_end.to_pydatetime(), period_end.to_pydatetime(), period]).fetchall()
        return {r[0] for r in rows}

    def write(self, p: StoredPeriod) -> None:
        """Store ``p``, replacing whatever was stored under its label."""
        con = self._con
        for table in _TABLES:
            con.execute(f"DELETE FROM {table} WHERE period = ?", [p.period])
        con.execute("INSERT INTO periods VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [p.period, p.period_end.to_pydatetime(), p.source, p.cases, p.events,
                     json.dumps(p.kpis, sort_keys=True), json.dumps(p.document, ensure_ascii=False, sort_keys=True)])
        f = pd.DataFrame({"period": p.period, "id": [r["id"] for r in p.findings],
                          "kind": [r["kind"] for r in p.findings], "category": [r.get("category") for r in p.findings],
                          "severity": [r["severity"] for r in p.findings],
                          "summary": [r.get("summary", "") for r in p.findings],
                          "cases_affected": [int(r.get("cases_affected") or 0) for r in p.findings],
                          "record": [json.dumps(r, ensure_ascii=False, sort_keys=True) for r in p.findings]},
                         columns=["period", "id", "kind", "category", "severity", "summary", "cases_affected",
                                  "record"])
        for table, frame in (("findings", f), ("edges", p.edges.assign(period=p.period)),
                             ("waits", p.waits.assign(period=p.period)),
                             ("variants", p.variants.assign(period=p.period))):
            if len(frame) == 0:
                continue
            cols = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
            con.register("_incoming", frame[cols])
            con.execute(f"INSERT INTO {table} SELECT * FROM _incoming")
            con.unregister("_incoming")

    def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every table, sorted (to check that re-scoring leaves the same history)."""
        return {t: sorted(self._con.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in (*_TABLES, "meta")}
