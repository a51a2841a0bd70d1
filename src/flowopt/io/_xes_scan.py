"""Optional fast path for XES files: the Rust ``rustxes`` importer, used only where it is provably exact.

``rustxes`` (PyPI; the importer pm4py itself delegates to; ``pip install "flowopt[xes]"``) parses XES in
Rust and returns a polars frame. On its own it is no drop-in for the expat reader of
:mod:`flowopt.io._xes`: it parses ``<date>`` values (their text and offset are lost), keeps the *first*
of two attributes with the same key, fills missing attributes with ``<global>`` defaults, turns an
unparseable ``<int>`` into 0, a ``<boolean>`` ``1`` into ``False`` and an ``<id>`` that is no UUID into
zeros, drops events outside traces, quotes the values of keys written with several types, orders
columns by hash, and panics on an empty ``<event/>``, a date without offset or a namespace prefix. So
:func:`read_xes_rustxes` hands rustxes only files it has checked, builds the frame from rustxes' strings
and the file's own text, and returns ``None`` (the caller then runs the expat reader, which gives the
same frame or our typed, explained error) whenever it cannot vouch for an identical result:

1. **Prolog** (before the root element): only an XML 1.0 declaration (UTF-8), comments, processing
   instructions and whitespace. A ``<!DOCTYPE``/``<!ENTITY`` (DTDs, entities, XXE, entity bombs), a byte
   order mark, another encoding or a root other than ``<log`` means ``None`` before rustxes sees anything.
2. **Body**, checked with NumPy over the decompressed bytes (vectorised passes, no Python work per
   element): no comment, CDATA or processing instruction; every ``&`` one of the five predefined
   entities; no control character XML forbids; valid UTF-8; only XES element names; ``log``, ``trace``,
   ``event`` and ``global`` nested as XES prescribes (no event outside a trace); inside traces only
   attributes written ``<T key="K" value="V"/>`` (no nested attribute, ``<list>`` or ``<container>``);
   log-level metadata nested properly and at most ``_MAX_OUTER_DEPTH`` deep, so no depth bomb reaches
   rustxes (rustxes 0.2.11 overflows its stack and kills the process, SIGSEGV, on 100,000 nested
   ``<list>`` elements); no stray quote. The scan also finds the key and the value of every attribute.
3. **Types**: no key written with two types, and every ``date int float boolean id`` value in a form
   rustxes reads without printing a warning (RFC 3339 dates with an offset, plain numbers,
   ``true``/``false``, UUIDs).
4. **rustxes** reads the checked bytes (from a temporary file when the file was compressed); any
   exception, panic included, means ``None``. Its string columns are kept where the file has the key
   (``<global>`` defaults dropped) after checking that it has one row per ``<event>``, a value on every
   row that has the key, values of the same byte length as the file's (entities decoded), no literal
   tab or line break (expat normalises them to spaces) and no key repeated in one trace or event.
   Typed columns are built from the file's own text exactly as the expat reader builds them (dates stay
   text, offset included), and columns are ordered by first appearance, as there.

Files written by ProM, pm4py, Disco and the BPI Challenge exports take the fast path; see
``benchmarks/bench_xes.py`` for timings. The whole decompressed file is held in memory (rustxes holds it
too).
"""

from __future__ import annotations

import os
import re
import tempfile
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from flowopt.io import _xes as expat_reader

__all__ = ["read_xes_rustxes", "rustxes_available"]

_GZIP_MAGIC = b"\x1f\x8b"
_PAD = b"\0" * 16  # so 8-byte windows past the last tag stay inside the buffer
_PROLOG_MAX = 1 << 16

# Element codes. Structural tags (log, trace, event, global) come first; the rest are leaves.
_UNKNOWN, _LOG_O, _LOG_C, _TRACE_O, _TRACE_C, _EVENT_O, _EVENT_C, _GLOBAL_O, _GLOBAL_C = range(9)
_EXTENSION, _CLASSIFIER = 9, 10
_ATTR0 = 11  # _ATTR0 + expat kind: string, date, int, float, boolean, id
_LIST, _CONTAINER, _VALUES = 17, 18, 19
_LEAF_CLOSE = 20  # the end tag of an attribute or of a list/container/values element
_NAMES = {
    _LOG_O: b"log", _TRACE_O: b"trace", _EVENT_O: b"event", _GLOBAL_O: b"global",
    _EXTENSION: b"extension", _CLASSIFIER: b"classifier",
    _ATTR0: b"string", _ATTR0 + 1: b"date", _ATTR0 + 2: b"int", _ATTR0 + 3: b"float",
    _ATTR0 + 4: b"boolean", _ATTR0 + 5: b"id", _LIST: b"list", _CONTAINER: b"container", _VALUES: b"values",
}
_NAME_LEN = np.zeros(32, dtype=np.int64)
_OPEN_LUT = np.zeros(1 << 16, dtype=np.int64)  # first two bytes of a name -> element code
_CLOSE_LUT = np.zeros(1 << 16, dtype=np.int64)
_OPEN_PAT = np.zeros(32, dtype=np.uint64)  # first (up to) 8 bytes of the name
_OPEN_MASK = np.zeros(32, dtype=np.uint64)
_CLOSE_PAT = np.zeros(32, dtype=np.uint64)  # first (up to) 8 bytes of '/name>'
_CLOSE_MASK = np.zeros(32, dtype=np.uint64)
for _code, _name in _NAMES.items():
    _NAME_LEN[_code] = len(_name)
    _OPEN_LUT[int.from_bytes(_name[:2], "little")] = _code
    _OPEN_PAT[_code] = int.from_bytes(_name[:8], "little")
    _OPEN_MASK[_code] = (1 << (8 * min(len(_name), 8))) - 1
    if _code not in (_EXTENSION, _CLASSIFIER):  # these two are always empty elements
        _CLOSE_LUT[int.from_bytes(_name[:2], "little")] = _code
        _end = b"/" + _name + b">"
        _CLOSE_PAT[_code] = int.from_bytes(_end[:8], "little")
        _CLOSE_MASK[_code] = (1 << (8 * min(len(_end), 8))) - 1
_CLOSE_CODE = np.full(32, _LEAF_CLOSE, dtype=np.int64)
_CLOSE_CODE[[_LOG_O, _TRACE_O, _EVENT_O, _GLOBAL_O]] = [_LOG_C, _TRACE_C, _EVENT_C, _GLOBAL_C]

# Which structural tag may follow which: the XES grammar as far as both readers agree on it.
_FOLLOWS = {
    _LOG_O: (_TRACE_O, _GLOBAL_O, _LOG_C),
    _GLOBAL_O: (_GLOBAL_C,),
    _GLOBAL_C: (_GLOBAL_O, _TRACE_O, _LOG_C),
    _TRACE_O: (_EVENT_O, _TRACE_C),
    _EVENT_O: (_EVENT_C,),
    _EVENT_C: (_EVENT_O, _TRACE_C),
    _TRACE_C: (_TRACE_O, _GLOBAL_O, _LOG_C),
}
_ALLOWED = np.zeros(16 * 16, dtype=bool)
_ALLOWED[[a * 16 + b for a, bs in _FOLLOWS.items() for b in bs]] = True

# Where a tag is, from the last structural tag before it.
_C_LOG, _C_GLOBAL, _C_TRACE, _C_EVENT = 0, 1, 2, 3
_CTX_OF = np.full(32, -1, dtype=np.int8)
_CTX_OF[[_LOG_O, _TRACE_C, _GLOBAL_C]] = _C_LOG
_CTX_OF[_GLOBAL_O] = _C_GLOBAL
_CTX_OF[[_TRACE_O, _EVENT_C]] = _C_TRACE
_CTX_OF[_EVENT_O] = _C_EVENT

_DELIM = np.zeros(256, dtype=bool)
_DELIM[[0x20, 0x3E, 0x2F, 0x09, 0x0A, 0x0D]] = True  # space > / tab LF CR: what may end a tag name
_ENTITIES = (b"&amp;", b"&lt;", b"&gt;", b"&quot;", b"&apos;")
_UNESCAPE = (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"), ("&amp;", "&"))
_MAX_LISTED = 100_000  # tags outside traces checked one by one (log, global, extension, long keys, ...)
_MAX_OUTER_DEPTH = 32  # nesting of log-level attributes
_MAX_XML = 2 << 30  # larger (decompressed) files: the streaming expat reader, which needs little memory
_MAX_KEY = 1024  # longer attribute keys: the expat reader reads the file
_MAX_KEYS = 5_000  # more distinct keys on traces and events: the expat reader reads the file

# Typed values in the forms rustxes reads silently (it prints a warning for anything else).
_VALUE_FORMS = {
    expat_reader._DATE: (r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?"
                         r"(?:Z|[+-][0-9]{2}:[0-9]{2})"),
    expat_reader._INT: r"[+-]?[0-9]{1,18}",
    expat_reader._FLOAT: r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?",
    expat_reader._BOOLEAN: r"true|false",
    expat_reader._ID: r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
}


def rustxes_available() -> bool:
    """True when the optional ``rustxes`` importer (``pip install "flowopt[xes]"``) can be imported."""
    try:
        import rustxes  # noqa: F401
    except ImportError:
        return False
    return True


def _le(word: bytes) -> int:
    return int.from_bytes(word, "little")


def _mask(n: int) -> np.uint64:
    return np.uint64((1 << (8 * n)) - 1)


# --------------------------------------------------------------------------- bytes and prolog


def _load(path: str) -> tuple[bytes, bool] | None:
    """The whole (decompressed) file followed by ``_PAD``, and whether it was gzip; None when it cannot
    be read or inflated (the expat reader then names the problem)."""
    try:
        if os.path.getsize(path) > _MAX_XML:
            return None
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError:
        return None
    if not raw.startswith(_GZIP_MAGIC):
        return raw + _PAD, False
    parts: list[bytes] = []
    rest = raw
    try:
        while rest:
            inflater = zlib.decompressobj(wbits=31)
            parts.append(inflater.decompress(rest, _MAX_XML + 1 - sum(map(len, parts))))
            if not inflater.eof:
                return None  # truncated (the expat reader explains it), or larger than _MAX_XML
            rest = inflater.unused_data
            if not rest.startswith(_GZIP_MAGIC):
                break
    except zlib.error:
        return None
    if rest.strip(b"\0") or sum(map(len, parts)) > _MAX_XML:
        return None  # trailing garbage after the gzip members, or too large
    parts.append(_PAD)
    return b"".join(parts), True


_DECL = re.compile(rb'<\?xml(?:\s+version\s*=\s*(["\'])1\.0\1)'
                   rb'(?:\s+encoding\s*=\s*(["\'])(?:utf-8|UTF-8|utf8|UTF8)\2)?'
                   rb'(?:\s+standalone\s*=\s*(["\'])(?:yes|no)\3)?\s*\?>')
_PI_OR_COMMENT = re.compile(rb"<\?(?!xml[\s?])[^?]*(?:\?(?!>)[^?]*)*\?>|<!--(?:[^-]|-(?!-))*-->")


def _prolog_end(data: bytes) -> int | None:
    """Offset of the root ``<log`` when everything before it is harmless; None otherwise."""
    head = data[:_PROLOG_MAX]
    i = 0
    decl = _DECL.match(head)
    if decl is not None:
        i = decl.end()
    elif head.startswith(b"<?xml"):
        return None  # another version or encoding: expat decodes it, rustxes might not
    while True:
        while i < len(head) and head[i] in b" \t\r\n":
            i += 1
        item = _PI_OR_COMMENT.match(head, i)
        if item is None:
            break
        i = item.end()
    if head.startswith(b"<log", i) and head[i + 4 : i + 5] in (b" ", b">", b"/", b"\t", b"\n", b"\r"):
        return i
    return None  # <!DOCTYPE, <!ENTITY, another root, a byte order mark, binary data


# --------------------------------------------------------------------------- body scan


@dataclass(frozen=True, slots=True)
class _Scan:
    """What the body scan learned about the attributes of traces and events."""

    n_events: int
    n_traces: int
    row_trace: np.ndarray  # trace of every event
    kind: np.ndarray  # expat kind of every attribute
    ctx: np.ndarray  # _C_TRACE or _C_EVENT
    owner: np.ndarray  # event index (ctx event) or trace index (ctx trace)
    pos: np.ndarray  # byte offset of the attribute's '<', increasing
    key_id: np.ndarray  # index into ``keys``
    keys: dict[bytes, int]  # every key as written -> its id
    value_span: tuple[np.ndarray, np.ndarray]


def _words(buf: np.ndarray) -> np.ndarray:
    """Every 8-byte little-endian window of ``buf``, as an overlapping uint64 view (no copy)."""
    return np.ndarray(shape=(len(buf) - 7,), dtype="<u8", buffer=buf, strides=(1,))


def _clean_text(data: bytes, buf: np.ndarray, words: np.ndarray) -> bool:
    """No control character XML forbids, valid UTF-8, and every '&' one of the predefined entities."""
    small = buf[buf < 0x20]
    if np.any((small != 0x09) & (small != 0x0A) & (small != 0x0D)):
        return False
    if not data.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return False
    if data.find(b"&") < 0:
        return True
    amp = words[np.flatnonzero(buf == 0x26)]
    ok = np.zeros(len(amp), dtype=bool)
    for ent in _ENTITIES:
        ok |= (amp & _mask(len(ent))) == _le(ent)
    return bool(ok.all())


def _codes(words: np.ndarray, lt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The code of every tag (``_UNKNOWN`` for a name XES does not have) and, for the end tag of a
    leaf, the code of the element it closes."""
    w = words[lt + 1]
    closing = (w & np.uint64(0xFF)) == np.uint64(0x2F)
    elem = np.where(closing, _CLOSE_LUT[((w >> np.uint64(8)) & np.uint64(0xFFFF)).astype(np.intp)],
                    _OPEN_LUT[(w & np.uint64(0xFFFF)).astype(np.intp)])
    length = _NAME_LEN[elem]
    after = ((w >> (np.minimum(length, 7) * 8).astype(np.uint64)) & np.uint64(0xFF)).astype(np.intp)
    ok_open = ((w & _OPEN_MASK[elem]) == _OPEN_PAT[elem]) & ((length > 7) | _DELIM[after])
    ok = np.where(closing, (w & _CLOSE_MASK[elem]) == _CLOSE_PAT[elem], ok_open) & (elem != _UNKNOWN)
    long_names = np.flatnonzero(ok & np.where(closing, length > 6, length > 7))
    for i in long_names.tolist():  # boolean end tags, extension, classifier, container: a few at most
        name = _NAMES[int(elem[i])]
        full = b"/" + name + b">" if closing[i] else name
        tail = int(words[lt[i] + 9])
        rest = full[8:]
        ok[i] = tail & ((1 << (8 * len(rest))) - 1) == _le(rest) and (
            bool(closing[i]) or bool(_DELIM[(tail >> (8 * len(rest))) & 0xFF]))
    code = np.where(closing, _CLOSE_CODE[elem], elem)
    code[~ok] = _UNKNOWN
    return code, np.where(closing, elem, _UNKNOWN)


def _scan(data: bytes, root: int) -> _Scan | None:
    """Check the body of the document (see the module docstring); None when it is not plain XES."""
    full = np.frombuffer(data, dtype=np.uint8)
    buf = full[: len(full) - len(_PAD)]
    words = _words(full)
    if not _clean_text(data, buf, words):
        return None
    body = buf[root:]
    lt = np.flatnonzero(body == 0x3C) + root
    gt = np.flatnonzero(body == 0x3E) + root
    if len(lt) != len(gt) or len(lt) < 2 or not (lt < gt).all() or not (gt[:-1] < lt[1:]).all():
        return None  # a '>' in text or in a value, or a tag left open
    if data[int(gt[-1]) + 1 : len(buf)].strip(b" \t\r\n"):
        return None
    code, closes = _codes(words, lt)
    if (code == _UNKNOWN).any():
        return None
    self_closing = buf[gt - 1] == 0x2F
    is_structural = code <= _GLOBAL_C
    structural = np.flatnonzero(is_structural)
    seq = code[structural]
    if (structural[0] != 0 or structural[-1] != len(code) - 1 or seq[0] != _LOG_O or seq[-1] != _LOG_C
            or self_closing[structural].any() or not _ALLOWED[seq[:-1] * 16 + seq[1:]].all()):
        return None
    last = np.zeros(len(code), dtype=np.int64)
    last[structural] = structural
    ctx = _CTX_OF[code[np.maximum.accumulate(last)]]
    is_attr = (code >= _ATTR0) & (code < _LIST)
    listed = (code == _EXTENSION) | (code == _CLASSIFIER)
    inner = ~is_structural & (ctx >= _C_TRACE)
    if not (self_closing & (is_attr | listed))[inner].all() or (listed & ~self_closing).any():
        return None  # nested attributes, lists or containers in a trace or event
    bare = (code == _TRACE_O) | (code == _EVENT_O)
    if not (gt[bare] - lt[bare] == 6).all():
        return None  # <trace ...> or <event ...> with XML attributes
    if not _nesting_ok(code, closes, self_closing, ~is_structural & ~inner, is_structural):
        return None
    attrs = np.flatnonzero(is_attr & inner)
    key_start = lt[attrs] + _NAME_LEN[code[attrs]] + 7
    keyed = _key_ids(data, words, key_start)
    if keyed is None:
        return None
    key_id, key_len, keys = keyed
    if any(b"&" in key for key in keys):
        return None  # rustxes keeps entities in keys as written; expat decodes them
    value_start, value_end, canonical = _spans(full, words, key_start, key_len, gt[attrs],
                                               self_closing[attrs])
    if not canonical.all():
        return None  # a trace or event attribute not written <T key=".." value=".."/>
    outer = np.flatnonzero(is_attr & ~inner)
    outer_start = lt[outer] + _NAME_LEN[code[outer]] + 7
    outer_key_len = _first_quote(words, outer_start, 1 << 14)
    *_, outer_canonical = _spans(full, words, outer_start, outer_key_len, gt[outer], self_closing[outer])
    free = np.zeros(len(code), dtype=bool)  # checked one by one: XML attributes in any form
    free[outer[~outer_canonical]] = True
    free |= (code == _LOG_O) | (code == _GLOBAL_O) | listed | ((code >= _LIST) & (code < _LEAF_CLOSE))
    free_quotes = _free_tags_quotes(data, lt[free], gt[free], code[free])
    expected_quotes = 4 * (len(attrs) + int(outer_canonical.sum()))
    if free_quotes is None or data.count(b'"', root) != expected_quotes + free_quotes:
        return None  # a quote in a value or in text
    ev_index = np.cumsum(code == _EVENT_O) - 1
    tr_index = np.cumsum(code == _TRACE_O) - 1
    on_event = ctx[attrs] == _C_EVENT
    return _Scan(
        n_events=int(ev_index[-1] + 1), n_traces=int(tr_index[-1] + 1), row_trace=tr_index[code == _EVENT_O],
        kind=code[attrs] - _ATTR0, ctx=ctx[attrs], owner=np.where(on_event, ev_index[attrs], tr_index[attrs]),
        pos=lt[attrs], key_id=key_id, keys=keys, value_span=(value_start, value_end),
    )


def _nesting_ok(code: np.ndarray, closes: np.ndarray, self_closing: np.ndarray, outer: np.ndarray,
                is_structural: np.ndarray) -> bool:
    """Elements outside traces (log-level attributes and their children) nest properly and shallowly,
    and none is open across a structural tag."""
    opens = outer & ~self_closing & (code != _LEAF_CLOSE)
    ends = code == _LEAF_CLOSE
    if not opens.any() and not ends.any():
        return True
    depth = np.cumsum(opens.astype(np.int64) - ends)
    if depth.min() < 0 or depth.max() > _MAX_OUTER_DEPTH or depth[is_structural].any():
        return False
    o, e = np.flatnonzero(opens), np.flatnonzero(ends)
    index = np.concatenate([o, e])
    level = np.concatenate([depth[o], depth[e] + 1])
    order = np.lexsort((index, level))
    index, level = index[order], level[order]
    first, second = index[0::2], index[1::2]
    return bool(opens[first].all() and ends[second].all() and (level[0::2] == level[1::2]).all()
                and (code[first] == closes[second]).all())


_TAG = re.compile(rb"<[a-z]+(?:\s+[A-Za-z_][\w.:-]*\s*=\s*(?:\"[^\"<]*\"|'[^'<]*'))*\s*/?>")
_ATTR_TAG = re.compile(rb'<[a-z]+ key="[^"<]*" value="[^"<]*"\s*/?>')
_TAG_ATTR_NAME = re.compile(rb"\s([A-Za-z_][\w.:-]*)\s*=")


def _free_tags_quotes(data: bytes, starts: np.ndarray, ends: np.ndarray, codes: np.ndarray) -> int | None:
    """Check the tags outside traces that the vectorised checks did not cover, one by one (log-level
    attributes with long keys, extensions, globals, ...); the number of '"' in them."""
    if len(starts) > _MAX_LISTED:
        return None
    quotes = 0
    for start, end, code in zip(starts.tolist(), ends.tolist(), codes.tolist()):
        tag = data[start : end + 1]
        if _ATTR0 <= code < _LIST and _ATTR_TAG.fullmatch(tag) is not None:
            quotes += 4
            continue
        if _TAG.fullmatch(tag) is None:
            return None
        names = _TAG_ATTR_NAME.findall(tag)
        if len(names) != len(set(names)):
            return None  # a repeated XML attribute: expat refuses the file
        quotes += tag.count(b'"')
    return quotes


def _first_quote(words: np.ndarray, starts: np.ndarray, limit: int) -> np.ndarray:
    """Offset of the first '"' at or after each of ``starts`` (-1 when none within ``limit`` bytes),
    8 bytes at a time with no Python loop per tag."""
    found = np.full(len(starts), -1, dtype=np.int64)
    todo = np.arange(len(starts))
    ones, highs, quotes = (np.uint64(0x0101010101010101), np.uint64(0x8080808080808080),
                           np.uint64(0x2222222222222222))
    for offset in range(0, limit, 8):
        if not len(todo):
            break
        x = words[np.minimum(starts[todo] + offset, len(words) - 1)] ^ quotes
        zero = (x - ones) & ~x & highs  # the lowest flagged byte is the first '"'
        hit = zero != 0
        low = zero[hit] & (~zero[hit] + np.uint64(1))
        found[todo[hit]] = offset + (np.log2(low.astype(np.float64)).astype(np.int64) - 7) // 8
        todo = todo[~hit]
    return found


def _spans(full: np.ndarray, words: np.ndarray, key_start: np.ndarray, key_len: np.ndarray, end: np.ndarray,
           self_closing: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Value byte ranges of attribute tags, and whether each is written ``<T key="K" value="V"/>`` (or
    ``" />``, or ``">`` for a log-level attribute with children)."""
    key_end = key_start + np.maximum(key_len, 0)
    value_end = np.where(self_closing, end - 2, end - 1)
    value_end -= full[value_end] == 0x20
    ok = (((words[key_start - 6] & _mask(6)) == _le(b' key="')) & (key_len >= 0)
          & (words[key_end] == _le(b'" value=')) & (full[value_end] == 0x22) & (value_end >= key_end + 9))
    return key_end + 9, value_end, ok


def _key_ids(data: bytes, words: np.ndarray, key_start: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray, dict[bytes, int]] | None:
    """Identify the key of every attribute: an id per attribute, the key lengths, and the keys.

    Attributes are grouped by the first 8 bytes of their key; within a group, one key is read from
    the bytes and every attribute is compared with it 8 bytes at a time (closing quote included), so
    the Python work grows with the number of distinct keys, not of attributes.
    """
    group, uniques = pd.factorize(words[key_start])
    if len(uniques) > _MAX_KEYS:
        return None
    key_id = np.full(len(key_start), -1, dtype=np.int64)
    key_len = np.full(len(key_start), -1, dtype=np.int64)
    keys: dict[bytes, int] = {}
    order = np.argsort(group.astype(np.uint16), kind="stable")  # a radix sort: _MAX_KEYS < 2**16
    for todo in np.split(order, np.flatnonzero(np.diff(group[order])) + 1):
        while len(todo):
            at = int(key_start[todo[0]])
            end = data.find(b'"', at, at + _MAX_KEY)
            if end < 0 or len(keys) >= _MAX_KEYS:
                return None
            key = data[at:end]
            written = key + b'"'
            same = np.ones(len(todo), dtype=bool)  # the first 8 bytes are the group's
            for offset in range(8, len(written), 8):
                chunk = written[offset : offset + 8]
                same &= (words[key_start[todo] + offset] & _mask(len(chunk))) == _le(chunk)
            ident = keys.setdefault(key, len(keys))
            key_id[todo[same]] = ident
            key_len[todo[same]] = len(key)
            todo = todo[~same]
    return key_id, key_len, keys


# --------------------------------------------------------------------------- attribute values


def _strings(full: np.ndarray, starts: np.ndarray, ends: np.ndarray, unescape: bool) -> Any:
    """The byte ranges ``starts[i]:ends[i]`` as one Arrow string array (no Python loop per value)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    lengths = ends - starts
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    widest = int(lengths.max(initial=0))
    if widest <= 64:  # copy rows of the widest length, then keep each row's own bytes
        windows = np.lib.stride_tricks.as_strided(full, shape=(len(full) - widest, widest), strides=(1, 1))
        rows = windows[starts]
        chars = rows[np.arange(widest) < lengths[:, None]] if widest * len(lengths) != offsets[-1] else rows
    else:
        chars = full[np.repeat(starts - offsets[:-1], lengths) + np.arange(offsets[-1], dtype=np.int64)]
    out = pa.LargeStringArray.from_buffers(len(lengths), pa.py_buffer(offsets), pa.py_buffer(chars))
    if unescape and len(out) and pc.any(pc.match_substring(out, "&")).as_py():
        for ent, char in _UNESCAPE:
            out = pc.replace_substring(out, ent, char)
    return out


def _typed_values(data: bytes, scan: _Scan) -> tuple[np.ndarray, Any] | None:
    """The typed attributes (``date int float boolean id``) and their values, or None when a key has
    several types or a value is in a form rustxes would print a warning about (it reads the file only
    after this check)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    is_typed = scan.kind != expat_reader._STRING
    typed = np.flatnonzero(is_typed)
    slot = scan.key_id * 4 + scan.ctx  # one column of the frame
    typed_slots = np.unique(slot[typed])
    if (len(np.unique(slot[typed] * 8 + scan.kind[typed])) != len(typed_slots)
            or np.isin(slot[~is_typed], typed_slots).any()):
        return None  # a key written with several types: rustxes warns and quotes the values
    values = _strings(np.frombuffer(data, dtype=np.uint8), scan.value_span[0][typed],
                      scan.value_span[1][typed], unescape=data.find(b"&") >= 0)
    kinds = scan.kind[typed]
    for kind, form in _VALUE_FORMS.items():
        mine = np.flatnonzero(kinds == kind)
        if len(mine) and not pc.all(pc.match_substring_regex(values.take(pa.array(mine)),
                                                             f"^(?:{form})$")).as_py():
            return None
    return typed, values


def _typed_column(scan: _Scan, typed: tuple[np.ndarray, Any], tokens: np.ndarray, size: int) -> Any:
    """A typed key's values over ``size`` slots, exactly as the expat reader's ``_scatter`` +
    ``_to_pandas`` make them (``_typed_values`` made sure that the key has one type)."""
    import pyarrow as pa

    kind = int(scan.kind[tokens[0]])
    values = typed[1].take(pa.array(np.searchsorted(typed[0], tokens)))
    owner = scan.owner[tokens]
    if kind in (expat_reader._INT, expat_reader._FLOAT, expat_reader._BOOLEAN):
        col = expat_reader._Column(kind)
        col.index.extend(owner.tolist())
        col.values.extend(values.to_pylist())
        return expat_reader._to_pandas(*expat_reader._scatter(col, size))
    slot = np.full(size, -1, dtype=np.int64)  # dates and ids are text
    slot[owner] = np.arange(len(tokens))
    return pd.array(values.take(pa.array(slot, mask=slot < 0)), dtype=expat_reader._STR_DTYPE)


# --------------------------------------------------------------------------- rustxes and assembly


def _run_rustxes(path: str, data: bytes, compressed: bool) -> Any:
    """rustxes' polars frame for the checked ``data``, or None when it fails in any way.

    rustxes picks gzip by the file name, so a plain file whose name does not end in ``.gz`` is read in
    place; anything else is first written (decompressed) to a temporary file.
    """
    from rustxes import import_xes

    if not compressed and not path.lower().endswith(".gz"):
        return _call(import_xes, path)
    fd, tmp = tempfile.mkstemp(suffix=".xes")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(memoryview(data)[: len(data) - len(_PAD)])
        return _call(import_xes, tmp)
    finally:
        os.unlink(tmp)


def _call(import_xes: Any, path: str) -> Any:
    try:
        frame, _ = import_xes(path)
    except BaseException as exc:  # rustxes panics surface as pyo3's PanicException, a BaseException
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        return None
    return frame


def _value_lengths(data: bytes, scan: _Scan, tokens: np.ndarray, unescape: bool) -> np.ndarray:
    """Byte length of each attribute's value once its entities are decoded."""
    raw: np.ndarray = scan.value_span[1][tokens] - scan.value_span[0][tokens]
    if not unescape:
        return raw
    import pyarrow.compute as pc

    full = np.frombuffer(data, dtype=np.uint8)
    decoded = _strings(full, scan.value_span[0][tokens], scan.value_span[1][tokens], unescape=True)
    out: np.ndarray = pc.binary_length(decoded).to_numpy()
    return out


def _string_column(series: Any, rows: np.ndarray, lengths: np.ndarray) -> Any:
    """rustxes' strings for ``series`` where the file has the key (its values elsewhere come from
    ``<global>`` defaults, which the expat reader does not apply); None when they cannot be trusted."""
    import polars as pl
    import pyarrow as pa
    import pyarrow.compute as pc

    if series.dtype != pl.String or series.is_null().to_numpy()[rows].any():
        return None  # a typed value, or a value rustxes dropped
    if series.str.contains("[\t\n\r]").any():
        return None  # literal tabs and line breaks: XML attribute-value normalisation makes them spaces
    if not np.array_equal(series.str.len_bytes().to_numpy()[rows], lengths[rows]):
        return None  # a value on the wrong row
    values = series.to_arrow()
    if not rows.all():
        values = pc.if_else(pa.array(rows), values, pa.scalar(None, type=values.type))
    return pd.array(values, dtype=expat_reader._STR_DTYPE)


def _assemble(data: bytes, scan: _Scan, typed: tuple[np.ndarray, Any], frame: Any) -> pd.DataFrame | None:
    """Build exactly the expat reader's frame: string columns from rustxes, checked value by value
    against the attributes the scan found, typed columns from the file's own text."""
    if frame.height != scan.n_events or not all(isinstance(c, str) for c in frame.columns):
        return None
    unescape = data.find(b"&") >= 0
    claimed = np.zeros(len(scan.kind), dtype=bool)
    placed: list[tuple[int, int, str, Any]] = []  # (0 trace / 1 event, first offset, name, column)
    for name in frame.columns:
        level = 0 if name.startswith("case:") else 1
        key = name[5:] if level == 0 else name
        ident = scan.keys.get(key.encode(), -1)
        tokens = np.flatnonzero((scan.key_id == ident) & (scan.ctx == (_C_TRACE if level == 0 else _C_EVENT)))
        claimed[tokens] = True
        size = scan.n_traces if level == 0 else scan.n_events
        per_owner = np.bincount(scan.owner[tokens], minlength=size)
        if per_owner.max(initial=0) > 1:
            return None  # a key repeated in one trace or event: rustxes keeps the first, expat the last
        rows = per_owner[scan.row_trace] > 0 if level == 0 else per_owner > 0
        if not rows.any():
            continue  # only on traces without events, or only a <global> default: no column in expat
        if (scan.kind[tokens] != expat_reader._STRING).any():
            column = _typed_column(scan, typed, tokens, size + 1 - level)
            if level == 0:
                column = column.take(scan.row_trace)
        else:
            lengths = np.full(size, -1, dtype=np.int64)
            lengths[scan.owner[tokens]] = _value_lengths(data, scan, tokens, unescape)
            if level == 0:
                lengths = lengths[scan.row_trace]
            column = _string_column(frame.get_column(name), rows, lengths)
            if column is None:
                return None
        placed.append((level, int(scan.pos[tokens[0]]), name, column))
    if not claimed.all():
        return None  # a key rustxes did not report, or a key written with entities
    placed.sort(key=lambda item: (item[0], item[1]))
    columns = {name: values for _, _, name, values in placed}
    return pd.DataFrame(columns, index=pd.RangeIndex(scan.n_events), copy=False)


def read_xes_rustxes(path: str | os.PathLike[str]) -> pd.DataFrame | None:
    """Read ``path`` with rustxes, or return None when the result could differ from the expat reader's.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.xes`` or ``.xes.gz`` file (gzip is detected from the content).

    Returns
    -------
    pandas.DataFrame or None
        Exactly what :func:`flowopt.io._xes.read_xes_frame` returns with ``engine="expat"``, or None
        when rustxes is missing, the file is not plain XES (see the module docstring), it has no events,
        or anything at all fails; the caller then reads the file with the expat reader.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> xes = '''<log><trace><string key="concept:name" value="c1"/>
    ...   <event><string key="concept:name" value="submit"/><int key="amount" value="7"/></event>
    ...   <event><string key="concept:name" value="approve"/></event></trace></log>'''
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     file = pathlib.Path(tmp, "tiny.xes")
    ...     _ = file.write_text(xes)
    ...     fast = read_xes_rustxes(file)  # None when rustxes is not installed
    ...     slow = expat_reader.read_xes_frame(file, engine="expat")
    >>> fast is None or fast.equals(slow)
    True
    """
    if not rustxes_available():
        return None
    try:
        return _read(os.fspath(path))
    except Exception:  # noqa: BLE001 - whatever goes wrong here, the expat reader gives the answer or the error
        return None


def _read(name: str) -> pd.DataFrame | None:
    loaded = _load(name)
    if loaded is None:
        return None
    data, compressed = loaded
    root = _prolog_end(data)
    if root is None:
        return None
    scan = _scan(data, root)
    if scan is None or scan.n_events == 0:
        return None
    typed = _typed_values(data, scan)
    if typed is None:
        return None
    frame = _run_rustxes(name, data, compressed)
    if frame is None:
        return None
    return _assemble(data, scan, typed, frame)
