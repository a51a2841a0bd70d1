"""Tests for flowopt.io._xes.read_xes_frame: real logs, types, structure, hostile inputs."""

from __future__ import annotations

import gzip
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from _paths import shared_data_dir
from flowopt.errors import LogFileNotFoundError, LogReadError, UnsafeInputError
from flowopt.io._xes import MAX_DEPTH, read_xes_frame

DATA = shared_data_dir()
CORPUS = Path(__file__).resolve().parent / "xes_corpus"

REAL_LOGS = {
    # file: (events, distinct case ids)
    "bpic2012.xes.gz": (262_200, 13_087),
    "DomesticDeclarations.xes.gz": (55_628, 10_357),
    "RequestForPayment.xes.gz": (36_072, 6_760),
    "helpdesk.xes.gz": (21_348, 4_580),
    "receipt.xes.gz": (8_577, 1_434),
    "running-example.xes": (42, 6),
}


def _data(name: str) -> Path:
    path = DATA / name
    if not path.exists():
        pytest.skip(f"shared log {path} is not available")
    return path


def _pm4py_frame(path: Path) -> pd.DataFrame:
    """pm4py's reading of ``path``; pm4py is imported here only (it prints a banner)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pm4py = pytest.importorskip("pm4py")
        return pm4py.read_xes(str(path), show_progress_bar=False)


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    """Each real log read once per module."""
    return {name: read_xes_frame(_data(name)) for name in REAL_LOGS}


# --------------------------------------------------------------------------- real logs


@pytest.mark.parametrize("name", list(REAL_LOGS))
def test_real_log_counts(frames: dict[str, pd.DataFrame], name: str) -> None:
    events, cases = REAL_LOGS[name]
    df = frames[name]
    assert len(df) == events
    assert df["case:concept:name"].nunique() == cases
    assert df["case:concept:name"].notna().all()
    assert df["concept:name"].notna().all()
    assert isinstance(df.index, pd.RangeIndex)


@pytest.mark.parametrize("name", list(REAL_LOGS))
def test_real_log_columns_trace_attributes_first(frames: dict[str, pd.DataFrame], name: str) -> None:
    cols = list(frames[name].columns)
    n_case = sum(c.startswith("case:") for c in cols)
    assert all(c.startswith("case:") for c in cols[:n_case])
    assert {"concept:name", "time:timestamp"} <= set(cols)


def test_bpic2012_values(frames: dict[str, pd.DataFrame]) -> None:
    df = frames["bpic2012.xes.gz"]
    assert list(df.columns) == [
        "case:REG_DATE", "case:concept:name", "case:AMOUNT_REQ",
        "org:resource", "lifecycle:transition", "concept:name", "time:timestamp",
    ]
    first = df.iloc[0]
    assert first["case:concept:name"] == "173688"
    assert first["concept:name"] == "A_SUBMITTED"
    # dates are the original text, offset kept
    assert first["time:timestamp"] == "2011-10-01T00:38:44.546+02:00"
    assert df["org:resource"].isna().mean() == pytest.approx(0.069, abs=0.005)
    assert set(df["lifecycle:transition"].unique()) == {"SCHEDULE", "START", "COMPLETE"}


def test_domestic_declarations_types(frames: dict[str, pd.DataFrame]) -> None:
    df = frames["DomesticDeclarations.xes.gz"]
    assert df["case:variant-index"].dtype == "Int64"
    assert df["time:timestamp"].iloc[0] == "2017-01-09T09:49:50.000+01:00"
    assert "org:role" in df.columns


@pytest.mark.parametrize("name", ["running-example.xes", "DomesticDeclarations.xes.gz"])
def test_same_values_as_pm4py(frames: dict[str, pd.DataFrame], name: str) -> None:
    ours = frames[name]
    theirs = _pm4py_frame(_data(name))
    assert len(ours) == len(theirs)
    for col in ["case:concept:name", "concept:name", "org:resource"]:
        assert ours[col].tolist() == theirs[col].astype(object).tolist(), col
    parsed = pd.to_datetime(ours["time:timestamp"], utc=True, format="ISO8601")
    assert (parsed.to_numpy() == theirs["time:timestamp"].to_numpy()).all()


def test_gzip_detected_by_content_not_name(tmp_path: Path) -> None:
    plain = tmp_path / "log.gz"  # misleading names both ways
    plain.write_bytes((CORPUS / "typed.xes").read_bytes())
    packed = tmp_path / "log.xes"
    packed.write_bytes((CORPUS / "typed.xes.gz").read_bytes())
    pd.testing.assert_frame_equal(read_xes_frame(plain), read_xes_frame(packed))


# --------------------------------------------------------------------------- types and structure


@pytest.fixture(scope="module")
def typed() -> pd.DataFrame:
    return read_xes_frame(CORPUS / "typed.xes")


def test_typed_rows_and_order(typed: pd.DataFrame) -> None:
    # the empty trace contributes nothing; the orphan event is kept, in file order
    assert typed["concept:name"].tolist() == ["submit & check", "approve", "orphan", "close"]
    assert typed["case:concept:name"].tolist()[:2] == ["c1", "c1"]
    assert pd.isna(typed["case:concept:name"].iloc[2])
    assert typed["case:concept:name"].iloc[3] == "c2"


def test_typed_columns(typed: pd.DataFrame) -> None:
    assert list(typed.columns) == [
        "case:concept:name", "case:priority", "case:late",
        "concept:name", "time:timestamp", "count", "amount", "urgent", "uid", "mixed",
        "parent", "org:resource",
    ]
    # nested attributes (list, container, children of attributes), globals and
    # log-level attributes are ignored; a trace attribute seen only on an empty trace is dropped
    for absent in ("tags", "tag", "box", "inside", "child", "creator", "case:only_on_empty"):
        assert absent not in typed.columns


def test_typed_dtypes_and_values(typed: pd.DataFrame) -> None:
    assert typed["count"].dtype == "Int64"
    assert typed["count"].tolist()[:2] == [7, pd.NA]
    assert typed["case:priority"].dtype == "Int64"
    assert typed["case:priority"].tolist() == [3, 3, pd.NA, 4]
    assert typed["amount"].dtype == np.float64
    assert typed["amount"].iloc[0] == 12.5 and np.isnan(typed["amount"].iloc[3])
    assert typed["urgent"].dtype == "boolean"
    assert typed["urgent"].tolist() == [True, False, pd.NA, pd.NA]
    assert typed["time:timestamp"].iloc[0] == "2024-03-01T09:00:00.000+01:00"
    assert typed["uid"].iloc[0] == "0b5c-11"
    # one key written as <string> and <int>: strings, original text
    assert typed["mixed"].tolist()[:2] == ["x", "5"]
    assert pd.api.types.is_string_dtype(typed["mixed"])
    # attribute order value-before-key, repeated key (last wins), trace attribute after events
    assert typed["concept:name"].iloc[1] == "approve"
    assert typed["org:resource"].iloc[1] == "Bob"
    assert typed["case:late"].tolist()[:2] == ["trace attribute after events"] * 2


def test_unparseable_typed_value_falls_back_to_strings(tmp_path: Path) -> None:
    path = tmp_path / "bad_int.xes"
    path.write_text(
        '<log><trace><string key="concept:name" value="c"/>'
        '<event><int key="n" value="12"/><boolean key="b" value="yes"/></event>'
        '<event><int key="n" value="twelve"/></event></trace></log>'
    )
    df = read_xes_frame(path)
    assert df["n"].tolist() == ["12", "twelve"]
    assert df["b"].iloc[0] == "yes"


def test_namespaced_default_and_no_events(tmp_path: Path) -> None:
    path = tmp_path / "ns.xes"
    path.write_text(
        '<?xml version="1.0"?><log xmlns="http://www.xes-standard.org"><trace>'
        '<string key="concept:name" value="c"/></trace></log>'
    )
    df = read_xes_frame(path)
    assert df.empty and len(df) == 0


def test_doctype_without_entities_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "doctype.xes"
    path.write_text(
        '<?xml version="1.0"?><!DOCTYPE log [<!ELEMENT log ANY>]>'
        '<log><trace><string key="concept:name" value="c"/>'
        '<event><string key="concept:name" value="a"/></event></trace></log>'
    )
    assert read_xes_frame(path)["concept:name"].tolist() == ["a"]


# --------------------------------------------------------------------------- hostile and broken input

HOSTILE: list[tuple[str, type[Exception], str]] = [
    ("xxe_system.xes", UnsafeInputError, r"xxe_system\.xes.*refuses XML entities"),
    ("billion_laughs.xes", UnsafeInputError, r"billion_laughs\.xes.*entity 'lol'.*refuses XML entities"),
    ("parameter_entity.xes", UnsafeInputError, r"parameter_entity\.xes.*refuses XML entities"),
    ("external_dtd.xes", UnsafeInputError, r"external_dtd\.xes.*external DTD"),
    ("truncated.xes.gz", LogReadError, r"truncated\.xes\.gz.*gzip data is truncated or corrupt"),
    ("corrupt.xes.gz", LogReadError, r"corrupt\.xes\.gz.*gzip data is truncated or corrupt"),
    ("truncated.xes", LogReadError, r"truncated\.xes.*line 9.*ends before the XML is complete"),
    ("malformed.xes", LogReadError, r"malformed\.xes.*mismatched tag at line 4.*re-export"),
    ("garbage.bin", LogReadError, r"garbage\.bin.*line 1.*not XML at all"),
    ("empty.xes", LogReadError, r"empty\.xes.*the file is empty"),
    ("not_a_log.xml", LogReadError, r"not_a_log\.xml.*root element is <project>.*not an XES"),
]


@pytest.mark.parametrize(("name", "error", "match"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_and_broken_files(name: str, error: type[Exception], match: str) -> None:
    start = time.perf_counter()
    with pytest.raises(error, match=match) as info:
        read_xes_frame(CORPUS / name)
    assert time.perf_counter() - start < 2
    assert isinstance(info.value, LogReadError)
    assert info.value.path == str(CORPUS / name)


@pytest.mark.parametrize("where", ["root", "event"])
def test_deep_nesting_fails_fast(tmp_path: Path, where: str) -> None:
    depth = 200_000
    inner = "<a>" * depth + "</a>" * depth
    body = (
        f"<log>{inner}</log>"
        if where == "root"
        else f'<log><trace><event><string key="k" value="v">{inner}</string></event></trace></log>'
    )
    path = tmp_path / "deep.xes.gz"
    path.write_bytes(gzip.compress(body.encode()))
    start = time.perf_counter()
    with pytest.raises(UnsafeInputError, match=rf"deep\.xes\.gz.*more than {MAX_DEPTH} levels"):
        read_xes_frame(path)
    assert time.perf_counter() - start < 2


def test_moderate_nesting_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "nested.xes"
    inner = '<string key="x" value="y">' * 50 + "</string>" * 50
    path.write_text(
        f'<log><trace><event><string key="concept:name" value="a"/>{inner}</event></trace></log>'
    )
    assert read_xes_frame(path)["concept:name"].tolist() == ["a"]


def test_missing_file() -> None:
    with pytest.raises(LogFileNotFoundError, match=r"no_such_log\.xes.* does not exist") as info:
        read_xes_frame(CORPUS / "no_such_log.xes")
    assert isinstance(info.value, FileNotFoundError)


def test_directory_is_a_read_error(tmp_path: Path) -> None:
    with pytest.raises(LogReadError, match=r"Cannot open XES file .*directory"):
        read_xes_frame(tmp_path)


@pytest.mark.parametrize("cut", [0.3, 0.6, 0.95])
def test_truncated_real_gzip_never_leaks_low_level_errors(tmp_path: Path, cut: float) -> None:
    data = _data("receipt.xes.gz").read_bytes()
    path = tmp_path / "cut.xes.gz"
    path.write_bytes(data[: int(len(data) * cut)])
    with pytest.raises(LogReadError, match=r"cut\.xes\.gz.*gzip data is truncated"):
        read_xes_frame(path)


@pytest.mark.parametrize("cut", [0.3, 0.6, 0.95])
def test_truncated_real_xml(tmp_path: Path, cut: float) -> None:
    data = (_data("running-example.xes")).read_bytes()
    path = tmp_path / "cut.xes"
    path.write_bytes(data[: int(len(data) * cut)])
    with pytest.raises(LogReadError, match=r"cut\.xes.*line \d+.*ends before the XML is complete"):
        read_xes_frame(path)


def test_str_path_and_pathlike_agree() -> None:
    path: Any = CORPUS / "typed.xes"
    pd.testing.assert_frame_equal(read_xes_frame(path), read_xes_frame(str(path)))
