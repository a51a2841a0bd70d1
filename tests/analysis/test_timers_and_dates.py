"""Constant delays are timers, not batches; in date-only logs daily work is not a batch."""

from __future__ import annotations

from typing import Any

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


def _collection_log(period_days: int = 30, every_days: int = 60, held_cases: int = 0) -> flowopt.EventLog:
    """Fines sent to collection in runs every ``every_days``, each taking the cases whose ``period_days`` waiting
    period (from the penalty) has passed; the first ``held_cases`` cases are left out of their first run (on hold)."""
    rng = np.random.default_rng(4)
    t0 = pd.Timestamp("2024-01-01 09:00", tz="UTC")
    rows = []
    for k in range(200):
        ready = t0 + int(rng.integers(0, 400)) * DAY
        due = ready + period_days * DAY
        run = t0 + -(-(due - t0).days // every_days) * every_days * DAY  # the first run on or after the due date
        if k < held_cases:
            run += every_days * DAY
        rows.append((f"c{k:03d}", "Add penalty", ready, "clerk"))
        rows.append((f"c{k:03d}", "Send to collection", run, "system"))
    return _log(rows)


def _collection_waits(log: flowopt.EventLog) -> tuple[np.ndarray, Any]:
    wt = compute_waits(log)
    c = log.codes()
    return c.activity[wt.row] == c.activity_names.index("Send to collection"), wt


def test_a_waiting_period_before_a_batch_is_not_the_batchs() -> None:
    log = _collection_log()
    assert "Send to collection" in detect_batches(log).schedules
    sel, wt = _collection_waits(log)
    period = wt.wait_ns[sel].min()  # no case was sent sooner than this after its penalty
    assert period >= 30 * DAY.value
    assert (wt.held_ns[sel] == period).all() and (wt.waiting_period_ns[sel] == period).all()
    batching = wt.causes_ns["batching"][sel]
    assert (batching == wt.wait_ns[sel] - period).all()  # the time from the end of the period to the run
    assert batching.max() < 60 * DAY.value  # never more than the time between two runs
    assert (sum(wt.causes_ns[k][sel] for k in wt.causes_ns) == wt.wait_ns[sel]).all()
    assert any("waiting period" in n for n in wt.notes)


def test_a_case_left_out_of_a_run_waited_for_the_batch_only_since_that_run() -> None:
    log = _collection_log(period_days=0, every_days=14, held_cases=20)
    batches = detect_batches(log)
    sel, wt = _collection_waits(log)
    prev = batches.previous_release[wt.row[sel]]
    enabled = log.codes().end[wt.pred[sel]]
    skipped = (prev != np.iinfo(np.int64).min) & (prev > enabled)  # ready before the run before its own
    assert skipped.sum() >= 10  # most held cases (not those ready on a run day, or whose first run was the first)
    assert (wt.causes_ns["batching"][sel][skipped] <= 14 * DAY.value).all()
    assert (wt.held_ns[sel][skipped] == (prev - enabled)[skipped]).all()
    assert (wt.held_ns[sel][~skipped] == 0).all()
    assert not wt.waiting_period_ns.any()  # a cut-off of a day or so is the batch's, no waiting period


def test_releasing_case_by_case_saves_only_the_batching_part() -> None:
    from flowopt.suggest import replay_release

    log = _collection_log(held_cases=10)
    sel, wt = _collection_waits(log)
    saved = replay_release(log, "Send to collection", source="Add penalty", schedule="immediate").saved_s
    per_case = np.zeros(len(saved))
    per_case[log.codes().case[wt.row[sel]]] = wt.causes_ns["batching"][sel] / 1e9
    assert np.allclose(saved, per_case)  # the waiting period and the hold still pass; only the batch wait goes
    assert saved.max() <= 60 * 86_400
