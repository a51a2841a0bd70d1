"""Which steps are sign-offs, and what each execution decided.

A *sign-off* is a decision step: it approves, rejects or returns a case. :func:`signoff_steps` finds
them and labels every execution with its outcome:

- **Which activities.** The ``[signoffs] activities`` regexes when given (case-insensitive search);
  otherwise detected: activities in the approval stage (``log.stage_of``) whose name reads like a
  sign-off (approve, approval, sign-off, authorise/authorize, review, 审批, 签批, 核准, 审核, 审查, 复核),
  plus every activity with a recorded outcome (outcome column or outcome inside the name).
- **Outcomes**, first source that applies: the outcome written inside the activity name (the
  ``[signoffs] outcome_pattern`` regex with its ``outcome`` group, or built-in patterns such as BPIC
  2020's ``Declaration REJECTED by ADMINISTRATION`` and suffixes like ``审批-驳回`` / ``... - rejected``);
  the outcome column (``[columns] outcome``; ``reject_values`` / ``approve_values`` add to the
  defaults); or, for a step with no recorded outcome at all, *inferred*: a rejection when the case
  goes back (the next activity already happened earlier in the case) or ends right after the step
  (no later sign-off, disbursement or after-service event, and the case is not still open).
- **The step's name**, when the outcome is inside the activity name: the name with the ``outcome``
  group's text removed, spaces collapsed and separators (space ``-`` ``_`` ``:`` ``/``) trimmed at the
  ends, so ``分行行长审批-驳回`` → ``分行行长审批`` and ``Permit FINAL_APPROVED by DIRECTOR`` →
  ``Permit by DIRECTOR``; a ``step`` group in the pattern names the step instead.

Reject rates are per *decided execution* (a case resubmitted and decided twice counts twice) — the
definition behind the BPIC 2020 figures in DOMAIN.md — and ``case_reject_rate`` gives the per-case view
(cases with at least one rejection or return ÷ cases with a decision). Returns count as rejections in
``reject_rate``: a return is the control catching something.

Examples
--------
>>> import flowopt
>>> from flowopt.analysis._signoff_steps import signoff_steps
>>> log = flowopt.datasets.example_log()
>>> table = signoff_steps(log)
>>> "Credit risk approval" in table.steps["step"].tolist()
True
>>> step_name("分行行长审批-驳回", re.compile(r"-(?P<outcome>通过|驳回)$"))
('分行行长审批', '驳回')
>>> step_name("Permit FINAL_APPROVED by DIRECTOR")
('Permit by DIRECTOR', 'FINAL_APPROVED')
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from flowopt._memo import PerObjectCache
from flowopt.discovery._kernels import distinct_counts
from flowopt.log import EventLog
from flowopt.options import Config, load_config

__all__ = ["BUILTIN_OUTCOME_PATTERNS", "SignoffTable", "classify_outcome", "signoff_steps", "step_name"]

Outcome = Literal["approved", "rejected", "returned"]

_KEYWORDS = re.compile(r"approv|sign[\s_-]?off|authori[sz]|review|审批|签批|核准|审核|审查|复核|批准", re.IGNORECASE)
# Built-in "outcome inside the name" patterns, tried in order. Upper-case tokens (BPIC 2020) first.
BUILTIN_OUTCOME_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"(?<![A-Za-z_])(?P<outcome>(?:[A-Z]+_)*(?:APPROVED|REJECTED|DECLINED|RETURNED|DENIED))(?![A-Za-z_])"),
    re.compile(r"[\s_:/-]+(?P<outcome>approved|rejected|declined|returned|denied)\s*$", re.IGNORECASE),
    re.compile(r"(?P<outcome>通过|驳回|拒绝|同意|退回|不通过)\s*$"),
)
_APPROVE = {"approved", "approve", "approval", "accepted", "accept", "granted", "passed", "pass", "ok", "yes",
            "通过", "同意", "批准", "核准", "已通过"}
_REJECT = {"rejected", "reject", "rejection", "declined", "decline", "denied", "deny", "refused", "no",
           "驳回", "拒绝", "否决", "不通过", "未通过"}
_RETURN = {"returned", "return", "sent back", "send back", "退回", "退件"}
_SEPARATORS = " -_:/\t"
# stages after which a case has clearly moved on from its decisions
_PROGRESS_STAGES = ("disbursement", "after_service")


def classify_outcome(value: Any, reject_values: tuple[str, ...] = (), approve_values: tuple[str, ...] = ()
                     ) -> Outcome | None:
    """Map an outcome label to ``"approved"``, ``"rejected"``, ``"returned"`` or ``None`` (unknown).

    Case-insensitive; configured values win over the defaults; upper-case compounds such as
    ``FINAL_APPROVED`` are read by their last word.

    Examples
    --------
    >>> classify_outcome("FINAL_APPROVED"), classify_outcome("驳回"), classify_outcome("Returned")
    ('approved', 'rejected', 'returned')
    >>> classify_outcome("nee", reject_values=("Nee",)), classify_outcome("maybe")
    ('rejected', None)
    """
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    text = " ".join(str(value).strip().casefold().split())
    if not text:
        return None
    if text in {v.strip().casefold() for v in reject_values}:
        return "rejected"
    if text in {v.strip().casefold() for v in approve_values}:
        return "approved"
    for word in (text, text.replace("_", " ").split(" ")[-1]):
        if word in _APPROVE:
            return "approved"
        if word in _REJECT:
            return "rejected"
        if word in _RETURN:
            return "returned"
    if re.search(r"reject|declin|denied|refus|驳回|拒绝|否决", text):
        return "rejected"
    if re.search(r"return|退回", text):
        return "returned"
    if re.search(r"approv|通过|同意|批准", text):
        return "approved"
    return None


def step_name(activity: str, pattern: re.Pattern[str] | None = None) -> tuple[str, str] | None:
    """``(step, outcome text)`` when an outcome is written inside ``activity``, else ``None``.

    With ``pattern`` only that regex is used; without it, :data:`BUILTIN_OUTCOME_PATTERNS`.
    """
    patterns = (pattern,) if pattern is not None else BUILTIN_OUTCOME_PATTERNS
    for rx in patterns:
        m = rx.search(activity)
        if m is None or m.groupdict().get("outcome") is None:
            continue
        groups = m.groupdict()
        if groups.get("step"):
            step = " ".join(groups["step"].split()).strip(_SEPARATORS)
        else:
            s, e = m.span("outcome")
            step = " ".join((activity[:s] + activity[e:]).split()).strip(_SEPARATORS)
        if step:
            return step, groups["outcome"]
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class SignoffTable:
    """The sign-off steps of a log and every execution's outcome.

    ``steps``: one row per step — ``step``, ``activities`` (the log's labels), ``roles``, ``resources``
    (distinct count), ``cases``, ``executions``, ``decided``, ``approvals``, ``rejections``, ``returns``,
    ``reject_rate`` (rejections + returns ÷ decided executions), ``case_reject_rate``, ``outcome_source``
    (``name`` | ``column`` | ``inferred``), ``protected``.

    ``executions``: one row per sign-off execution, in log order — ``row`` (position in ``log.frame``),
    ``case`` (case number of ``log.codes()``), ``case_id``, ``step``, ``activity``, ``outcome`` (approved | rejected
    | returned | unknown), ``source``, ``resource``, ``role``, ``start_ns``, ``end_ns``, ``wait_s``,
    ``service_s`` (NaN when starts are unknown), ``time_added_s`` (wait + service: from the previous
    event's end to this one's end).
    """

    steps: pd.DataFrame
    executions: pd.DataFrame
    inferred: bool

    def __len__(self) -> int:
        return len(self.steps)

    def step(self, name: str) -> dict[str, Any]:
        """The row of one step as a dict (KeyError when there is no such step)."""
        hit = self.steps[self.steps["step"] == name]
        if hit.empty:
            raise KeyError(name)
        return dict(hit.iloc[0].to_dict())

    def __repr__(self) -> str:
        return f"SignoffTable({len(self.steps)} steps, {len(self.executions):,} executions)"


def _protected(names: list[str], patterns: tuple[str, ...]) -> bool:
    return any(re.search(p, n, re.IGNORECASE) for p in patterns for n in names)


def signoff_steps(log: EventLog, config: Config | Any = None) -> SignoffTable:
    """Find the sign-off steps of ``log`` and the outcome of each execution.

    Parameters
    ----------
    log : EventLog
    config : Config, dict, path or None
        Defaults to ``log.config``; its ``[signoffs]`` section is used.

    Returns
    -------
    SignoffTable
    """
    cfg = log.config if config is None else load_config(config)
    return _CACHE.get(log, (cfg.signoffs, repr(sorted(cfg.stages.items()))), lambda: _signoff_steps(log, cfg))


_CACHE: PerObjectCache[SignoffTable] = PerObjectCache()


def _signoff_steps(log: EventLog, cfg: Config) -> SignoffTable:
    so = cfg.signoffs
    f = log.frame
    codes = log.codes()
    names = codes.activity_names
    configured = tuple(re.compile(p, re.IGNORECASE) for p in so.activities)
    user_rx = re.compile(so.outcome_pattern) if so.outcome_pattern else None

    # ---- per activity: is it a sign-off, its step, an outcome in its name
    act_step: dict[int, str] = {}
    act_outcome: dict[int, Outcome | None] = {}
    by_name: set[int] = set()
    for code, label in enumerate(names):
        parsed = step_name(label, user_rx)
        if configured:
            if not any(rx.search(label) for rx in configured):
                continue
        elif parsed is None:
            if not (_KEYWORDS.search(label) and log.stage_of(label) == "approval"):
                continue
        elif user_rx is None and not (_KEYWORDS.search(parsed[0]) or log.stage_of(label) == "approval"):
            continue
        if parsed is not None:
            act_step[code] = parsed[0]
            act_outcome[code] = classify_outcome(parsed[1], so.reject_values, so.approve_values)
            by_name.add(code)
        else:
            act_step[code] = label
            act_outcome[code] = None

    has_col = "outcome" in f.columns
    if not configured and has_col:  # activities with recorded outcomes are sign-offs too
        col = f["outcome"]
        known = col.notna().to_numpy()
        for code in np.unique(codes.activity[known]):
            c = int(code)
            if c not in act_step:
                parsed = step_name(names[c], user_rx)
                act_step[c] = parsed[0] if parsed else names[c]
                act_outcome[c] = None

    empty = _empty(log.has_start)
    if not act_step:
        return SignoffTable(steps=empty[0], executions=empty[1], inferred=False)

    act = codes.activity
    is_so = np.zeros(len(names), dtype=bool)
    is_so[list(act_step)] = True
    rows = np.flatnonzero(is_so[act])
    step_arr = np.array([act_step.get(c, "") for c in range(len(names))], dtype=object)
    # outcome codes: 0 unknown, 1 approved, 2 rejected, 3 returned
    oc_of = {None: 0, "approved": 1, "rejected": 2, "returned": 3}
    name_oc = np.array([oc_of[act_outcome.get(c)] for c in range(len(names))], dtype=np.int8)
    outcome = name_oc[act[rows]].copy()
    # where each outcome comes from, as codes into _SOURCES: 0 none, 1 name, 2 column, 3 inferred
    source = np.where(outcome > 0, 1, 0).astype(np.int64)
    if has_col:
        val_codes, uniq = pd.factorize(f["outcome"].iloc[rows], use_na_sentinel=True)  # each text classified once
        lut = np.array([oc_of[classify_outcome(v, so.reject_values, so.approve_values)] for v in uniq] + [0],
                       dtype=np.int8)
        col_oc = lut[val_codes]  # code -1 (missing) takes the last slot: 0, unknown
        use = (outcome == 0) & (col_oc > 0)
        outcome[use] = col_oc[use]
        source[use] = 2

    # ---- timing: wait + service since the previous event of the case ended
    case = codes.case
    start, end = codes.start, codes.end
    nat = np.iinfo(np.int64).min
    prev_end = np.full(len(case), nat, dtype=np.int64)
    if len(case) > 1:
        same = case[1:] == case[:-1]
        prev_end[1:] = np.where(same, end[:-1], nat)
    s, e, p = start[rows], end[rows], prev_end[rows]
    has_s = s != nat
    has_p = p != nat
    service = np.where(has_s, (e - s) / 1e9, np.nan)
    wait = np.where(has_p & has_s, np.maximum(s - p, 0) / 1e9, np.where(has_p, np.nan, 0.0))
    added = np.where(has_s, np.nan_to_num(wait) + service, np.where(has_p, np.maximum(e - p, 0) / 1e9, np.nan))

    # ---- inference for steps with no recorded outcome at all (steps as codes into their sorted names)
    step_names, act_step_code = np.unique(step_arr, return_inverse=True)
    step_of_rows = act_step_code[act[rows]]
    seen = np.bincount(step_of_rows, minlength=len(step_names)) > 0
    recorded = np.bincount(step_of_rows[outcome > 0], minlength=len(step_names)) > 0
    no_record = seen & ~recorded
    inferred = bool(no_record.any())
    if inferred:
        target = no_record[step_of_rows]
        inf = _infer(log, rows[target], is_so)
        outcome[target] = inf
        source[target] = np.where(inf > 0, 3, 0)

    labels = np.array(["unknown", "approved", "rejected", "returned"], dtype=object)
    # text as categoricals built from integer codes (never as strings): the detectors slice this table many
    # times, and Arrow-backed strings are slow to build and to take
    ex = pd.DataFrame({
        "row": rows.astype(np.int64), "case": case[rows],
        "case_id": _used_labels_categorical(case[rows], np.asarray(codes.case_ids, dtype=object)),
        "step": _used_labels_categorical(act[rows], step_arr),
        "activity": _used_labels_categorical(act[rows], np.asarray(names, dtype=object)),
        "outcome": _used_labels_categorical(outcome.astype(np.int64), labels),
        "source": _used_labels_categorical(source, _SOURCES),
        "resource": _column_categorical(f["resource"], rows), "role": _column_categorical(f["role"], rows),
        "start_ns": s, "end_ns": e, "wait_s": wait, "service_s": service, "time_added_s": added,
    })
    steps = _step_table(ex, so.protected)
    if not configured:  # a name-detected "step" that never approves is a notification, not a decision
        keep = ~((steps["approvals"] == 0) & (steps["outcome_source"] == "name"))
        dropped = set(steps.loc[~keep, "step"])
        steps = steps[keep.to_numpy()].reset_index(drop=True)
        ex = ex[~ex["step"].isin(dropped)].reset_index(drop=True)
    return SignoffTable(steps=steps, executions=ex, inferred=inferred)


_SOURCES = np.array(["none", "name", "column", "inferred"], dtype=object)


def _used_labels_categorical(codes: np.ndarray, labels: Any) -> pd.Categorical:
    """``labels[codes]`` (code -1: missing) as the categorical ``.astype("category")`` would make of it.

    Categories are the labels used, sorted as pandas sorts them, built from the few distinct labels only.
    """
    labels = np.asarray(labels, dtype=object)
    codes = np.asarray(codes, dtype=np.int64)
    used = np.flatnonzero(np.bincount(codes[codes >= 0], minlength=len(labels)))  # sorted distinct codes
    values = labels[used]
    lut = np.full(len(labels) + 1, -1, dtype=np.int64)  # lut[-1]: missing stays missing
    if pd.api.types.infer_dtype(values, skipna=False) == "string" and bool((values[1:] > values[:-1]).all()):
        # texts already in sorted order (the log's case ids are): the categories as they are, no hashing
        dtype = pd.CategoricalDtype(pd.Index(values))
        lut[used] = np.arange(len(used))
    else:
        cat = pd.Series(values).astype("category")
        dtype = cat.dtype
        lut[used] = cat.cat.codes.to_numpy()
    return pd.Categorical.from_codes(lut[codes], dtype=dtype)


def _column_categorical(col: pd.Series, rows: np.ndarray) -> pd.Categorical:
    """The frame column's values at ``rows`` as a categorical of the values used there."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        return _used_labels_categorical(col.cat.codes.to_numpy()[rows],
                                        col.cat.categories.to_numpy(dtype=object))
    return _used_labels_categorical(*pd.factorize(col.to_numpy(dtype=object)[rows]))


def _empty(has_start: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    steps = pd.DataFrame(columns=["step", "activities", "roles", "resources", "cases", "executions", "decided",
                                  "approvals", "rejections", "returns", "reject_rate", "case_reject_rate",
                                  "outcome_source", "protected"])
    ex = pd.DataFrame(columns=["row", "case", "case_id", "step", "activity", "outcome", "source", "resource", "role",
                               "start_ns", "end_ns", "wait_s", "service_s", "time_added_s"])
    return steps, ex


def _step_table(ex: pd.DataFrame, protected: tuple[str, ...]) -> pd.DataFrame:
    """One row per step (sorted by name) with its counts, from the executions' integer codes."""
    step = ex["step"].cat.codes.to_numpy().astype(np.int64)
    names = ex["step"].cat.categories
    k = len(names)
    oc_codes = ex["outcome"].cat.codes.to_numpy()
    oc_names = np.asarray(ex["outcome"].cat.categories, dtype=object)

    def outcome_is(*labels: str) -> np.ndarray:  # per execution, from a per-category table (no text compared per row)
        return np.isin(oc_names, labels)[oc_codes] if oc_names.shape[0] else np.zeros(oc_codes.shape[0], dtype=bool)

    dec = ~outcome_is("unknown")
    neg = outcome_is("rejected", "returned")
    case = ex["case"].to_numpy().astype(np.int64)
    n_case = int(case.max()) + 1 if len(case) else 1

    def count(mask: np.ndarray | None = None) -> np.ndarray:
        return np.bincount(step if mask is None else step[mask], minlength=k)

    def distinct(item: np.ndarray, width: int, mask: np.ndarray | None = None) -> np.ndarray:
        keep = item >= 0 if mask is None else mask & (item >= 0)
        return distinct_counts(step[keep], item[keep], k, width)

    executions, decided = count(), count(dec)
    approvals, rejections, returns = (count(outcome_is(x)) for x in ("approved", "rejected", "returned"))
    cases, cases_dec, cases_neg = distinct(case, n_case), distinct(case, n_case, dec), distinct(case, n_case, neg)
    res = ex["resource"].cat.codes.to_numpy().astype(np.int64)
    resources = distinct(res, len(ex["resource"].cat.categories) + 1)
    acts = _pairs(step, ex["activity"], k)
    role_counts = _pair_counts(step, ex["role"], k)
    src_counts = _pair_counts(step[dec], ex["source"][dec], k)
    out = []
    for s in np.flatnonzero(executions):
        thr = max(1, 0.05 * executions[s])
        srcs = src_counts[s]
        step_acts = sorted(acts[s])
        out.append({
            "step": str(names[s]), "activities": step_acts,
            "roles": sorted(str(r) for r, c in role_counts[s].items() if c >= thr),
            "resources": int(resources[s]), "cases": int(cases[s]),
            "executions": int(executions[s]), "decided": int(decided[s]), "approvals": int(approvals[s]),
            "rejections": int(rejections[s]), "returns": int(returns[s]),
            "reject_rate": float((rejections[s] + returns[s]) / decided[s]) if decided[s] else float("nan"),
            "case_reject_rate": float(cases_neg[s] / cases_dec[s]) if cases_dec[s] else float("nan"),
            # the most frequent source of the decided outcomes (ties: the first by name)
            "outcome_source": str(min(srcs, key=lambda v: (-srcs[v], v))) if srcs else "none",
            "protected": _protected([str(names[s]), *step_acts], protected),
        })
    return pd.DataFrame(out, columns=_empty(False)[0].columns)


def _pair_counts(step: np.ndarray, col: pd.Series, k: int) -> list[dict[str, int]]:
    """Per step code: how often each (non-missing) value of the categorical ``col`` occurs with it."""
    codes = col.cat.codes.to_numpy().astype(np.int64)
    labels = col.cat.categories
    width = len(labels)
    out: list[dict[str, int]] = [{} for _ in range(k)]
    keep = codes >= 0
    counts = np.bincount(step[keep] * np.int64(width) + codes[keep], minlength=k * width)  # a small grid
    for kk in np.flatnonzero(counts).tolist():
        out[kk // width][str(labels[kk % width])] = int(counts[kk])
    return out


def _pairs(step: np.ndarray, col: pd.Series, k: int) -> list[list[str]]:
    """Per step code: the distinct values of the categorical ``col`` seen with it."""
    return [list(d) for d in _pair_counts(step, col, k)]


def _infer(log: EventLog, rows: np.ndarray, is_so: np.ndarray) -> np.ndarray:
    """Outcome codes (1 approved, 2 rejected, 3 returned, 0 unknown) for sign-off rows without a record.

    Returned: before the case's next "progress" event (a sign-off, disbursement or after-service step),
    or as that event, an activity repeats that had already happened by the time of the step. Rejected:
    no later progress event and the case is closed (ended well before the log's last event). Approved:
    a later progress event without going back. Unknown otherwise (open cases; logs without a
    disbursement or after-service stage, where an ending cannot be told from a completion).
    """
    codes = log.codes()
    case, act, end = codes.case, codes.activity, codes.end
    n = len(case)
    idx = np.arange(n)
    first = pd.Series(idx).groupby([case, act]).transform("min").to_numpy()  # first position of the activity
    stages = np.array([log.stage_of(a) in _PROGRESS_STAGES for a in codes.activity_names], dtype=bool)
    progress = stages[act] | is_so[act]
    case_first = codes.case_start[case]
    # the last progress row strictly before each row, within the case (-1 when none)
    marks = pd.Series(np.where(progress, idx, -1)).groupby(case).cummax().to_numpy()
    prev_prog = np.full(n, -1, dtype=np.int64)
    prev_prog[1:] = marks[:-1]
    prev_prog[prev_prog < case_first] = -1
    # for each progress row i: the earliest first-occurrence among the rows up to and including the next one
    has = prev_prog >= 0
    window_min = pd.Series(first[has]).groupby(prev_prog[has]).min()
    wm = window_min.reindex(rows).to_numpy(dtype=float)
    back = np.isfinite(wm) & (wm <= rows)
    last_prog = pd.Series(np.where(progress, idx, -1)).groupby(case).transform("max").to_numpy()
    later = last_prog[rows] > rows
    can_end = bool(stages.any())
    # a case is closed when it ended well before the log did (else it may still be running)
    case_last = end[codes.case_start[1:] - 1]
    gaps = np.diff(end)[case[1:] == case[:-1]] if n > 1 else np.zeros(0)
    gaps = gaps[gaps > 0]
    margin = np.quantile(gaps, 0.9) if len(gaps) else 0
    closed = case_last < end.max() - margin
    out = np.zeros(len(rows), dtype=np.int8)
    out[later] = 1
    out[~later & closed[case[rows]] & can_end] = 2
    out[back] = 3
    return out
