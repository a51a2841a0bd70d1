"""Working hours learned from the log: a weekly hour × weekday calendar per resource.

A resource *works* in an hour-of-week cell (Monday 00:00–01:00 UTC is cell 0, Sunday 23:00–24:00 is
cell 167) when it starts a fair share of its instances there: at least 10% of the median count of its
non-empty cells (instances are counted by their start, by their end where the start is unknown — a
task starts within working hours, its end may spill into overtime). So a rare late evening does not
turn the night into working time.
A resource with fewer than ``min_events`` instants borrows the calendar of its role (its most frequent
role), and failing that the calendar of the whole log. Rows without a resource use their role's
calendar, then the log's.

Working seconds between two instants are ``W(t2) − W(t1)`` on a cumulative working-time axis
``W``: whole weeks × working seconds per week + the working seconds of the week so far (a 169-entry
prefix sum per calendar), evaluated for all instants at once by fancy indexing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flowopt._compiled import loops
from flowopt.discovery._kernels import NAT
from flowopt.log import EventLog

__all__ = ["Calendars", "learn_calendars"]

HOUR_NS = 3_600 * 10**9
WEEK_NS = 168 * HOUR_NS
_MONDAY_NS = -3 * 24 * HOUR_NS  # 1969-12-29 00:00 UTC was a Monday
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True, slots=True, kw_only=True)
class Calendars:
    """Weekly calendars and which one each log row uses.

    Attributes
    ----------
    cells : bool array (n_calendars, 168)
        Working hour-of-week cells (UTC).
    labels : tuple of str
        ``"resource:<name>"``, ``"role:<name>"`` or ``"log"`` for each calendar.
    row_calendar : int array (n_rows,)
        The calendar of each log row.
    """

    cells: np.ndarray
    labels: tuple[str, ...]
    row_calendar: np.ndarray

    def working_ns(self, calendar: np.ndarray, t1: np.ndarray, t2: np.ndarray) -> np.ndarray:
        """Working nanoseconds between ``t1`` and ``t2`` (int64 ns, ``t1 <= t2``) on each row's calendar.

        One compiled pass where the compiled loops are built (:mod:`flowopt._compiled`), else NumPy; the same
        integers (tests/analysis/test_calendars.py)."""
        compiled = loops()
        if compiled is None or len(self.cells) == 0:
            out: np.ndarray = self._cum(calendar, t2) - self._cum(calendar, t1)
            return out
        i64 = np.int64
        cal, a, b = (np.ascontiguousarray(x, dtype=i64) for x in (calendar, t1, t2))
        out = np.empty(cal.shape[0], dtype=i64)
        compiled.working_ns(cal, a, b, self._prefix(), np.ascontiguousarray(self.cells, dtype=bool).view(np.uint8), out)
        return out

    def _prefix(self) -> np.ndarray:
        """Each calendar's working nanoseconds before each hour of the week (169 entries per calendar)."""
        cell_ns = self.cells.astype(np.int64) * HOUR_NS
        return np.concatenate([np.zeros((len(self.cells), 1), dtype=np.int64), np.cumsum(cell_ns, axis=1)], axis=1)

    def _cum(self, calendar: np.ndarray, t: np.ndarray) -> np.ndarray:
        prefix = self._prefix()
        s = np.asarray(t, dtype=np.int64) - _MONDAY_NS
        week = np.floor_divide(s, WEEK_NS)
        within = s - week * WEEK_NS
        hour = within // HOUR_NS
        frac = within - hour * HOUR_NS
        cal = np.asarray(calendar, dtype=np.int64)
        out: np.ndarray = week * prefix[cal, 168] + prefix[cal, hour] + self.cells[cal, hour] * frac
        return out

    def describe(self, calendar: int) -> str:
        """A short text such as ``"Mon-Fri 08-17 UTC"`` (days with any working hour and their hour span)."""
        grid = self.cells[calendar].reshape(7, 24)
        days = [d for d in range(7) if grid[d].any()]
        if not days:
            return "never"
        if grid.all():
            return "24/7"
        hours = np.flatnonzero(grid[days].any(axis=0))
        span = f"{hours.min():02d}-{hours.max() + 1:02d} UTC"
        runs: list[str] = []
        i = 0
        while i < len(days):  # at most 7 days
            j = i
            while j + 1 < len(days) and days[j + 1] == days[j] + 1:
                j += 1
            runs.append(_DAYS[days[i]] if i == j else f"{_DAYS[days[i]]}-{_DAYS[days[j]]}")
            i = j + 1
        return ", ".join(runs) + " " + span


def _cells_of(counts: np.ndarray, share: float) -> np.ndarray:
    """Working cells of each row of ``counts`` (n, 168): cells holding at least ``share`` × the median count
    of the row's non-empty cells (so a stray late evening stays off-duty)."""
    c = counts.astype(np.float64)
    masked = np.where(c > 0, c, np.nan)
    with np.errstate(all="ignore"):
        med = np.nanmedian(np.where(np.isnan(masked).all(axis=1, keepdims=True), 0.0, masked), axis=1)
    cells = (c > 0) & (c >= share * med[:, None])
    empty = ~cells.any(axis=1)
    cells[empty] = True  # no data: treat as always working (no unavailability can be claimed)
    return cells


def _take(table: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``table[idx]`` where ``idx >= 0``, else 0 (the log's calendar)."""
    if len(table) == 0:
        return np.zeros(len(idx), dtype=np.int64)
    out: np.ndarray = np.where(idx >= 0, table[np.clip(idx, 0, len(table) - 1)], 0)
    return out


def _cell_of(t: np.ndarray) -> np.ndarray:
    s = t - _MONDAY_NS
    out: np.ndarray = (s - np.floor_divide(s, WEEK_NS) * WEEK_NS) // HOUR_NS
    return out


def learn_calendars(log: EventLog, *, exclude: np.ndarray | None = None, min_events: int = 100,
                    share: float = 0.1) -> Calendars:
    """Learn a weekly working calendar per resource (falling back to role, then the whole log).

    Parameters
    ----------
    log : EventLog
    exclude : bool array (n_rows,), optional
        Rows whose instants say nothing about working hours (e.g. scheduled batch releases).
    min_events : int
        Instants a resource (or role) needs for a calendar of its own.
    share : float
        A working cell holds at least this share of the median count of the resource's non-empty cells.

    Examples
    --------
    >>> import flowopt
    >>> cals = learn_calendars(flowopt.datasets.example_log())
    >>> cals.cells.shape[1], cals.labels[0]
    (168, 'log')
    """
    f = log.frame
    c = log.codes()
    n = len(c.case)
    keep = np.ones(n, dtype=bool) if exclude is None else ~np.asarray(exclude, dtype=bool)
    res = f["resource"].cat.codes.to_numpy().astype(np.int64) if "resource" in f and hasattr(f["resource"], "cat") \
        else np.full(n, -1, dtype=np.int64)
    role = f["role"].cat.codes.to_numpy().astype(np.int64) if "role" in f and hasattr(f["role"], "cat") \
        else np.full(n, -1, dtype=np.int64)
    res_names = list(f["resource"].cat.categories) if (res >= 0).any() else []
    role_names = list(f["role"].cat.categories) if (role >= 0).any() else []
    # instants: the start of each instance, its end where the start is unknown (work begins within working
    # hours; ends spill into overtime)
    rows = np.flatnonzero(keep)
    inst = np.where(c.start[rows] != NAT, c.start[rows], c.end[rows])
    cell = _cell_of(inst)
    n_res, n_role = len(res_names), len(role_names)
    log_counts = np.bincount(cell, minlength=168)[None, :]
    r_of = res[rows]
    ok = r_of >= 0
    res_counts = np.bincount(r_of[ok] * 168 + cell[ok], minlength=n_res * 168).reshape(n_res, 168)
    o_of = role[rows]
    ok = o_of >= 0
    role_counts = np.bincount(o_of[ok] * 168 + cell[ok], minlength=n_role * 168).reshape(n_role, 168)
    cells = _cells_of(np.concatenate([log_counts, role_counts, res_counts]), share)
    labels = ("log", *(f"role:{r}" for r in role_names), *(f"resource:{r}" for r in res_names))
    # which calendar each role and resource uses
    role_cal = np.where(role_counts.sum(axis=1) >= min_events, 1 + np.arange(n_role), 0)
    main_role = np.full(n_res, -1, dtype=np.int64)
    both = (res >= 0) & (role >= 0)
    if both.any() and n_role:
        pair = np.bincount(res[both] * n_role + role[both], minlength=n_res * n_role).reshape(n_res, n_role)
        main_role = np.where(pair.sum(axis=1) > 0, pair.argmax(axis=1), -1)
    fallback = _take(role_cal, main_role)
    res_cal = np.where(res_counts.sum(axis=1) >= min_events, 1 + n_role + np.arange(n_res), fallback)
    row_cal = np.where(res >= 0, _take(res_cal, res), _take(role_cal, role))
    return Calendars(cells=cells, labels=labels, row_calendar=row_cal.astype(np.int64))
