"""Constant delays are timers, not batches; in date-only logs daily work is not a batch."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

import flowopt
from flowopt.analysis._batching import detect_batches
from flowopt.analysis._waits import compute_waits

DAY = pd.Timedelta(days=1)


def _log(rows: list[tuple[str, str, pd.Timestamp, str]]) -> flowopt.EventLog:
    df = pd.DataFrame(rows, columns=["case_id", "activity", "time", "resource"])
    return flowopt.read_log(df, {"columns": {"case": "case_id", "activity": "activity", "timestamp": "time",
                                             "resource": "resource"}})


def test_a_constant_delay_is_a_timer_not_a_batch() -> None:
    t0 = pd.Timestamp("2024-01-01 09:00", tz="UTC")
    rows = []
    for d in range(12):  # six cases notified together each day; a penalty exactly 60 days later
        for k in range(6):
            case = f"c{d:02d}{k}"
            rows.append((case, "Notify", t0 + d * DAY, "mailer"))
            rows.append((case, "Add penalty", t0 + d * DAY + 60 * DAY, "system"))
    log = _log(rows)
    assert "Add penalty" in detect_batches(log).schedules  # they do start together...
    wt = compute_waits(log)
    sel = log.codes().activity[wt.row] == log.codes().activity_names.index("Add penalty")
    assert wt.causes_ns["batching"][sel].sum() == 0  # ...but nobody waited for a batch
    assert (wt.causes_ns["extraneous"][sel] + wt.causes_ns["unavailability"][sel] == wt.wait_ns[sel]).all()
    assert any("timer" in n for n in wt.notes)


def test_date_only_daily_work_is_not_a_batch_but_sparse_runs_are() -> None:
    rng = np.random.default_rng(0)
    start = pd.Timestamp("2024-01-01", tz="UTC")
    daily, sparse = [], []
    for i in range(300):
        created = start + int(rng.integers(0, 120)) * DAY
        daily.append((f"d{i}", "Create", created, "clerk"))
        daily.append((f"d{i}", "Send", created + int(rng.integers(1, 4)) * DAY, "printer"))
        sparse.append((f"s{i}", "Create", created, "clerk"))
        run = start + (int((created - start).days) // 14 + 1) * 14 * DAY  # a print run every 14 days
        sparse.append((f"s{i}", "Send", run, "printer"))
    assert "Send" not in detect_batches(_log(daily)).schedules
    sched = detect_batches(_log(sparse)).schedules["Send"]
    assert sched["date_only"] and "dates only" in sched["schedule"]


def _fixed_delays_reference(edge: np.ndarray, wait: np.ndarray, in_batch: np.ndarray) -> np.ndarray:
    """The plain loop the grouped version replaced: one mask over all waits per batched edge."""
    from flowopt.analysis import _waits as w

    out = np.zeros(len(wait), dtype=bool)
    for e in np.unique(edge[in_batch]):
        sel = edge == e
        v = wait[sel].astype(np.float64)
        if len(v) < w._TIMER_MIN_N:
            continue
        p10, med, p90 = np.percentile(v, [10, 50, 90])
        if med >= w._TIMER_MIN_NS and (p90 - p10) <= w._TIMER_SPREAD * med:
            out |= sel & in_batch
    return out


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 10_000), n_edges=st.integers(1, 6), n=st.integers(0, 400))
def test_fixed_delays_grouped_equals_the_loop(seed: int, n_edges: int, n: int) -> None:
    """Timers found by grouping the waits per edge are the ones the per-edge mask loop finds (constant and spread
    waits, edges with few waits, waits outside batches)."""
    from flowopt.analysis._waits import _TIMER_MIN_NS, _fixed_delays

    rng = np.random.default_rng(seed)
    edge = rng.integers(0, n_edges, size=n) * 7 + 3
    constant = rng.random(n_edges) < 0.5  # some edges wait a fixed delay, the others spread
    base = _TIMER_MIN_NS * rng.integers(1, 4, size=n_edges)
    wait = np.where(constant[(edge - 3) // 7], base[(edge - 3) // 7] + rng.integers(0, 10**9, size=n),
                    rng.integers(0, 3 * _TIMER_MIN_NS, size=n)).astype(np.int64)
    in_batch = rng.random(n) < 0.8
    assert np.array_equal(_fixed_delays(edge, wait, in_batch), _fixed_delays_reference(edge, wait, in_batch))
