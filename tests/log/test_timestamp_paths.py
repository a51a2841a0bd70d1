"""parse_timestamps gives the same times whichever path reads a value: Arrow for a whole column, Arrow for its
plain ISO 8601 rows next to a few others, or pandas for everything."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from flowopt.log import _timestamps
from flowopt.log._timestamps import parse_timestamps

_MOMENTS = st.datetimes(min_value=datetime(1999, 1, 1), max_value=datetime(2031, 12, 31))


@st.composite
def _value(draw: st.DrawFn) -> str | None:
    t = draw(_MOMENTS)
    kind = draw(st.sampled_from(["naive", "naive", "zoned", "zoned", "date", "epoch", "local", "junk", "empty",
                                 "none", "padded", "minutes", "nano"]))
    sep = draw(st.sampled_from(["T", " "]))
    frac = draw(st.integers(0, 6))
    body = t.strftime(f"%Y-%m-%d{sep}%H:%M:%S") + (t.strftime(".%f")[: frac + 1] if frac else "")
    if kind == "naive":
        return body
    if kind == "zoned":
        minutes = draw(st.integers(-14 * 60, 14 * 60)) // 15 * 15
        sign = "+" if minutes >= 0 else "-"
        zone = draw(st.sampled_from(["Z", f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"]))
        return body + zone
    if kind == "date":
        return t.strftime("%Y-%m-%d")
    if kind == "epoch":
        return str(int((t - datetime(1970, 1, 1)) / timedelta(seconds=1)))
    if kind == "local":
        return t.strftime("%d/%m/%Y %H:%M")
    if kind == "junk":
        return draw(st.sampled_from(["not a time", "2024-02-30 10:00:00", "2024-13-01 00:00:00", "??", "12"]))
    if kind == "empty":
        return ""
    if kind == "padded":
        return f"  {body} "
    if kind == "minutes":
        return t.strftime(f"%Y-%m-%d{sep}%H:%M")
    if kind == "nano":
        return body.split(".")[0] + ".123456789"
    return None


@contextmanager
def _pandas_only() -> Iterator[None]:
    old = _timestamps._iso_arrow_direct, _timestamps._iso_arrow, _timestamps._iso_arrow_rows
    _timestamps._iso_arrow_direct = lambda *a: None  # type: ignore[assignment]
    _timestamps._iso_arrow = lambda *a: None  # type: ignore[assignment]
    _timestamps._iso_arrow_rows = lambda *a: None  # type: ignore[assignment]
    try:
        yield
    finally:
        _timestamps._iso_arrow_direct, _timestamps._iso_arrow, _timestamps._iso_arrow_rows = old


@settings(max_examples=300, deadline=None)
@given(st.lists(_value(), min_size=1, max_size=40), st.sampled_from(["UTC", "Europe/Amsterdam", "Asia/Shanghai"]),
       st.sampled_from(["object", "string[pyarrow]"]), st.booleans())
def test_every_path_gives_the_pandas_times(values: list[str | None], tz: str, dtype: str, plain_only: bool) -> None:
    if plain_only:  # whole columns of one plain kind (the Arrow column paths), sometimes with one bad value
        values = [v for v in values if v and v[:4].isdigit() and len(v) >= 19 and "/" not in v] or values
    raw = pd.Series(values, dtype=dtype)
    got, got_bad = parse_timestamps(raw, tz=tz)
    with _pandas_only():
        want, want_bad = parse_timestamps(raw, tz=tz)
    assert got.astype("int64").tolist() == want.astype("int64").tolist()
    assert got_bad.tolist() == want_bad.tolist()


def test_one_bad_value_in_a_large_column_keeps_the_others_on_the_fast_path() -> None:
    raw = pd.Series(["2024-03-01 09:00:00"] * 5000 + ["junk"] + ["2024-03-01T10:00:00Z"] * 5000,
                    dtype="string[pyarrow]")
    plain = _timestamps._iso_arrow_rows(raw, raw.isna(), "UTC")
    assert plain is not None and int(plain[1].sum()) == 10000
    parsed, bad = parse_timestamps(raw)
    assert bad.tolist() == [False] * 5000 + [True] + [False] * 5000
    assert str(parsed.iloc[0]) == "2024-03-01 09:00:00+00:00" and str(parsed.iloc[-1]) == "2024-03-01 10:00:00+00:00"


def test_a_value_dateutil_reads_with_an_odd_offset_is_unreadable_not_a_crash() -> None:
    """Found by the CSV fuzz test: fields run together ("...09:002024-...") or a "GMT-1" zone (which dateutil reads
    as +01:00) parse with an offset the offset pattern does not see; alone they broke the clip to the nanosecond
    range, next to naive values pandas raised "Mixed timezones". They are unreadable (quarantined), the rest read."""
    for values, readable in ((["2024-03-01 09:002024-03-01 09:00"], [False]),
                             (["01.03.2024 9:00", "March 1 2024 9am GMT-1"], [True, False]),
                             (["March 1 2024 9am GMT-1", "March 2 2024 9am GMT-2"], [False, False])):
        parsed, bad = parse_timestamps(pd.Series(values), tz="UTC", dayfirst=True)
        assert list(parsed.notna()) == readable and list(bad) == [not r for r in readable]
    parsed, _ = parse_timestamps(pd.Series(["01.03.2024 9:00", "March 1 2024 9am GMT-1"]), tz="UTC", dayfirst=True)
    assert parsed.iloc[0] == pd.Timestamp("2024-03-01 09:00", tz="UTC")
