"""A seeded, vectorised generator of lending-flow event logs with switchable, recorded problems.

The flow: Inquiry -> Submit application -> Document check [-> Request missing documents -> (customer)
-> Document check]* -> Credit scoring -> sign-offs (Branch manager, Credit risk, Compliance, optionally a
Regional director) -> Contract signing -> Disbursement -> Welcome call [-> Complaint -> Complaint resolved];
a rejection ends the case with Notify rejection.

Waiting times come from real queueing: every human step is a FIFO pool of named resources working
Mon-Fri 08:00-17:00 UTC, solved in closed form per server on a working-time axis (see ``_queues``).
The simulation runs activity by activity over numpy arrays of cases; there is no per-event loop.

Every random draw comes from its own stream keyed by ``(seed, stream)``, so a *change* (for example
``eliminate_rubber_stamp``) reuses the same arrivals, service times and outcomes: the difference between
two logs is the true effect of the change (common random numbers).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from flowopt.datasets._queues import DAY, HOUR, WorkCalendar, arrivals, next_release, run_pool
from flowopt.errors import ParameterError

__all__ = ["CHANGES", "PROBLEMS", "GeneratedLog", "Injection", "generate_lending_log"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

PROBLEMS: tuple[str, ...] = ("rubber_stamp", "understaffed", "batching", "rework", "sequential_signoffs",
                             "amount_threshold")
CHANGES: tuple[str, ...] = ("eliminate_rubber_stamp", "parallelize_signoffs", "batch_daily", "no_batching",
                            "add_capacity", "remove_rework")
_CHANGE_NEEDS = {"eliminate_rubber_stamp": "rubber_stamp", "parallelize_signoffs": "sequential_signoffs",
                 "batch_daily": "batching", "no_batching": "batching", "add_capacity": "understaffed",
                 "remove_rework": "rework"}
_FUNC = "generate_lending_log"

# key: (English, Chinese, role, mean service minutes, coefficient of variation)
_ACTS: dict[str, tuple[str, str, str, float, float]] = {
    "inquiry": ("Inquiry", "客户咨询", "ADVISOR", 20.0, 0.5),
    "submit": ("Submit application", "提交申请", "CUSTOMER", 15.0, 0.6),
    "doc_check": ("Document check", "资料审核", "BACKOFFICE", 35.0, 0.5),
    "request_docs": ("Request missing documents", "补充材料", "BACKOFFICE", 8.0, 0.5),
    "scoring": ("Credit scoring", "信用评分", "SYSTEM", 1.5, 0.4),
    "branch": ("Branch manager approval", "分行经理审批", "BRANCH", 15.0, 0.6),
    "risk": ("Credit risk approval", "风控审批", "RISK", 40.0, 0.5),
    "compliance": ("Compliance approval", "合规审查", "COMPLIANCE", 25.0, 0.5),
    "director": ("Regional director approval", "区域总监审批", "DIRECTOR", 20.0, 0.6),
    "notify": ("Notify rejection", "拒绝通知", "SYSTEM", 0.5, 0.3),
    "contract": ("Contract signing", "签约", "LOAN_OFFICER", 45.0, 0.4),
    "disburse": ("Disbursement", "放款", "SYSTEM", 2.0, 0.5),
    "welcome": ("Welcome call", "回访", "SERVICE", 10.0, 0.5),
    "complaint": ("Complaint", "投诉", "CUSTOMER", 10.0, 0.5),
    "resolved": ("Complaint resolved", "投诉处理完毕", "COMPLAINTS", 60.0, 0.6),
}
_KEYS = tuple(_ACTS)
_CODE = {k: i for i, k in enumerate(_KEYS)}
_SIGNOFFS = ("branch", "risk", "compliance", "director")
# pool: expected visits per case (for sizing) and target utilisation when healthy
_POOLS: dict[str, tuple[float, float]] = {
    "inquiry": (1.0, 0.45), "doc_check": (1.0, 0.5), "branch": (1.0, 0.5), "risk": (0.95, 0.5),
    "compliance": (0.95, 0.5), "director": (0.85, 0.9), "contract": (0.85, 0.5), "welcome": (0.85, 0.45),
    "resolved": (0.04, 0.4),
}
_SYSTEM_RESOURCES = {"scoring": "scoring.engine", "notify": "mail.service", "disburse": "core.banking"}
_REJECT_P = {"branch": 0.05, "risk": 0.08, "compliance": 0.03, "director": 0.0}
_THRESHOLD, _REJECT_ABOVE = 40_000.0, 0.45
_REWORK = {"healthy": (0.03, 0.1), "problem": (0.35, 0.3)}
_MAX_ROUNDS = 4
_UNDERSTAFFED_RHO = 1.08
_RELEASE = (15, 30)
_OUTCOMES = {"en": ("approved", "rejected"), "zh": ("通过", "驳回")}
_CHANNELS = {"en": ("branch", "online", "phone"), "zh": ("网点", "线上", "电话")}
_STAGES = {"consultation": ("inquiry",), "application": ("submit", "doc_check", "request_docs"),
           "approval": ("scoring", "branch", "risk", "compliance", "director", "notify"),
           "disbursement": ("contract", "disburse"), "after_service": ("welcome", "complaint", "resolved")}
_FIRST = ("anna", "ben", "chen", "david", "emma", "fatima", "george", "hannah", "ivan", "julia", "karim", "lena",
          "marco", "nina", "omar", "paula", "qing", "rosa", "sam", "tom", "victor", "xin", "yara", "zoe", "bram",
          "carla", "dirk", "eva", "femke", "hui", "jun", "kees", "lotte", "mei", "noor", "pieter", "ruben",
          "sanne", "tim", "wei", "yan", "lucas", "mila", "finn", "sara", "ali", "ines", "joao", "olga", "raj")
_SURNAMES = ("li", "wang", "zhang", "liu", "chen", "yang", "huang", "zhao", "wu", "zhou", "xu", "sun", "ma",
             "zhu", "hu", "guo", "he", "lin", "gao", "luo")
_GIVEN = ("wei", "fang", "na", "min", "jing", "lei", "qiang", "yan", "jie", "tao", "ming", "hui", "xin", "jun",
          "ping", "hong", "yu", "li", "ting", "hao")
# independent random streams (common random numbers): never renumber
_S = {name: i for i, name in enumerate((
    "arrivals", "amount", "channel", "names", "rework", "cust_submit", "cust_docs", "appointment", "welcome_delay",
    "complaint_flag", "complaint_delay", "sys_latency", "outcomes", *(f"svc_{k}" for k in _KEYS)))}


@dataclass(frozen=True, slots=True, kw_only=True)
class Injection:
    """One problem planted in a generated log.

    Attributes
    ----------
    problem : str
        A name from :data:`PROBLEMS`.
    activities : tuple of str
        The activities (in the log's language) the problem sits on; for ``batching`` the hand-off edge.
    details : dict
        What a detector should find: the threshold, the release schedule, the pool size, ...
    """

    problem: str
    activities: tuple[str, ...]
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class GeneratedLog:
    """A generated event log with its ground truth.

    Attributes
    ----------
    frame : pandas.DataFrame
        The event log (see :func:`generate_lending_log` for the columns).
    injected : tuple of Injection
        The problems planted in it, in the order of :data:`PROBLEMS`.
    config : dict
        A flowopt config dict (``columns``, ``signoffs``, ``stages``) that reads ``frame`` correctly.
    truth : dict
        Simulation facts: resource pools (size, utilisation), reject probabilities, calendar, origin.
    params : dict
        The arguments that produced the log; :meth:`with_change` reuses them.
    """

    frame: pd.DataFrame
    injected: tuple[Injection, ...]
    config: dict[str, Any]
    truth: dict[str, Any]
    params: dict[str, Any]

    def __repr__(self) -> str:
        problems = ", ".join(i.problem for i in self.injected) or "healthy"
        return f"GeneratedLog({len(self.frame)} rows, {self.params['n_cases']} cases, {problems})"

    def throughput_hours(self) -> pd.Series:
        """Hours from each case's first to its last timestamp, indexed by case id."""
        return throughput_hours(self.frame)

    def with_change(self, change: str) -> GeneratedLog:
        """The same log (same seed, same random draws) with one more change from :data:`CHANGES` applied."""
        params = dict(self.params)
        params["changes"] = (*params["changes"], change)
        n_cases = params.pop("n_cases")
        return generate_lending_log(n_cases, **params)

    def true_saving_hours_per_case(self, change: str) -> float:
        """Mean throughput hours saved per case by ``change``, measured with common random numbers."""
        before = self.throughput_hours()
        after = self.with_change(change).throughput_hours().reindex(before.index)
        return float((before - after).mean())


def throughput_hours(frame: pd.DataFrame) -> pd.Series:
    """Hours from each case's first to its last timestamp in a generated frame (any shape).

    Examples
    --------
    >>> log = generate_lending_log(50, seed=1)
    >>> bool((throughput_hours(log.frame) > 0).all())
    True
    """
    if "start" in frame.columns:
        first = frame.groupby("case_id", observed=True)["start"].min()
        last = frame.groupby("case_id", observed=True)["end"].max()
    else:
        grouped = frame.groupby("case_id", observed=True)["time"]
        first, last = grouped.min(), grouped.max()
    out = (last - first).dt.total_seconds() / HOUR
    out.index = out.index.astype(str)
    return out.rename("throughput_hours")


def generate_lending_log(n_cases: int = 1000, *, seed: int = 0, problems: Iterable[str] = (),
                         changes: Iterable[str] = (), language: Literal["en", "zh"] = "en",
                         shape: Literal["interval", "lifecycle", "complete"] = "interval",
                         outcome_in: Literal["column", "name"] = "column",
                         start: str = "2024-01-01", cases_per_day: float | None = None) -> GeneratedLog:
    """Generate a lending-flow event log with real queueing waits and planted, recorded problems.

    Parameters
    ----------
    n_cases : int, default 1000
        Number of cases (loan applications).
    seed : int, default 0
        Seed of every random stream; same arguments give an identical frame.
    problems : iterable of str
        Names from :data:`PROBLEMS` to plant. Empty: a healthy flow (utilisation below 60%, no batching,
        rework below 5%, parallel sign-offs rejecting a few percent).
    changes : iterable of str
        Names from :data:`CHANGES` to apply to the planted problems, reusing the same random draws.
    language : {"en", "zh"}, default "en"
        Language of activity names, outcomes and channels.
    shape : {"interval", "lifecycle", "complete"}, default "interval"
        ``interval``: one row per activity instance with ``start`` and ``end``; ``lifecycle``: a
        ``start`` and a ``complete`` row per instance with ``lifecycle`` and ``time``; ``complete``: only
        the end, as ``time``.
    outcome_in : {"column", "name"}, default "column"
        Where sign-off outcomes go: an ``outcome`` column, or the activity name
        (``"Credit risk approval - rejected"``, ``"风控审批-驳回"``).
    start : str, default "2024-01-01"
        First arrival date (UTC).
    cases_per_day : float, optional
        Mean new cases per calendar day; default ``max(30, n_cases / 120)`` (about four months of data).

    Returns
    -------
    GeneratedLog
        ``frame`` has ``case_id, activity, start, end`` (or ``time``/``lifecycle``), ``resource, role,
        outcome, amount, channel``, categorical strings and ``datetime64[us, UTC]`` times.

    Raises
    ------
    ParameterError
        An argument is out of range, an unknown problem or change, or a change without its problem.

    Examples
    --------
    >>> log = generate_lending_log(200, seed=3, problems=["rubber_stamp"])
    >>> list(log.frame.columns)
    ['case_id', 'activity', 'start', 'end', 'resource', 'role', 'outcome', 'amount', 'channel']
    >>> log.injected[0].problem, log.injected[0].activities
    ('rubber_stamp', ('Regional director approval',))
    >>> director = log.frame[log.frame["activity"] == "Regional director approval"]
    >>> int((director["outcome"] == "rejected").sum())
    0
    """
    p = _validate(n_cases, seed, problems, changes, language, shape, outcome_in, start, cases_per_day)
    sim = _simulate(p)
    frame = _to_frame(sim, p)
    names = _names(p["language"])
    return GeneratedLog(frame=frame, injected=_injections(sim, p, names), config=_config(sim, p, names),
                        truth=sim["truth"], params={k: v for k, v in p.items() if not k.startswith("_")})


# ---------------------------------------------------------------------------------------------- validation
def _validate(n_cases: Any, seed: Any, problems: Any, changes: Any, language: Any, shape: Any,
              outcome_in: Any, start: Any, cases_per_day: Any) -> dict[str, Any]:
    def bad(name: str, what: str, got: Any) -> ParameterError:
        return ParameterError(f"The '{name}' parameter of {_FUNC} must be {what}. Got {got!r} instead.")

    if isinstance(n_cases, bool) or not isinstance(n_cases, (int, np.integer)) or n_cases < 1:
        raise bad("n_cases", "an int >= 1", n_cases)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise bad("seed", "an int >= 0", seed)
    sets = []
    for name, value, valid in (("problems", problems, PROBLEMS), ("changes", changes, CHANGES)):
        items = (value,) if isinstance(value, str) else value
        try:
            items = tuple(items)
        except TypeError:
            raise bad(name, f"an iterable of names from {valid}", value) from None
        for item in items:
            if item not in valid:
                raise bad(name, f"an iterable of names from {valid}", item)
        sets.append(tuple(v for v in valid if v in items))
    probs, chs = sets
    for ch in chs:
        if _CHANGE_NEEDS[ch] not in probs:
            raise ParameterError(f"The 'changes' parameter of {_FUNC} lists {ch!r}, which needs problem "
                                 f"{_CHANGE_NEEDS[ch]!r} in 'problems'. Got problems={probs!r} instead.")
    if "batch_daily" in chs and "no_batching" in chs:
        raise bad("changes", "at most one of 'batch_daily' and 'no_batching'", chs)
    for name, value, valid in (("language", language, ("en", "zh")),
                               ("shape", shape, ("interval", "lifecycle", "complete")),
                               ("outcome_in", outcome_in, ("column", "name"))):
        if value not in valid:
            raise bad(name, f"one of {valid}", value)
    try:
        t0 = pd.Timestamp(start)
    except (TypeError, ValueError):
        raise bad("start", "a date string such as '2024-01-01'", start) from None
    if not isinstance(start, str) or t0 is pd.NaT:
        raise bad("start", "a date string such as '2024-01-01'", start)
    t0 = t0.tz_localize("UTC") if t0.tzinfo is None else t0.tz_convert("UTC")
    if cases_per_day is not None and (isinstance(cases_per_day, bool)
                                      or not isinstance(cases_per_day, (int, float, np.number))
                                      or not np.isfinite(cases_per_day) or cases_per_day <= 0):
        raise bad("cases_per_day", "a float > 0 or None", cases_per_day)
    rate = float(cases_per_day) if cases_per_day is not None else max(30.0, n_cases / 120.0)
    return {"n_cases": int(n_cases), "seed": int(seed), "problems": probs, "changes": chs, "language": language,
            "shape": shape, "outcome_in": outcome_in, "start": start, "cases_per_day": cases_per_day,
            "_t0": t0, "_rate": rate}


# ---------------------------------------------------------------------------------------------- simulation
class _Draws:
    """Random streams keyed by ``(seed, stream)``: the same stream gives the same numbers in every variant."""

    def __init__(self, seed: int, n: int) -> None:
        self.seed, self.n = seed, n

    def rng(self, stream: str) -> np.random.Generator:
        return np.random.default_rng([self.seed, _S[stream]])

    def service(self, key: str, cols: int = 1, scale: float = 1.0) -> FloatArray:
        """Lognormal service seconds (mean and cv from ``_ACTS``), shape ``(n, cols)``."""
        mean, cv = _ACTS[key][3] * 60.0 * scale, _ACTS[key][4]
        return self.lognormal(f"svc_{key}", mean, cv, cols)

    def lognormal(self, stream: str, mean: float, cv: float, cols: int = 1) -> FloatArray:
        sigma2 = np.log1p(cv * cv)
        mu = np.log(mean) - sigma2 / 2
        return self.rng(stream).lognormal(mu, np.sqrt(sigma2), size=(self.n, cols))


def _pool_sizes(p: dict[str, Any]) -> tuple[dict[str, int], dict[str, float]]:
    """Servers per pool and the service-time scale, from the problems only (never from the changes)."""
    work_week = WorkCalendar().week_seconds
    rework = _REWORK["problem" if "rework" in p["problems"] else "healthy"]
    sizes: dict[str, int] = {}
    scale: dict[str, float] = {}
    for key, (visits, rho) in _POOLS.items():
        if key == "doc_check":
            visits += rework[0] / (1 - rework[1])
        load = p["_rate"] * 7 * visits * _ACTS[key][3] * 60 / work_week
        if key == "director" or (key == "doc_check" and "understaffed" in p["problems"]):
            # tuned pools: service times scaled so the utilisation is exactly the target
            target = _UNDERSTAFFED_RHO if key == "doc_check" else rho
            sizes[key] = max(1, round(load / target))
            scale[key] = target * sizes[key] / load
        else:
            sizes[key] = max(1, int(np.ceil(load / rho)))
            scale[key] = 1.0
    return sizes, scale


class _Events:
    """Collects event chunks as arrays (case, activity, start, end, resource, outcome)."""

    def __init__(self) -> None:
        self.chunks: list[tuple[Any, ...]] = []

    def add(self, key: str, cases: IntArray, start: FloatArray, end: FloatArray, resource: IntArray | int,
            outcome: IntArray | int = -1) -> None:
        m = cases.shape[0]
        res = np.broadcast_to(np.asarray(resource, dtype=np.int32), (m,))
        out = np.broadcast_to(np.asarray(outcome, dtype=np.int8), (m,))
        self.chunks.append((cases.astype(np.int32), np.full(m, _CODE[key], np.int8), start, end, res, out))

    def arrays(self) -> tuple[npt.NDArray[Any], ...]:
        return tuple(np.concatenate([c[i] for c in self.chunks]) for i in range(6))


def _simulate(p: dict[str, Any]) -> dict[str, Any]:
    n, probs, chs = p["n_cases"], set(p["problems"]), set(p["changes"])
    draws = _Draws(p["seed"], n)
    cal = WorkCalendar()
    t0: pd.Timestamp = p["_t0"]
    origin = (t0 - pd.Timedelta(days=t0.day_of_week)).normalize()
    offset = (t0 - origin).total_seconds()
    sizes, scale = _pool_sizes(p)
    if "add_capacity" in chs:
        sizes = {**sizes, "doc_check": 2 * sizes["doc_check"]}

    # resources: every pool reserves a fixed block of names, so a change never renames other pools
    reserve = {k: v * (2 if (k == "doc_check" and "understaffed" in probs) else 1) for k, v in sizes.items()}
    if "add_capacity" in chs:
        reserve["doc_check"] = sizes["doc_check"]
    people = _people(draws.rng("names"), sum(reserve.values()), p["language"])
    resources = ["customer", *_SYSTEM_RESOURCES.values()]
    pool_base: dict[str, int] = {}
    used = 0
    for key in _POOLS:
        pool_base[key] = len(resources)
        resources.extend(people[used: used + reserve[key]])
        used += reserve[key]
    sys_res = {k: 1 + i for i, k in enumerate(_SYSTEM_RESOURCES)}

    ev = _Events()
    all_cases = np.arange(n, dtype=np.int64)
    busy: dict[str, float] = {}

    def pool(key: str, cases: IntArray, ready: FloatArray, service: FloatArray,
             outcome: IntArray | int = -1) -> FloatArray:
        start, end, server = run_pool(ready, service, sizes[key], cal)
        ev.add(key, cases, start, end, pool_base[key] + server, outcome)
        busy[key] = busy.get(key, 0.0) + float(service.sum())
        return end

    def system(key: str, cases: IntArray, ready: FloatArray, latency: FloatArray) -> FloatArray:
        start = ready + latency[cases]
        end: FloatArray = start + svc[key][cases, 0]
        ev.add(key, cases, start, end, sys_res[key])
        return end

    svc = {k: draws.service(k, _MAX_ROUNDS + 1 if k == "doc_check" else 1, scale.get(k, 1.0)) for k in _KEYS}
    latency = draws.rng("sys_latency").uniform(5.0, 600.0, size=(n, 3))
    amount = np.maximum(500.0, np.round(draws.rng("amount").lognormal(np.log(12_000), 0.9, n), -2))
    channel = draws.rng("channel").choice(3, size=n, p=[0.45, 0.4, 0.15]).astype(np.int8)
    u_out = draws.rng("outcomes").random((n, len(_SIGNOFFS) + 1))

    # consultation and application
    arrival = arrivals(draws.rng("arrivals"), n, p["_rate"], offset)
    inq_end = pool("inquiry", all_cases, arrival, svc["inquiry"][:, 0])
    sub_start = inq_end + draws.lognormal("cust_submit", 20 * HOUR, 1.0)[:, 0]
    sub_end = sub_start + svc["submit"][:, 0]
    ev.add("submit", all_cases, sub_start, sub_end, 0)
    check_end = _document_checks(p, draws, cal, sizes["doc_check"], svc, sub_end, ev, pool_base["doc_check"],
                                 busy)

    # credit scoring and sign-offs
    scored = system("scoring", all_cases, check_end, latency[:, 0])
    reject = {}
    for i, key in enumerate(_SIGNOFFS):
        reject[key] = u_out[:, i] < _REJECT_P[key]
    if "amount_threshold" in probs:
        reject["risk"] = (amount > _THRESHOLD) & (u_out[:, 1] < _REJECT_ABOVE)
    b_end = pool("branch", all_cases, scored, svc["branch"][:, 0], reject["branch"].astype(np.int8))
    alive = ~reject["branch"]
    decided = b_end.copy()
    sequential = "sequential_signoffs" in probs and "parallelize_signoffs" not in chs
    ready = b_end
    for key in ("risk", "compliance"):
        idx = np.flatnonzero(alive)
        end = pool(key, idx, ready[idx], svc[key][idx, 0], reject[key][idx].astype(np.int8))
        if sequential:
            ready = ready.copy()
            ready[idx] = end
            decided[idx] = end
            alive &= ~reject[key]
        else:
            decided[idx] = np.maximum(decided[idx], end)
    if not sequential:
        alive &= ~(reject["risk"] | reject["compliance"])
    if "rubber_stamp" in probs and "eliminate_rubber_stamp" not in chs:
        idx = np.flatnonzero(alive)
        decided[idx] = pool("director", idx, decided[idx], svc["director"][idx, 0], 0)
    rejected = np.flatnonzero(~alive)
    system("notify", rejected, decided[rejected], latency[:, 1])

    # contract, disbursement, after-service
    ok = np.flatnonzero(alive)
    # the bank schedules the signing appointment and the welcome call within its own working hours
    appointment = draws.lognormal("appointment", 12 * HOUR, 0.8)[ok, 0]
    c_ready = cal.from_work(cal.to_work(decided[ok]) + appointment)
    c_end = pool("contract", ok, c_ready, svc["contract"][ok, 0])
    releases = _release_schedule(probs, chs)
    d_start = c_end + latency[ok, 2] if releases is None else next_release(c_end, releases)
    d_end = d_start + svc["disburse"][ok, 0]
    ev.add("disburse", ok, d_start, d_end, sys_res["disburse"])
    w_ready = cal.from_work(cal.to_work(d_end) + draws.lognormal("welcome_delay", 2.5 * 9 * HOUR, 0.5)[ok, 0])
    w_end = pool("welcome", ok, w_ready, svc["welcome"][ok, 0])
    flag = draws.rng("complaint_flag").random(n)[ok] < 0.04
    cp = ok[flag]
    cp_start = w_end[flag] + draws.lognormal("complaint_delay", 12 * DAY, 0.6)[cp, 0]
    cp_end = cp_start + svc["complaint"][cp, 0]
    ev.add("complaint", cp, cp_start, cp_end, 0)
    pool("resolved", cp, cp_end, svc["resolved"][cp, 0])

    horizon_w = float(cal.to_work(np.array([arrival[-1]]))[0] - cal.to_work(np.array([offset]))[0])
    truth = {
        "origin": origin.isoformat(),
        "calendar": {"weekdays": "Mon-Fri", "open": "08:00", "close": "17:00", "timezone": "UTC",
                     "system_steps": "24/7"},
        "pools": {_ACTS[k][0]: {"role": _ACTS[k][2], "servers": sizes[k],
                                "utilisation": round(busy.get(k, 0.0) / max(sizes[k] * horizon_w, 1.0), 3)}
                  for k in _POOLS if k != "director" or "director" in busy},
        "reject_probability": {_ACTS[k][0]: (_REJECT_P[k] if not (k == "risk" and "amount_threshold" in probs)
                                             else None) for k in _SIGNOFFS},
        "sequential_signoffs": sequential,
    }
    return {"events": ev.arrays(), "resources": resources, "amount": amount, "channel": channel,
            "origin": origin, "truth": truth, "director": "director" in busy, "sizes": sizes, "scale": scale, "releases": releases}


def _document_checks(p: dict[str, Any], draws: _Draws, cal: WorkCalendar, servers: int,
                     svc: dict[str, FloatArray], ready0: FloatArray, ev: _Events, base: int,
                     busy: dict[str, float]) -> FloatArray:
    """All Document check rounds through one shared FIFO pool; rework arrivals found by fixed-point iteration."""
    n = ready0.shape[0]
    first, more = _REWORK["problem" if "rework" in p["problems"] else "healthy"]
    u = draws.rng("rework").random((n, _MAX_ROUNDS))
    go = np.concatenate([u[:, :1] < first, u[:, 1:] < more], axis=1)
    rounds = np.cumprod(go, axis=1).sum(axis=1)
    if "remove_rework" in p["changes"]:
        rounds[:] = 0
    wait = draws.lognormal("cust_docs", 1.5 * DAY, 0.7, _MAX_ROUNDS)
    # flattened instances: round r of every case with rounds >= r
    case_r = [np.flatnonzero(rounds >= r) for r in range(_MAX_ROUNDS + 1)]
    sizes = [c.shape[0] for c in case_r]
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    cases = np.concatenate(case_r)
    service = np.concatenate([svc["doc_check"][c, r] for r, c in enumerate(case_r)])
    ready = np.zeros(cases.shape[0])  # rounds 1+ are filled by chain() below; zeros, not garbage, in the first guess
    ready[: sizes[0]] = ready0
    req = svc["request_docs"][:, 0]
    ends = ready + service  # first guess without queueing, filled round by round below

    def chain(ends: FloatArray) -> None:
        for r in range(1, _MAX_ROUNDS + 1):
            prev = ends[bounds[r - 1]: bounds[r]]
            keep = rounds[case_r[r - 1]] >= r
            sent = cal.from_work(cal.to_work(prev[keep])) + req[case_r[r]]
            ready[bounds[r]: bounds[r + 1]] = sent + wait[case_r[r], r - 1]
            ends[bounds[r]: bounds[r + 1]] = ready[bounds[r]: bounds[r + 1]] + service[bounds[r]: bounds[r + 1]]

    chain(ends)
    for _ in range(4 * _MAX_ROUNDS):
        chain(ends.copy())  # rework arrivals from the current ends (the copy's tail is discarded)
        start, new_ends, server = run_pool(ready, service, servers, cal)
        if np.array_equal(new_ends, ends):
            break
        ends = new_ends
    ev.add("doc_check", cases, start, ends, base + server)
    busy["doc_check"] = float(service.sum())
    loops = np.flatnonzero(rounds[cases] > np.repeat(np.arange(_MAX_ROUNDS + 1), sizes))
    # the clerk who found the gap sends the request right after the check, within working hours
    req_start = cal.from_work(cal.to_work(ends[loops]))
    ev.add("request_docs", cases[loops], req_start, req_start + req[cases[loops]], base + server[loops])
    last = np.empty(n)
    final = rounds[cases] == np.repeat(np.arange(_MAX_ROUNDS + 1), sizes)
    last[cases[final]] = ends[final]
    return last


def _release_schedule(probs: set[str], chs: set[str]) -> FloatArray | None:
    """Release offsets within the week for Disbursement, or ``None`` when it runs on demand."""
    if "batching" not in probs or "no_batching" in chs:
        return None
    days = range(5) if "batch_daily" in chs else (0, 3)
    return np.array([d * DAY + _RELEASE[0] * HOUR + _RELEASE[1] * 60.0 for d in days])


def _people(rng: np.random.Generator, count: int, language: str) -> list[str]:
    """``count`` distinct, shuffled person names such as ``anna.b`` or ``li.wei``."""
    if language == "zh":
        base = [f"{s}.{g}" for s in _SURNAMES for g in _GIVEN]
    else:
        base = [f"{f}.{chr(97 + i)}" for f in _FIRST for i in range(26)]
    base = [base[i] for i in rng.permutation(len(base))]
    out = list(base[:count])
    k = 2
    while len(out) < count:
        out.extend(f"{b}{k}" for b in base[: count - len(out)])
        k += 1
    return out


# ---------------------------------------------------------------------------------------------- output
def _names(language: str) -> dict[str, str]:
    return {k: v[1] if language == "zh" else v[0] for k, v in _ACTS.items()}


def _datetimes(seconds: FloatArray, origin: pd.Timestamp) -> pd.DatetimeIndex:
    us = np.round(seconds).astype(np.int64) * 1_000_000 + origin.as_unit("us")._value
    return pd.DatetimeIndex(us.view("datetime64[us]")).tz_localize("UTC")


def _to_frame(sim: dict[str, Any], p: dict[str, Any]) -> pd.DataFrame:
    case, act, start, end, res, out = sim["events"]
    start, end = np.round(start), np.round(end)
    lang = p["language"]
    names = _names(lang)
    roles = sorted({v[2] for v in _ACTS.values()})
    role_of = np.array([roles.index(_ACTS[k][2]) for k in _KEYS], dtype=np.int8)
    order = np.lexsort((act, start, case))
    case, act, start, end, res, out = (a[order] for a in (case, act, start, end, res, out))
    width = max(6, len(str(p["n_cases"])))
    case_ids = pd.Index(np.char.add("C", np.char.zfill(np.arange(1, p["n_cases"] + 1).astype(str), width)))
    outcome_names = _OUTCOMES[lang]
    role_codes = role_of[act]
    act_names = [names[k] for k in _KEYS]
    if p["outcome_in"] == "name":
        sep = "-" if lang == "zh" else " - "
        sign_codes = [_CODE[k] for k in _SIGNOFFS]
        extra = [f"{act_names[c]}{sep}{o}" for c in sign_codes for o in outcome_names]
        remap = np.full((len(_KEYS), 3), -1, dtype=np.int16)
        remap[:, 0] = np.arange(len(_KEYS))
        for j, c in enumerate(sign_codes):
            remap[c, 1:] = len(_KEYS) + 2 * j + np.arange(2)
        act = remap[act, out + 1]
        act_names = act_names + extra
    columns: dict[str, Any] = {
        "case_id": pd.Categorical.from_codes(case, categories=case_ids),
        "activity": pd.Categorical.from_codes(act, categories=act_names).remove_unused_categories(),
    }
    resource = pd.Categorical.from_codes(res, categories=sim["resources"]).remove_unused_categories()
    role = pd.Categorical.from_codes(role_codes, categories=roles).remove_unused_categories()
    rest = {"resource": resource, "role": role}
    if p["outcome_in"] == "column":
        rest["outcome"] = pd.Categorical.from_codes(out, categories=list(outcome_names))
    rest["amount"] = sim["amount"][case]
    rest["channel"] = pd.Categorical.from_codes(sim["channel"][case], categories=list(_CHANNELS[lang]))
    origin = sim["origin"]
    if p["shape"] == "interval":
        frame = pd.DataFrame({**columns, "start": _datetimes(start, origin), "end": _datetimes(end, origin),
                              **rest})
        return frame
    m = case.shape[0]
    if p["shape"] == "complete":
        idx = np.lexsort((np.arange(m), end))
        time = end[idx]
        lifecycle = None
    else:
        both = np.concatenate([start, end])
        lc = np.repeat(np.array([0, 1], dtype=np.int8), m)
        idx = np.lexsort((lc, np.tile(np.arange(m), 2), both))
        time = both[idx]
        lifecycle = pd.Categorical.from_codes(lc[idx], categories=["start", "complete"])
        idx = idx % m
    frame = pd.DataFrame({k: v[idx] for k, v in columns.items()})
    frame["time"] = _datetimes(time, origin)
    if lifecycle is not None:
        frame["lifecycle"] = lifecycle
    for k, v in rest.items():
        frame[k] = v[idx]
    return frame


def _config(sim: dict[str, Any], p: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    shape = p["shape"]
    cols: dict[str, str] = {"case": "case_id", "activity": "activity"}
    if shape == "interval":
        cols.update(start="start", end="end")
    else:
        cols["timestamp"] = "time"
        if shape == "lifecycle":
            cols["lifecycle"] = "lifecycle"
    cols.update(resource="resource", role="role")
    by_name = p["outcome_in"] == "name"
    if not by_name:
        cols["outcome"] = "outcome"
    present = [k for k in _SIGNOFFS if k != "director" or sim["director"]]
    approve, reject = _OUTCOMES[p["language"]]
    tail = "" if by_name else "$"

    def esc(name: str) -> str:
        return re.escape(name).replace("\\ ", " ")

    signoffs: dict[str, Any] = {
        "activities": [f"^{esc(names[k])}{tail}" for k in present],
        "reject_values": [reject], "approve_values": [approve],
        "protected": [f"^{esc(names['compliance'])}"],
    }
    if by_name:
        signoffs["outcome_pattern"] = rf"\s*-\s*(?P<outcome>{approve}|{reject})$"
    stages = {s: [f"^{esc(names[k])}{tail}" for k in keys] for s, keys in _STAGES.items()}
    return {"columns": cols, "signoffs": signoffs, "stages": stages}


def _injections(sim: dict[str, Any], p: dict[str, Any], names: dict[str, str]) -> tuple[Injection, ...]:
    chs = set(p["changes"])
    sizes, truth = sim["sizes"], sim["truth"]
    out = []
    for prob in p["problems"]:
        change = next((c for c, need in _CHANGE_NEEDS.items() if need == prob and c in chs), None)
        if prob == "rubber_stamp":
            acts: tuple[str, ...] = (names["director"],)
            det: dict[str, Any] = {"role": "DIRECTOR", "reject_probability": 0.0, "protected": False,
                                   "after": names["compliance"], "servers": sizes["director"]}
        elif prob == "understaffed":
            acts = (names["doc_check"],)
            det = {"role": "BACKOFFICE", "servers": sizes["doc_check"],
                   "target_utilisation": _UNDERSTAFFED_RHO,
                   "utilisation": truth["pools"][_ACTS["doc_check"][0]]["utilisation"]}
        elif prob == "batching":
            acts = (names["contract"], names["disburse"])
            daily = change == "batch_daily"
            det = {"weekdays": ["Mon", "Tue", "Wed", "Thu", "Fri"] if daily else ["Mon", "Thu"],
                   "time": f"{_RELEASE[0]:02d}:{_RELEASE[1]:02d}", "timezone": "UTC",
                   "schedule": ("Mon-Fri" if daily else "Mon, Thu") + " 15:30 UTC"}
            if change == "no_batching":
                det = {"schedule": "on demand"}
        elif prob == "rework":
            acts = (names["doc_check"], names["request_docs"], names["doc_check"])
            first, more = _REWORK["problem"]
            det = {"share": first, "repeat_probability": more, "max_rounds": _MAX_ROUNDS,
                   "customer_wait_median_hours": 36.0}
        elif prob == "sequential_signoffs":
            acts = (names["risk"], names["compliance"])
            det = {"roles": ["RISK", "COMPLIANCE"], "order": "sequential" if change is None else "parallel",
                   "preceded_by": names["branch"]}
        else:  # amount_threshold
            acts = (names["risk"],)
            det = {"threshold": _THRESHOLD, "reject_probability_above": _REJECT_ABOVE,
                   "reject_probability_below": 0.0, "attribute": "amount"}
        if change is not None:
            det["change"] = change
        out.append(Injection(problem=prob, activities=acts, details=det))
    return tuple(out)


def _write_example_csv(path: str) -> None:
    """Write the bundled ``example_log.csv``: 500 cases, every problem, seed 7, ISO 8601 ``Z`` times."""
    frame = generate_lending_log(500, seed=7, problems=PROBLEMS).frame.copy()
    for col in ("start", "end"):
        frame[col] = frame[col].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    frame.to_csv(path, index=False, lineterminator="\n")
