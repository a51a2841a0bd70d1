# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""Compiled loops for the kernels that cannot be written as whole-array NumPy operations (the contention
sweep, the replay's case-by-case re-timing, the first-come first-served queue) or run several times faster as
one pass (working time on a calendar, each row's own wait in working seconds, the group-then-time sort key
and its radix sort, and the reading's passes over every row: coding text columns as categories, category code
counts, runs of equal keys for the duplicate check, time checks and the conversion to nanoseconds).

Built from this Cython source when flowopt is installed (``pip install``: a C compiler and the Python headers
are needed; without them the install still succeeds and the same numbers come from the kernels' NumPy
versions, more slowly — :func:`flowopt._compiled.loops` says which is in use). Importing the module takes
milliseconds and each loop runs without the GIL, so it overlaps the work of other threads.

Each loop does, operation for operation, the arithmetic of its NumPy version (the tests compare them value
for value, floats included): Python's floor division and modulo of floats are spelt out (:func:`_hours`,
:func:`_mod`), NumPy's indexing from the end by -1 too, the rest is IEEE arithmetic in the same order.
"""

from libc.math cimport floor, fmod, isnan, isfinite, INFINITY, NAN
from libc.stdint cimport INT64_MIN, int8_t, int16_t, int32_t, int64_t, uint8_t, uint64_t
from libc.stdlib cimport calloc, free, malloc, realloc
from libc.string cimport memcmp, memcpy

import numpy as np

cdef int64_t NAT = INT64_MIN

ctypedef fused code_t:  # category codes as pandas stores them: the narrowest type that holds the categories
    int8_t
    int16_t
    int32_t
    int64_t

ctypedef fused index_t:  # the indices of an Arrow dictionary column
    int8_t
    int16_t
    int32_t
    int64_t

ctypedef fused offset_t:  # the value offsets of Arrow text: string (int32) or large_string (int64)
    int32_t
    int64_t

ctypedef fused moved_t:  # what a log's columns hold: category codes, nanoseconds, numbers, missing-value masks
    int8_t
    int16_t
    int32_t
    int64_t
    uint8_t
    double

cdef double HOUR = 3600.0
cdef double DAY = 86400.0
cdef double WEEK = 7 * 86400.0
cdef double MONDAY = 3 * 86400.0  # 1970-01-01 was a Thursday: the week axis starts on Monday 1969-12-29


cdef inline int64_t _hours(double x) noexcept nogil:
    """``int(x // 3600.0)`` for a finite ``x`` of less than 2**50 in magnitude: the exact floor of ``x / 3600``,
    which is what Python's float floor division gives there (``x - fmod(x, 3600)`` is then an exact multiple
    of 3600). Computed by one division and an exact integer correction instead of ``fmod``."""
    cdef double q = <double>(<int64_t>(x / HOUR))  # truncated: the floor, or one above or below it
    if q * HOUR > x:  # q * 3600 is exact for these q
        q -= 1.0
    elif (q + 1.0) * HOUR <= x:
        q += 1.0
    return <int64_t>q


cdef inline double _mod(double vx, double wx) noexcept nogil:
    """``vx % wx`` for floats, as Python computes it."""
    cdef double mod = fmod(vx, wx)
    if mod != 0.0:
        if (wx < 0) != (mod < 0):
            mod += wx
    else:
        mod *= mod
        if wx < 0.0:
            mod = -mod
    return mod


cdef inline Py_ssize_t _search_right(const int64_t[::1] a, Py_ssize_t lo, Py_ssize_t hi, int64_t x) noexcept nogil:
    """``lo + np.searchsorted(a[lo:hi], x, side="right")``."""
    cdef Py_ssize_t mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] <= x:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef inline Py_ssize_t _search_left(const int64_t[::1] a, Py_ssize_t lo, Py_ssize_t hi, int64_t x) noexcept nogil:
    """``lo + np.searchsorted(a[lo:hi], x, side="left")``."""
    cdef Py_ssize_t mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef inline uint64_t _fen_sum(const uint64_t* tree, Py_ssize_t i) noexcept nogil:
    """Sum of the first ``i`` values of a Fenwick tree (1-based ``tree[1..]``; modulo 2**64)."""
    cdef uint64_t s = 0
    while i > 0:
        s += tree[i]
        i -= i & (-i)
    return s


cdef inline void _fen_add(uint64_t* tree, Py_ssize_t size, Py_ssize_t i, uint64_t v) noexcept nogil:
    """Add ``v`` to value ``i`` (0-based) of a Fenwick tree of ``size`` values."""
    i += 1
    while i <= size:
        tree[i] += v
        i += i & (-i)


cdef inline uint64_t _busy_before(uint64_t x, uint64_t n_started, uint64_t sum_start, uint64_t n_ended,
                                  uint64_t sum_end) noexcept nogil:
    """Busy time before ``x`` of a set of intervals: ``sum(max(0, x - start)) - sum(max(0, x - end))`` from the
    number and sum of the starts and of the ends before ``x`` (modulo 2**64: differences of these are exact)."""
    return x * (n_started - n_ended) - sum_start + sum_end


cdef inline void _split(int64_t total, int64_t later, int64_t cap, int64_t* cont, int64_t* prio) noexcept nogil:
    """Overlap ``total`` (``later`` of it from instances enabled later) scaled down to the working time ``cap``:
    the prioritization part and the rest, contention."""
    cdef double scale = <double>cap / <double>(total if total > 1 else 1) if total > cap else 1.0
    cdef int64_t busy = <int64_t>(total * scale)
    cdef int64_t p
    if busy > cap:
        busy = cap
    p = <int64_t>(later * scale)
    if p > busy:
        p = busy
    prio[0] = p
    cont[0] = busy - p


def contention(const int64_t[::1] S, const int64_t[::1] E, const int64_t[::1] C, const int64_t[::1] EN,
               const int64_t[::1] bounds, const int64_t[::1] qa, const int64_t[::1] qb, const int64_t[::1] qc,
               const int64_t[::1] qe, const int64_t[::1] qw, const int64_t[::1] q_bounds, double multi_share,
               Py_ssize_t limit, int64_t[::1] cont, int64_t[::1] prio, uint8_t[::1] shared, uint8_t[::1] many):
    """The contention sweep's scan (see ``flowopt.analysis._waits._contention_sweep``).

    ``S, E, C, EN``: the busy instances' start, end, case and enabling time, grouped by resource (resource
    ``r`` holds positions ``bounds[r]:bounds[r+1]``) and by start within it. ``qa, qb, qc, qe, qw``: the waiting
    instances' window ``[qa, qb]``, case, enabling time and working time, grouped by resource the same way
    (``q_bounds``). Marks shared resources; for each waiting instance of the others, scans the instances
    that can overlap its window (from the first whose running maximum end passes ``qa`` to the last that
    starts before ``qb``) and writes its contention and prioritization time (same positions) — unless they
    are more than ``limit``: then it marks it in ``many`` (for :func:`contention_many`). Returns the number of
    instances the marked ones' scans would have read.
    """
    cdef Py_ssize_t n_res = bounds.shape[0] - 1
    cdef Py_ssize_t r, k, y, lo, hi, i0, i1, q0, q1, skipped = 0
    cdef int64_t n_over, total, later, ax, bx, cx, ex, ov, e_k, s_k
    cdef int64_t[::1] cm = np.empty(S.shape[0], dtype=np.int64)
    with nogil:
        for r in range(n_res):
            q0 = q_bounds[r]
            q1 = q_bounds[r + 1]
            i0 = bounds[r]
            i1 = bounds[r + 1]
            if q0 == q1:
                continue
            n_over = 0
            for k in range(i0, i1):
                if k == i0:
                    cm[k] = E[k]
                else:
                    if S[k] < cm[k - 1]:
                        n_over += 1
                    cm[k] = cm[k - 1] if cm[k - 1] > E[k] else E[k]
            if i1 - i0 > 1 and <double>n_over / <double>(i1 - i0 - 1) > multi_share:
                shared[r] = 1
                continue
            for y in range(q0, q1):
                ax = qa[y]
                bx = qb[y]
                cx = qc[y]
                ex = qe[y]
                lo = _search_right(cm, i0, i1, ax)
                hi = _search_left(S, i0, i1, bx)
                if hi - lo > limit:
                    many[y] = 1
                    skipped += hi - lo
                    continue
                total = 0
                later = 0
                for k in range(lo, hi):
                    e_k = E[k] if E[k] < bx else bx
                    s_k = S[k] if S[k] > ax else ax
                    ov = e_k - s_k
                    if ov > 0 and C[k] != cx:
                        total += ov
                        if EN[k] != NAT and EN[k] > ex:
                            later += ov
                _split(total, later, qw[y], &cont[y], &prio[y])
    return skipped


def contention_many(const int64_t[::1] S, const int64_t[::1] E, const int64_t[::1] C, const int64_t[::1] EN,
                    const int64_t[::1] bounds, const int64_t[::1] e_sorted, const int64_t[::1] e_rank,
                    const int64_t[::1] by_case, const int64_t[::1] case_sorted, const int64_t[::1] by_enabled,
                    const int64_t[::1] qa, const int64_t[::1] qb, const int64_t[::1] qc, const int64_t[::1] qe,
                    const int64_t[::1] qw, const int64_t[::1] q_bounds, int64_t[::1] cont, int64_t[::1] prio):
    """What :func:`contention` computes, in O(log n) per waiting instance however many instances its window
    holds (for those it marked).

    ``S, E, C, EN`` and ``bounds`` as there; ``e_sorted``: the ends sorted within each resource, ``e_rank``:
    each instance's position there; ``by_case`` and ``by_enabled``: the positions of each resource's
    instances by case, and by enabling time from the latest (NaT last); ``case_sorted``: ``C[by_case]``. The
    waiting instances (``qa`` ... ``qw``, ``q_bounds``) are grouped by resource and by enabling time from the
    latest within it.

    The overlap of all of a resource's instances with a window ``[a, b]`` is ``F(b) - F(a)``, ``F(x)`` their
    busy time before ``x`` (:func:`_busy_before`, from prefix sums over the starts and the ends in order);
    the part from instances enabled after the waiting one comes the same way from Fenwick trees holding only
    those (waiting instances taken from the latest enabled, instances added as their enabling time passes
    it); the waiting instance's own case's instances are then taken out one by one. Integer sums modulo
    2**64 whose differences are exact: the same numbers as the scan.
    """
    cdef Py_ssize_t n = S.shape[0], n_res = bounds.shape[0] - 1
    cdef Py_ssize_t r, k, y, i0, i1, q0, q1, L, ptr, c_lo, c_hi, m, ps_a, ps_b, pe_a, pe_b
    cdef int64_t total, later, ax, bx, cx, ex, ov, e_k, s_k
    cdef uint64_t all_a, all_b, lat_a, lat_b
    cdef uint64_t[::1] ps = np.zeros(n + 1, dtype=np.uint64)  # prefix sums of the starts (by start)
    cdef uint64_t[::1] pe = np.zeros(n + 1, dtype=np.uint64)  # ... of the ends (by end)
    widest = int(np.max(np.diff(np.asarray(bounds)))) if n_res > 0 else 0
    cdef uint64_t[:, ::1] trees = np.zeros((4, widest + 1), dtype=np.uint64)  # count/sum of starts, of ends
    cdef uint64_t* t_ns = &trees[0, 0]
    cdef uint64_t* t_ss = &trees[1, 0]
    cdef uint64_t* t_ne = &trees[2, 0]
    cdef uint64_t* t_se = &trees[3, 0]
    with nogil:
        for k in range(n):
            ps[k + 1] = ps[k] + <uint64_t>S[k]
            pe[k + 1] = pe[k] + <uint64_t>e_sorted[k]
        for r in range(n_res):
            q0 = q_bounds[r]
            q1 = q_bounds[r + 1]
            i0 = bounds[r]
            i1 = bounds[r + 1]
            L = i1 - i0
            if q0 == q1:
                continue
            for m in range(4):
                for k in range(L + 1):
                    trees[m, k] = 0
            ptr = i0
            for y in range(q0, q1):
                ax = qa[y]
                bx = qb[y]
                cx = qc[y]
                ex = qe[y]
                total = 0
                later = 0
                if ax < bx and L > 0:
                    while ptr < i1 and EN[by_enabled[ptr]] != NAT and EN[by_enabled[ptr]] > ex:
                        k = by_enabled[ptr]  # enabled after this waiting instance: into the trees
                        _fen_add(t_ns, L, k - i0, 1)
                        _fen_add(t_ss, L, k - i0, <uint64_t>S[k])
                        _fen_add(t_ne, L, e_rank[k], 1)
                        _fen_add(t_se, L, e_rank[k], <uint64_t>E[k])
                        ptr += 1
                    ps_a = _search_left(S, i0, i1, ax) - i0
                    ps_b = _search_left(S, i0, i1, bx) - i0
                    pe_a = _search_left(e_sorted, i0, i1, ax) - i0
                    pe_b = _search_left(e_sorted, i0, i1, bx) - i0
                    all_a = _busy_before(<uint64_t>ax, ps_a, ps[i0 + ps_a] - ps[i0], pe_a, pe[i0 + pe_a] - pe[i0])
                    all_b = _busy_before(<uint64_t>bx, ps_b, ps[i0 + ps_b] - ps[i0], pe_b, pe[i0 + pe_b] - pe[i0])
                    lat_a = _busy_before(<uint64_t>ax, _fen_sum(t_ns, ps_a), _fen_sum(t_ss, ps_a),
                                         _fen_sum(t_ne, pe_a), _fen_sum(t_se, pe_a))
                    lat_b = _busy_before(<uint64_t>bx, _fen_sum(t_ns, ps_b), _fen_sum(t_ss, ps_b),
                                         _fen_sum(t_ne, pe_b), _fen_sum(t_se, pe_b))
                    total = <int64_t>(all_b - all_a)
                    later = <int64_t>(lat_b - lat_a)
                    c_lo = _search_left(case_sorted, i0, i1, cx)
                    c_hi = _search_right(case_sorted, c_lo, i1, cx)
                    for m in range(c_lo, c_hi):  # the waiting instance's own case: not contention
                        k = by_case[m]
                        e_k = E[k] if E[k] < bx else bx
                        s_k = S[k] if S[k] > ax else ax
                        ov = e_k - s_k
                        if ov > 0:
                            total -= ov
                            if EN[k] != NAT and EN[k] > ex:
                                later -= ov
                _split(total, later, qw[y], &cont[y], &prio[y])


cdef inline double _to_work(const int64_t* rank, const uint8_t* mask, double t) noexcept nogil:
    """``WeekCalendar.to_work`` of one time on a calendar (``rank``: its 169 counts, ``mask``: its 168 hours)."""
    cdef double tm = t + MONDAY
    cdef double wk = floor(tm / WEEK)
    cdef double sec = tm - wk * WEEK
    cdef int64_t h
    if not isfinite(sec):  # NaN in, NaN out (the NumPy version cannot index by it)
        return sec
    h = _hours(sec)
    if h > 167:
        h = 167
    if h < 0:  # a rounding of tm / WEEK up to the next week: -1, which NumPy indexes from the end
        return wk * rank[168] * HOUR + rank[168] * HOUR + ((sec - h * HOUR) if mask[167] else 0.0)
    return wk * rank[168] * HOUR + rank[h] * HOUR + ((sec - h * HOUR) if mask[h] else 0.0)


cdef int64_t[:, ::1] _week_ranks(const uint8_t[:, ::1] masks):
    """Per calendar, its working hours before each hour of the week (169 entries: the last is the week's)."""
    cdef int64_t[:, ::1] rank = np.zeros((masks.shape[0], 169), dtype=np.int64)
    cdef Py_ssize_t j, h
    for j in range(masks.shape[0]):
        for h in range(168):
            rank[j, h + 1] = rank[j, h] + (1 if masks[j, h] else 0)
    return rank


def work_gaps(const int64_t[::1] bounds, const double[::1] a_begin, const double[::1] a_end,
              const code_t[::1] act, const int64_t[::1] cal_idx, const uint8_t[:, ::1] masks, double off,
              double[::1] out):
    """``out[i]``: the working seconds between the end of row ``i - 1`` and the begin of row ``i`` of the same
    case on row ``i``'s activity calendar (``WeekCalendar.to_work`` of both, subtracted), where it has one and
    begins after that end; NaN elsewhere (:func:`retime` does not read those)."""
    cdef int64_t[:, ::1] rank = _week_ranks(masks)
    cdef Py_ssize_t c, i
    cdef int64_t ci
    with nogil:
        for i in range(out.shape[0]):
            out[i] = NAN
        for c in range(bounds.shape[0] - 1):
            for i in range(bounds[c] + 1, bounds[c + 1]):
                ci = cal_idx[act[i]]
                if ci >= 0 and a_begin[i] >= a_end[i - 1]:
                    out[i] = _to_work(&rank[ci, 0], &masks[ci, 0], a_begin[i] + off) \
                        - _to_work(&rank[ci, 0], &masks[ci, 0], a_end[i - 1] + off)


def retime(const int64_t[::1] bounds, const double[::1] a_begin, const double[::1] a_end, const code_t[::1] act,
           const uint8_t[::1] drop, const int64_t[::1] run, const double[::1] advance, const uint8_t[::1] release,
           const double[::1] hold, const int64_t[::1] cal_idx, const uint8_t[:, ::1] masks, double off, int rel_mode,
           double rel_latency, double rel_tod, double origin_s, const uint8_t[::1] rel_weekdays, const double[::1] gap,
           double[::1] begin, double[::1] end, double[::1] thr):
    """The replay's re-timing, one case after another (see ``flowopt.suggest._replay._retime``).

    ``drop``, ``run``, ``advance``, ``release``: the change, one entry per row, or empty (no row dropped, in a
    run, advanced, released). A case is re-timed when one of its rows is changed. ``hold``: per row, or empty
    (none), how long after becoming ready a released row is first eligible for the release rule (it waited
    for something else first). ``rel_mode``: 0 no release rule, 1 ``immediate`` (``rel_latency``), 2 ``daily``
    (``next_weekday_release`` at ``rel_tod``). ``gap``:
    each row's own wait in working seconds, from :func:`work_gaps` (it depends on the log only, so it is
    computed once for all replays). Outputs, each optional (empty: not written): ``begin``/``end``, the new
    times of the re-timed cases' rows (the caller fills them with the old times first); ``thr``, the re-timed
    cases' throughput — the last end minus the first begin of the rows not dropped, ``CaseArrays.throughput``'s
    NaN and infinity rule included — left as it was for a case with every row dropped."""
    cdef Py_ssize_t n_cals = masks.shape[0]
    cdef int64_t[:, ::1] rank = _week_ranks(masks)
    cdef int64_t[:, :] hours = np.zeros((n_cals, 168), dtype=np.int64)  # the working hours, in order
    cdef int64_t[::1] n_hours = np.zeros(n_cals, dtype=np.int64)
    cdef Py_ssize_t j, h, c, lo, hi, i, rep
    cdef bint in_run, live, touched, any_kept, has_nan
    cdef bint has_drop = drop.shape[0] > 0, has_run = run.shape[0] > 0, has_adv = advance.shape[0] > 0
    cdef bint has_rel = release.shape[0] > 0, write_times = begin.shape[0] > 0, write_thr = thr.shape[0] > 0
    cdef bint has_hold = hold.shape[0] > 0
    cdef double eligible
    cdef double ready_new, run_start, run_max, rn, old_ready, nb, w, per_week, wk, rr, abs_s, day, cap, ne
    cdef double first_b, last_e, out
    cdef int64_t ci, jh, nxt, top, cur_run
    cdef const int64_t* rk
    cdef const uint8_t* mk
    for j in range(n_cals):
        for h in range(168):
            if masks[j, h]:
                hours[j, n_hours[j]] = h
                n_hours[j] += 1
    with nogil:
        for c in range(bounds.shape[0] - 1):
            lo = bounds[c]
            hi = bounds[c + 1]
            touched = False
            for i in range(lo, hi):
                if (has_drop and drop[i]) or (has_run and run[i] >= 0) or (has_rel and release[i]) \
                        or (has_adv and advance[i] > 0):
                    touched = True
                    break
            if not touched:
                continue
            ready_new = a_end[lo]
            run_start = 0.0
            run_max = -INFINITY
            any_kept = not (has_drop and drop[lo])
            has_nan = False
            first_b = INFINITY
            last_e = -INFINITY
            if any_kept:  # the first row keeps its times
                first_b = a_begin[lo]
                last_e = a_end[lo]
                has_nan = isnan(first_b) or isnan(last_e)
            for i in range(lo + 1, hi):
                cur_run = run[i] if has_run else -1
                in_run = cur_run >= 0
                if in_run and run[i - 1] != cur_run:
                    run_start = ready_new
                    run_max = -INFINITY
                rn = run_start if in_run else ready_new
                old_ready = a_end[i - 1]
                nb = a_begin[i] + (rn - old_ready)
                ci = cal_idx[act[i]]
                if ci >= 0 and a_begin[i] >= old_ready and rn != old_ready:
                    rk = &rank[ci, 0]
                    mk = &masks[ci, 0]
                    w = _to_work(rk, mk, rn + off) + gap[i]  # then WeekCalendar.from_work
                    per_week = n_hours[ci] * HOUR
                    wk = floor(w / per_week)
                    rr = w - wk * per_week
                    top = n_hours[ci] - 1
                    if not isfinite(rr):
                        nb = rr
                    else:
                        jh = _hours(rr)
                        if jh > top:
                            jh = top
                        # below 0 (a rounding up to the next week): NumPy indexes the hours from the end
                        nb = wk * WEEK + hours[ci, jh if jh >= 0 else jh + n_hours[ci]] * HOUR + (rr - jh * HOUR) \
                            - MONDAY - off
                if rel_mode > 0 and has_rel and release[i]:
                    eligible = rn + hold[i] if has_hold else rn
                    if rel_mode == 1:
                        nb = eligible + rel_latency
                    else:  # next_weekday_release
                        abs_s = eligible + origin_s
                        day = floor(abs_s / DAY)
                        if day * DAY + rel_tod < abs_s:
                            day = day + 1
                        for rep in range(7):
                            if not isfinite(day):  # NaN times (NumPy's version raises): no weekday to look up
                                break
                            if not rel_weekdays[<int64_t>_mod(day + 3, 7.0)]:
                                day = day + 1
                        nb = day * DAY + rel_tod - origin_s
                cap = a_begin[i] - (advance[i] if has_adv else 0.0)
                if not cap >= nb:  # np.minimum: the smaller, NaN if either is NaN
                    nb = cap if (cap < nb or isnan(cap)) else nb
                ne = nb + (a_end[i] - a_begin[i])
                if write_times:
                    begin[i] = nb
                    end[i] = ne
                live = not (has_drop and drop[i])
                if live:  # np.minimum.reduceat / np.maximum.reduceat of the kept rows: NaN wins
                    any_kept = True
                    if isnan(nb) or isnan(ne):
                        has_nan = True
                    else:
                        if nb < first_b:
                            first_b = nb
                        if ne > last_e:
                            last_e = ne
                if live and in_run and (ne > run_max or isnan(ne)) and not isnan(run_max):  # np.maximum
                    run_max = ne
                if live and not in_run:
                    ready_new = ne
                nxt = (run[i + 1] if has_run else -1) if i + 1 < hi else -2
                if in_run and nxt != cur_run:
                    ready_new = run_max if isfinite(run_max) else run_start
            if write_thr and any_kept:
                out = last_e - first_b
                thr[c] = out if (isfinite(out) and not has_nan) else 0.0


def hours_floor(const double[::1] x, int64_t[::1] out):
    """``out[i] = int(x[i] // 3600.0)`` as the loops compute it (finite ``x`` below 2**50 in magnitude); for
    the tests, which hold it to Python's float floor division at hour boundaries and their neighbours."""
    cdef Py_ssize_t i
    with nogil:
        for i in range(x.shape[0]):
            out[i] = _hours(x[i])


cdef int64_t HOUR_NS = 3600 * 1000000000
cdef int64_t WEEK_NS = 168 * HOUR_NS
cdef int64_t MONDAY_NS = -3 * 24 * HOUR_NS  # 1969-12-29 00:00 UTC was a Monday


cdef inline int64_t _cum_ns(const int64_t* prefix, const uint8_t* cells, int64_t t) noexcept nogil:
    """Working nanoseconds on one calendar's cumulative axis at ``t`` (``Calendars._cum``; int64 arithmetic,
    wrapping as NumPy's does)."""
    cdef int64_t s = t - MONDAY_NS
    cdef int64_t week = s / WEEK_NS  # truncated; floored below, as NumPy's floor_divide
    cdef int64_t within, hour
    if (s % WEEK_NS != 0) and (s < 0):
        week -= 1
    within = s - week * WEEK_NS  # in [0, WEEK_NS)
    hour = within / HOUR_NS
    return week * prefix[168] + prefix[hour] + (within - hour * HOUR_NS if cells[hour] else 0)


def working_ns(const int64_t[::1] cal, const int64_t[::1] t1, const int64_t[::1] t2,
               const int64_t[:, ::1] prefix, const uint8_t[:, ::1] cells, int64_t[::1] out):
    """``out[i]``: working nanoseconds between ``t1[i]`` and ``t2[i]`` on calendar ``cal[i]``
    (``flowopt.analysis._calendars.Calendars.working_ns``; ``prefix``: each calendar's 169 cumulative working
    nanoseconds per hour of the week, ``cells``: its 168 working hours)."""
    cdef Py_ssize_t i
    cdef int64_t c
    with nogil:
        for i in range(cal.shape[0]):
            c = cal[i]
            out[i] = _cum_ns(&prefix[c, 0], &cells[c, 0], t2[i]) - _cum_ns(&prefix[c, 0], &cells[c, 0], t1[i])


def fifo(const double[::1] arr, const double[::1] svc, Py_ssize_t servers, double[::1] out):
    """The first-come first-served multi-server queue (``flowopt.suggest._simulate.fifo_starts``): jobs in
    arrival order, ``out[k]`` = the later of ``arr[k]`` and the moment the first of ``servers`` servers comes
    free (a binary min-heap of those moments; ties between equal moments do not change any value)."""
    cdef double[::1] heap = np.zeros(max(servers, 1))
    cdef Py_ssize_t m = heap.shape[0]
    cdef Py_ssize_t k, pos, child
    cdef double begin, item
    with nogil:
        for k in range(arr.shape[0]):
            begin = heap[0] if heap[0] > arr[k] else arr[k]  # Python's max(arr[k], free[0])
            out[k] = begin
            item = begin + svc[k]
            pos = 0  # replace the smallest by item and sift it down
            while True:
                child = 2 * pos + 1
                if child >= m:
                    break
                if child + 1 < m and heap[child + 1] < heap[child]:
                    child += 1
                if not heap[child] < item:
                    break
                heap[pos] = heap[child]
                pos = child
            heap[pos] = item


def scatter_by_group(const int64_t[::1] group, const double[::1] values, const int64_t[::1] lo, double[::1] out):
    """``out = values[np.argsort(group, kind="stable")]`` for groups whose runs start at ``lo`` (their counts'
    running sum): one counting pass instead of a sort and a gather (``flowopt.discovery._kernels.group_stats``)."""
    cdef int64_t[::1] fill = np.array(lo, dtype=np.int64, copy=True)
    cdef Py_ssize_t i
    cdef int64_t g
    with nogil:
        for i in range(group.shape[0]):
            g = group[i]
            out[fill[g]] = values[i]
            fill[g] += 1


cdef int RADIX_BITS = 11  # 2,048 buckets: each pass's counters stay in the first-level cache


cdef void _radix_pass(const uint64_t* sk, const int64_t* si, uint64_t* dk, int64_t* di, Py_ssize_t n,
                      Py_ssize_t* c, int shift) noexcept nogil:
    """One stable counting pass by the digit at ``shift``: key ``sk[i]`` (position ``si[i]``, or ``i`` when
    ``si`` is NULL) goes to ``c[digit]``; keys are carried along only when ``dk`` is not NULL."""
    cdef Py_ssize_t i, pos
    cdef uint64_t k, d, mask = (1 << RADIX_BITS) - 1
    for i in range(n):
        k = sk[i]
        d = (k >> shift) & mask
        pos = c[d]
        c[d] = pos + 1
        di[pos] = i if si == NULL else si[i]
        if dk != NULL:
            dk[pos] = k


def radix_order(const int64_t[::1] key, int64_t max_key, int64_t[::1] out):
    """``out[:] = np.argsort(key, kind="stable")`` for keys in ``0..max_key``: a least-significant-digit radix
    sort (11-bit digits, the counts of every digit in one pass, a digit all keys share skipped): linear in the
    number of keys, where NumPy's stable sort of int64 keys is a merge sort."""
    cdef Py_ssize_t n = key.shape[0], i, pos, t
    cdef int bits = 0, passes, p, q, n_active = 0
    cdef uint64_t m = <uint64_t>max_key, k, mask = (1 << RADIX_BITS) - 1
    cdef int active[8]
    while m:
        bits += 1
        m >>= 1
    passes = (bits + RADIX_BITS - 1) // RADIX_BITS
    if n == 0:
        return
    cdef Py_ssize_t[:, ::1] cnt = np.zeros((max(passes, 1), 1 << RADIX_BITS), dtype=np.intp)
    cdef const uint64_t* keys = <const uint64_t*>&key[0]
    with nogil:
        for i in range(n):
            k = keys[i]
            for p in range(passes):
                cnt[p, (k >> (p * RADIX_BITS)) & mask] += 1
        k = keys[0]
        for p in range(passes):
            if cnt[p, (k >> (p * RADIX_BITS)) & mask] != n:  # the keys differ in this digit
                active[n_active] = p
                n_active += 1
            pos = 0
            for i in range(1 << RADIX_BITS):  # counts -> the first position of each digit
                t = cnt[p, i]
                cnt[p, i] = pos
                pos += t
    if n_active == 0:
        for i in range(n):
            out[i] = i
        return
    # two position buffers (out and other) and two key buffers, alternating; the last pass writes into out
    cdef int64_t[::1] other = np.empty(n if n_active > 1 else 1, dtype=np.int64)
    cdef uint64_t[::1] ka = np.empty(n if n_active > 1 else 1, dtype=np.uint64)
    cdef uint64_t[::1] kb = np.empty(n if n_active > 2 else 1, dtype=np.uint64)
    cdef int64_t* ibuf[2]
    cdef uint64_t* kbuf[2]
    ibuf[0], ibuf[1] = &out[0], &other[0]
    kbuf[0], kbuf[1] = &ka[0], &kb[0]
    cdef int last = n_active - 1
    with nogil:
        for q in range(n_active):
            p = active[q]
            _radix_pass(keys if q == 0 else kbuf[(q - 1) % 2],
                        NULL if q == 0 else ibuf[(last - q + 1) % 2],
                        kbuf[q % 2] if q < last else NULL,
                        ibuf[(last - q) % 2], n, &cnt[p, 0], p * RADIX_BITS)


def descents(const code_t[::1] group, const int64_t[::1] t):
    """The number of rows whose (``group``, ``t``) is below the previous row's: 0 when the rows are in
    (group, time) order already. Reads the arrays only."""
    cdef Py_ssize_t n = t.shape[0], i, desc = 0
    if group.shape[0] != n:
        raise ValueError("descents: group and t must have the same length")
    with nogil:
        for i in range(1, n):
            if group[i] < group[i - 1] or (group[i] == group[i - 1] and t[i] < t[i - 1]):
                desc += 1
    return desc


def insertion_order(const code_t[::1] group, const int64_t[::1] t, int64_t[::1] out, int64_t max_moves):
    """``out[:] = np.lexsort((t, group))`` for rows nearly in (group, time) order: an insertion sort of the
    positions, comparing (group, t) through them, in time linear in the rows plus the number of pairs out of
    order (a row that belongs k places earlier costs k moves). Stable: rows with equal keys keep their order.
    Gives up, returning False (``out`` then holds no useful order), after ``max_moves`` moves; True when done.
    ``out`` is overwritten (it need not be initialised)."""
    cdef Py_ssize_t n = t.shape[0], i, j
    cdef int64_t x, y, moves = 0
    cdef bint done = True
    if group.shape[0] != n or out.shape[0] != n:
        raise ValueError("insertion_order: group, t and out must have the same length")
    with nogil:
        for i in range(n):
            out[i] = i
        for i in range(1, n):
            x = out[i]
            y = out[i - 1]
            if not (group[x] < group[y] or (group[x] == group[y] and t[x] < t[y])):
                continue
            j = i
            while j > 0:
                y = out[j - 1]
                if not (group[x] < group[y] or (group[x] == group[y] and t[x] < t[y])):
                    break
                out[j] = y
                j -= 1
                moves += 1
            out[j] = x
            if moves > max_moves:
                done = False
                break
    return done


def time_key(const code_t[::1] group, const int64_t[::1] t, int64_t[::1] key):
    """The sort key of :func:`flowopt._sorting.group_time_order`: ``key[i]`` orders rows by ``group`` then
    ``t`` as ``np.lexsort((t, group))`` does (``group * span + (t - min t) // scale``, ``scale`` the largest of
    1 s / 1 ms / 1 µs dividing every time difference). Returns the largest possible key; None (``key`` left
    unwritten) when a group is negative or the key would not fit 62 bits. The caller counts the rows out of
    order first (:func:`descents`)."""
    cdef Py_ssize_t n = t.shape[0], i
    cdef int64_t gmin, gmax, lo, hi, scale = 1, g, span
    cdef uint64_t width
    cdef int s
    cdef int64_t scales[3]
    scales[0], scales[1], scales[2] = 1000000000, 1000000, 1000
    if group.shape[0] != n or key.shape[0] != n:
        raise ValueError("time_key: group, t and key must have the same length")
    if n == 0:
        return 0
    gmin = gmax = group[0]
    lo = hi = t[0]
    with nogil:
        for i in range(1, n):
            g = group[i]
            if g < gmin:
                gmin = g
            elif g > gmax:
                gmax = g
            if t[i] < lo:
                lo = t[i]
            elif t[i] > hi:
                hi = t[i]
    width = <uint64_t>hi - <uint64_t>lo
    if gmin < 0 or width >= (<uint64_t>1) << 62:
        return None
    with nogil:
        for s in range(3):
            for i in range(n):
                if (t[i] - lo) % scales[s] != 0:
                    break
            else:
                scale = scales[s]
                break
    span = <int64_t>(width // <uint64_t>scale) + 1
    if gmax + 1 > ((<int64_t>1) << 62) // span:
        return None
    with nogil:
        for i in range(n):
            key[i] = group[i] * span + (t[i] - lo) // scale
    return (gmax + 1) * span - 1


def permute(moved_t[::1] values, const int64_t[::1] order):
    """``values[:] = values[order]`` in place, for a permutation ``order`` of ``0..n-1``: each cycle of the
    permutation is followed once, so the only memory it takes is one bit per row (the values are not copied, and
    rows the order leaves where they are are not written). Raises ValueError when ``order`` is not such a
    permutation (``values`` may then be partly permuted: callers check first, or pass what a sort returned)."""
    cdef Py_ssize_t n = values.shape[0], i, j, k
    cdef moved_t first
    cdef uint8_t[::1] seen
    cdef bint bad = False
    if order.shape[0] != n:
        raise ValueError("permute: values and order must have the same length")
    seen = np.zeros((n >> 3) + 1, dtype=np.uint8)
    with nogil:
        for i in range(n):
            if seen[i >> 3] & (1 << (i & 7)) or order[i] == i:
                continue
            first = values[i]
            j = i
            while True:
                seen[j >> 3] |= <uint8_t>(1 << (j & 7))
                k = order[j]
                if k < 0 or k >= n:
                    bad = True
                    break
                if k == i:
                    values[j] = first
                    break
                if seen[k >> 3] & (1 << (k & 7)):
                    bad = True
                    break
                values[j] = values[k]
                j = k
            if bad:
                break
    if bad:
        raise ValueError("permute: order is not a permutation of 0..n-1")


cdef const uint8_t[::1] _NO_VALIDITY = np.zeros(0, dtype=np.uint8)  # no value missing


cdef int _check_text(str name, const offset_t[::1] offsets, Py_ssize_t n_data, const uint8_t[::1] validity,
                     Py_ssize_t offset, Py_ssize_t n) except -1:
    """Raises ValueError for ``name``'s arguments unless ``offsets`` hold ``n + 1`` entries pointing into ``n_data``
    bytes of text, the last not before the first, and ``validity`` (empty: no value missing) has bits ``offset``
    to ``offset + n``: what the loops over an Arrow text array check before they read it without bounds checks
    (each value's own two offsets are checked in the loop)."""
    if offsets.shape[0] != n + 1:
        raise ValueError(f"{name}: offsets must have one more entry than out")
    if validity.shape[0] and validity.shape[0] * 8 < offset + n:
        raise ValueError(f"{name}: the validity bitmap is shorter than offset + len(out) bits")
    if offsets[0] < 0 or offsets[n] < offsets[0] or offsets[n] > n_data:
        raise ValueError(f"{name}: the offsets point outside the data")
    return 0


def decimal_int64(const offset_t[::1] offsets, const uint8_t[::1] data, const uint8_t[::1] validity,
                  Py_ssize_t offset, int64_t[::1] out):
    """Reads each value of an Arrow text array (``data[offsets[i]:offsets[i + 1]]``) as a plain decimal integer,
    an optional ``-`` then ASCII digits, into ``out[i]`` (0 where bit ``offset + i`` of ``validity`` says missing;
    an empty ``validity``: none is missing). Returns False as soon as a value is anything else (empty, a sign
    ``+``, spaces, a point, an exponent, hexadecimal, other digits, beyond int64): the caller then leaves the
    column to Arrow's cast, which reads these values the same way (digits only) and decides the others."""
    cdef Py_ssize_t n = out.shape[0], i, b
    cdef int64_t a, e, j
    cdef uint64_t v, c, limit
    cdef bint neg, nulls = validity.shape[0] > 0
    cdef bint ok = True
    _check_text("decimal_int64", offsets, data.shape[0], validity, offset, n)
    with nogil:
        for i in range(n):
            if nulls:
                b = offset + i
                if not ((validity[b >> 3] >> (b & 7)) & 1):
                    out[i] = 0
                    continue
            a = offsets[i]
            e = offsets[i + 1]
            if e <= a or e > offsets[n] or a < offsets[0]:
                ok = False
                break
            neg = data[a] == 45  # "-"
            if neg:
                a += 1
                if a == e:
                    ok = False
                    break
            limit = <uint64_t>9223372036854775807 + (1 if neg else 0)
            v = 0
            for j in range(a, e):
                c = <uint64_t>data[j] - 48
                if c > 9 or v > (limit - c) // 10:
                    ok = False
                    break
                v = v * 10 + c
            if not ok:
                break
            out[i] = <int64_t>(0 - v) if neg else <int64_t>v
    return ok


def moved_rows(const int64_t[::1] order, Py_ssize_t limit):
    """The positions ``i`` where ``order[i] != i`` (``np.flatnonzero(order != np.arange(n))``), or None as soon as
    there are more than ``limit`` of them."""
    cdef Py_ssize_t n = order.shape[0], i, count = 0
    cdef int64_t[::1] out
    with nogil:
        for i in range(n):
            if order[i] != i:
                count += 1
    if count > limit:
        return None
    result = np.empty(count, dtype=np.int64)
    out = result
    count = 0
    with nogil:
        for i in range(n):
            if order[i] != i:
                out[count] = i
                count += 1
    return result


cdef inline uint64_t _word(const uint8_t* p) noexcept nogil:
    cdef uint64_t w
    memcpy(&w, p, 8)  # (compiles to one unaligned load)
    return w


cdef extern from *:
    """
    #if defined(__BYTE_ORDER__) && defined(__ORDER_BIG_ENDIAN__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    #define FLOWOPT_LITTLE_ENDIAN 0
    #else
    #define FLOWOPT_LITTLE_ENDIAN 1
    #endif
    """
    const bint LITTLE_ENDIAN "FLOWOPT_LITTLE_ENDIAN"  # a constant the C compiler folds (big-endian: GCC and Clang say so)


cdef inline uint64_t _short_word(const uint8_t* p, Py_ssize_t n, const uint8_t* end) noexcept nogil:
    """The ``n < 8`` bytes at ``p`` as a little-endian word, the bytes after them zero; one masked load when eight
    bytes from ``p`` stay before ``end`` on a little-endian machine (where the load's low bytes are the first)."""
    cdef uint64_t w = 0
    cdef Py_ssize_t i
    if LITTLE_ENDIAN and p + 8 <= end:
        return _word(p) & ((<uint64_t>1 << (8 * n)) - 1)
    for i in range(n):
        w |= (<uint64_t>p[i]) << (8 * i)
    return w


cdef inline bint _same_bytes(const uint8_t* p, const uint8_t* q, Py_ssize_t n, const uint8_t* p_end,
                             const uint8_t* q_end) noexcept nogil:
    """Whether the ``n`` bytes at ``p`` and at ``q`` are equal (``*_end``: where each one's buffer ends)."""
    cdef Py_ssize_t i = 0
    while i + 8 <= n:
        if _word(p + i) != _word(q + i):
            return False
        i += 8
    return i == n or _short_word(p + i, n - i, p_end) == _short_word(q + i, n - i, q_end)


cdef inline uint64_t _key_hash(uint64_t first, uint64_t last, Py_ssize_t n) noexcept nogil:
    """A hash of a text from its length and its first and last eight bytes (texts that differ only in between
    collide, and are told apart by comparing them)."""
    cdef uint64_t a = (first ^ (<uint64_t>n << 56)) * <uint64_t>0x9E3779B97F4A7C15
    cdef uint64_t b = (last ^ (a >> 29)) * <uint64_t>0xBF58476D1CE4E5B9
    return b ^ (b >> 32)


cdef inline void _text_key(const uint8_t* p, Py_ssize_t length, const uint8_t* end, uint64_t* first,
                           uint64_t* last) noexcept nogil:
    """The key words of the ``length`` bytes at ``p`` (``end``: where their buffer ends): the first eight bytes and
    the last eight when there are eight or more, else the bytes then zeros, and 0."""
    if length >= 8:
        first[0] = _word(p)
        last[0] = _word(p + length - 8)
    else:
        first[0] = _short_word(p, length, end)
        last[0] = 0


cdef struct _Slot:  # one entry of TextCodes' hash table: a distinct value's key and code
    uint64_t first  # the value's first eight bytes (a shorter value: its bytes, then zeros)
    uint64_t last  # its last eight bytes when it has more than eight, else 0
    int32_t length  # its length in bytes
    int32_t code  # 1 + its code; 0: an empty slot


cdef class TextCodes:
    """Codes for the values of Arrow text arrays, numbered in the order they first appear (a dictionary encoding
    across all the arrays given to :meth:`encode`, as Arrow's ``dictionary_encode`` of them all at once gives),
    and the distinct values themselves (:meth:`values`). An open-addressing hash table whose entries hold each
    distinct value's length and first and last eight bytes, so a value of up to 16 bytes is found by comparing
    words in one entry (longer ones compare their middle bytes too); each distinct value is copied once; a value
    equal to the one before it is coded without a lookup, and while each new value comes after the last one (ids
    of a log stored by case) no table is kept at all: it is built, once, at the first value out of that order.
    Values of 2 GB or more are refused. Not thread-safe: one per column, each column's encoding then runs without
    the GIL."""

    cdef _Slot* slots
    cdef Py_ssize_t n_slots  # a power of two, at least twice the number of values (once the table is in use)
    cdef int64_t* starts  # per code, and one more: where each value's bytes start in ``data``
    cdef uint8_t* data  # the values' bytes, then at least 8 spare bytes (whole-word reads)
    cdef Py_ssize_t n, n_cap, size, cap
    cdef bint ordered  # every value so far came after the one before it (UTF-8 bytes): the table is not used yet

    def __cinit__(self):
        self.n_slots = 64
        self.n_cap = 256
        self.cap = 4096
        self.slots = <_Slot*>calloc(self.n_slots, sizeof(_Slot))
        self.starts = <int64_t*>malloc((self.n_cap + 1) * sizeof(int64_t))
        self.data = <uint8_t*>malloc(self.cap)
        if self.slots == NULL or self.starts == NULL or self.data == NULL:
            raise MemoryError()
        self.starts[0] = 0
        self.n = 0
        self.size = 0
        self.ordered = True

    def __dealloc__(self):
        free(self.slots)
        free(self.starts)
        free(self.data)

    def __len__(self):
        return self.n

    cdef bint _grow(self, Py_ssize_t length) noexcept nogil:
        """Room for one more value of ``length`` bytes; False when memory ran out."""
        cdef Py_ssize_t i, j, n_slots
        cdef _Slot* slots
        cdef void* p
        if self.n + 1 > self.n_cap:
            p = realloc(self.starts, (2 * self.n_cap + 1) * sizeof(int64_t))
            if p == NULL:
                return False
            self.starts = <int64_t*>p
            self.n_cap *= 2
        while self.size + length + 8 > self.cap:
            p = realloc(self.data, 2 * self.cap)
            if p == NULL:
                return False
            self.data = <uint8_t*>p
            self.cap *= 2
        if not self.ordered and 2 * (self.n + 1) > self.n_slots:
            n_slots = 2 * self.n_slots
            slots = <_Slot*>calloc(n_slots, sizeof(_Slot))
            if slots == NULL:
                return False
            for i in range(self.n_slots):
                if self.slots[i].code:
                    j = <Py_ssize_t>(_key_hash(self.slots[i].first, self.slots[i].last, self.slots[i].length)
                                     & <uint64_t>(n_slots - 1))
                    while slots[j].code:
                        j = (j + 1) & (n_slots - 1)
                    slots[j] = self.slots[i]
            free(self.slots)
            self.slots = slots
            self.n_slots = n_slots
        return True

    cdef bint _index_all(self) noexcept nogil:
        """Leaves the ordered mode: every value so far entered into a hash table of the right size; False when
        memory ran out."""
        cdef Py_ssize_t n_slots = 64, i, j, length
        cdef _Slot* slots
        cdef const uint8_t* p
        cdef uint64_t first, last
        while n_slots < 2 * (self.n + 1):
            n_slots *= 2
        slots = <_Slot*>calloc(n_slots, sizeof(_Slot))
        if slots == NULL:
            return False
        for i in range(self.n):
            p = self.data + self.starts[i]
            length = self.starts[i + 1] - self.starts[i]
            _text_key(p, length, self.data + self.cap, &first, &last)
            j = <Py_ssize_t>(_key_hash(first, last, length) & <uint64_t>(n_slots - 1))
            while slots[j].code:
                j = (j + 1) & (n_slots - 1)
            slots[j].first = first
            slots[j].last = last
            slots[j].length = <int32_t>length
            slots[j].code = <int32_t>(i + 1)
        free(self.slots)
        self.slots = slots
        self.n_slots = n_slots
        self.ordered = False
        return True

    cdef inline int _compare(self, int64_t code, const uint8_t* p, Py_ssize_t length) noexcept nogil:
        """The value of ``code`` against the ``length`` bytes at ``p`` (UTF-8 bytes order): <0, 0 or >0."""
        cdef int64_t a = self.starts[code]
        cdef Py_ssize_t m = self.starts[code + 1] - a
        cdef int c = memcmp(self.data + a, p, m if m < length else length) if m and length else 0
        if c:
            return c
        return -1 if m < length else (1 if m > length else 0)

    cdef inline int64_t _ordered_code(self, const uint8_t* p, Py_ssize_t length) noexcept nogil:
        """In the ordered mode, the code of the ``length`` bytes at ``p``: a new one when they come after the last
        value, else found by bisecting the values so far (sorted in this mode); -2 when they are new and out of
        order (the caller leaves the mode), -1 when memory ran out."""
        cdef int64_t lo = 0, hi = self.n, mid
        cdef int c
        if self.n == 0 or self._compare(self.n - 1, p, length) < 0:
            return self._append(p, length)
        while lo < hi:  # the first value not before these bytes
            mid = (lo + hi) >> 1
            if self._compare(mid, p, length) < 0:
                lo = mid + 1
            else:
                hi = mid
        return lo if self._compare(lo, p, length) == 0 else -2

    cdef inline int64_t _append(self, const uint8_t* p, Py_ssize_t length) noexcept nogil:
        """A new code for the ``length`` bytes at ``p``, known to be new, its bytes copied (the table, when in use,
        grown but not given the value: the caller enters it); -1 when memory ran out."""
        cdef int64_t s = self.n
        if self.n >= 2147483646 or not self._grow(length):
            return -1
        if length:
            memcpy(self.data + self.size, p, length)
        self.size += length
        self.n += 1
        self.starts[self.n] = self.size
        return s

    cdef inline int64_t _code(self, const uint8_t* p, Py_ssize_t length, uint64_t first, uint64_t last,
                              const uint8_t* end) noexcept nogil:
        """The code of the ``length`` bytes at ``p`` (key words ``first``, ``last``; a new code when they are
        new); -1 when memory ran out."""
        cdef uint64_t h = _key_hash(first, last, length)
        cdef Py_ssize_t mask = self.n_slots - 1, n_slots
        cdef Py_ssize_t j = <Py_ssize_t>(h & <uint64_t>mask)
        cdef _Slot* slot
        cdef int64_t s
        while True:
            slot = &self.slots[j]
            if slot.code == 0:
                break
            if slot.first == first and slot.last == last and slot.length == length:
                s = slot.code - 1
                if length <= 16 or _same_bytes(self.data + self.starts[s] + 8, p + 8, length - 16,
                                               self.data + self.cap, end):
                    return s
            j = (j + 1) & mask
        n_slots = self.n_slots
        s = self._append(p, length)
        if s < 0:
            return -1
        if self.n_slots != n_slots:  # the table was rebuilt larger: the empty slot for this value moved
            mask = self.n_slots - 1
            j = <Py_ssize_t>(h & <uint64_t>mask)
            while self.slots[j].code:
                j = (j + 1) & mask
        slot = &self.slots[j]
        slot.first = first
        slot.last = last
        slot.length = <int32_t>length
        slot.code = <int32_t>(s + 1)
        return s

    def encode(self, const offset_t[::1] offsets, const uint8_t[::1] data, const uint8_t[::1] validity,
               Py_ssize_t offset, int32_t[::1] out):
        """Writes the code of each value of an Arrow text array (``data[offsets[i]:offsets[i + 1]]``) into
        ``out[i]``, -1 where bit ``offset + i`` of ``validity`` says missing (an empty ``validity``: none is
        missing); returns the number of distinct values so far."""
        cdef Py_ssize_t n = out.shape[0], i, b, length, last_length = -1
        cdef int64_t a, e, lo, hi, code = -1
        cdef uint64_t first, last, last_first = 0, last_last = 0
        cdef const uint8_t* base = &data[0] if data.shape[0] else NULL
        cdef const uint8_t* end = base + data.shape[0]
        cdef const uint8_t* previous = NULL
        cdef bint nulls = validity.shape[0] > 0, bad = False, full = False
        _check_text("TextCodes.encode", offsets, data.shape[0], validity, offset, n)
        lo = offsets[0]
        hi = offsets[n]
        with nogil:
            for i in range(n):
                if nulls:
                    b = offset + i
                    if not ((validity[b >> 3] >> (b & 7)) & 1):
                        out[i] = -1
                        continue
                a = offsets[i]
                e = offsets[i + 1]
                length = e - a
                if e < a or a < lo or e > hi or length > 2147483647:
                    bad = True
                    break
                _text_key(base + a, length, end, &first, &last)
                if (length == last_length and first == last_first and last == last_last
                        and (length <= 16 or _same_bytes(base + a + 8, previous + 8, length - 16, end, end))):
                    out[i] = <int32_t>code
                    continue
                if self.ordered:  # a log stored by its ids: each new value comes after the last, no lookup
                    code = self._ordered_code(base + a, length)
                    if code == -2:
                        code = self._code(base + a, length, first, last, end) if self._index_all() else -1
                else:
                    code = self._code(base + a, length, first, last, end)
                if code < 0:
                    full = True
                    break
                out[i] = <int32_t>code
                previous = base + a
                last_length = length
                last_first = first
                last_last = last
        if bad:
            raise ValueError("TextCodes.encode: the offsets decrease or point outside the data, or a value has "
                             "2 GB or more")
        if full:
            raise MemoryError("TextCodes.encode: no memory left for the distinct values")
        return self.n

    def values(self):
        """The distinct values in code order, as the offsets (int32 when they fit, else int64; one more than
        values) and the bytes of an Arrow text array: ``string`` or ``large_string`` from buffers."""
        cdef Py_ssize_t i
        wide = self.size > 2147483647
        offsets = np.empty(self.n + 1, dtype=np.int64 if wide else np.int32)
        cdef int64_t[::1] o64
        cdef int32_t[::1] o32
        if wide:
            o64 = offsets
            for i in range(self.n + 1):
                o64[i] = self.starts[i]
        else:
            o32 = offsets
            for i in range(self.n + 1):
                o32[i] = <int32_t>self.starts[i]
        return offsets, (<char*>self.data)[:self.size]


def clean_increasing_text(const offset_t[::1] offsets, const uint8_t[::1] data, bint empty_missing):
    """Whether the values of an Arrow text array without missing values (``data[offsets[i]:offsets[i + 1]]``) are
    strictly increasing by their bytes, none empty when ``empty_missing``, and none starting or ending with
    whitespace: 1 when certain, 0 when one of them is certainly not so (the first value found out of order,
    empty or with ASCII whitespace at an end), -1 when a value starts or ends with a byte that is neither
    (not printable ASCII: a control character or part of a non-ASCII character, which may be Unicode
    whitespace): the caller then asks Arrow's Unicode-aware kernels."""
    cdef Py_ssize_t n = offsets.shape[0] - 1, i, k, m, j
    cdef int64_t a, e, pa_, pe
    cdef uint8_t first, last
    cdef int verdict = 1
    if n < 0:
        raise ValueError("clean_increasing_text: offsets must hold at least one entry")
    _check_text("clean_increasing_text", offsets, data.shape[0], _NO_VALIDITY, 0, n)
    with nogil:
        for i in range(n):
            a = offsets[i]
            e = offsets[i + 1]
            if e < a or a < offsets[0] or e > offsets[n]:
                verdict = -2
                break
            k = e - a
            if k == 0:
                if empty_missing:
                    verdict = 0
                    break
            else:
                first = data[a]
                last = data[e - 1]
                if first == 32 or last == 32 or 9 <= first <= 13 or 9 <= last <= 13:
                    verdict = 0  # ASCII whitespace: stripping changes the value
                    break
                if not (33 <= first <= 126 and 33 <= last <= 126):
                    verdict = -1  # (keep checking the order: a value out of order still decides)
            if i:
                pa_ = offsets[i - 1]
                pe = a
                m = pe - pa_
                j = 0
                while j < m and j < k and data[pa_ + j] == data[a + j]:
                    j += 1
                if j < m and j < k:
                    if data[pa_ + j] > data[a + j]:
                        verdict = 0
                        break
                elif m >= k:  # equal, or the earlier one longer with this one as its prefix
                    verdict = 0
                    break
    if verdict == -2:
        raise ValueError("clean_increasing_text: the offsets decrease or point outside the data")
    return verdict


def code_counts(const code_t[::1] codes, int64_t[::1] out):
    """``out[k]`` += the number of rows with code ``k`` (``np.bincount`` of the codes, in place, without widening
    narrow codes to int64 first); returns the number of missing codes (negative), which are not counted.
    Every code must be below ``len(out)``."""
    cdef Py_ssize_t n = codes.shape[0], i, n_out = out.shape[0]
    cdef int64_t missing = 0, beyond = 0
    with nogil:
        for i in range(n):
            if codes[i] < 0:
                missing += 1
            elif codes[i] < n_out:
                out[codes[i]] += 1
            else:
                beyond += 1
    if beyond:
        raise ValueError(f"code_counts: {beyond} codes not below len(out) = {n_out}")
    return missing


def dictionary_codes(const index_t[::1] indices, const code_t[::1] table, code_t[::1] out,
                     const uint8_t[::1] validity, Py_ssize_t offset):
    """``out[i] = table[indices[i]]`` (an index outside the table clipped into it, as ``np.take(..., mode="clip")``
    does; an empty ``table``: the indices as they are), then -1 where bit ``offset + i`` of the Arrow validity
    bitmap ``validity`` is 0 (a missing value; an empty ``validity``: none is missing). A dictionary column's
    chunk in two branch-free passes, without the GIL."""
    cdef Py_ssize_t n = indices.shape[0], i, m = table.shape[0], b
    cdef int64_t k
    if out.shape[0] != n:
        raise ValueError("dictionary_codes: indices and out must have the same length")
    if validity.shape[0] and validity.shape[0] * 8 < offset + n:
        raise ValueError("dictionary_codes: the validity bitmap is shorter than offset + len(indices) bits")
    with nogil:
        if m == 0:
            for i in range(n):
                out[i] = <code_t>indices[i]
        else:
            for i in range(n):
                k = indices[i]
                k = 0 if k < 0 else k
                k = m - 1 if k >= m else k
                out[i] = table[k]
        if validity.shape[0]:
            for i in range(n):
                b = offset + i
                out[i] = out[i] if (validity[b >> 3] >> (b & 7)) & 1 else -1


def equal_key_runs(const int64_t[::1] order, const code_t[::1] group, const int64_t[::1] t, int64_t[::1] t_sorted,
                   uint8_t[::1] in_run):
    """Marks ``in_run[i]`` where row ``order[i]`` has the same ``group`` code and time ``t`` as the row before or
    after it in ``order``, in one pass, writing ``t_sorted = t[order]`` on the way (an empty ``t_sorted``: not
    written); returns the number of rows marked. The rows of one (group, time) key then sit side by side when
    ``order`` sorts by them."""
    cdef Py_ssize_t n = order.shape[0], i, m = group.shape[0]
    cdef int64_t marked = 0, prev, cur
    cdef bint keep = t_sorted.shape[0] > 0
    if (keep and t_sorted.shape[0] != n) or in_run.shape[0] != n:
        raise ValueError("equal_key_runs: order, t_sorted (unless empty) and in_run must have the same length")
    if t.shape[0] != m:
        raise ValueError("equal_key_runs: group and t must have the same length")
    for i in range(n):
        if order[i] < 0 or order[i] >= m:
            raise ValueError(f"equal_key_runs: order[{i}] = {order[i]} is not a row of group")
    if n == 0:
        return 0
    with nogil:
        prev = t[order[0]]
        if keep:
            t_sorted[0] = prev
        for i in range(1, n):
            cur = t[order[i]]
            if keep:
                t_sorted[i] = cur
            if cur == prev and group[order[i]] == group[order[i - 1]]:
                if not in_run[i - 1]:
                    in_run[i - 1] = 1
                    marked += 1
                in_run[i] = 1
                marked += 1
            prev = cur
    return marked


def to_ns(const int64_t[::1] v, int64_t per, int64_t lo, int64_t hi, int64_t[::1] out):
    """``out = clip(v, lo, hi) * per`` where ``v`` is not NaT (int64 minimum), NaT where it is: times of a
    coarser unit (``per`` nanoseconds each) as nanoseconds, clipped to ``lo..hi`` first (in ``v``'s unit).
    Returns the number of values it clipped."""
    cdef Py_ssize_t n = v.shape[0], i
    cdef int64_t x, clipped = 0
    if out.shape[0] != n:
        raise ValueError("to_ns: v and out must have the same length")
    with nogil:
        for i in range(n):
            x = v[i]
            if x == NAT:
                out[i] = NAT
            else:
                if x < lo:
                    x = lo
                    clipped += 1
                elif x > hi:
                    x = hi
                    clipped += 1
                out[i] = x * per
    return clipped


def time_flags(const int64_t[::1] v, int64_t lo, int64_t hi):
    """``(number of NaT values, number of other values outside lo..hi)`` of int64 times ``v`` (any unit; NaT is
    the int64 minimum)."""
    cdef Py_ssize_t n = v.shape[0], i
    cdef int64_t nat = 0, out = 0, x
    with nogil:
        for i in range(n):
            x = v[i]
            if x == NAT:
                nat += 1
            elif x < lo or x > hi:
                out += 1
    return nat, out
