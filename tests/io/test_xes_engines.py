"""The two XES engines give the same frame, or the same error, for every file.

``engine="scan"`` (flowopt.io._xes_scan) reads a file off its bytes only after checking that the answer
will be the expat reader's; these tests hold it to that, on the hostile corpus, on every real log in the
shared data, on hand-written files that a byte-level reading could get wrong and on generated values.
"""

from __future__ import annotations

import functools
import gzip
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import flowopt
from _paths import shared_data_dir
from flowopt.errors import ParameterError, UnsafeInputError
from flowopt.io import _xes, _xes_scan
from flowopt.io._xes import read_xes_frame

CORPUS = Path(__file__).resolve().parent / "xes_corpus"
REAL_LOGS = sorted(p.name for p in shared_data_dir().glob("*.xes*"))


def _outcome(path: Path, engine: _xes.XesEngine) -> pd.DataFrame | type[BaseException]:
    try:
        return read_xes_frame(path, engine=engine)
    except Exception as exc:  # noqa: BLE001 - the error type is what is compared
        return type(exc)


def _assert_same(path: Path) -> None:
    fast, slow = _outcome(path, "scan"), _outcome(path, "expat")
    if isinstance(slow, pd.DataFrame):
        assert isinstance(fast, pd.DataFrame), fast
        pd.testing.assert_frame_equal(fast, slow)
    else:
        assert fast is slow


@pytest.fixture
def scan_results(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each call of the scan during the test produced the frame (True) or declined (False)."""
    results: list[bool] = []
    real = _xes_scan.read_xes_scan

    def spy(path: Any) -> pd.DataFrame | None:
        frame = real(path)
        results.append(frame is not None)
        return frame

    monkeypatch.setattr(_xes_scan, "read_xes_scan", spy)
    return results


# --------------------------------------------------------------------------- hostile corpus


@pytest.mark.parametrize("name", sorted(p.name for p in CORPUS.iterdir()))
def test_corpus_same_frame_or_same_error(name: str) -> None:
    _assert_same(CORPUS / name)


@pytest.mark.parametrize("name", ["xxe_system.xes", "billion_laughs.xes", "parameter_entity.xes",
                                  "external_dtd.xes"])
def test_entities_are_left_to_expat(name: str, scan_results: list[bool]) -> None:
    with pytest.raises(UnsafeInputError, match="refuses XML entities|external DTD"):
        read_xes_frame(CORPUS / name, engine="scan")
    assert scan_results == [False]


@pytest.mark.parametrize("where", ["root", "event"])
def test_depth_bomb_is_left_to_expat(tmp_path: Path, where: str, scan_results: list[bool]) -> None:
    inner = "<a>" * 100_000 + "</a>" * 100_000
    body = (f"<log>{inner}</log>" if where == "root" else
            f'<log><trace><event><string key="k" value="v">{inner}</string></event></trace></log>')
    path = tmp_path / "deep.xes.gz"
    path.write_bytes(gzip.compress(body.encode()))
    with pytest.raises(UnsafeInputError, match="levels deep"):
        read_xes_frame(path, engine="scan")
    assert scan_results == [False]


@pytest.mark.parametrize("where", ["event", "log"])
def test_list_bomb_is_left_to_expat(tmp_path: Path, where: str, scan_results: list[bool]) -> None:
    inner = '<list key="l"><values>' * 50_000 + "</values></list>" * 50_000
    trace = ('<trace><string key="concept:name" value="c"/>'
             '<event><string key="concept:name" value="a"/>{}</event></trace>')
    body = f"<log>{trace.format(inner) if where == 'event' else inner + trace.format('')}</log>"
    path = tmp_path / "lists.xes"
    path.write_text(body)
    with pytest.raises(UnsafeInputError, match="levels deep"):
        read_xes_frame(path, engine="scan")
    assert scan_results == [False]


@pytest.mark.parametrize("engine", ["lxml", "rustxes"])
def test_unknown_engine_is_a_parameter_error(engine: str) -> None:
    with pytest.raises(ParameterError, match=f"'engine' parameter of read_xes_frame .* Got '{engine}'"):
        read_xes_frame(CORPUS / "typed.xes", engine=engine)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- real logs


@pytest.fixture(scope="module")
def real_frames() -> dict[str, tuple[pd.DataFrame | None, pd.DataFrame]]:
    """Each real log read once by the fast path (None if it fell back) and once by expat."""
    return {name: (_xes_scan.read_xes_scan(shared_data_dir() / name),
                   read_xes_frame(shared_data_dir() / name, engine="expat")) for name in REAL_LOGS}


def test_real_logs_found() -> None:
    assert {"bpic2012.xes.gz", "running-example.xes"} <= set(REAL_LOGS), shared_data_dir()


@pytest.mark.parametrize("name", REAL_LOGS)
def test_real_log_takes_the_fast_path_and_matches(real_frames: dict[str, Any], name: str) -> None:
    fast, slow = real_frames[name]
    assert fast is not None, f"{name} fell back to the expat reader"
    pd.testing.assert_frame_equal(fast, slow)


def _read_log(path: Path, engine: _xes.XesEngine, monkeypatch: pytest.MonkeyPatch) -> flowopt.EventLog:
    reader: Callable[..., pd.DataFrame] = functools.partial(read_xes_frame, engine=engine)
    with monkeypatch.context() as patch:
        patch.setattr(_xes, "read_xes_frame", reader)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return flowopt.read_log(path)


# read_log end to end on the smaller logs (the frames of all of them are compared above): seconds, not minutes
@pytest.mark.parametrize("name", ["running-example.xes", "receipt.xes.gz", "helpdesk.xes.gz"])
def test_read_log_identical(name: str, monkeypatch: pytest.MonkeyPatch, scan_results: list[bool]) -> None:
    fast = _read_log(shared_data_dir() / name, "scan", monkeypatch)
    assert scan_results == [True]
    slow = _read_log(shared_data_dir() / name, "expat", monkeypatch)
    assert scan_results == [True]
    pd.testing.assert_frame_equal(fast.frame, slow.frame)
    pd.testing.assert_frame_equal(fast.quarantine, slow.quarantine)


# ------------------------------------------------------------------ what the scan takes, what it leaves

LOG = '<log xes.version="1.0">{}</log>'
TRACE = '<trace><string key="concept:name" value="c1"/>{}</trace>'
EVENT = ('<event><string key="concept:name" value="a"/>'
         '<date key="time:timestamp" value="2024-03-01T09:00:00.000+01:00"/>{}</event>')


def _one(attributes: str) -> str:
    """A log of one trace with one event that has ``attributes`` besides its name and time."""
    return LOG.format(TRACE.format(EVENT.format(attributes)))


LONG = "x" * 70 + "&amp;" + "y" * 5000  # longer than the 64-byte window copy: the gather path

# file body -> does the scan take it (True) or leave it to the expat reader (False)
CASES: dict[str, tuple[str, bool]] = {
    "plain": (LOG.format(TRACE.format(EVENT.format("") * 2)), True),
    "typed values": (LOG.format(TRACE.format(EVENT.format(
        '<int key="n" value="-7"/><float key="x" value="1.5e3"/><boolean key="b" value="true"/>'
        '<id key="u" value="0b5c1d2e-0000-4000-8000-00000000abcd"/>'))), True),
    "float forms": (LOG.format(TRACE.format("".join(EVENT.format(f'<float key="x" value="{v}"/>') for v in (
        "+5", ".5", "5.", "-0", "1E5", "0.1", "4.9e-324", "1e-400", "1.7976931348623157e309")))), True),
    "booleans written 1 and 0": (LOG.format(TRACE.format(EVENT.format('<boolean key="b" value="1"/>')
                                                         + EVENT.format('<boolean key="b" value="0"/>'))), True),
    "int with leading zeros": (_one('<int key="n" value="-007"/>'), True),
    "int with a plus sign": (_one('<int key="n" value="+7"/>'), False),
    "int of 19 digits": (_one('<int key="n" value="1234567890123456789"/>'), False),
    "float inf": (_one('<float key="x" value="inf"/>'), False),
    "boolean TRUE": (_one('<boolean key="b" value="TRUE"/>'), False),
    "trace attributes after events and on an empty trace": (LOG.format(
        TRACE.format(EVENT.format("") + '<int key="late" value="3"/>')
        + '<trace><string key="only_here" value="x"/><string key="concept:name" value="c0"/></trace>'), True),
    "typed trace attributes on some traces": (LOG.format(
        TRACE.format(EVENT.format("")).replace("<trace>", '<trace><int key="n" value="4"/><float key="f" value="2"/>'
                                               '<boolean key="b" value="false"/>')
        + TRACE.format(EVENT.format("") * 2)), True),
    "global defaults not applied": (LOG.format(
        '<global scope="trace"><date key="due" value="1970-01-01T00:00:00.000+01:00"/>'
        '<string key="team" value="UNKNOWN"/></global>'
        + TRACE.format(EVENT.format("")).replace("<trace>", '<trace><string key="team" value="red"/>'
                                                '<date key="due" value="2024-05-01T00:00:00.000+02:00"/>')
        + TRACE.format(EVENT.format(""))), True),
    "entities and space before />": (LOG.format(TRACE.format(EVENT.format(
        '<string key="note" value="a &amp; b &lt;c&gt; &quot;q&quot; &apos;s&apos;" />'))), True),
    "escaped entities": (_one('<string key="x" value="&amp;lt; &amp;amp; &amp;&amp;"/>'), True),
    "entity at both ends": (_one('<string key="x" value="&lt;x&gt;"/>'), True),
    "long values": (LOG.format(TRACE.format(EVENT.format(f'<string key="x" value="{LONG}"/>')
                                            + EVENT.format('<string key="x" value="short"/>'))), True),
    "empty value": (_one('<string key="x" value=""/>'), True),
    "empty value at the end after a 60-byte one": (_one(f'<string key="x" value="{"v" * 60}"/><string key="y" '
                                                        'value=""/>'), True),
    "Chinese activities, keys and cases": (LOG.format(
        '<trace><string key="concept:name" value="申请-001"/>'
        '<event><string key="concept:name" value="提交申请"/><string key="审批人" value="王芳 &amp; 李伟"/></event>'
        '<event><string key="concept:name" value="审批通过 ✓"/></event></trace>'), True),
    "dates in any form stay text": (_one('<date key="d" value="2024-01-01"/><id key="u" value="abc"/>'), True),
    "log-level metadata with children": (LOG.format(
        '<float key="meta" value="1.5"><float key="x" value="2"/><int value="3"/></float>'
        + TRACE.format(EVENT.format(""))), True),
    "missing values": (LOG.format(TRACE.format(EVENT.format('<string key="r" value="A"/>') * 2
                                               + EVENT.format(""))), True),
    "event key case:x and trace key x": (LOG.format(
        TRACE.format(EVENT.format('<string key="case:x" value="e"/>')).replace(
            "<trace>", '<trace><string key="x" value="t"/>')), True),
    "event key case:x without trace key x": (_one('<string key="case:x" value="e"/>'), True),
    "text between tags": (LOG.format(TRACE.format("\n  text\r\n" + EVENT.format(""))), True),
    "indented with tabs and CRLF": (LOG.format(TRACE.format("\r\n\t\t" + EVENT.format("\t\r\n\t"))), True),
    "repeated key (last wins)": (_one('<string key="concept:name" value="b"/>'), False),
    "repeated trace key": (_one("").replace("<trace>", '<trace><string key="concept:name" value="c0"/>'), False),
    "event outside a trace": (LOG.format(EVENT.format("") + TRACE.format(EVENT.format(""))), False),
    "empty event": (LOG.format(TRACE.format("<event/>" + EVENT.format(""))), False),
    "nested attribute in an event": (LOG.format(TRACE.format(EVENT.format(
        '<string key="p" value="v"><string key="child" value="z"/></string>'))), False),
    "list in an event": (LOG.format(TRACE.format(EVENT.format(
        '<list key="l"><values><string key="i" value="1"/></values></list>'))), False),
    "key with two types": (LOG.format(TRACE.format(EVENT.format('<int key="x" value="1"/>')
                                                   + EVENT.format('<string key="x" value="s"/>'))), False),
    "unparseable int": (_one('<int key="x" value="twelve"/>'), False),
    "attribute without key": (_one('<string value="x"/>'), False),
    "line break in a value": (_one('<string key="x" value="a\nb"/>'), False),
    "tab in a value": (_one('<string key="x" value="a\tb"/>'), False),
    "CRLF in a value": (_one('<string key="x" value="a\r\nb"/>'), False),
    "line break in a key": (_one('<string key="x\ny" value="a"/>'), False),
    "tab between XML attributes": (_one('<string key="x"\tvalue="a"/>'), False),
    "character reference": (_one('<string key="x" value="a&#10;b"/>'), False),
    "decimal reference to &": (_one('<string key="x" value="a&#38;b"/>'), False),
    "hex reference to &": (_one('<string key="x" value="a&#x26;b"/>'), False),
    "> in a value": (_one('<string key="x" value="a>b"/>'), False),
    "namespace prefix": (('<xes:log xmlns:xes="urn:x"><xes:trace><xes:event><xes:string key="a" value="b"/>'
                          "</xes:event></xes:trace></xes:log>"), False),
    "comment in the body": (LOG.format("<!-- c -->" + TRACE.format(EVENT.format(""))), False),
    "CDATA text": (LOG.format(TRACE.format("<![CDATA[<event>]]>" + EVENT.format(""))), False),
    "trace with XML attributes": (_one("").replace("<trace>", '<trace id="1">'), False),
    "single-quoted value": (_one("<string key='x' value='y'/>"), False),
    "duplicate XML attribute": (_one('<string key="x" key="y" value="z"/>'), False),
    "entity in a key": (_one('<string key="a&amp;b" value="x"/>'), False),
    "empty key": (_one('<string key="" value="x"/>'), True),
    "undefined entity": (_one('<string key="x" value="&nbsp;"/>'), False),
    "control character": (_one('<string key="x" value="a\x01b"/>'), False),
    "junk after the log": (_one("") + "<log/>", False),
    "mismatched end tag at log level": (_one("").replace("<trace>", '<float key="m" value="1"></int><trace>'),
                                        False),
    "no events": (LOG.format(TRACE.format("")), False),
}


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gz"])
@pytest.mark.parametrize("name", list(CASES))
def test_hand_written_case(tmp_path: Path, name: str, compress: bool) -> None:
    body, fast_path = CASES[name]
    xml = ('<?xml version="1.0" encoding="UTF-8"?>\n' + body).encode("utf-8")
    path = tmp_path / ("case.xes.gz" if compress else "case.xes")
    path.write_bytes(gzip.compress(xml) if compress else xml)
    _assert_same(path)
    assert (_xes_scan.read_xes_scan(path) is not None) is fast_path


def _case_frame(tmp_path: Path, name: str) -> pd.DataFrame:
    path = tmp_path / "case.xes"
    path.write_text(CASES[name][0], encoding="utf-8")
    frame = _xes_scan.read_xes_scan(path)
    assert frame is not None
    return frame


def test_entities_decoded_as_expat_does(tmp_path: Path) -> None:
    assert _case_frame(tmp_path, "entities and space before />")["note"].tolist() == ["a & b <c> \"q\" 's'"]
    assert _case_frame(tmp_path, "escaped entities")["x"].tolist() == ["&lt; &amp; &&"]
    assert _case_frame(tmp_path, "long values")["x"].tolist() == ["x" * 70 + "&" + "y" * 5000, "short"]


def test_unicode_names_and_values(tmp_path: Path) -> None:
    frame = _case_frame(tmp_path, "Chinese activities, keys and cases")
    assert list(frame.columns) == ["case:concept:name", "concept:name", "审批人"]
    assert frame["concept:name"].tolist() == ["提交申请", "审批通过 ✓"]
    assert frame["case:concept:name"].tolist() == ["申请-001"] * 2
    assert frame["审批人"].tolist()[0] == "王芳 & 李伟" and pd.isna(frame["审批人"].tolist()[1])


def test_typed_columns(tmp_path: Path) -> None:
    frame = _case_frame(tmp_path, "typed trace attributes on some traces")
    assert [str(t) for t in frame.dtypes] == ["Int64", "float64", "boolean", "str", "str", "str"]
    assert frame["case:n"].tolist()[0] == 4 and frame["case:n"].isna().tolist() == [False, True, True]
    floats = _case_frame(tmp_path, "float forms")["x"].tolist()
    assert floats == [5.0, 0.5, 5.0, -0.0, 1e5, 0.1, 5e-324, 0.0, float("inf")]


# values drawn from an alphabet with entities, quotes' entities, unicode, spaces and long runs
VALUE = st.lists(st.sampled_from(["a", "Z", " ", "é", "中", "✓", "&amp;", "&lt;", "&gt;", "&quot;", "&apos;",
                                  "x" * 40, "&amp;lt;", ":", "-", "0"]), max_size=12).map("".join)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.tuples(st.sampled_from(["concept:name", "r", "审批"]), VALUE), max_size=4),
                min_size=1, max_size=6))
def test_generated_values_match_expat(tmp_path_factory: pytest.TempPathFactory,
                                      events: list[list[tuple[str, str]]]) -> None:
    body = "".join("<event>" + "".join(f'<string key="{k}" value="{v}"/>' for k, v in dict(attrs).items())
                   + "</event>" for attrs in events)
    path = tmp_path_factory.mktemp("gen") / "gen.xes"
    path.write_text(LOG.format(TRACE.format(body)), encoding="utf-8")
    fast = _xes_scan.read_xes_scan(path)
    assert fast is not None
    pd.testing.assert_frame_equal(fast, read_xes_frame(path, engine="expat"))


def test_gzip_by_content_and_multi_member(tmp_path: Path) -> None:
    body = ('<?xml version="1.0"?>' + LOG.format(TRACE.format(EVENT.format("") * 3))).encode()
    half = len(body) // 2
    packed = tmp_path / "log.xes"  # a gzip file without .gz in its name, in two gzip members
    packed.write_bytes(gzip.compress(body[:half]) + gzip.compress(body[half:]))
    plain = tmp_path / "log.xes.gz"  # plain XML with a .gz name
    plain.write_bytes(body)
    for path in (packed, plain):
        assert _xes_scan.read_xes_scan(path) is not None
        _assert_same(path)


def test_other_encoding_falls_back(tmp_path: Path) -> None:
    path = tmp_path / "latin1.xes"
    body = '<?xml version="1.0" encoding="ISO-8859-1"?>' + LOG.format(TRACE.format(EVENT.format(
        '<string key="x" value="caf\u00e9"/>')))
    path.write_bytes(body.encode("latin-1"))
    assert _xes_scan.read_xes_scan(path) is None
    assert read_xes_frame(path, engine="scan")["x"].tolist() == ["caf\u00e9"]


def test_auto_engine_scans_large_files_only(scan_results: list[bool]) -> None:
    small, large = shared_data_dir() / "running-example.xes", shared_data_dir() / "helpdesk.xes.gz"
    read_xes_frame(small)
    assert scan_results == []
    read_xes_frame(large)
    assert scan_results == [True]
    read_xes_frame(small, engine="scan")
    assert scan_results == [True, True]
    read_xes_frame(large, engine="expat")
    assert scan_results == [True, True]


def test_files_beyond_the_memory_cap_stream_through_expat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         scan_results: list[bool]) -> None:
    body = ('<?xml version="1.0"?>' + LOG.format(TRACE.format(EVENT.format("") * 50))).encode()
    packed, plain = tmp_path / "log.xes.gz", tmp_path / "log.xes"
    packed.write_bytes(gzip.compress(body))
    plain.write_bytes(body)
    monkeypatch.setattr(_xes_scan, "_MAX_XML", len(body) - 1)
    for path in (packed, plain):
        assert len(read_xes_frame(path, engine="scan")) == 50
    assert scan_results == [False, False]
    monkeypatch.setattr(_xes_scan, "_MAX_XML", len(body))
    assert len(read_xes_frame(packed, engine="scan")) == 50
    assert scan_results == [False, False, True]
