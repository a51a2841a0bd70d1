from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import flowopt
from flowopt.analysis._batching import detect_batches
from flowopt.analysis._calendars import learn_calendars
from flowopt.analysis._waits import CAUSES, _resource_order, compute_waits, waiting_times
from flowopt.datasets._generator import generate_lending_log
from flowopt.errors import RowsDroppedWarning

T0 = pd.Timestamp("2024-01-03", tz="UTC")  # a Wednesday
CAUSE_COLS = [f"{c}_s" for c in CAUSES]


def _read(df: pd.DataFrame) -> flowopt.EventLog:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RowsDroppedWarning)
        return flowopt.read_log(df)


def _frame(rows: list[tuple[str, str, str, str, str | None]]) -> pd.DataFrame:
    case, act, start, end, res = zip(*rows)
    return pd.DataFrame({"case_id": case, "activity": act, "start": pd.to_datetime(start, utc=True),
                         "end": pd.to_datetime(end, utc=True), "resource": res})


def _by_case(w: pd.DataFrame, case: str, activity: str) -> pd.Series:
    return w[(w["case_id"] == case) & (w["activity"] == activity)].iloc[0]


def test_contention_and_unavailability_on_a_hand_made_log() -> None:
    # R works on case A 09-10 while case B (ready 08:30) waits; nobody starts anything in the 08:00 hour
    log = _read(_frame([("A", "x", "2024-01-03 09:00", "2024-01-03 10:00", "R"),
                        ("B", "a", "2024-01-03 07:00", "2024-01-03 08:30", "S"),
                        ("B", "b", "2024-01-03 10:00", "2024-01-03 10:30", "R")]))
    row = _by_case(waiting_times(log), "B", "b")
    assert row["wait_s"] == 5400
    assert (row["contention_s"], row["unavailability_s"], row["prioritization_s"], row["extraneous_s"]) == \
        (3600, 1800, 0, 0)
    assert row["contention_basis"] == "resource" and row["basis"] == "start"


def test_prioritization_when_the_other_case_was_ready_later() -> None:
    log = _read(_frame([("A", "w", "2024-01-03 07:00", "2024-01-03 08:45", "S"),
                        ("A", "x", "2024-01-03 09:00", "2024-01-03 10:00", "R"),
                        ("B", "a", "2024-01-03 07:00", "2024-01-03 08:30", "S"),
                        ("B", "b", "2024-01-03 10:00", "2024-01-03 10:30", "R")]))
    row = _by_case(waiting_times(log), "B", "b")
    assert row["prioritization_s"] == 3600 and row["contention_s"] == 0


def test_overlap_has_no_wait_and_first_events_have_no_row() -> None:
    log = _read(_frame([("A", "x", "2024-01-03 09:00", "2024-01-03 10:00", "R"),
                        ("A", "y", "2024-01-03 09:30", "2024-01-03 11:00", "S")]))
    w = waiting_times(log)
    assert len(w) == 1 and w["wait_s"].iloc[0] == 0 and (w[CAUSE_COLS] == 0).all(axis=None)


def test_degrades_honestly_without_resources_or_starts() -> None:
    df = _frame([("A", "x", "2024-01-03 09:00", "2024-01-03 10:00", "R"),
                 ("B", "a", "2024-01-03 07:00", "2024-01-03 08:30", "S"),
                 ("B", "b", "2024-01-03 10:00", "2024-01-03 10:30", "R")])
    no_res = _read(df.drop(columns="resource"))
    w = waiting_times(no_res)
    assert (w["contention_s"] == 0).all() and (w["contention_basis"] == "no resource").all()
    assert any("no resources" in n for n in compute_waits(no_res).notes)
    no_start = _read(df.drop(columns="start").rename(columns={"end": "time"}))
    w = waiting_times(no_start)
    assert (w["basis"] == "completion").all() and (w["contention_s"] + w["prioritization_s"] == 0).all()
    assert _by_case(w, "B", "b")["wait_s"] == 7200  # completion to completion
    assert any("Starts are unknown" in n for n in compute_waits(no_start).notes)


@st.composite
def interval_logs(draw: st.DrawFn) -> pd.DataFrame:
    rows = []
    for ci in range(draw(st.integers(1, 5))):
        t = T0 + pd.Timedelta(minutes=draw(st.integers(0, 7 * 24 * 60)))
        for _ in range(draw(st.integers(1, 5))):
            t = t + pd.Timedelta(minutes=draw(st.integers(-60, 3000)))
            dur = pd.Timedelta(minutes=draw(st.integers(0, 240)))
            res = draw(st.sampled_from(["R1", "R2", "R3", None]))
            rows.append((f"c{ci}", draw(st.sampled_from("abcd")), t, t + dur, res))
            t = t + dur
    case, act, start, end, res = zip(*rows)
    return pd.DataFrame({"case_id": case, "activity": act, "start": list(start), "end": list(end), "resource": res})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(interval_logs(), st.booleans())
def test_causes_add_up_to_the_wait(df: pd.DataFrame, drop_start: bool) -> None:
    if drop_start:
        df = df.drop(columns="start").rename(columns={"end": "time"})
    log = _read(df)
    wt = compute_waits(log)
    parts = np.stack([wt.causes_ns[c] for c in CAUSES])
    assert (parts >= 0).all()
    assert (parts.sum(axis=0) == wt.wait_ns).all()  # exact, in ns, on every instance
    assert np.array_equal(wt.contention_measured, wt.contention_basis == "resource")
    w = waiting_times(log)
    assert np.allclose(w[CAUSE_COLS].sum(axis=1), w["wait_s"], rtol=0, atol=1e-6)
    per_edge = w.groupby(["source", "activity"], observed=True)[["wait_s", *CAUSE_COLS]].sum()
    assert np.allclose(per_edge[CAUSE_COLS].sum(axis=1), per_edge["wait_s"], rtol=1e-12, atol=1e-6)


@pytest.fixture(scope="module")
def batched() -> flowopt.EventLog:
    g = generate_lending_log(600, seed=5, problems=("batching",))
    return flowopt.read_log(g.frame, g.config)


def test_batch_releases_found_on_their_schedule(batched: flowopt.EventLog) -> None:
    info = detect_batches(batched)
    assert list(info.schedules) == ["Disbursement"]
    s = info.schedules["Disbursement"]
    assert s["weekdays"] == ["Mon", "Thu"] and s["times"] == ["15:30"] and s["batch_size_median"] >= 10
    w = waiting_times(batched)
    edge = w[(w["source"] == "Contract signing") & (w["activity"] == "Disbursement")]
    assert edge["batching_s"].sum() > 0.95 * edge["wait_s"].sum()


def test_no_batches_in_a_healthy_flow() -> None:
    g = generate_lending_log(600, seed=6)
    assert detect_batches(flowopt.read_log(g.frame, g.config)).schedules == {}


def test_calendars_learn_office_hours(batched: flowopt.EventLog) -> None:
    cals = learn_calendars(batched)
    labels = {lab: i for i, lab in enumerate(cals.labels)}
    assert cals.describe(labels["role:BACKOFFICE"]) == "Mon-Fri 08-17 UTC"
    # working seconds over one whole week = 45 h for an office calendar
    i = np.array([labels["role:BACKOFFICE"]])
    week = cals.working_ns(i, np.array([T0.value]), np.array([(T0 + pd.Timedelta(days=7)).value]))
    assert int(week[0]) == 45 * 3600 * 10**9


_NAT = np.iinfo(np.int64).min


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1), st.integers(1, 60), st.integers(1, 4), st.booleans())
def test_compiled_sweep_equals_the_array_version(seed: int, n: int, n_res: int, many_overlaps: bool) -> None:
    # the contention split has two implementations (compiled loops, and NumPy where they are not built): same numbers
    from flowopt.analysis._waits import _contention_arrays, _contention_sweep

    rng = np.random.default_rng(seed)
    case = np.sort(rng.integers(0, max(1, n // 3), n))
    res = rng.integers(-1, n_res, n)
    start = rng.integers(0, 200, n).astype(np.int64)
    start[rng.random(n) < 0.1] = _NAT
    end = np.where(start == _NAT, rng.integers(0, 300, n), start + rng.integers(0, 80 if many_overlaps else 10, n))
    enabled_row = np.where(rng.random(n) < 0.2, _NAT, rng.integers(0, 200, n)).astype(np.int64)
    j = np.flatnonzero(rng.random(n) < 0.7)
    enabled = rng.integers(0, 200, len(j)).astype(np.int64)
    t1 = enabled + rng.integers(0, 20, len(j))
    t2 = t1 + rng.integers(0, 100, len(j))
    working = rng.integers(0, 120, len(j)).astype(np.int64)
    sk = start[j] != _NAT
    args = (res, case, start, end.astype(np.int64), enabled_row, j, enabled, t1, t2, working, sk, n_res, 0.5)
    want = _contention_arrays(*args)
    # every path of the compiled sweep: scan all; scan short windows and rescan the long ones; prefix sums and
    # Fenwick trees for the long ones, or for every window
    for scan_max, per_instance in ((10 ** 9, 0), (2, 10 ** 9), (2, 0), (0, 0)):
        with _sweep_limits(scan_max, per_instance):
            got = _contention_sweep(*args)
        for a, b in zip(want, got, strict=True):
            assert np.array_equal(a, b), (scan_max, per_instance)


@contextmanager
def _sweep_limits(scan_max: int, per_instance: int) -> Iterator[None]:
    import flowopt.analysis._waits as w

    old = w._SCAN_MAX, w._SCAN_PER_INSTANCE
    w._SCAN_MAX, w._SCAN_PER_INSTANCE = scan_max, per_instance
    try:
        yield
    finally:
        w._SCAN_MAX, w._SCAN_PER_INSTANCE = old


def test_long_queues_at_one_person_give_the_same_split_by_every_path() -> None:
    """One person working back to back, each case queued for up to 90 days: windows over thousands of
    instances, where the prefix sums replace the scan."""
    from flowopt.analysis._waits import _contention_arrays, _contention_sweep

    rng = np.random.default_rng(0)
    n, hour = 6000, 3600 * 10 ** 9
    dur = rng.integers(1, 3, n) * hour // 4
    start = np.cumsum(dur) - dur
    case = rng.permutation(n // 2).repeat(2)
    enabled = start - rng.integers(0, 90 * 24, n) * hour
    enabled[::7] = _NAT  # instances of cases that were never "enabled" (their first step)
    j = np.flatnonzero(enabled != _NAT)
    t2 = start[j]
    t1 = np.minimum(enabled[j] + rng.integers(0, 5, len(j)) * hour, t2)
    args = (np.zeros(n, dtype=np.int64), case, start, start + dur, enabled, j, enabled[j], t1, t2, t2 - t1,
            np.ones(len(j), dtype=bool), 1, 0.5)
    want = _contention_arrays(*args)
    assert want[0].sum() > 0 and want[1].sum() > 0
    for scan_max, per_instance in ((10 ** 9, 0), (256, 0)):
        with _sweep_limits(scan_max, per_instance):
            got = _contention_sweep(*args)
        for a, b in zip(want, got, strict=True):
            assert np.array_equal(a, b)


def test_compiled_loops_and_the_numpy_fallback_agree_on_a_whole_log(monkeypatch: pytest.MonkeyPatch) -> None:
    # the same log with the compiled loops and as an install without them computes it
    import flowopt.analysis._waits as w

    g = generate_lending_log(800, seed=2, problems=("understaffed",))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RowsDroppedWarning)
        compiled = compute_waits(flowopt.read_log(g.frame, g.config))
        monkeypatch.setattr(w, "loops", lambda: None)
        arrays = compute_waits(flowopt.read_log(g.frame, g.config))
    assert compiled.causes_ns["contention"].sum() > 0
    for cause in CAUSES:
        assert np.array_equal(compiled.causes_ns[cause], arrays.causes_ns[cause])
    assert np.array_equal(compiled.contention_basis, arrays.contention_basis)


def test_every_sweep_path_on_the_dutch_bank_log(bpic2012: flowopt.EventLog) -> None:
    """BPIC 2012 (a real loan process, ~35,000 waits with contention): scan, rescan and Fenwick trees all give
    the NumPy reference's numbers."""
    import flowopt.analysis._waits as w

    captured: list[tuple[object, ...]] = []
    sweep = w._contention_sweep

    def capture(*args: object, res_order: object = None) -> object:
        captured.append(args)  # the resource order is left out: each version below makes its own
        return sweep(*args, res_order=res_order)  # type: ignore[arg-type]

    w._contention_sweep = capture  # type: ignore[assignment]
    try:
        w._compute(bpic2012)
    finally:
        w._contention_sweep = sweep
    args = captured[0]
    want = w._contention_arrays(*args)  # type: ignore[arg-type]
    assert (want[0] > 0).sum() > 10_000 and (want[1] > 0).sum() > 10_000
    for scan_max, per_instance in ((10 ** 12, 0), (256, 300), (0, 0)):
        with _sweep_limits(scan_max, per_instance):
            got = w._contention_sweep(*args)  # type: ignore[arg-type]
        for a, b in zip(want, got, strict=True):
            assert np.array_equal(a, b), (scan_max, per_instance)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(interval_logs(), st.integers(0, 2**32 - 1), st.booleans(), st.booleans())
def test_grouping_from_the_instant_order_is_a_lexsort(df: pd.DataFrame, seed: int, masked: bool,
                                                      drop_some_starts: bool) -> None:
    """Rows by group then instant from the log's one time order: np.lexsort((instant, group)) of the rows
    kept, ties (equal instants, many here) in row order; the wait table's resource order is that of its rows
    with a start and a resource."""
    from flowopt.analysis._instants import by_group_then_instant, instant_order

    if drop_some_starts:
        df = df.assign(start=df["start"].where(np.arange(len(df)) % 3 != 0))
    log = _read(df)
    c = log.codes()
    inst, order = instant_order(log)
    assert np.array_equal(inst, np.where(c.start != _NAT, c.start, c.end))
    assert np.array_equal(order, np.lexsort((np.arange(len(inst)), inst)))
    rng = np.random.default_rng(seed)
    k = int(rng.integers(1, 5))
    group = rng.integers(0, k, len(inst))
    mask = rng.random(len(inst)) < 0.6 if masked else None
    rows = np.arange(len(inst)) if mask is None else np.flatnonzero(mask)
    want = rows[np.lexsort((inst[rows], group[rows]))]
    assert np.array_equal(by_group_then_instant(order, group, k, mask), want)
    wt = compute_waits(log)
    if wt.resource_order is not None:
        res = log.frame["resource"].cat.codes.to_numpy().astype(np.int64)
        assert np.array_equal(wt.resource_order[0], _resource_order(res, c.start, int(res.max()) + 1)[0])
