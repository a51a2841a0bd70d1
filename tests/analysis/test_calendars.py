"""Calendars.working_ns: the compiled pass and the NumPy version give the same integers."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from flowopt._compiled import available
from flowopt.analysis._calendars import HOUR_NS, WEEK_NS, Calendars


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 4), st.integers(1, 300),
       st.sampled_from([10**9, HOUR_NS, WEEK_NS, 52 * WEEK_NS, 60 * 52 * WEEK_NS]))
def test_compiled_working_time_equals_the_numpy_version(seed: int, n_cal: int, n: int, scale: int) -> None:
    assert available()
    rng = np.random.default_rng(seed)
    cells = rng.random((n_cal, 168)) < rng.uniform(0.0, 1.0)
    cal = Calendars(cells=cells, labels=tuple(f"c{k}" for k in range(n_cal)), row_calendar=np.zeros(0, dtype=np.int64))
    calendar = rng.integers(0, n_cal, n)
    t1 = rng.integers(-2 * WEEK_NS, 60 * 52 * WEEK_NS, n)  # before 1970 to ~2030, ns
    t1[: n // 4] = (t1[: n // 4] // HOUR_NS) * HOUR_NS  # on hour boundaries
    t2 = t1 + rng.integers(0, scale, n)
    got = cal.working_ns(calendar, t1, t2)
    want = cal._cum(calendar, t2) - cal._cum(calendar, t1)
    assert got.dtype == np.int64 and np.array_equal(got, want)
    assert (got >= 0).all() and (got <= t2 - t1).all()
