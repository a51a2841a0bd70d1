"""Parse timestamp columns into UTC, keeping track of every value that could not be parsed.

Accepted: ISO 8601 with or without an offset (``Z``, ``+08:00``), naive date-times (read in the
configured time zone, default UTC, daylight-saving transitions resolved), date-only values, epoch
seconds / milliseconds / microseconds / nanoseconds (numbers, or digit strings of 10+ digits),
pandas/NumPy datetimes (naive ones read in the configured zone), and common local formats such as
``2024/01/05 10:00`` or ``05.01.2024`` (``dayfirst`` from the config decides ``01/02``).
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from flowopt._compiled import loops
from flowopt.io._csv import NS_PER_UNIT

__all__ = ["ns_datetimes", "parse_timestamps"]

_OFFSET = r"\d:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:[Zz]|(?:UTC|GMT)?[+-]\d{2}(?::?\d{2})?)$"


# nanosecond resolution spans 1677-09-21 .. 2262-04-11; values beyond (years 1500, 2999, 9999) are clipped to
# these ends, a day inside, so ``build_log`` quarantines them as out of range instead of crashing
_NS_LO, _NS_HI = pd.Timestamp("1677-09-22"), pd.Timestamp("2262-04-10")
_LO_US, _HI_US = _NS_LO.value // 1000, _NS_HI.value // 1000
_NAT_US = np.iinfo(np.int64).min


def ns_datetimes(ns: np.ndarray, *, utc: bool = True) -> pd.arrays.DatetimeArray:
    """Int64 nanoseconds (NaT as the int64 minimum) as a datetime array, UTC or naive, without copies: ``ns``
    becomes the array's data (``pd.to_datetime(ns.view("datetime64[ns]"))``, localized to UTC when ``utc``)."""
    dtype = pd.DatetimeTZDtype(unit="ns", tz="UTC") if utc else np.dtype("datetime64[ns]")
    return pd.arrays.DatetimeArray._simple_new(ns.view("datetime64[ns]"), dtype=dtype)


def _ns(values: pd.Series, utc: bool) -> pd.Series:
    """``values`` (any datetime resolution) as nanoseconds, clipped to the nanosecond range. When ``values`` is in
    nanoseconds already and nothing needs clipping, the result shares its memory: callers must not write to it
    (``build_log`` copies a caller's times before it writes or keeps them)."""
    per = NS_PER_UNIT.get(str(getattr(values.dt, "unit", "")))
    tz = getattr(values.dtype, "tz", None)
    if per is not None and (str(tz) == "UTC" if utc else tz is None):
        # the same clip and cast on the integer values, without pandas' masked datetime arithmetic
        i8 = values.array.asi8
        lib = loops()
        if lib is not None:  # the same in one pass
            i8 = np.ascontiguousarray(i8)
            if per == 1 and not lib.time_flags(i8, _NS_LO.value, _NS_HI.value)[1]:
                # nanoseconds already and none to clip: the same memory, not a copy (build_log copies before
                # it writes to a time array)
                return pd.Series(ns_datetimes(i8, utc=utc), index=values.index, name=values.name, copy=False)
            out = np.empty(len(i8), dtype=np.int64)
            lib.to_ns(i8, per, _NS_LO.value // per, _NS_HI.value // per, out)
        else:
            nat = i8 == _NAT_US
            out = np.maximum(i8, _NS_LO.value // per)  # np.clip, in two passes that run several times faster
            np.minimum(out, _NS_HI.value // per, out=out)
            out *= np.int64(per)
            out[nat] = _NAT_US
        return pd.Series(ns_datetimes(out, utc=utc), index=values.index, name=values.name, copy=False)
    if utc:
        return values.clip(_NS_LO.tz_localize("UTC"), _NS_HI.tz_localize("UTC")).astype("datetime64[ns, UTC]")
    return values.clip(_NS_LO, _NS_HI).astype("datetime64[ns]")


def _mixed_naive(text: pd.Series, dayfirst: bool) -> pd.Series:
    """``pd.to_datetime(text, format="mixed")`` of values without an offset ``_OFFSET`` recognises, as naive
    times; a value dateutil still reads with an offset or zone (a garbled value such as
    ``"2024-03-01 09:002024-03-01 09:00"``, or ``"GMT-1"``, which it reads as +01:00) is not a local time of the
    log's zone: NaT, so the row is quarantined as an unreadable timestamp instead of being shifted or crashing
    the read (pandas raises on naive and offset values mixed, and a naive bound cannot clip offset values).
    Those values are then parsed one by one: only logs that hold such values pay for it."""
    try:
        out = pd.to_datetime(text, format="mixed", dayfirst=dayfirst, errors="coerce")
        if not isinstance(out.dtype, pd.DatetimeTZDtype):
            return out
    except ValueError:  # "Mixed timezones detected"
        pass

    def one(value: Any) -> Any:
        try:
            t = pd.to_datetime(value, format="mixed", dayfirst=dayfirst, errors="coerce")
        except (ValueError, TypeError, OverflowError):
            return pd.NaT
        return pd.NaT if t is pd.NaT or getattr(t, "tzinfo", None) is not None else t

    return pd.to_datetime(pd.Series([one(v) for v in text], index=text.index, dtype=object), errors="coerce")


def _localize(values: pd.Series, tz: str) -> pd.Series:
    """Naive datetimes -> UTC, read in ``tz``; ambiguous (DST fall-back) hours take the first occurrence."""
    if tz in ("UTC", "utc", "Etc/UTC"):
        return values.dt.tz_localize("UTC")
    try:
        local = values.dt.tz_localize(tz, ambiguous="raise", nonexistent="shift_forward")
    except Exception:  # noqa: BLE001 - pytz/zoneinfo raise different AmbiguousTimeError types
        flags = np.ones(len(values), dtype=bool)  # True = daylight-saving time: the first of the two hours
        local = values.dt.tz_localize(tz, ambiguous=flags, nonexistent="shift_forward")
    return local.dt.tz_convert("UTC")


def _epoch(num: pd.Series) -> pd.Series:
    """Numbers -> UTC datetimes, choosing the unit from the magnitude of the values."""
    out = pd.Series(pd.NaT, index=num.index, dtype="datetime64[ns, UTC]")
    finite = num.notna() & np.isfinite(num.astype("float64"))
    if not finite.any():
        return out
    mag = num[finite].abs().median()
    unit = "s" if mag < 1e11 else "ms" if mag < 1e14 else "us" if mag < 1e17 else "ns"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out[finite] = _ns(pd.to_datetime(num[finite].astype("float64"), unit=unit, utc=True, errors="coerce"), True)
    return out


def _iso_arrow(text: pd.Series, missing: pd.Series, tz: str) -> pd.Series | None:
    """Parse text that is all ISO 8601 of one kind (all naive, or all with an offset) in Arrow's C++ parser.

    None when any value is something else (epoch digits, local formats, mixed kinds, junk): the general
    pandas path below then reads the column, so results never depend on which path ran.
    """
    arr = pa.array(text.mask(missing), type=pa.string(), from_pandas=True)
    kinds = [pa.timestamp("us"), pa.timestamp("us", tz="UTC")]
    first = text[~missing].iloc[0]
    if re.search(_OFFSET, first):  # try the kind of the first value first: a failed cast costs a full pass
        kinds.reverse()
    for typ in kinds:
        try:
            out = pc.cast(arr, typ)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        vals = pd.Series(out.to_numpy(zero_copy_only=False), index=text.index)  # datetime64[us], UTC wall time
        if typ.tz is None:
            return _localize(_ns(vals, False), tz)
        return _ns(vals.dt.tz_localize("UTC"), True)
    return None


def _iso_arrow_direct(raw: pd.Series, tz: str) -> pd.Series | None:
    """:func:`_iso_arrow` for Arrow-backed text as read (no strip, no copy): None unless Arrow's cast reads
    every non-missing value as it stands.

    A value Arrow reads unstripped reads the same stripped, and whitespace or empty text makes the cast fail,
    so whenever this returns, the general path would have returned the same values with nothing bad.
    """
    if not (isinstance(raw.dtype, pd.StringDtype) and raw.dtype.storage == "pyarrow"):
        return None
    arr = raw.array._pa_array
    if arr.null_count == len(arr):
        return None
    first = pc.drop_null(arr.slice(0, 4096)) if arr.null_count else arr.slice(0, 1)
    if len(first) == 0:
        return None
    kinds = [pa.timestamp("us"), pa.timestamp("us", tz="UTC")]
    if re.search(_OFFSET, str(first[0].as_py()).strip()):
        kinds.reverse()
    for typ in kinds:
        try:
            out = pc.cast(arr, typ)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        us = pc.fill_null(out.cast(pa.int64()), _NAT_US).to_numpy()
        ok = us != _NAT_US
        ns = np.where(ok, np.clip(us, _LO_US, _HI_US) * 1000, np.iinfo(np.int64).min)
        if typ.tz is None and tz not in ("UTC", "utc", "Etc/UTC"):
            return _localize(pd.Series(ns.view("datetime64[ns]"), index=raw.index), tz)
        return pd.Series(pd.arrays.DatetimeArray._simple_new(
            ns.view("datetime64[ns]"), dtype=pd.DatetimeTZDtype(unit="ns", tz="UTC")), index=raw.index)
    return None


def parse_timestamps(raw: pd.Series, *, tz: str = "UTC", dayfirst: bool = False) -> tuple[pd.Series, pd.Series]:
    """Parse ``raw`` into ``datetime64[ns, UTC]``.

    Returns
    -------
    (parsed, bad) : (Series, Series of bool)
        ``parsed`` is NaT where the value was missing or unparseable; ``bad`` is True only where a
        non-empty value could not be parsed (missing values are not "bad", they are missing).

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.Series(["2024-03-01T09:00:00+08:00", "2024-03-01 09:00", "2024-03-01", "junk", None])
    >>> parsed, bad = parse_timestamps(s, tz="Europe/Amsterdam")
    >>> [str(v) for v in parsed]
    ['2024-03-01 01:00:00+00:00', '2024-03-01 08:00:00+00:00', '2024-02-29 23:00:00+00:00', 'NaT', 'NaT']
    >>> bad.tolist()
    [False, False, False, True, False]
    """
    index = raw.index
    if isinstance(raw.dtype, pd.DatetimeTZDtype):
        parsed = _ns(raw.dt.tz_convert("UTC"), True)
        return parsed, pd.Series(False, index=index)
    if pd.api.types.is_datetime64_dtype(raw.dtype):
        parsed = _localize(_ns(raw, False), tz)
        return parsed, pd.Series(False, index=index)
    if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
        parsed = _epoch(raw)
        return parsed, raw.notna() & parsed.isna()

    fast = _iso_arrow_direct(raw, tz)
    if fast is not None:
        return fast, pd.Series(False, index=index)
    text = raw.astype("string").str.strip()
    missing = text.isna() | (text == "")
    parsed = pd.Series(pd.NaT, index=index, dtype="datetime64[ns, UTC]")
    todo = ~missing
    if not todo.any():
        return parsed, pd.Series(False, index=index)
    # Arrow-backed text the direct cast above already failed on, unchanged by stripping: no second try
    tried = isinstance(raw.dtype, pd.StringDtype) and raw.dtype.storage == "pyarrow" and raw.notna().any()
    if not (tried and _same_text(raw, text) and not (missing & raw.notna()).any()):
        fast = _iso_arrow(text, missing, tz)
        if fast is not None:
            return fast, ~missing & fast.isna()
    plain = _iso_arrow_rows(text, missing, tz)  # the plain ISO 8601 rows of a column with a few others
    if plain is not None:
        parsed, done = plain
        todo &= ~done
    _parse_general(text, todo, parsed, tz, dayfirst)
    bad = ~missing & parsed.isna()
    return parsed, bad


def _same_text(raw: pd.Series, text: pd.Series) -> bool:
    """Whether stripping changed none of ``raw``'s values (``text`` is ``raw`` stripped; False when either is
    not Arrow-backed)."""
    a, b = getattr(raw.array, "_pa_array", None), getattr(text.array, "_pa_array", None)
    if a is None or b is None:
        return False
    return bool(pc.all(pc.fill_null(pc.equal(a, b), True)).as_py())


_PLAIN = r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})?$"


def _iso_arrow_rows(text: pd.Series, missing: pd.Series, tz: str) -> tuple[pd.Series, np.ndarray] | None:
    """The rows of ``text`` in plain ISO 8601 (``2024-03-01 09:00:00``, ``T`` or space, up to six decimals,
    without a zone or with ``Z`` / ``+08:00``), parsed by :func:`_iso_arrow` kind by kind, and which rows those
    are; the caller parses the rest (a few bad or unusual values in a large column) the general way.

    Each kind is parsed as a whole column of it would be, so a value gets the same time whichever path reads
    it. None (the general path reads every row) when no row is plain or Arrow refuses one that looks plain
    (an impossible date such as ``2024-02-30``).
    """
    arr = pa.array(text.mask(missing), type=pa.string(), from_pandas=True)
    plain = pc.fill_null(pc.match_substring_regex(arr, _PLAIN), False)
    if not pc.any(plain).as_py():
        return None
    # a plain value has a zone when it ends in Z or has a sign six characters from its end
    sign = pc.utf8_slice_codeunits(arr, -6, -5)
    zoned = pc.and_(plain, pc.fill_null(pc.or_(pc.ends_with(arr, "Z"), pc.is_in(sign, pa.array(["+", "-"]))),
                                        False))
    parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns, UTC]")
    done = plain.to_numpy(zero_copy_only=False)
    with_zone = zoned.to_numpy(zero_copy_only=False)
    for rows in (done & ~with_zone, with_zone):
        if not rows.any():
            continue
        vals = _iso_arrow(text[rows], missing[rows], tz)
        if vals is None:
            return None
        parsed[rows] = vals.array
    return parsed, done


def _parse_general(text: pd.Series, todo: pd.Series, parsed: pd.Series, tz: str, dayfirst: bool) -> None:
    """Parse the rows ``todo`` of stripped ``text`` into ``parsed`` (NaT where they cannot be): epoch digits,
    ISO 8601 with and without an offset, then pandas' mixed formats. The text tests run on those rows only."""
    at = np.flatnonzero(np.asarray(todo, dtype=bool))
    if not len(at):
        return
    rest = text.iloc[at]

    def rows(hit: pd.Series) -> np.ndarray:
        """A mask over all rows from a mask over the rows ``at``."""
        out = np.zeros(len(text), dtype=bool)
        out[at[hit.fillna(False).to_numpy(dtype=bool)]] = True
        return out

    todo = np.zeros(len(text), dtype=bool)
    todo[at] = True
    # epoch numbers written as text (10+ digits, optional fraction)
    digits = rows(rest.str.fullmatch(r"-?\d{10,19}(?:\.\d+)?"))
    if digits.any():
        parsed[digits] = _epoch(pd.to_numeric(text[digits], errors="coerce"))
        todo &= ~digits

    has_offset = todo & rows(rest.str.contains(_OFFSET, regex=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if has_offset.any():
            parsed[has_offset] = _ns(pd.to_datetime(text[has_offset], format="ISO8601", utc=True, errors="coerce"), True)
        naive = todo & ~has_offset
        if naive.any():
            vals = pd.to_datetime(text[naive], format="ISO8601", errors="coerce")
            vals = _ns(vals, False)
            retry = vals.isna()
            if retry.any():
                vals[retry] = _ns(_mixed_naive(text[naive][retry], dayfirst), False)
            parsed[naive] = _localize(vals, tz)
        # offsets ISO could not read (e.g. "05/01/2024 10:00 +0100")
        retry = has_offset & parsed.isna()
        if retry.any():
            parsed[retry] = _ns(pd.to_datetime(text[retry], format="mixed", dayfirst=dayfirst, utc=True,
                                               errors="coerce"), True)
