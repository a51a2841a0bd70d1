"""Vectorised kernels of the lending-log generator: working calendars, FIFO pools and batch releases.

Times are ``float64`` seconds since the generator's *origin*, the Monday 00:00 UTC on or before the
requested start date, so weekday arithmetic is plain modular arithmetic.

A working calendar (Mon-Fri, ``open``-``close`` UTC) is handled through a *working-time axis*: clock time
is mapped to the cumulative number of working seconds since the origin, queues are run on that axis, and
the results are mapped back. Off-hours therefore turn into unavailability waits without any event loop.

Examples
--------
>>> import numpy as np
>>> cal = WorkCalendar(open_hour=8, close_hour=17)
>>> t = np.array([7 * 3600.0, 9 * 3600.0, 20 * 3600.0])   # Monday 07:00, 09:00, 20:00
>>> cal.to_work(t).tolist()
[0.0, 3600.0, 32400.0]
>>> (cal.from_work(np.array([32400.0])) / 3600).tolist()   # start convention: Tuesday 08:00
[32.0]
>>> (cal.from_work(np.array([32400.0]), end=True) / 3600).tolist()   # end convention: Monday 17:00
[17.0]
>>> start, end, server = fifo_pool(np.array([0.0, 0.0, 0.0]), np.array([1.0, 1.0, 1.0]), 2)
>>> start.tolist(), end.tolist(), server.tolist()
([0.0, 0.0, 1.0], [1.0, 1.0, 2.0], [0, 1, 0])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["DAY", "HOUR", "WEEK", "WorkCalendar", "arrivals", "fifo_pool", "next_release", "run_pool"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_EPS = 1e-6
HOUR = 3600.0
DAY = 24 * HOUR
WEEK = 7 * DAY


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkCalendar:
    """Mon-Fri working hours ``[open_hour, close_hour)`` in UTC; times are seconds since a Monday 00:00.

    Examples
    --------
    >>> WorkCalendar(open_hour=8, close_hour=17).week_seconds / 3600
    45.0
    """

    open_hour: float = 8.0
    close_hour: float = 17.0

    @property
    def day_seconds(self) -> float:
        """Working seconds in one working day."""
        return (self.close_hour - self.open_hour) * HOUR

    @property
    def week_seconds(self) -> float:
        """Working seconds in one week (five working days)."""
        return 5 * self.day_seconds

    def to_work(self, t: FloatArray) -> FloatArray:
        """Cumulative working seconds elapsed at clock time ``t``."""
        day = np.floor(t / DAY)
        week = np.floor(day / 7)
        dow = day - 7 * week
        in_day = np.clip(t - day * DAY - self.open_hour * HOUR, 0.0, self.day_seconds)
        in_day = np.where(dow < 5, in_day, 0.0)
        out: FloatArray = week * self.week_seconds + np.minimum(dow, 5) * self.day_seconds + in_day
        return out

    def from_work(self, w: FloatArray, *, end: bool = False) -> FloatArray:
        """Clock time at which ``w`` working seconds have elapsed.

        ``end=False`` maps a day boundary to the next opening (a start); ``end=True`` maps it to the
        previous closing (an end).
        """
        week = np.floor(w / self.week_seconds)
        rest = w - week * self.week_seconds
        # a tolerance keeps float noise at a day boundary on the intended side of the night
        dow = np.floor((rest + _EPS) / self.day_seconds)
        sec = np.maximum(rest - dow * self.day_seconds, 0.0)
        wrap = dow >= 5
        week = np.where(wrap, week + 1, week)
        dow = np.where(wrap, 0.0, dow)
        if end:
            edge = (sec <= _EPS) & (w > 0.0)
            dow = np.where(edge, dow - 1, dow)
            sec = np.where(edge, self.day_seconds, sec)
            wrap = dow < 0
            week = np.where(wrap, week - 1, week)
            dow = np.where(wrap, 4.0, dow)
        return week * WEEK + dow * DAY + self.open_hour * HOUR + sec


def fifo_pool(arrive: FloatArray, service: FloatArray, servers: int) -> tuple[FloatArray, FloatArray, IntArray]:
    """Serve jobs first-come first-served by ``servers`` identical servers, assigned round-robin.

    Each server is a single-server queue solved in closed form by the Lindley recursion
    ``end_i = max(a_i, end_{i-1}) + s_i``, i.e. ``end = S + cummax(a - S_prev)`` on the cumulative
    service ``S`` -- one 2-D ``cumsum`` and one ``maximum.accumulate`` over all servers at once.

    Returns ``(start, end, server)`` in the input order.
    """
    n = arrive.shape[0]
    if n == 0:
        empty = np.empty(0)
        return empty, empty, np.empty(0, dtype=np.int64)
    c = max(1, min(int(servers), n))
    order = np.argsort(arrive, kind="stable")
    rows = -(-n // c)
    a = np.empty(rows * c)
    s = np.zeros(rows * c)
    a[:n] = arrive[order]
    a[n:] = a[n - 1]
    s[:n] = service[order]
    a2 = a.reshape(rows, c)
    s2 = s.reshape(rows, c)
    cum = np.cumsum(s2, axis=0)
    free = np.maximum.accumulate(a2 - (cum - s2), axis=0)
    end_sorted = (cum + free).ravel()[:n]
    start = np.empty(n)
    end = np.empty(n)
    end[order] = end_sorted
    start[order] = end_sorted - s[:n]
    server = np.empty(n, dtype=np.int64)
    server[order] = np.arange(n, dtype=np.int64) % c
    return start, end, server


def run_pool(ready: FloatArray, service: FloatArray, servers: int,
             calendar: WorkCalendar | None) -> tuple[FloatArray, FloatArray, IntArray]:
    """Run :func:`fifo_pool` on the calendar's working-time axis (``None``: a 24/7 system pool).

    Returns clock ``(start, end, server)``. A task always starts within working hours and, once started,
    is finished (``end = start + service``): one running past closing time is overtime, and its server
    resumes the queue the next morning after the unfinished remainder of the working axis.
    """
    if calendar is None:
        return fifo_pool(ready, service, servers)
    start_w, _end_w, server = fifo_pool(calendar.to_work(ready), service, servers)
    start = calendar.from_work(start_w)
    return start, start + service, server


def next_release(ready: FloatArray, releases: FloatArray) -> FloatArray:
    """The first release time at or after ``ready``; ``releases`` are sorted offsets within a week."""
    week = np.floor(ready / WEEK)
    pos = ready - week * WEEK
    idx = np.searchsorted(releases, pos, side="left")
    wraps = idx >= releases.shape[0]
    offset = np.where(wraps, releases[0] + WEEK, releases[np.minimum(idx, releases.shape[0] - 1)])
    out: FloatArray = week * WEEK + offset
    return out


def arrivals(rng: np.random.Generator, n: int, rate: float, offset: float) -> FloatArray:
    """Sorted arrival times: a Poisson process whose intensity follows the hour of the week."""
    week = np.zeros(168)
    for d in range(5):
        week[d * 24 + 8: d * 24 + 17] = 1.0
        week[d * 24 + 17: d * 24 + 20] = 0.3
    week[5 * 24 + 9: 5 * 24 + 13] = 0.4
    week *= rate * 7 / week.sum()
    first = int(offset // HOUR)
    weeks = int(np.ceil((n * 1.2 + 50) / (rate * 7))) + 2 + first // 168
    hourly = np.tile(week, weeks)
    hourly[:first] = 0.0
    cum = np.cumsum(hourly)
    u = np.cumsum(rng.exponential(1.0, n))
    while u[-1] >= cum[-1]:  # pragma: no cover - the horizon above is generous
        hourly = np.tile(week, 2 * hourly.size // 168)
        hourly[:first] = 0.0
        cum = np.cumsum(hourly)
    hour = np.searchsorted(cum, u, side="right")
    before = cum[hour] - hourly[hour]
    out: FloatArray = (hour + (u - before) / hourly[hour]) * HOUR
    return out
