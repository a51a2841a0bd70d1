"""The two XES engines give the same frame, or the same error, for every file.

``engine="rustxes"`` (flowopt.io._xes_rust) hands a file to the Rust rustxes importer only after checking
that the answer will be the expat reader's; these tests hold it to that, on the hostile corpus, on every
real log in the shared data and on hand-written files that rustxes alone reads differently.
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

import flowopt
from _paths import shared_data_dir
from flowopt.errors import ParameterError, UnsafeInputError
from flowopt.io import _xes, _xes_rust
from flowopt.io._xes import read_xes_frame

pytest.importorskip("rustxes", reason="the rustxes engine needs the xes extra (pip install 'flowopt[xes]')")

CORPUS = Path(__file__).resolve().parent / "xes_corpus"
REAL_LOGS = sorted(p.name for p in shared_data_dir().glob("*.xes*"))


def _outcome(path: Path, engine: _xes.XesEngine) -> pd.DataFrame | type[BaseException]:
    try:
        return read_xes_frame(path, engine=engine)
    except Exception as exc:  # noqa: BLE001 - the error type is what is compared
        return type(exc)


def _assert_same(path: Path) -> None:
    fast, slow = _outcome(path, "rustxes"), _outcome(path, "expat")
    if isinstance(slow, pd.DataFrame):
        assert isinstance(fast, pd.DataFrame), fast
        pd.testing.assert_frame_equal(fast, slow)
    else:
        assert fast is slow


@pytest.fixture
def rustxes_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths handed to rustxes during the test."""
    calls: list[str] = []
    real = _xes_rust._call

    def spy(import_xes: Any, path: str) -> Any:
        calls.append(path)
        return real(import_xes, path)

    monkeypatch.setattr(_xes_rust, "_call", spy)
    return calls


# --------------------------------------------------------------------------- hostile corpus


@pytest.mark.parametrize("name", sorted(p.name for p in CORPUS.iterdir()))
def test_corpus_same_frame_or_same_error(name: str) -> None:
    _assert_same(CORPUS / name)


@pytest.mark.parametrize("name", ["xxe_system.xes", "billion_laughs.xes", "parameter_entity.xes",
                                  "external_dtd.xes"])
def test_entities_never_reach_rustxes(name: str, rustxes_calls: list[str]) -> None:
    with pytest.raises(UnsafeInputError, match="refuses XML entities|external DTD"):
        read_xes_frame(CORPUS / name, engine="rustxes")
    assert rustxes_calls == []


@pytest.mark.parametrize("where", ["root", "event"])
def test_depth_bomb_never_reaches_rustxes(tmp_path: Path, where: str, rustxes_calls: list[str]) -> None:
    inner = "<a>" * 100_000 + "</a>" * 100_000
    body = (f"<log>{inner}</log>" if where == "root" else
            f'<log><trace><event><string key="k" value="v">{inner}</string></event></trace></log>')
    path = tmp_path / "deep.xes.gz"
    path.write_bytes(gzip.compress(body.encode()))
    with pytest.raises(UnsafeInputError, match="levels deep"):
        read_xes_frame(path, engine="rustxes")
    assert rustxes_calls == []


@pytest.mark.parametrize("where", ["event", "log"])
def test_list_bomb_never_reaches_rustxes(tmp_path: Path, where: str, rustxes_calls: list[str]) -> None:
    # rustxes 0.2.11 overflows its stack on such a file and takes the whole process down (SIGSEGV)
    inner = '<list key="l"><values>' * 50_000 + "</values></list>" * 50_000
    trace = ('<trace><string key="concept:name" value="c"/>'
             '<event><string key="concept:name" value="a"/>{}</event></trace>')
    body = f"<log>{trace.format(inner) if where == 'event' else inner + trace.format('')}</log>"
    path = tmp_path / "lists.xes"
    path.write_text(body)
    with pytest.raises(UnsafeInputError, match="levels deep"):
        read_xes_frame(path, engine="rustxes")
    assert rustxes_calls == []


def test_unknown_engine_is_a_parameter_error() -> None:
    with pytest.raises(ParameterError, match="'engine' parameter of read_xes_frame .* Got 'lxml'"):
        read_xes_frame(CORPUS / "typed.xes", engine="lxml")  # type: ignore[arg-type]


def test_rustxes_engine_without_rustxes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_xes_rust, "rustxes_available", lambda: False)
    with pytest.raises(ParameterError, match=r"pip install \"flowopt\[xes\]\""):
        read_xes_frame(CORPUS / "typed.xes", engine="rustxes")
    assert read_xes_frame(CORPUS / "typed.xes", engine="auto")["concept:name"].tolist()[0] == "submit & check"


# --------------------------------------------------------------------------- real logs


@pytest.fixture(scope="module")
def real_frames() -> dict[str, tuple[pd.DataFrame | None, pd.DataFrame]]:
    """Each real log read once by the fast path (None if it fell back) and once by expat."""
    return {name: (_xes_rust.read_xes_rustxes(shared_data_dir() / name),
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
def test_read_log_identical(name: str, monkeypatch: pytest.MonkeyPatch, rustxes_calls: list[str]) -> None:
    fast = _read_log(shared_data_dir() / name, "rustxes", monkeypatch)
    assert len(rustxes_calls) == 1
    slow = _read_log(shared_data_dir() / name, "expat", monkeypatch)
    assert len(rustxes_calls) == 1
    pd.testing.assert_frame_equal(fast.frame, slow.frame)
    pd.testing.assert_frame_equal(fast.quarantine, slow.quarantine)


# ------------------------------------------------------------------ rustxes alone reads these otherwise

LOG = '<log xes.version="1.0">{}</log>'
TRACE = '<trace><string key="concept:name" value="c1"/>{}</trace>'
EVENT = ('<event><string key="concept:name" value="a"/>'
         '<date key="time:timestamp" value="2024-03-01T09:00:00.000+01:00"/>{}</event>')


def _one(attributes: str) -> str:
    """A log of one trace with one event that has ``attributes`` besides its name and time."""
    return LOG.format(TRACE.format(EVENT.format(attributes)))


# file body -> does the fast path take it (True) or leave it to the expat reader (False)
CASES: dict[str, tuple[str, bool]] = {
    "plain": (LOG.format(TRACE.format(EVENT.format("") * 2)), True),
    "typed values": (LOG.format(TRACE.format(EVENT.format(
        '<int key="n" value="-7"/><float key="x" value="1.5e3"/><boolean key="b" value="true"/>'
        '<id key="u" value="0b5c1d2e-0000-4000-8000-00000000abcd"/>'))), True),
    "trace attributes after events and on an empty trace": (LOG.format(
        TRACE.format(EVENT.format("") + '<int key="late" value="3"/>')
        + '<trace><string key="only_here" value="x"/><string key="concept:name" value="c0"/></trace>'), True),
    "global defaults not applied": (LOG.format(
        '<global scope="trace"><date key="due" value="1970-01-01T00:00:00.000+01:00"/>'
        '<string key="team" value="UNKNOWN"/></global>'
        + TRACE.format(EVENT.format("")).replace("<trace>", '<trace><string key="team" value="red"/>'
                                                '<date key="due" value="2024-05-01T00:00:00.000+02:00"/>')
        + TRACE.format(EVENT.format(""))), True),
    "entities and space before />": (LOG.format(TRACE.format(EVENT.format(
        '<string key="note" value="a &amp; b &lt;c&gt; &quot;q&quot;" />'))), True),
    "log-level metadata with children": (LOG.format(
        '<float key="meta" value="1.5"><float key="x" value="2"/><int value="3"/></float>'
        + TRACE.format(EVENT.format(""))), True),
    "missing values": (LOG.format(TRACE.format(EVENT.format('<string key="r" value="A"/>') * 2
                                               + EVENT.format(""))), True),
    "repeated key (last wins)": (_one('<string key="concept:name" value="b"/>'), False),
    "event outside a trace": (LOG.format(EVENT.format("") + TRACE.format(EVENT.format(""))), False),
    "empty event": (LOG.format(TRACE.format("<event/>" + EVENT.format(""))), False),
    "nested attribute in an event": (LOG.format(TRACE.format(EVENT.format(
        '<string key="p" value="v"><string key="child" value="z"/></string>'))), False),
    "list in an event": (LOG.format(TRACE.format(EVENT.format(
        '<list key="l"><values><string key="i" value="1"/></values></list>'))), False),
    "key with two types": (LOG.format(TRACE.format(EVENT.format('<int key="x" value="1"/>')
                                                   + EVENT.format('<string key="x" value="s"/>'))), False),
    "unparseable int": (_one('<int key="x" value="twelve"/>'), False),
    "boolean written 1": (_one('<boolean key="x" value="1"/>'), False),
    "date without offset": (_one('<date key="d" value="2024-01-01"/>'), False),
    "id that is no UUID": (_one('<id key="u" value="abc"/>'), False),
    "attribute without key": (_one('<string value="x"/>'), False),
    "line break in a value": (_one('<string key="x" value="a\nb"/>'), False),
    "character reference": (_one('<string key="x" value="a&#10;b"/>'), False),
    "event key case:x and trace key x": (LOG.format(
        TRACE.format(EVENT.format('<string key="case:x" value="e"/>')).replace(
            "<trace>", '<trace><string key="x" value="t"/>')), False),
    "namespace prefix": (('<xes:log xmlns:xes="urn:x"><xes:trace><xes:event><xes:string key="a" value="b"/>'
                          "</xes:event></xes:trace></xes:log>"), False),
    "comment in the body": (LOG.format("<!-- c -->" + TRACE.format(EVENT.format(""))), False),
    "CDATA text": (LOG.format(TRACE.format("<![CDATA[<event>]]>" + EVENT.format(""))), False),
    "trace with XML attributes": (_one("").replace("<trace>", '<trace id="1">'),
                                  False),
    "single-quoted value": (_one("<string key='x' value='y'/>"), False),
    "duplicate XML attribute": (_one('<string key="x" key="y" value="z"/>'),
                                False),
    "entity in a key": (_one('<string key="a&amp;b" value="x"/>'), False),
    "empty key": (_one('<string key="" value="x"/>'), False),
    "text between tags": (LOG.format(TRACE.format("\n  text\r\n" + EVENT.format(""))), True),
    "undefined entity": (_one('<string key="x" value="&nbsp;"/>'), False),
    "control character": (_one('<string key="x" value="a\x01b"/>'), False),
    "junk after the log": (_one("") + "<log/>", False),
    "mismatched end tag at log level": (_one("").replace("<trace>", '<float key="m" value="1"></int><trace>'),
                                        False),
    "no events": (LOG.format(TRACE.format("")), False),
}


@pytest.mark.parametrize("name", list(CASES))
def test_hand_written_case(tmp_path: Path, name: str, capfd: pytest.CaptureFixture[str]) -> None:
    body, fast_path = CASES[name]
    path = tmp_path / "case.xes"
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n' + body, encoding="utf-8")
    _assert_same(path)
    assert (_xes_rust.read_xes_rustxes(path) is not None) is fast_path
    assert capfd.readouterr().err == ""  # rustxes prints warnings and panics: it never sees such files


def test_gzip_by_content_and_multi_member(tmp_path: Path) -> None:
    body = ('<?xml version="1.0"?>' + LOG.format(TRACE.format(EVENT.format("") * 3))).encode()
    half = len(body) // 2
    packed = tmp_path / "log.xes"  # a gzip file without .gz in its name, in two gzip members
    packed.write_bytes(gzip.compress(body[:half]) + gzip.compress(body[half:]))
    plain = tmp_path / "log.xes.gz"  # plain XML with a .gz name
    plain.write_bytes(body)
    for path in (packed, plain):
        assert _xes_rust.read_xes_rustxes(path) is not None
        _assert_same(path)


def test_other_encoding_falls_back(tmp_path: Path) -> None:
    path = tmp_path / "latin1.xes"
    body = '<?xml version="1.0" encoding="ISO-8859-1"?>' + LOG.format(TRACE.format(EVENT.format(
        '<string key="x" value="caf\u00e9"/>')))
    path.write_bytes(body.encode("latin-1"))
    assert _xes_rust.read_xes_rustxes(path) is None
    assert read_xes_frame(path, engine="rustxes")["x"].tolist() == ["caf\u00e9"]


def test_auto_engine_uses_rustxes_for_large_files_only(rustxes_calls: list[str]) -> None:
    small, large = shared_data_dir() / "running-example.xes", shared_data_dir() / "helpdesk.xes.gz"
    read_xes_frame(small)
    assert rustxes_calls == []
    read_xes_frame(large)
    assert len(rustxes_calls) == 1
    read_xes_frame(small, engine="rustxes")
    assert len(rustxes_calls) == 2


def test_files_beyond_the_memory_cap_stream_through_expat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         rustxes_calls: list[str]) -> None:
    body = ('<?xml version="1.0"?>' + LOG.format(TRACE.format(EVENT.format("") * 50))).encode()
    packed, plain = tmp_path / "log.xes.gz", tmp_path / "log.xes"
    packed.write_bytes(gzip.compress(body))
    plain.write_bytes(body)
    monkeypatch.setattr(_xes_rust, "_MAX_XML", len(body) - 1)
    for path in (packed, plain):
        assert _xes_rust.read_xes_rustxes(path) is None
        assert len(read_xes_frame(path, engine="rustxes")) == 50
    monkeypatch.setattr(_xes_rust, "_MAX_XML", len(body))
    assert _xes_rust.read_xes_rustxes(packed) is not None
    assert len(rustxes_calls) == 1
