"""Counterfactual replay on small hand-made logs whose answers are known exactly."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import flowopt
from flowopt.errors import ParameterError
from flowopt.suggest import _replay as replay_module
from flowopt.suggest._replay import (
    CaseArrays,
    ReleaseRule,
    WeekCalendar,
    _retime,
    _retimed_throughput,
    case_arrays,
    learn_calendars,
    next_weekday_release,
    replay_advance,
    replay_parallel,
    replay_release,
    replay_remove,
    step_name,
)

T0 = pd.Timestamp("2024-01-01 00:00", tz="UTC")  # a Monday


def _log(rows: list[tuple[str, str, float, float]], **extra: list[object]) -> flowopt.EventLog:
    """Events as (case, activity, start hour, end hour) from T0."""
    frame = pd.DataFrame({"case_id": [r[0] for r in rows], "activity": [r[1] for r in rows],
                          "start": [T0 + pd.Timedelta(hours=r[2]) for r in rows],
                          "end": [T0 + pd.Timedelta(hours=r[3]) for r in rows], **extra})
    return flowopt.read_log(frame, {"columns": {"case": "case_id", "activity": "activity", "start": "start",
                                                "end": "end"}})


CHAIN = [("c1", "A", 0, 1), ("c1", "B", 3, 4), ("c1", "C", 10, 11), ("c1", "D", 11, 12),
         ("c2", "A", 0, 1), ("c2", "C", 2, 3), ("c2", "D", 5, 6)]


def test_remove_takes_out_wait_and_service_and_moves_later_events() -> None:
    r = replay_remove(_log(CHAIN), ["B"])
    # c1: B's wait (2 h) and service (1 h) go; C keeps its own 6 h wait after A -> 12 - 3 = 9 h
    assert r.before_s.tolist() == [12 * 3600.0, 6 * 3600.0]
    assert r.after_s.tolist() == [9 * 3600.0, 6 * 3600.0]
    s = r.saving()
    assert s.hours_per_case == pytest.approx(1.5)
    assert s.hours_total == pytest.approx(3.0)
    assert s.cases_affected == 1
    assert r.service_removed_s == 3600.0


def test_remove_only_in_chosen_cases_or_rows() -> None:
    log = _log(CHAIN)
    assert replay_remove(log, ["C"], cases=np.array([False, True])).saved_s.tolist() == [0.0, 2 * 3600.0]
    rows = np.zeros(len(log), dtype=bool)
    rows[2] = True  # c1's C only
    assert replay_remove(log, ["C"], rows=rows).saved_s[1] == 0.0
    with pytest.raises(ParameterError, match="cases"):
        replay_remove(log, ["C"], cases=np.array([True]))


def test_parallel_takes_the_maximum_not_the_sum() -> None:
    rows = [("c1", "A", 0, 1), ("c1", "R", 2, 4), ("c1", "K", 7, 8), ("c1", "Z", 8, 9),
            ("c2", "A", 0, 1), ("c2", "R", 1, 2), ("c2", "Z", 2, 3)]  # c2: rejected at R, no K
    r = replay_parallel(_log(rows), ["R", "K"])
    # R takes 3 h after A, K 4 h after R: side by side the pair takes max(3, 4) = 4 h, not 7 h
    assert r.after_s[0] == pytest.approx(r.before_s[0] - 3 * 3600.0)
    assert r.saved_s[1] == 0.0


def test_parallel_ignores_a_repeated_single_step() -> None:
    rows = [("c1", "A", 0, 1), ("c1", "R", 2, 4), ("c1", "R", 5, 8), ("c1", "Z", 8, 9)]
    assert replay_parallel(_log(rows), ["R", "K"]).saved_s.tolist() == [0.0]


def test_release_immediate_and_daily() -> None:
    # ready Monday 10:00, released Thursday 15:30 (a twice-weekly run); then 1 h to the end
    rows = [("c1", "Ready", 9, 10), ("c1", "Pay", 3 * 24 + 15.5, 3 * 24 + 15.6), ("c1", "Close", 3 * 24 + 16, 3 * 24 + 17)]
    log = _log(rows)
    imm = replay_release(log, "Pay", source="Ready", schedule="immediate")
    assert imm.saved_s[0] == pytest.approx((3 * 24 + 5.5) * 3600.0)
    daily = replay_release(log, "Pay", schedule="daily")  # next 15:30 on a weekday: Monday 15:30
    assert daily.saved_s[0] == pytest.approx(3 * 24 * 3600.0)
    assert replay_release(log, "Pay", source="Close").saved_s[0] == 0.0  # no such edge
    with pytest.raises(ParameterError, match="schedule"):
        replay_release(log, "Pay", schedule="hourly")  # type: ignore[arg-type]


def test_next_weekday_release_skips_the_weekend() -> None:
    friday_17 = (pd.Timestamp("2024-01-05 17:00", tz="UTC") - T0).total_seconds()
    r = next_weekday_release(np.array([friday_17]), T0.value, 15.5 * 3600)
    assert T0 + pd.Timedelta(seconds=float(r[0])) == pd.Timestamp("2024-01-08 15:30", tz="UTC")


def test_calendar_keeps_working_time_waits_across_nights() -> None:
    mask = np.zeros(168, dtype=bool)
    for d in range(5):
        mask[d * 24 + 8: d * 24 + 17] = True
    cal = WeekCalendar(mask)
    t = np.array([(T0 + pd.Timedelta(hours=h)).value / 1e9 for h in (9.0, 16.5, 20.0, 24 + 8.0)])
    w = cal.to_work(t)
    assert np.diff(w).tolist() == [7.5 * 3600, 0.5 * 3600, 0.0]
    back = cal.from_work(w[:2])
    assert np.allclose(back, t[:2])


def test_learned_calendar_and_replay_of_office_step() -> None:
    # 120 cases: an office step (08-17 Mon-Fri) 1 working day after a 24/7 step
    rows = []
    for i in range(120):
        day = i % 5
        rows += [(f"c{i:03d}", "Sys", day * 24 + 14.0, day * 24 + 14.5),
                 (f"c{i:03d}", "Office", (day + 1) * 24 + 14.5 if day < 4 else 7 * 24 + 14.5,
                  (day + 1) * 24 + 15.0 if day < 4 else 7 * 24 + 15.0)]
    log = _log(rows)
    a = case_arrays(log)
    cals = learn_calendars(a)
    office = a.names.index("Office")
    assert cals[office] is not None and int(cals[office].mask.sum()) <= 5
    # removing nothing changes nothing, exactly
    r = replay_advance(log, np.zeros(len(log)))
    assert np.array_equal(r.before_s, r.after_s)


def test_advance_never_makes_a_case_slower() -> None:
    log = _log(CHAIN)
    adv = np.zeros(len(log))
    adv[2] = 3 * 3600.0  # c1's C starts 3 h earlier
    r = replay_advance(log, adv)
    assert r.saved_s.tolist() == [3 * 3600.0, 0.0]
    assert (r.saved_s >= 0).all()


def test_step_name_follows_the_contract() -> None:
    assert step_name("Credit risk approval - rejected", r"\s*-\s*(?P<outcome>approved|rejected)$") == "Credit risk approval"
    assert step_name("Plain", None) == "Plain"


def test_outcome_labelled_activities_are_removed_as_one_step() -> None:
    from flowopt.datasets import generate_lending_log

    g = generate_lending_log(200, seed=2, problems=["rubber_stamp"], outcome_in="name")
    log = flowopt.read_log(g.frame, g.config)
    r = replay_remove(log, ["Regional director approval"])
    assert r.saving().hours_per_case > 0


def test_saving_fields_and_costs() -> None:
    s = replay_remove(_log(CHAIN), ["B"]).saving(waiting_hourly=10.0, service_hourly=50.0, currency="EUR")
    assert s.cost_total == pytest.approx(3.0 * 10.0 + 1.0 * 50.0)
    assert s.currency == "EUR" and s.method == "replay"
    assert s.hours_per_case_low <= s.hours_per_case <= s.hours_per_case_high
    assert s.throughput_p90_change_pct is not None and s.throughput_p90_change_pct < 0
    assert s.period_days == pytest.approx(0.5)
    assert replay_remove(_log(CHAIN), ["B"]).saving().cost_total is None


@pytest.fixture(scope="module")
def office_arrays() -> tuple[CaseArrays, list[WeekCalendar | None]]:
    from flowopt.datasets import generate_lending_log

    g = generate_lending_log(250, seed=9, problems=["rework", "batching", "sequential_signoffs"])
    a = case_arrays(flowopt.read_log(g.frame, g.config))
    return a, learn_calendars(a, min_events=20)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from(["drop", "advance", "run", "immediate", "daily", "all"]))
def test_compiled_retiming_equals_the_array_version(office_arrays: tuple[CaseArrays, list[WeekCalendar | None]],
                                                    seed: int, change: str) -> None:
    """The compiled case-by-case re-timing gives the array version's times float for float."""
    a, cals = office_arrays
    assert any(c is not None for c in cals)  # the calendar arithmetic is exercised
    rng = np.random.default_rng(seed)
    m = a.end.shape[0]
    kw: dict[str, Any] = {}
    if change in ("drop", "all"):  # rows here and there, and every row of a few cases
        kw["drop"] = (rng.random(m) < rng.uniform(0.01, 0.3)) | (rng.random(a.n_cases) < 0.05)[a.case]
    if change in ("advance", "all"):
        kw["advance"] = np.where(rng.random(m) < 0.2, rng.exponential(30_000.0, m), 0.0)
    if change in ("run", "all"):  # runs of 2-3 consecutive events of one case, as replay_parallel builds them
        run = np.full(m, -1, dtype=np.int64)
        for k, i in enumerate(np.flatnonzero(rng.random(m) < 0.08)):
            j = min(int(i) + int(rng.integers(2, 4)), int(a.bounds[a.case[i] + 1]))
            if (run[i:j] < 0).all():
                run[i:j] = k
        kw["run"] = run
    if change in ("immediate", "daily", "all"):
        kw["release"] = rng.random(m) < 0.1
        kw["release_rule"] = ReleaseRule(kind="immediate", latency_s=float(rng.uniform(0, 7200))) \
            if change == "immediate" else ReleaseRule(kind="daily", time_of_day_s=float(rng.uniform(0, 86_400)),
                                                       origin_ns=a.origin_ns, weekdays=(0, 2, 3, 4, 5)[:int(rng.integers(1, 6))])
        if seed % 2:  # released rows that could join a batch only a while after they were ready
            kw["hold"] = np.where(kw["release"], rng.exponential(200_000.0, m), 0.0)
    got = _retime(a, calendars=cals, **kw)  # the compiled loop
    got_thr = _retimed_throughput(a, calendars=cals, **kw)  # the compiled loop's own throughput of changed cases
    old = replay_module.loops
    replay_module.loops = lambda: None  # type: ignore[assignment]  # as an install without the compiled loops
    try:
        ref = _retime(a, calendars=cals, **kw)
        ref_thr = _retimed_throughput(a, calendars=cals, **kw)
    finally:
        replay_module.loops = old
    for x, y in zip(ref, got, strict=True):
        assert np.array_equal(x, y, equal_nan=True)
    assert np.array_equal(ref_thr, got_thr, equal_nan=True)
    # what the replays measured before the compiled loop measured the changed cases itself
    begin, end, keep = got
    has_rows = np.add.reduceat(keep.astype(np.int64), a.bounds[:-1]) > 0
    assert np.array_equal(got_thr, np.where(has_rows, a.throughput(begin, end, keep), a.throughput()))


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 40), data=st.data())
def test_in_codes_is_isin(n: int, data: Any) -> None:
    """The table lookup that selects rows by activity code agrees with np.isin, code -1 (none) included."""
    codes = np.array(data.draw(st.lists(st.integers(-1, n - 1), max_size=60)), dtype=np.int32)
    wanted = np.array(data.draw(st.lists(st.integers(0, n - 1), max_size=14)), dtype=np.int32)  # both ways
    got = replay_module.in_codes(codes, wanted, n)
    assert got.dtype == bool and np.array_equal(got, np.isin(codes, wanted))


def test_as_is_figures_are_shared_then_dropped_with_their_arrays() -> None:
    """The cases' own throughput is computed once per arrays object, shared read-only by its replays, and
    nothing keeps it (or the arrays) alive once they are gone: no whole-log array outlives its log's use."""
    import gc
    import weakref

    log = flowopt.datasets.example_log()
    a = replay_module.case_arrays(log)
    t = a.throughput()
    assert t is a.throughput() and not t.flags.writeable
    r = replay_module.replay_remove(log, [log.frame["activity"].iloc[1]], arrays=a)
    assert r.before_s is t
    r.saving()
    gone = weakref.ref(t)
    del a, t, r
    gc.collect()
    assert gone() is None