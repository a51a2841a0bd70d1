"""Counterfactual replay: re-time every real case as if a change had been made, and measure the saving.

Each change is written as per-event *cuts* (seconds an event and everything after it in its case move
earlier) and *drops* (events that no longer happen), applied to all cases at once — array operations
position by position, or one compiled pass over the cases on large logs (no Python loop per case or event):

- :func:`replay_remove` — a step is no longer done: its wait and its service leave the case, the case's
  later events move earlier by that much (the wait is measured from the previous event's end, never
  negative). ``cases`` restricts it to some cases (a fast track under a threshold).
- :func:`replay_parallel` — consecutive steps of a chain run side by side: the chain takes the longest of
  their own durations (wait + service) instead of their sum.
- :func:`replay_release` — a batched step is released on a new schedule: ``"immediate"`` (case by case,
  as soon as its predecessor ends) or ``"daily"`` (every weekday at the release time learned from the log).

Every function returns a :class:`Replay`: the throughput time of every case before and after, from
which :meth:`Replay.saving` computes a :class:`~flowopt.suggest.Saving` (mean hours per case, a bootstrap
range over cases, p50/p90 change, hours per week over the log's period).

Examples
--------
>>> import flowopt
>>> from flowopt.datasets import generate_lending_log
>>> g = generate_lending_log(300, seed=1, problems=["rubber_stamp"])
>>> log = flowopt.read_log(g.frame, g.config)
>>> r = replay_remove(log, ["Regional director approval"])
>>> s = r.saving()
>>> s.hours_per_case > 0, s.method, s.cases_affected > 0
(True, 'replay', True)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from flowopt._compiled import loops
from flowopt._sorting import code_order, compiled_codes
from flowopt.analysis._stats import bootstrap_mean_range
from flowopt.analysis._waits import compute_waits
from flowopt.discovery._kernels import NAT
from flowopt.errors import ParameterError
from flowopt.log import EventLog
from flowopt.suggest._types import Saving

__all__ = ["CaseArrays", "Replay", "WeekCalendar", "activity_codes", "case_arrays", "cases_where", "learn_calendars",
           "next_weekday_release", "replay_advance", "replay_parallel", "replay_release", "replay_remove", "sample_cases", "step_name"]

_NS = 1e9
DAY = 86_400.0
HOUR = 3_600.0


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseArrays:
    """Float views of a log for replay: seconds since the log's first timestamp, rows in log order.

    Treat the arrays as read-only: figures of the cases as they are (their throughput, the period they span)
    are computed once, when the object is made, and reused by every replay of it.
    """

    case: np.ndarray  # int64 case number per row (non-decreasing)
    act: np.ndarray  # int32 activity code per row
    names: tuple[str, ...]
    begin: np.ndarray  # start, or end where the start is unknown (seconds)
    end: np.ndarray
    bounds: np.ndarray  # row offset of each case's first row (n_cases + 1)
    origin_ns: int  # epoch ns of time 0
    rows: np.ndarray | None = None  # for a sample (:func:`sample_cases`): the log rows kept, else None
    cases: np.ndarray | None = None  # for a sample: the log's case numbers kept, else None
    of_cases: int | None = None  # for a sample: the log's number of cases
    log_period_days: float | None = None  # for a sample: the whole log's period
    _throughput_s: np.ndarray = field(init=False, repr=False, compare=False)  # the cases as they are, read-only
    _span_days: float = field(init=False, repr=False, compare=False)  # from time 0 to the last timestamp
    # each row's own wait in working seconds per set of activity calendars (the compiled re-timing reads it;
    # it depends on the log only, so every replay with the same calendars shares it)
    _work_gaps: dict[bytes, np.ndarray] = field(init=False, repr=False, compare=False, default_factory=dict)

    def __post_init__(self) -> None:
        before = self._throughput(None, None, None)
        before.setflags(write=False)
        object.__setattr__(self, "_throughput_s", before)
        span = float(max(self.end.max(), self.begin.max()) - min(self.begin.min(), 0.0)) / DAY \
            if self.end.shape[0] else 0.0
        object.__setattr__(self, "_span_days", span)

    @property
    def scale(self) -> float:
        """Log cases per case in these arrays (1.0 unless a sample)."""
        return 1.0 if self.of_cases is None or self.n_cases == 0 else self.of_cases / self.n_cases

    @property
    def n_cases(self) -> int:
        return int(self.bounds.shape[0] - 1)

    def throughput(self, begin: np.ndarray | None = None, end: np.ndarray | None = None,
                   keep: np.ndarray | None = None) -> np.ndarray:
        """Seconds from each case's first begin to its last end (dropped rows ignored).

        Without arguments: the cases as they are (computed when the object was made; every replay compares
        with it), read-only."""
        if begin is None and end is None and keep is None:
            return self._throughput_s
        return self._throughput(begin, end, keep)

    def _throughput(self, begin: np.ndarray | None, end: np.ndarray | None, keep: np.ndarray | None) -> np.ndarray:
        b = self.begin if begin is None else begin
        e = self.end if end is None else end
        if keep is not None and not keep.all():  # nothing dropped: the arrays as they are
            b = np.where(keep, b, np.inf)
            e = np.where(keep, e, -np.inf)
        if b.shape[0] == 0:
            return np.zeros(0)
        starts = self.bounds[:-1]
        lo = np.minimum.reduceat(b, starts)
        hi = np.maximum.reduceat(e, starts)
        out = hi - lo
        return np.where(np.isfinite(out), out, 0.0)

    def prev(self, values: np.ndarray, fill: Any) -> np.ndarray:
        """The previous row's value of ``values`` (one per row, in the arrays' order) in the same case, ``fill``
        for a case's first row."""
        out = np.empty_like(values)
        out[0:1] = fill
        out[1:] = values[:-1]
        first = self.bounds[:-1]
        out[first[first < values.shape[0]]] = fill
        return out

    def prev_act(self) -> np.ndarray:
        """The previous row's activity code in the same case (-1 for a case's first row)."""
        return self.prev(self.act, -1)

    def prev_end(self) -> np.ndarray:
        """The previous row's end in the same case (NaN for a case's first row)."""
        return self.prev(self.end, np.nan)


def case_arrays(log: EventLog) -> CaseArrays:
    """The log as :class:`CaseArrays` (computed from :meth:`EventLog.codes`)."""
    c = log.codes()
    if c.end.shape[0] == 0:
        return CaseArrays(case=c.case, act=c.activity, names=c.activity_names, begin=np.zeros(0), end=np.zeros(0),
                          bounds=c.case_start, origin_ns=0)
    begin_ns = np.where(c.start != NAT, c.start, c.end)
    origin = int(min(begin_ns.min(), c.end.min()))
    begin = (begin_ns - origin).astype(np.float64) / _NS
    end = (c.end - origin).astype(np.float64) / _NS
    return CaseArrays(case=c.case, act=c.activity, names=c.activity_names, begin=np.minimum(begin, end), end=end,
                      bounds=c.case_start, origin_ns=origin)


def sample_cases(a: CaseArrays, max_cases: int, *, seed: int = 0) -> CaseArrays:
    """A deterministic, seeded random sample of at most ``max_cases`` whole cases of ``a`` (``a`` itself if smaller).

    The sample keeps the log's time origin and remembers which log rows and cases it holds
    (``rows``, ``cases``), how many cases the log has (``of_cases``) and the log's period, so savings
    measured on it can be scaled to the whole log.

    Examples
    --------
    >>> import flowopt
    >>> a = case_arrays(flowopt.datasets.example_log())
    >>> s = sample_cases(a, 10)
    >>> s.n_cases, s.of_cases, bool((a.act[s.rows] == s.act).all())
    (10, 500, True)
    """
    n = a.n_cases
    if n <= max_cases:
        return a
    keep = np.sort(np.random.default_rng(seed).choice(n, size=max_cases, replace=False))
    lo, hi = a.bounds[keep], a.bounds[keep + 1]
    size = hi - lo
    bounds = np.concatenate([[0], np.cumsum(size)]).astype(a.bounds.dtype)
    rows = np.repeat(lo - bounds[:-1], size) + np.arange(int(bounds[-1]))
    case = np.repeat(np.arange(max_cases, dtype=a.case.dtype), size)
    return CaseArrays(case=case, act=a.act[rows], names=a.names, begin=a.begin[rows], end=a.end[rows],
                      bounds=bounds, origin_ns=a.origin_ns, rows=rows, cases=keep, of_cases=n,
                      log_period_days=_period_days(a))


def step_name(activity: str, outcome_pattern: str | None) -> str:
    """The step an activity belongs to: the name without the outcome written into it (the contract's rule).

    Examples
    --------
    >>> step_name("分行行长审批-驳回", r"-(?P<outcome>通过|驳回)$")
    '分行行长审批'
    >>> step_name("Permit FINAL_APPROVED by DIRECTOR", r"(?P<outcome>FINAL_APPROVED|REJECTED)")
    'Permit by DIRECTOR'
    """
    if not outcome_pattern:
        return activity
    m = re.search(outcome_pattern, activity)
    if m is None or "outcome" not in m.groupdict() or m.group("outcome") is None:
        return activity
    if m.groupdict().get("step"):
        return m.group("step")
    name = activity[: m.start("outcome")] + activity[m.end("outcome"):]
    return re.sub(r"\s+", " ", name).strip(" -_:/")


def activity_codes(log: EventLog, names: Iterable[str]) -> np.ndarray:
    """Codes of the log's activities named ``names``; a sign-off step also matches its outcome-labelled activities.

    A step's activities come from the config's ``outcome_pattern`` or, failing that, from the sign-off
    table the detectors use (which recognises outcomes written in activity names by itself).
    """
    wanted = {str(n) for n in names}
    all_names = log.codes().activity_names
    pattern = log.config.signoffs.outcome_pattern
    codes = {i for i, a in enumerate(all_names) if a in wanted or step_name(a, pattern) in wanted}
    missing = wanted - {all_names[i] for i in codes} - {step_name(all_names[i], pattern) for i in codes}
    if missing:
        steps = _signoff_activities(log)
        index = {a: i for i, a in enumerate(all_names)}
        for step in missing:
            codes.update(index[a] for a in steps.get(step, ()) if a in index)
    return np.asarray(sorted(codes), dtype=np.int32)


def named(log: EventLog, a: CaseArrays, codes: np.ndarray, names: Iterable[str]) -> np.ndarray:
    """True where the activity ``codes`` (of some rows of ``a``) are activities named ``names``
    (:func:`activity_codes`: a sign-off step also matches its outcome-labelled activities)."""
    return in_codes(codes, activity_codes(log, names), len(a.names))


def in_codes(codes: np.ndarray, wanted: np.ndarray, n_codes: int) -> np.ndarray:
    """``np.isin(codes, wanted)`` for integer codes in ``-1 .. n_codes - 1`` (-1: none): by comparisons when a
    few codes are wanted, else by one table lookup.

    Examples
    --------
    >>> in_codes(np.array([0, 2, -1, 1]), np.array([2, 1]), 3).tolist()
    [False, True, False, True]
    """
    wanted = np.unique(np.asarray(wanted))
    if wanted.shape[0] <= _FEW_CODES:  # a few codes: comparisons, ten times faster than a gather through a table
        out = np.zeros(np.shape(codes), dtype=bool)
        for w in wanted.tolist():  # loop over the wanted codes (at most _FEW_CODES)
            out |= codes == w
        return out
    table = np.zeros(n_codes + 1, dtype=bool)  # the last slot stays False: where code -1 looks
    table[wanted] = True
    taken: np.ndarray = table.take(codes)
    return taken


_FEW_CODES = 8  # wanted codes up to which in_codes compares rather than looks up


def _signoff_activities(log: EventLog) -> dict[str, tuple[str, ...]]:
    """Sign-off step -> the log's activities for it (from the detectors' sign-off table, itself cached per log)."""
    from flowopt.analysis._signoff_steps import signoff_steps

    try:
        table = signoff_steps(log, log.config).steps
        steps = {str(r.step): tuple(str(a) for a in r.activities) for r in table.itertuples(index=False)}
    except Exception:  # noqa: BLE001 - no sign-offs recognisable: nothing to map
        steps = {}
    return steps


@dataclass(frozen=True, slots=True, kw_only=True)
class Replay:
    """Throughput time of every case (seconds) before and after a change, replayed on the real cases.

    ``before_s`` is read-only: the replays of one :class:`CaseArrays` share it (copy it to change it).
    """

    before_s: np.ndarray
    after_s: np.ndarray
    period_days: float
    service_removed_s: float = 0.0  # work no longer done (for costs)
    method: str = "replay"
    scale: float = 1.0  # log cases per replayed case (a sample: totals are scaled to the whole log)

    @property
    def saved_s(self) -> np.ndarray:
        """Seconds saved per case (negative: the case got slower)."""
        return np.asarray(self.before_s - self.after_s, dtype=np.float64)

    def saving(self, *, n_boot: int = 200, seed: int = 0, waiting_hourly: float | None = None,
               service_hourly: float | None = None, currency: str | None = None,
               confidence: float = 0.9) -> Saving:
        """The :class:`Saving`: mean hours per case with a bootstrap range over cases, totals, p50/p90 change.

        The range is :func:`flowopt.analysis._stats.bootstrap_mean_range` at ``confidence``: ``n_boot``
        resamples (``seed``) when fewer than 1,000 cases changed, else the bootstrap distribution's
        Cornish–Fisher quantiles; ``n_boot=0`` gives no range (both ends equal the mean).

        ``waiting_hourly`` prices every hour of throughput saved, ``service_hourly`` every hour of work no
        longer done; with neither, ``cost_total`` is ``None``.
        """
        saved = self.saved_s / HOUR
        n = saved.shape[0]
        if n == 0:
            return Saving(hours_per_case=0.0, hours_total=0.0, throughput_p50_change_pct=0.0, method=self.method)
        per_case = float(saved.mean())
        lo, hi = bootstrap_mean_range(saved, confidence=confidence, n_boot=n_boot, seed=seed) if n_boot \
            else (per_case, per_case)
        total = per_case * n * self.scale
        weeks = self.period_days / 7.0 if self.period_days > 0 else None
        cost = None
        if waiting_hourly is not None or service_hourly is not None:
            cost = total * (waiting_hourly or 0.0) + self.service_removed_s * self.scale / HOUR * (service_hourly or 0.0)
        p50_change, p90_change = _pct_changes(self.before_s, self.after_s)
        return Saving(hours_per_case=round(per_case, 4), hours_total=round(total, 2),
                      throughput_p50_change_pct=p50_change, throughput_p90_change_pct=p90_change,
                      hours_per_week=round(total / weeks, 2) if weeks else None,
                      cost_total=None if cost is None else round(cost, 2), currency=currency if cost is not None else None,
                      hours_per_case_low=round(float(lo), 4), hours_per_case_high=round(float(hi), 4),
                      cases_affected=_scaled_count(int((self.saved_s > 1.0).sum()), self.scale), method=self.method,
                      period_days=round(self.period_days, 2))


def _scaled_count(k: int, scale: float) -> int:
    return k if scale == 1.0 else round(k * scale)


def _pct_changes(before: np.ndarray, after: np.ndarray) -> tuple[float, float]:
    """The change of the median and of the 90th percentile, in percent of before (0 where before is 0): both
    quantiles of each array from one partition."""
    b50, b90 = (float(v) for v in np.quantile(before, [0.5, 0.9]))
    a50, a90 = (float(v) for v in np.quantile(after, [0.5, 0.9]))
    return (0.0 if b50 <= 0 else round((a50 - b50) / b50 * 100.0, 2),
            0.0 if b90 <= 0 else round((a90 - b90) / b90 * 100.0, 2))


def _period_days(a: CaseArrays) -> float:
    return a.log_period_days if a.log_period_days is not None else a._span_days


# ---------------------------------------------------------------------------------------------- calendars
_WEEK = 7 * DAY
_MONDAY = 3 * DAY  # 1970-01-01 was a Thursday: the week axis starts on Monday 1969-12-29


@dataclass(frozen=True, slots=True)
class WeekCalendar:
    """Working hours as a mask of the 168 hours of a UTC week; maps clock seconds to working seconds.

    Examples
    --------
    >>> mask = np.zeros(168, dtype=bool); mask[8:17] = True        # Mondays 08:00-17:00 only
    >>> cal = WeekCalendar(mask)
    >>> t = pd.Timestamp("2024-01-01 18:00", tz="UTC").value / 1e9  # a Monday evening
    >>> float(cal.from_work(cal.to_work(np.array([t])))[0] - t) / 3600   # next opening: Monday 08:00
    158.0
    """

    mask: np.ndarray

    def _parts(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        tm = t + _MONDAY
        week = np.floor(tm / _WEEK)
        s = tm - week * _WEEK
        h = np.minimum((s // HOUR).astype(np.int64), 167)
        return week, h, s - h * HOUR

    def to_work(self, t: np.ndarray) -> np.ndarray:
        """Working seconds elapsed at clock seconds ``t`` (since 1970)."""
        rank = np.concatenate([[0], np.cumsum(self.mask)])
        week, h, within = self._parts(t)
        return np.asarray(week * rank[-1] * HOUR + rank[h] * HOUR + np.where(self.mask[h], within, 0.0), dtype=np.float64)

    def from_work(self, w: np.ndarray) -> np.ndarray:
        """Clock seconds at which ``w`` working seconds have elapsed (a boundary maps to the next opening)."""
        hours = np.flatnonzero(self.mask)
        per_week = hours.shape[0] * HOUR
        week = np.floor(w / per_week)
        r = w - week * per_week
        j = np.minimum((r // HOUR).astype(np.int64), hours.shape[0] - 1)
        return week * _WEEK + hours[j] * HOUR + (r - j * HOUR) - _MONDAY


def learn_calendars(a: CaseArrays, *, min_events: int = 100, share: float = 0.1,
                    max_hours: int = 140) -> list[WeekCalendar | None]:
    """Per activity code: the hours of the week in which it starts (``None``: round the clock or too few events).

    An hour counts as working when it holds at least ``share`` of the mean count of the hours it is seen in.
    """
    out: list[WeekCalendar | None] = [None] * len(a.names)
    if a.begin.shape[0] == 0:
        return out
    abs_s = a.begin + a.origin_ns / _NS
    _, h, _ = WeekCalendar(np.ones(168, dtype=bool))._parts(abs_s)
    counts = np.zeros((len(a.names), 168))
    np.add.at(counts, (a.act, h), 1.0)
    for code in range(len(a.names)):
        row = counts[code]
        total = row.sum()
        if total < min_events:
            continue
        seen = row[row > 0]
        mask = row >= share * seen.mean()
        if 0 < mask.sum() <= max_hours:
            out[code] = WeekCalendar(mask)
    return out


def _retime(a: CaseArrays, *, drop: np.ndarray | None = None, run: np.ndarray | None = None,
            release: np.ndarray | None = None, release_rule: ReleaseRule | None = None,
            advance: np.ndarray | None = None, hold: np.ndarray | None = None,
            calendars: list[WeekCalendar | None] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Re-time the cases after a change; returns new ``(begin, end, keep)``.

    Every event keeps its own wait after whatever now precedes it — on its activity's working calendar
    when it has one (a queue of office workers does not move through the night), on the clock otherwise —
    and its own service time. ``drop`` rows no longer happen; rows sharing a ``run`` id (>= 0) all become
    ready when the run begins and the run ends with its last member; ``release`` rows start at
    ``release_rule.apply(ready + hold)`` (``hold``: seconds per row, none when not given — a case that waited
    for something else before it could join a batch still waits that long); a row with ``advance`` > 0 starts
    at least that many seconds earlier (a shorter queue). An event never moves later than it was. With the
    compiled loops (:mod:`flowopt._compiled`) one pass re-times the cases one after another
    (:func:`flowopt._loops.retime`); otherwise one vectorised step per position in the case (a loop over
    positions, not over cases or events). Both give the same floats
    (tests/suggest/test_replay.py). The replays need only the cases' new throughput: :func:`_retimed_throughput`.
    """
    m = a.end.shape[0]
    keep = np.ones(m, dtype=bool) if drop is None else ~drop
    begin, end = a.begin.copy(), a.end.copy()
    if m and loops() is not None:
        _compiled_retime(a, drop, run, release, release_rule, advance, calendars, begin, end, np.zeros(0), hold)
        return begin, end, keep
    drop = np.zeros(m, dtype=bool) if drop is None else drop
    run = np.full(m, -1, dtype=np.int64) if run is None else run
    release = np.zeros(m, dtype=bool) if release is None else release
    advance = np.zeros(m) if advance is None else advance
    touched = drop | (run >= 0) | release | (advance > 0)
    if m == 0 or not touched.any():
        return begin, end, keep
    cal_idx, cals = _calendar_index(a, calendars)
    off = a.origin_ns / _NS
    n = a.n_cases
    hit = np.zeros(n, dtype=bool)
    hit[a.case[touched]] = True
    rows = np.flatnonzero(hit[a.case])
    pos = rows - a.bounds[a.case[rows]]
    order = code_order(pos)  # positions are small: a radix sort
    rows, pos = rows[order], pos[order]
    cuts = np.searchsorted(pos, np.arange(pos[-1] + 2))
    ready_new = np.zeros(n)
    run_start = np.zeros(n)
    run_max = np.full(n, -np.inf)
    first = rows[cuts[0]:cuts[1]]
    ready_new[a.case[first]] = end[first]
    nxt_run = np.full(m + 1, -2, dtype=np.int64)
    nxt_run[:-1] = np.concatenate([run[1:], [-2]])
    nxt_run[a.bounds[1:] - 1] = -2  # a case's last row has no successor
    for p in range(1, pos[-1] + 1):
        i = rows[cuts[p]:cuts[p + 1]]
        c = a.case[i]
        in_run = run[i] >= 0
        starts_run = in_run & (run[i - 1] != run[i])
        run_start[c[starts_run]] = ready_new[c[starts_run]]
        run_max[c[starts_run]] = -np.inf
        rn = np.where(in_run, run_start[c], ready_new[c])
        old_ready = a.end[i - 1]
        nb = a.begin[i] + (rn - old_ready)
        gap_ok = a.begin[i] >= old_ready
        ci = cal_idx[a.act[i]]
        moved = np.flatnonzero((ci >= 0) & gap_ok & (rn != old_ready))
        if moved.shape[0]:
            ci_m = ci[moved]
            for j in np.unique(ci_m):  # loop over the calendars present at this position
                cal = cals[j]
                sel = moved[ci_m == j]
                wg = cal.to_work(a.begin[i[sel]] + off) - cal.to_work(old_ready[sel] + off)
                nb[sel] = cal.from_work(cal.to_work(rn[sel] + off) + wg) - off
        rel = release[i]
        if rel.any() and release_rule is not None:
            nb[rel] = release_rule.apply(rn[rel] if hold is None else rn[rel] + hold[i][rel])
        nb = np.minimum(nb, a.begin[i] - advance[i])
        ne = nb + (a.end[i] - a.begin[i])
        begin[i], end[i] = nb, ne
        live = ~drop[i]
        member = live & in_run
        np.maximum.at(run_max, c[member], ne[member])
        plain = live & ~in_run
        ready_new[c[plain]] = ne[plain]
        ends_run = in_run & (nxt_run[i] != run[i])
        rm = run_max[c[ends_run]]
        ready_new[c[ends_run]] = np.where(np.isfinite(rm), rm, run_start[c[ends_run]])
    return begin, end, keep


def _calendar_index(a: CaseArrays, calendars: list[WeekCalendar | None] | None) -> tuple[np.ndarray,
                                                                                     list[WeekCalendar]]:
    """Per activity code, its calendar's index among the activities' calendars (-1: none), and those calendars."""
    cal_idx = np.full(len(a.names), -1, dtype=np.int64)
    cals = [cal for cal in (calendars or []) if cal is not None]
    k = 0
    for code, maybe in enumerate(calendars or []):
        if maybe is not None:
            cal_idx[code] = k
            k += 1
    return cal_idx, cals


def _compiled_retime(a: CaseArrays, drop: np.ndarray | None, run: np.ndarray | None, release: np.ndarray | None,
                     release_rule: ReleaseRule | None, advance: np.ndarray | None,
                     calendars: list[WeekCalendar | None] | None, begin: np.ndarray, end: np.ndarray,
                     thr: np.ndarray, hold: np.ndarray | None = None) -> None:
    """:func:`flowopt._loops.retime` of the change: writes the new times into ``begin``/``end`` and the re-timed
    cases' throughput into ``thr`` (each skipped when empty). A change not given is passed as an empty array."""
    compiled = loops()
    if compiled is None:  # callers check first; a direct call on such an install lands here
        raise RuntimeError("flowopt's compiled loops are not built in this install: use _retime's array version")
    cal_idx, cals = _calendar_index(a, calendars)
    none_u8, f64 = np.zeros(0, dtype=np.uint8), np.float64
    masks = np.array([cal.mask for cal in cals], dtype=bool).reshape(len(cals), 168).view(np.uint8)
    rel = none_u8 if release is None else release.view(np.uint8)
    mode, latency, tod, origin_s, weekdays = release_rule._kernel_args() \
        if release_rule is not None and release is not None and release.any() \
        else (0, 0.0, 0.0, 0.0, np.zeros(7, dtype=bool))
    bounds, a_begin, a_end = a.bounds.astype(np.int64, copy=False), a.begin.astype(f64, copy=False), \
        a.end.astype(f64, copy=False)
    act = compiled_codes(a.act)
    off = float(a.origin_ns / _NS)
    key = cal_idx.tobytes() + masks.tobytes()
    gap = a._work_gaps.get(key)
    if gap is None:
        gap = np.empty(a.end.shape[0])
        compiled.work_gaps(bounds, a_begin, a_end, act, cal_idx, masks, off, gap)
        gap.setflags(write=False)
        a._work_gaps[key] = gap
    compiled.retime(bounds, a_begin, a_end, act, none_u8 if drop is None else drop.view(np.uint8),
                    np.zeros(0, dtype=np.int64) if run is None else run.astype(np.int64, copy=False),
                    np.zeros(0) if advance is None else np.asarray(advance, dtype=f64), rel,
                    np.zeros(0) if hold is None or release is None else np.asarray(hold, dtype=f64), cal_idx, masks,
                    off, mode, latency, tod, origin_s, weekdays.view(np.uint8), gap, begin, end, thr)


def _retimed_throughput(a: CaseArrays, *, drop: np.ndarray | None = None, run: np.ndarray | None = None,
                        release: np.ndarray | None = None, release_rule: ReleaseRule | None = None,
                        advance: np.ndarray | None = None, hold: np.ndarray | None = None,
                        calendars: list[WeekCalendar | None] | None = None) -> np.ndarray:
    """Each case's throughput after the change (:func:`_retime`), seconds; a case with every row dropped keeps
    its own (it is not "finished in 0 s").

    The same numbers as ``a.throughput(*_retime(...))`` with that rule; with the compiled loops, the cases the
    change leaves alone are not re-timed nor re-measured, and no new times are stored.
    """
    before = a.throughput()
    if a.end.shape[0] and loops() is not None:
        after = before.copy()
        _compiled_retime(a, drop, run, release, release_rule, advance, calendars, np.zeros(0), np.zeros(0), after,
                         hold)
        return after
    begin, end, keep = _retime(a, drop=drop, run=run, release=release, release_rule=release_rule, advance=advance,
                               hold=hold, calendars=calendars)
    if keep.all():
        return a.throughput(begin, end, None)
    has_rows = np.add.reduceat(keep.astype(np.int64), a.bounds[:-1]) > 0
    return np.where(has_rows, a.throughput(begin, end, keep), before)


def replay_remove(log: EventLog, activities: Iterable[str], *, cases: np.ndarray | None = None,
                  rows: np.ndarray | None = None, arrays: CaseArrays | None = None,
                  calendars: list[WeekCalendar | None] | None = None) -> Replay:
    """Replay every case without the given steps (their wait and service removed, later events moved up).

    Parameters
    ----------
    log : EventLog
    activities : iterable of str
        Activity (or sign-off step) names to remove.
    cases : bool array, optional
        Per case number (``log.codes()`` order): remove the steps only in these cases (e.g. a fast track).
    rows : bool array, optional
        Per row of ``log.frame``: remove the steps only in these rows (e.g. right after another approval).
    arrays, calendars : optional
        Precomputed :func:`case_arrays` and :func:`learn_calendars` of ``log`` (reused across changes).
    """
    a = arrays if arrays is not None else case_arrays(log)
    cals = calendars if calendars is not None else learn_calendars(a)
    drop = named(log, a, a.act, activities)
    if cases is not None:
        cases = np.asarray(cases, dtype=bool)
        if cases.shape[0] != a.n_cases:
            raise ParameterError(f"The 'cases' parameter of replay_remove must have one entry per case "
                                 f"({a.n_cases}). Got {cases.shape[0]} instead.")
        drop &= cases[a.case]
    if rows is not None:
        drop &= np.asarray(rows, dtype=bool)
    after = _retimed_throughput(a, drop=drop, calendars=cals)  # a case with every event removed keeps its time
    before = a.throughput()
    removed = float(np.where(drop, a.end - a.begin, 0.0).sum())
    return Replay(before_s=before, after_s=after, period_days=_period_days(a), service_removed_s=removed,
                  scale=a.scale)


def replay_parallel(log: EventLog, activities: Iterable[str], *, arrays: CaseArrays | None = None,
                    calendars: list[WeekCalendar | None] | None = None) -> Replay:
    """Replay every case with consecutive runs of the given steps done side by side.

    Within a run (two or more consecutive events of ``activities`` in one case) every step becomes ready
    when the run begins and keeps its own wait and service; the run ends when the longest one ends (the
    maximum of their durations, not the sum). A run needs two different steps. Cases where only one of the
    steps happened (e.g. rejected at the first) are unchanged.
    """
    a = arrays if arrays is not None else case_arrays(log)
    cals = calendars if calendars is not None else learn_calendars(a)
    step_of = np.full(len(a.names) + 1, -1, dtype=np.int64)
    for k, name in enumerate(activities):  # loop over the chain's steps
        step_of[activity_codes(log, [name])] = k
    step = step_of[a.act]
    ins = step >= 0
    m = a.act.shape[0]
    run = np.full(m, -1, dtype=np.int64)
    if m and ins.any():
        new = np.ones(m, dtype=bool)
        new[1:] = (ins[1:] != ins[:-1]) | (a.case[1:] != a.case[:-1])
        rid = np.cumsum(new) - 1
        n_runs = int(rid[-1]) + 1
        lo = np.full(n_runs, np.iinfo(np.int64).max)
        hi = np.full(n_runs, -1)
        np.minimum.at(lo, rid, step)
        np.maximum.at(hi, rid, step)
        ok = ins & (hi[rid] > lo[rid])  # a run needs two different steps: one step repeated is not a chain
        run = np.where(ok, rid, -1)
    return Replay(before_s=a.throughput(), after_s=_retimed_throughput(a, run=run, calendars=cals),
                  period_days=_period_days(a), scale=a.scale)


def replay_advance(log: EventLog, advance: np.ndarray, *, arrays: CaseArrays | None = None,
                   calendars: list[WeekCalendar | None] | None = None) -> Replay:
    """Replay every case with each row starting ``advance`` seconds earlier (a part of its wait removed).

    ``advance`` has one entry per row of ``log.frame`` (0: unchanged); later events follow as in the
    other replays.
    """
    a = arrays if arrays is not None else case_arrays(log)
    cals = calendars if calendars is not None else learn_calendars(a)
    adv = np.asarray(advance, dtype=np.float64)
    if adv.shape[0] != a.end.shape[0]:
        raise ParameterError(f"The 'advance' parameter of replay_advance must have one entry per event "
                             f"({a.end.shape[0]}). Got {adv.shape[0]} instead.")
    before = a.throughput()
    after = _retimed_throughput(a, advance=np.maximum(adv, 0.0), calendars=cals)
    return Replay(before_s=before, after_s=np.minimum(after, before),
                  period_days=_period_days(a), scale=a.scale)


def next_weekday_release(ready: np.ndarray, origin_ns: int, time_of_day_s: float,
                         weekdays: tuple[int, ...] = (0, 1, 2, 3, 4)) -> np.ndarray:
    """The first release at or after ``ready`` (seconds since ``origin_ns``) on ``weekdays`` at ``time_of_day_s`` UTC.

    Examples
    --------
    >>> t0 = pd.Timestamp("2024-01-05 16:00", tz="UTC").value   # a Friday
    >>> r = next_weekday_release(np.array([0.0]), t0, 15.5 * 3600)
    >>> str(pd.Timestamp(t0 + int(r[0] * 1e9), tz="UTC"))
    '2024-01-08 15:30:00+00:00'
    """
    abs_s = ready + origin_ns / _NS
    day = np.floor(abs_s / DAY)
    cand = day * DAY + time_of_day_s
    day = np.where(cand < abs_s, day + 1, day)
    ok = np.zeros(7, dtype=bool)
    ok[list(weekdays)] = True
    # 1970-01-01 was a Thursday (weekday 3); at most six days to the next allowed weekday
    for _ in range(7):
        wd = ((day + 3) % 7).astype(np.int64)
        day = np.where(ok[wd], day, day + 1)
    return day * DAY + time_of_day_s - origin_ns / _NS


@dataclass(frozen=True, slots=True, kw_only=True)
class ReleaseRule:
    """When a released step starts, given the moment it became ready (seconds since ``origin_ns``)."""

    kind: Literal["immediate", "daily"]
    latency_s: float = 0.0  # immediate: this long after ready
    time_of_day_s: float = 0.0  # daily: at this time of day (UTC) on the next allowed weekday
    origin_ns: int = 0
    weekdays: tuple[int, ...] = (0, 1, 2, 3, 4)

    def apply(self, ready: np.ndarray) -> np.ndarray:
        if self.kind == "immediate":
            return ready + self.latency_s
        return next_weekday_release(ready, self.origin_ns, self.time_of_day_s, self.weekdays)

    def _kernel_args(self) -> tuple[int, float, float, float, np.ndarray]:
        """The rule as :func:`flowopt._loops.retime` takes it: mode (1 immediate, 2 daily), latency, time of day, the
        origin in seconds, and the allowed weekdays as a mask."""
        weekdays = np.zeros(7, dtype=bool)
        weekdays[list(self.weekdays)] = True
        return (1 if self.kind == "immediate" else 2), float(self.latency_s), float(self.time_of_day_s), \
            self.origin_ns / _NS, weekdays


def learned_release_time(a: CaseArrays, rows: np.ndarray) -> float:
    """The usual release time of day (UTC seconds) of batched rows: the median time of day of their begins."""
    tod = np.mod(a.begin[rows] + a.origin_ns / _NS, DAY)
    return float(np.median(tod)) if tod.shape[0] else 12 * HOUR


def replay_release(log: EventLog, target: str, *, source: str | None = None,
                   schedule: Literal["immediate", "daily"] = "immediate", arrays: CaseArrays | None = None,
                   calendars: list[WeekCalendar | None] | None = None, latency_s: float = 0.0) -> Replay:
    """Replay every case with ``target`` (on the edge from ``source``, if given) released on a new schedule.

    ``"immediate"``: the step starts ``latency_s`` after its predecessor ends. ``"daily"``: it starts at the
    next weekday (Mon-Fri) release at the time of day the log's releases usually happen. A case is never
    made slower than it was (a release already earlier than the new schedule keeps its time).

    When ``target`` is a batched activity (:func:`~flowopt.analysis._batching.detect_batches`), only its
    instances released in a batch move, and each no sooner than it could have joined a batch: the part of its
    wait before that (``held_ns`` of :func:`~flowopt.analysis._waits.compute_waits`: ready early enough for
    the previous run and not taken by it, or within the hand-off's waiting period, such as a legal deadline)
    was spent waiting for something else, and still passes after its new ready time. Instances done outside
    the batches keep their times: a new batch schedule does not change them.
    """
    if schedule not in ("immediate", "daily"):
        raise ParameterError(f"The 'schedule' parameter of replay_release must be 'immediate' or 'daily'. "
                             f"Got {schedule!r} instead.")
    a = arrays if arrays is not None else case_arrays(log)
    cals = calendars if calendars is not None else learn_calendars(a)
    pe = a.prev_end()
    sel = named(log, a, a.act, [target]) & ~np.isnan(pe)
    if source is not None:
        sel &= named(log, a, a.prev_act(), [source])
    hold = None
    waits = compute_waits(log)  # (cached per log: analyze has computed it already)
    if target in waits.batches.schedules:
        in_batch = waits.batches.release != NAT
        held = np.zeros(len(in_batch))
        held[waits.row] = waits.held_ns / _NS
        if a.rows is not None:
            in_batch, held = in_batch[a.rows], held[a.rows]
        sel &= in_batch
        hold = np.where(sel, held, 0.0)
    rule = ReleaseRule(kind="immediate", latency_s=latency_s) if schedule == "immediate" else \
        ReleaseRule(kind="daily", time_of_day_s=learned_release_time(a, np.flatnonzero(sel)), origin_ns=a.origin_ns)
    after = _retimed_throughput(a, release=sel, release_rule=rule, hold=hold, calendars=cals)
    return Replay(before_s=a.throughput(), after_s=after, period_days=_period_days(a),
                  scale=a.scale)


def cases_where(log: EventLog, attribute: str, op: Literal["<=", "<", ">", ">="], threshold: float) -> np.ndarray | None:
    """Per case number: whether the case's first known value of ``attribute`` passes ``op threshold``.

    ``None`` when the log has no such numeric attribute.
    """
    f = log.frame
    if attribute not in f.columns:
        return None
    values = pd.to_numeric(f[attribute], errors="coerce")
    if values.notna().sum() == 0:
        return None
    c = log.codes()
    per_case = pd.Series(values.to_numpy()).groupby(c.case).first().reindex(range(c.case_start.shape[0] - 1))
    v = per_case.to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        out = {"<=": v <= threshold, "<": v < threshold, ">": v > threshold, ">=": v >= threshold}[op]
    return np.asarray(out, dtype=bool)
