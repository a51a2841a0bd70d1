"""Fast path for XES files: vectorised checks of the decompressed bytes, then every value sliced out of them.

The expat reader of :mod:`flowopt.io._xes` spends its time in a Python callback per element. Most XES
files in the wild (ProM, pm4py, Disco and the BPI Challenge exports) are so regular that their frame can
be read off the bytes instead: :func:`read_xes_scan` checks, with NumPy passes over the whole decompressed
buffer and no Python work per element, that the file is plain XES on which a byte-level reading cannot
differ from expat's, then builds the frame with NumPy and pyarrow. It returns ``None`` (the caller then
runs the expat reader, which gives the same frame or our typed, explained error) whenever it cannot vouch
for an identical result:

1. **Prolog** (before the root element): only an XML 1.0 declaration (UTF-8), comments, processing
   instructions and whitespace. A ``<!DOCTYPE``/``<!ENTITY`` (DTDs, entities, XXE, entity bombs), a byte
   order mark, another encoding or a root other than ``<log`` means ``None``.
2. **Body**: no comment, CDATA or processing instruction; every ``&`` one of the five predefined entities
   (``&amp; &lt; &gt; &quot; &apos;``, decoded as expat decodes them; a character reference such as
   ``&#38;`` means ``None``); no control character XML forbids; valid UTF-8; only XES element names;
   ``log``, ``trace``, ``event`` and ``global`` nested as XES prescribes (no event outside a trace, no
   empty ``<event/>``, no namespace prefix); inside traces only attributes written
   ``<T key="K" value="V"/>`` (no nested attribute, ``<list>`` or ``<container>``); log-level metadata
   nested properly and at most ``_MAX_OUTER_DEPTH`` deep; no stray quote or ``>``; no tab or line break
   inside a key or value (expat normalises them to spaces). The scan finds the key and the value span of
   every trace and event attribute.
3. **Frame**: the values are sliced out of the buffer in one gather, sorted by column, into one Arrow
   string array (entities decoded); every column is a slice of it, spread over the rows with one
   ``take``. A key repeated in one trace or event (expat keeps the last value), a key written with
   several types (expat keeps its raw text) or an ``int``/``float``/``boolean`` value in a form the
   Arrow casts might read otherwise than Python's ``int()``/``float()`` means ``None``. Dates and ids
   stay text, ``<global>`` defaults are not applied, and columns come in order of first appearance,
   trace attributes first, exactly as in the expat reader.

See ``benchmarks/bench_xes.py`` for timings. The whole decompressed file is held in memory (up to
``_MAX_XML`` bytes; larger files stream through the expat reader).
"""

from __future__ import annotations

import os
import re
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from flowopt.io import _xes as expat_reader

__all__ = ["read_xes_scan"]

_GZIP_MAGIC = expat_reader._GZIP_MAGIC
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

# Typed values in the forms the Arrow casts read exactly as the expat reader's int() and float() do;
# another form (a '+' before an int, 19 digits, spaces, "inf") sends the file to the expat reader.
_VALUE_FORMS = {
    expat_reader._INT: r"-?[0-9]{1,18}",
    expat_reader._FLOAT: r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?",
    expat_reader._BOOLEAN: r"true|false|1|0",
}


def _le(word: bytes) -> int:
    return int.from_bytes(word, "little")


def _mask(n: int) -> np.uint64:
    return np.uint64((1 << (8 * n)) - 1)


# --------------------------------------------------------------------------- bytes and prolog


def _load(path: str) -> bytes | None:
    """The whole (decompressed) file followed by ``_PAD``; None when it cannot be read or inflated (the
    expat reader then names the problem)."""
    try:
        if os.path.getsize(path) > _MAX_XML:
            return None
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError:
        return None
    if not raw.startswith(_GZIP_MAGIC):
        return raw + _PAD
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
    return b"".join(parts)


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
        return None  # another version or encoding: expat decodes it, the scan could not
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


def _clean_text(data: bytes, buf: np.ndarray, words: np.ndarray) -> np.ndarray | None:
    """Offsets of the tabs and line breaks when there is no control character XML forbids, the text is
    valid UTF-8 and every '&' is one of the predefined entities; None otherwise."""
    breaks = np.flatnonzero(buf < 0x20)
    small = buf[breaks]
    if np.any((small != 0x09) & (small != 0x0A) & (small != 0x0D)):
        return None
    if not data.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if data.find(b"&") < 0:
        return breaks
    amp = words[np.flatnonzero(buf == 0x26)]
    ok = np.zeros(len(amp), dtype=bool)
    for ent in _ENTITIES:
        ok |= (amp & _mask(len(ent))) == _le(ent)
    return breaks if ok.all() else None


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
    breaks = _clean_text(data, buf, words)
    if breaks is None:
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
    if any(b"&" in key or b"\t" in key or b"\n" in key or b"\r" in key for key in keys):
        return None  # keys are taken as written, so none may need decoding or normalising
    value_start, value_end, canonical = _spans(full, words, key_start, key_len, gt[attrs],
                                               self_closing[attrs])
    if not canonical.all():
        return None  # a trace or event attribute not written <T key=".." value=".."/>
    if _breaks_in_values(full, breaks, value_start, value_end):
        return None  # expat turns a literal tab or line break in a value into a space
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


def _breaks_in_values(full: np.ndarray, breaks: np.ndarray, value_start: np.ndarray, value_end: np.ndarray) -> bool:
    """Whether any of the offsets ``breaks`` (tabs and line breaks) lies inside a value span (spans
    increasing and disjoint). Runs of breaks that start right after a '>' are indentation between tags
    (a value holds no '>'), so only the other breaks are looked up."""
    if not len(breaks) or not len(value_start):
        return False
    run_start = np.ones(len(breaks), dtype=bool)
    run_start[1:] = breaks[1:] != breaks[:-1] + 1
    after_tag = full[breaks[run_start] - 1] == 0x3E
    breaks = breaks[~after_tag[np.cumsum(run_start) - 1]]
    span = np.searchsorted(value_start, breaks, side="right") - 1
    return bool(((span >= 0) & (breaks < value_end[np.maximum(span, 0)])).any())


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

    lengths = ends - starts
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    widest = int(lengths.max(initial=0))
    if widest <= 64 and int(starts.max(initial=0)) + widest <= len(full):
        # copy rows of the widest length, then keep each row's own bytes
        windows = np.lib.stride_tricks.as_strided(full, shape=(len(full) - widest + 1, widest), strides=(1, 1))
        rows = windows[starts]
        chars = rows[np.arange(widest) < lengths[:, None]] if widest * len(lengths) != offsets[-1] else rows
    else:
        chars = full[np.repeat(starts - offsets[:-1], lengths) + np.arange(offsets[-1], dtype=np.int64)]
    out = pa.LargeStringArray.from_buffers(len(lengths), pa.py_buffer(offsets), pa.py_buffer(chars))
    if unescape and len(out) and pc.any(pc.match_substring(out, "&")).as_py():
        for ent, char in _UNESCAPE:
            out = pc.replace_substring(out, ent, char)
    return out


def _typed_array(values: Any, kind: int) -> np.ndarray | None:
    """The values of an ``int``, ``float`` or ``boolean`` column as NumPy data, exactly as the expat
    reader's ``int()``/``float()``/``true``-``1`` parsing gives them; None when a value is in a form the
    Arrow cast might read otherwise (the expat reader then reads the file)."""

    if not pc.all(pc.match_substring_regex(values, f"^(?:{_VALUE_FORMS[kind]})$")).as_py():
        return None
    if kind == expat_reader._BOOLEAN:
        out: np.ndarray = pc.is_in(values, value_set=pa.array(["true", "1"])).to_numpy(zero_copy_only=False)
        return out
    target = pa.int64() if kind == expat_reader._INT else pa.float64()
    out = pc.cast(values, target).to_numpy(zero_copy_only=False)
    return out


def _column(values: Any, kind: int, index: np.ndarray) -> Any:
    """One column of the frame: ``values[index[row]]`` on every row, missing where ``index`` is -1,
    with the dtype the expat reader gives ``kind``; None when a typed value needs the expat reader."""

    missing = index < 0
    if kind not in (expat_reader._INT, expat_reader._FLOAT, expat_reader._BOOLEAN):
        dense = not missing.any() and len(index) == len(values) and bool((index == np.arange(len(index))).all())
        picked = values if dense else values.take(pa.array(index, mask=missing))
        return pd.array(picked, dtype=expat_reader._STR_DTYPE)
    data = _typed_array(values, kind)
    if data is None:
        return None
    rows = data[np.where(missing, 0, index)] if len(data) else np.zeros(len(index), dtype=data.dtype)
    if kind == expat_reader._FLOAT:
        rows = np.where(missing, np.nan, rows)
    else:
        rows[missing] = 0
    return expat_reader._to_pandas(rows, missing, kind)  # the expat reader's own dtypes


def _frame(data: bytes, scan: _Scan) -> pd.DataFrame | None:
    """Exactly the expat reader's frame for a file the scan accepted, or None when a key repeats in one
    trace or event (expat keeps the last value), has several types, or has a typed value in an unusual
    form. Values are sliced out of ``data`` by their byte spans, all of them at once, sorted by column."""
    level = (scan.ctx == _C_EVENT).astype(np.int64)  # 0: trace attribute, 1: event attribute
    column = scan.key_id * 2 + level
    stride = max(scan.n_events, scan.n_traces) + 1
    sort_key = column * stride + scan.owner
    order = np.argsort(sort_key, kind="stable")
    sort_key = sort_key[order]
    if (sort_key[1:] == sort_key[:-1]).any():
        return None  # a key repeated in one trace or event
    kinds, owners, sorted_column = scan.kind[order], scan.owner[order], column[order]
    bounds = np.flatnonzero(sorted_column[1:] != sorted_column[:-1]) + 1
    starts = np.concatenate([[0], bounds]).astype(np.int64)
    ends = np.concatenate([bounds, [len(order)]]).astype(np.int64)
    if (np.maximum.reduceat(kinds, starts) != np.minimum.reduceat(kinds, starts)).any():
        return None  # a key written with several types: the expat reader keeps its raw text
    values = _strings(np.frombuffer(data, dtype=np.uint8), scan.value_span[0][order], scan.value_span[1][order],
                      unescape=data.find(b"&") >= 0)
    names = {ident: key.decode("utf-8") for key, ident in scan.keys.items()}
    trace_has_events = np.bincount(scan.row_trace, minlength=scan.n_traces) > 0
    placed: list[tuple[int, int, str, Any]] = []  # (level, first offset, name, column)
    for start, end in zip(starts.tolist(), ends.tolist()):
        mine = owners[start:end]
        on_event = int(level[order[start]])
        if on_event:
            index = np.full(scan.n_events, -1, dtype=np.int64)
            index[mine] = np.arange(len(mine))
        elif trace_has_events[mine].any():
            per_trace = np.full(scan.n_traces, -1, dtype=np.int64)
            per_trace[mine] = np.arange(len(mine))
            index = per_trace[scan.row_trace]
        else:
            continue  # only on traces without events: no row carries it, no column (as in expat)
        built = _column(values.slice(start, end - start), int(kinds[start]), index)
        if built is None:
            return None
        name = names[int(sorted_column[start]) // 2]
        placed.append((on_event, int(scan.pos[order[start]]), name if on_event else f"case:{name}", built))
    placed.sort(key=lambda item: (item[0], item[1]))
    columns: dict[str, Any] = {}
    for _, _, name, built in placed:
        columns.setdefault(name, built)  # an event key ``case:x`` loses to trace key ``x``, as in expat
    return pd.DataFrame(columns, index=pd.RangeIndex(scan.n_events), copy=False)


def read_xes_scan(path: str | os.PathLike[str]) -> pd.DataFrame | None:
    """Read ``path`` by the vectorised byte scan, or return None when the file needs the expat reader.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.xes`` or ``.xes.gz`` file (gzip is detected from the content).

    Returns
    -------
    pandas.DataFrame or None
        Exactly what :func:`flowopt.io._xes.read_xes_frame` returns with ``engine="expat"``, or None
        when the file is not plain XES (see the module docstring), it has no events, or anything at all
        fails; the caller then reads the file with the expat reader, which gives the frame or the error.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> xes = '''<log><trace><string key="concept:name" value="c1"/>
    ...   <event><string key="concept:name" value="submit &amp; check"/><int key="amount" value="7"/></event>
    ...   <event><string key="concept:name" value="approve"/></event></trace></log>'''
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     file = pathlib.Path(tmp, "tiny.xes")
    ...     _ = file.write_text(xes)
    ...     fast = read_xes_scan(file)
    ...     slow = expat_reader.read_xes_frame(file, engine="expat")
    >>> fast.equals(slow), fast["concept:name"].tolist()
    (True, ['submit & check', 'approve'])
    """
    try:
        return _read(os.fspath(path))
    except Exception:  # noqa: BLE001 - whatever goes wrong here, the expat reader gives the answer or the error
        return None


def _read(name: str) -> pd.DataFrame | None:
    data = _load(name)
    if data is None:
        return None
    root = _prolog_end(data)
    if root is None:
        return None
    scan = _scan(data, root)
    if scan is None or scan.n_events == 0:
        return None
    return _frame(data, scan)
