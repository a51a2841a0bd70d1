"""The broken-input corpus: every file gets flowopt's own typed error naming the problem and the fix, or
loads with its bad rows quarantined.

The corpus is generated (deterministically) into a temporary folder. Each file is first read in a child
process with a memory cap (``RLIMIT_AS``) and a wall-clock timeout, proving that no input crashes the
process with a non-flowopt exception, hangs or exhausts memory; then each expectation is checked in
process, where the log or the error can be inspected.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import subprocess
import sys
import textwrap
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import flowopt
from flowopt.errors import (
    ColumnDetectionError,
    EmptyLogError,
    FlowoptError,
    LogReadError,
    QuarantineReason,
    RowsDroppedWarning,
    SchemaError,
    UnsafeInputError,
    UnsupportedFormatError,
)

GOOD = ("case_id,activity,timestamp,resource\n"
        "c1,Apply,2024-01-01 09:00,alice\n"
        "c1,Approve,2024-01-01 10:00,bob\n"
        "c2,Apply,2024-01-02 09:00,alice\n")
ZH = ("case_id,activity,timestamp\n"
      "案1,提交申请,2024-01-01 09:00\n"
      "案1,分行行长审批,2024-01-01 10:00\n"
      "案2,提交申请,2024-01-02 09:00\n")
XES_EVENT = ('<trace><string key="concept:name" value="c1"/><event><string key="concept:name" value="Apply"/>'
             '<date key="time:timestamp" value="2024-01-01T09:00:00Z"/></event></trace>')
MEMORY_CAP = 3 << 30  # bytes of address space for the child process
TIMEOUT_S = 120  # the whole corpus, in the child
PER_FILE_S = 10  # any one file


def _parquet(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf)
    return buf.getvalue()


def _billion_laughs() -> bytes:
    ents = ['<!ENTITY lol "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)]
    return ('<?xml version="1.0"?>\n<!DOCTYPE log [\n' + "\n".join(ents) + "\n]>\n"
            '<log><trace><event><string key="concept:name" value="&lol9;"/></event></trace></log>').encode()


# --------------------------------------------------------------------------- expectations


@dataclass(frozen=True)
class Fails:
    """``read_log`` raises ``error`` whose message matches ``problem`` and ``fix`` (regexes)."""

    error: type[FlowoptError]
    problem: str
    fix: str


@dataclass(frozen=True)
class Loads:
    """``read_log`` returns a log with ``events`` events and the given quarantine reasons (reason -> rows)."""

    events: int
    quarantined: dict[str, int] = field(default_factory=dict)
    check: Callable[[flowopt.EventLog], None] | None = None


@dataclass(frozen=True)
class Entry:
    name: str
    data: bytes
    expect: Fails | Loads
    config: dict[str, Any] | None = None


def _zh_values(log: flowopt.EventLog) -> None:
    df = log.to_pandas()
    assert sorted(set(df["case_id"])) == ["案1", "案2"]
    assert sorted(set(df["activity"])) == ["分行行长审批", "提交申请"]
    assert log.mapping["case"] == "case_id"  # no BOM left in the first column's name


def _clock_jump(log: flowopt.EventLog) -> None:
    df = log.to_pandas()
    # the case's events follow time, not file order, and every wait is non-negative
    assert df["activity"].tolist() == ["B", "A", "C"]
    assert df["end"].is_monotonic_increasing
    g = flowopt.discover_graph(log)
    inner = g.edges[g.edges["wait_mean_s"].notna()]
    assert (inner["wait_mean_s"] >= 0).all()
    assert set(zip(inner["source"], inner["target"], strict=True)) == {("B", "A"), ("A", "C")}


def _years_detail(log: flowopt.EventLog) -> None:
    q = log.quarantine
    assert sorted(q["timestamp"]) == ["1900-06-01 09:00", "2999-01-01 09:00"]
    assert q["detail"].str.contains(r"\[read\] min_year/max_year").all()
    assert log.to_pandas()["end"].dt.year.tolist() == [2024, 2024, 2024]


def _years_widened(log: flowopt.EventLog) -> None:
    # 1900 is now accepted; 2999 lies beyond what nanosecond timestamps can hold and stays quarantined
    assert sorted(log.to_pandas()["end"].dt.year) == [1900, 2024, 2024, 2024]
    assert log.quarantine["timestamp"].tolist() == ["2999-01-01 09:00"]


def _ragged(log: flowopt.EventLog) -> None:
    q = log.quarantine
    assert q["detail"].str.startswith("wrong number of fields").all()


def corpus() -> list[Entry]:
    rng = np.random.default_rng(20261128)
    garbage = rng.integers(0, 256, 4096, dtype=np.uint8).tobytes()
    big_gz = gzip.compress((GOOD + "".join(f"c{i},Apply,2024-01-03 09:00,x\n" for i in range(3, 400))).encode())
    parquet = _parquet(pd.read_csv(io.StringIO(GOOD)))
    deep = "<a>" * 100_000 + "</a>" * 100_000
    xes_gz = gzip.compress(("<log>" + "".join(XES_EVENT.replace('"c1"', f'"c{i}"') for i in range(500))
                            + "</log>").encode())
    years = GOOD.replace("c1,Approve,2024-01-01 10:00", "c1,Approve,2999-01-01 09:00") + \
        "c3,Apply,1900-06-01 09:00,carol\nc3,Approve,2024-01-05 09:00,dan\n"
    return [
        # ---- nothing to read
        Entry("empty.csv", b"", Fails(EmptyLogError, r"empty\.csv is empty", r"Export the log again")),
        Entry("blank_lines.csv", b"\n  \n\t\n\n", Fails(EmptyLogError, r"is empty", r"Export the log again")),
        Entry("header_only.csv", b"case_id,activity,timestamp\n",
              Fails(EmptyLogError, r"header \(case_id, activity, timestamp\) but no data rows", r"")),
        Entry("header_only.csv.gz", gzip.compress(b"case_id,activity,timestamp\n"),
              Fails(EmptyLogError, r"no data rows", r"")),
        Entry("no_events.xes", f"<log>{XES_EVENT.split('<event>')[0]}</trace></log>".encode(),
              Fails(EmptyLogError, r"has no events", r"")),
        Entry("empty_cells.csv", b"case_id,activity,timestamp\n,,\n , , \n",
              Fails(EmptyLogError, r"all 2 rows were quarantined \(missing case id: 2\)", r"column mapping")),
        # ---- not what the name says, or not a log at all
        Entry("garbage.csv", garbage, Fails(LogReadError, r"binary data", r"give it the matching extension")),
        Entry("garbage.xes", garbage, Fails(LogReadError, r"garbage\.xes", r"")),
        Entry("garbage.parquet", garbage, Fails(LogReadError, r"not a readable Parquet file",
                                                r"Check that the file is complete")),
        Entry("csv_text.parquet", GOOD.encode(), Fails(LogReadError, r"not a readable Parquet file",
                                                       r"really Parquet")),
        Entry("truncated.parquet", parquet[: len(parquet) // 2],
              Fails(LogReadError, r"not a readable Parquet file", r"complete")),
        Entry("parquet_named.csv", parquet, Fails(UnsupportedFormatError, r"Parquet file with a CSV name",
                                                  r"rename it to \.parquet")),
        Entry("log.json", b'{"case": "c1"}', Fails(UnsupportedFormatError, r"cannot tell what kind of log",
                                                   r"Rename the file")),
        Entry("truncated.csv.gz", big_gz[: len(big_gz) // 2],
              Fails(LogReadError, r"corrupt or truncated", r"Re-export or re-download")),
        Entry("bad_gzip.csv.gz", b"\x1f\x8b" + garbage[:200],
              Fails(LogReadError, r"corrupt or truncated", r"Re-export or re-download")),
        # ---- columns
        Entry("missing_columns.csv", b"foo,bar\n1,2\n3,4\n",
              Fails(ColumnDetectionError, r"no column found for case, activity, timestamp.*Columns present: foo, bar",
                    r"\[columns\]")),
        Entry("mapped_column_absent.csv", GOOD.encode(),
              Fails(SchemaError, r"column 'ticket'.*does not have", r""), config={"columns": {"case": "ticket"}}),
        Entry("wrong_delimiter_configured.csv", GOOD.encode(),
              Fails(ColumnDetectionError, r"Columns present: case_id,activity,timestamp,resource", r"\[columns\]"),
              config={"read": {"delimiter": ";"}}),
        # ---- timestamps
        Entry("all_timestamps_invalid.csv", b"case_id,activity,timestamp\nc1,A,soon\nc1,B,31/31/2024\nc2,A,--\n",
              Fails(EmptyLogError, r"all 3 rows were quarantined \(unparseable timestamp: 3\)",
                    r"timestamp format")),
        Entry("all_years_implausible.csv", b"case_id,activity,timestamp\nc1,A,1900-01-01\nc1,B,2999-01-01\n",
              Fails(EmptyLogError, r"timestamp outside the plausible range: 2", r"column mapping")),
        Entry("years_1900_2999.csv", years.encode(),
              Loads(3, {QuarantineReason.OUT_OF_RANGE.value: 2}, _years_detail)),
        Entry("years_1900_2999_widened.csv", years.encode(),
              Loads(4, {QuarantineReason.OUT_OF_RANGE.value: 1}, _years_widened),
              config={"read": {"min_year": 1800, "max_year": 3000}}),
        Entry("clock_jump.csv", b"case_id,activity,timestamp\nc1,A,2024-01-02 09:00\nc1,B,2024-01-01 09:00\n"
                                b"c1,C,2024-01-03 09:00\n", Loads(3, {}, _clock_jump)),
        Entry("end_before_start.csv", b"case_id,activity,start,end\nc1,A,2024-01-01 10:00,2024-01-01 09:00\n"
                                      b"c1,B,2024-01-01 10:00,2024-01-01 11:00\n",
              Loads(1, {QuarantineReason.END_BEFORE_START.value: 1})),
        Entry("some_timestamps_invalid.csv", (GOOD + "c2,Approve,tomorrow,bob\nc3,Apply,,bob\n").encode(),
              Loads(3, {QuarantineReason.BAD_TIMESTAMP.value: 1, QuarantineReason.MISSING_TIMESTAMP.value: 1})),
        # ---- delimiters and encodings
        Entry("semicolon.csv", GOOD.replace(",", ";").encode(), Loads(3)),
        Entry("tab.tsv", GOOD.replace(",", "\t").encode(), Loads(3)),
        Entry("pipe.txt", GOOD.replace(",", "|").encode(), Loads(3)),
        Entry("crlf.csv", GOOD.replace("\n", "\r\n").encode(), Loads(3)),
        Entry("utf8.csv", ZH.encode("utf-8"), Loads(3, {}, _zh_values)),
        Entry("utf8_bom.csv", b"\xef\xbb\xbf" + ZH.encode("utf-8"), Loads(3, {}, _zh_values)),
        Entry("gbk.csv", ZH.encode("gbk"), Loads(3, {}, _zh_values)),
        Entry("gbk.csv.gz", gzip.compress(ZH.encode("gbk")), Loads(3, {}, _zh_values)),
        Entry("excel_unicode_text.txt", ZH.replace(",", "\t").encode("utf-16"), Loads(3, {}, _zh_values)),
        Entry("utf16_be.csv", b"\xfe\xff" + ZH.encode("utf-16-be"), Loads(3, {}, _zh_values)),
        Entry("ragged_rows.csv", (GOOD + "c3,Apply,2024-01-03 09:00,x,extra,fields\nc4\n").encode(),
              Loads(3, {QuarantineReason.MALFORMED_ROW.value: 2}, _ragged)),
        Entry("unclosed_quote.csv", (GOOD + 'c3,"Apply,2024-01-03 09:00,x\n').encode(),
              Loads(3, {QuarantineReason.MALFORMED_ROW.value: 1})),
        # ---- hostile and malformed XES, end to end through read_log
        Entry("xxe.xes", b'<?xml version="1.0"?>\n<!DOCTYPE log [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
                         b'<log><trace><event><string key="concept:name" value="&x;"/></event></trace></log>',
              Fails(UnsafeInputError, r"refuses XML entities", r"")),
        Entry("billion_laughs.xes", _billion_laughs(), Fails(UnsafeInputError, r"entity 'lol'.*refuses XML entities",
                                                            r"")),
        Entry("external_dtd.xes", b'<?xml version="1.0"?>\n<!DOCTYPE log SYSTEM "http://127.0.0.1:9/evil.dtd">\n'
                                  b'<log></log>', Fails(UnsafeInputError, r"external DTD", r"")),
        Entry("parameter_entity.xes", b'<?xml version="1.0"?>\n<!DOCTYPE log [\n<!ENTITY % r SYSTEM '
                                      b'"http://127.0.0.1:9/e.dtd">\n%r;\n]>\n<log></log>',
              Fails(UnsafeInputError, r"refuses XML entities", r"")),
        Entry("deep_nesting.xes.gz", gzip.compress(f"<log>{deep}</log>".encode()),
              Fails(UnsafeInputError, r"more than \d+ levels", r"")),
        Entry("deep_in_event.xes", f"<log><trace><event>{deep}</event></trace></log>".encode(),
              Fails(UnsafeInputError, r"more than \d+ levels", r"")),
        Entry("malformed.xes", f"<log>{XES_EVENT}</trace></log>".encode(),
              Fails(LogReadError, r"mismatched tag", r"re-export")),
        Entry("truncated.xes", f"<log>{XES_EVENT * 3}".encode()[:-40],
              Fails(LogReadError, r"ends before the XML is complete", r"")),
        Entry("truncated.xes.gz", xes_gz[: len(xes_gz) // 2],
              Fails(LogReadError, r"gzip data is truncated or corrupt", r"")),
        Entry("good.xes", f"<log>{XES_EVENT}</log>".encode(), Loads(1)),
    ]


CORPUS = corpus()

# ---------------------------------------------------------------------------- the sandboxed run

_CHILD = textwrap.dedent("""
    import json, resource, sys, time, traceback, warnings
    cap = int(sys.argv[2])
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    import flowopt
    jobs = json.loads(open(sys.argv[1]).read())
    out = {}
    for name, path, config in jobs:
        t = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                log = flowopt.read_log(path, config)
            res = {"outcome": "loaded", "events": len(log), "quarantined": len(log.quarantine)}
        except flowopt.errors.FlowoptError as exc:
            res = {"outcome": "flowopt_error", "type": type(exc).__name__, "message": str(exc)}
        except BaseException as exc:  # noqa: BLE001 - that is what this child is here to catch
            res = {"outcome": "crash", "type": type(exc).__name__, "message": str(exc)[:500],
                   "traceback": traceback.format_exc()[-3000:]}
        res["seconds"] = time.perf_counter() - t
        out[name] = res
        print(json.dumps([name, res]), flush=True)
""")


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("broken_corpus")
    for entry in CORPUS:
        (folder / entry.name).write_bytes(entry.data)
    return folder


@pytest.fixture(scope="module")
def sandboxed(corpus_dir: Path) -> dict[str, dict[str, Any]]:
    """Every corpus file read in one child process with capped memory and a timeout: name -> outcome."""
    jobs = corpus_dir / "jobs.json"
    jobs.write_text(json.dumps([[e.name, str(corpus_dir / e.name), e.config] for e in CORPUS]))
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(jobs), str(MEMORY_CAP)], check=False, capture_output=True,
                          text=True, timeout=TIMEOUT_S, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    results = dict(json.loads(line) for line in proc.stdout.splitlines() if line.startswith("["))
    assert proc.returncode == 0, f"child died (rc {proc.returncode}) after {list(results)}: {proc.stderr[-3000:]}"
    return results


@pytest.mark.parametrize("entry", CORPUS, ids=[e.name for e in CORPUS])
def test_no_crash_hang_or_memory_blowup(entry: Entry, sandboxed: dict[str, dict[str, Any]]) -> None:
    res = sandboxed[entry.name]
    assert res["outcome"] != "crash", res.get("traceback")
    assert res["seconds"] < PER_FILE_S
    assert res["outcome"] == ("loaded" if isinstance(entry.expect, Loads) else "flowopt_error"), res


@pytest.mark.parametrize("entry", CORPUS, ids=[e.name for e in CORPUS])
def test_expected_behaviour(entry: Entry, corpus_dir: Path, sandboxed: dict[str, dict[str, Any]]) -> None:
    if sandboxed[entry.name]["outcome"] == "crash":
        pytest.fail(f"{entry.name} crashes the reader: {sandboxed[entry.name]['message']}")
    path = corpus_dir / entry.name
    expect = entry.expect
    if isinstance(expect, Fails):
        with pytest.raises(expect.error) as info:
            flowopt.read_log(path, entry.config)
        message = str(info.value)
        assert entry.name in message or isinstance(info.value, UnsafeInputError | LogReadError), message
        assert re.search(expect.problem, message, flags=re.DOTALL), message
        if expect.fix:
            assert re.search(expect.fix, message, flags=re.DOTALL), message
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        log = flowopt.read_log(path, entry.config)
    dropped = [w for w in caught if issubclass(w.category, RowsDroppedWarning)]
    assert len(log) == expect.events
    reasons = log.quarantine["reason"].value_counts().to_dict() if len(log.quarantine) else {}
    assert reasons == expect.quarantined
    assert bool(dropped) == bool(expect.quarantined)  # quarantining always warns, and only then
    assert log.rows_in == log.rows_used + len(log.quarantine)
    if expect.check is not None:
        expect.check(log)


def test_hostile_xes_reads_no_local_file(corpus_dir: Path) -> None:
    """The XXE file names /etc/passwd: the error must not carry any of its contents."""
    with pytest.raises(UnsafeInputError) as info:
        flowopt.read_log(corpus_dir / "xxe.xes")
    assert "root:" not in str(info.value)


def test_mixed_encodings_in_one_file(tmp_path: Path) -> None:
    """Rows in UTF-8 and rows in GBK in one file: every value is decoded as what it was written in."""
    path = tmp_path / "mixed.csv"
    path.write_bytes(ZH.encode("utf-8") + "案3,放款,2024-01-03 09:00\n".encode("gbk"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RowsDroppedWarning)
        log = flowopt.read_log(path)
    assert sorted(set(log.to_pandas()["case_id"])) == ["案1", "案2", "案3"]
