"""Property: a sign-off that rejected in at least 2% of at least 300 cases is never flagged redundant.

Random sign-off logs: two to four sign-off steps (roles shared or not), steps skipped at random, a
rejection that may end the case, reject rates that may depend on the previous step's approval, and
outcomes written in a column or inside the activity name.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

import flowopt
from flowopt.analysis._signoff_order import find_signoff_triage
from flowopt.analysis._signoffs import find_redundant_signoffs

RATES = (0.0, 0.0005, 0.002, 0.005, 0.01, 0.02, 0.03, 0.06, 0.2)
T0 = pd.Timestamp("2024-01-01 08:00", tz="UTC")


@st.composite
def signoff_logs(draw: st.DrawFn) -> tuple[pd.DataFrame, dict, dict[str, tuple[int, int]]]:
    n = draw(st.integers(300, 700))
    k = draw(st.integers(2, 4))
    seed = draw(st.integers(0, 2**32 - 1))
    in_name = draw(st.booleans())
    ends = draw(st.booleans())  # a rejection ends the case
    roles = [f"R{draw(st.integers(0, k - 1))}" for _ in range(k)]
    rate_after = [draw(st.sampled_from(RATES)) for _ in range(k)]  # right after the previous step approved
    rate_else = [draw(st.sampled_from(RATES)) for _ in range(k)]
    skip = [draw(st.sampled_from((0.0, 0.1, 0.4))) for _ in range(k)]
    rng = np.random.default_rng(seed)
    alive = np.ones(n, dtype=bool)
    prev_ok = np.zeros(n, dtype=bool)
    parts = []
    truth: dict[str, tuple[int, int]] = {}
    for j in range(k):
        present = alive & (rng.random(n) >= skip[j])
        p = np.where(prev_ok, rate_after[j], rate_else[j])
        rej = present & (rng.random(n) < p)
        idx = np.flatnonzero(present)
        name = f"Approval {j}"
        truth[name] = (int(present.sum()), int(rej.sum()))
        out = np.where(rej[idx], "rejected", "approved")
        act = np.char.add(f"{name} - ", out.astype(str)) if in_name else np.full(len(idx), name)
        start = T0 + pd.to_timedelta(idx * 6 + j, unit="h")
        parts.append(pd.DataFrame({"case_id": idx, "activity": act, "start": start,
                                   "end": start + pd.Timedelta(minutes=40), "role": roles[j],
                                   "resource": [f"{roles[j]}-{i % 4}" for i in idx], "decision": out}))
        prev_ok = present & ~rej | (~present & prev_ok)
        if ends:
            alive &= ~rej
    frame = pd.concat(parts, ignore_index=True)
    cols = {"case": "case_id", "activity": "activity", "start": "start", "end": "end", "role": "role",
            "resource": "resource"}
    if in_name:
        frame = frame.drop(columns=["decision"])
    else:
        cols["outcome"] = "decision"
    return frame, {"columns": cols}, truth


@settings(max_examples=25, deadline=None)
@given(signoff_logs())
def test_rejecting_signoff_never_redundant(data: tuple[pd.DataFrame, dict, dict[str, tuple[int, int]]]) -> None:
    frame, cfg, truth = data
    log = flowopt.read_log(frame, cfg)
    found = find_redundant_signoffs(log, None, log.config)
    flagged = {f.activities[0] for f in found}
    for f in found:  # judged by an upper bound: 0 rejections need 299 cases to be below 1% at 95%
        assert max(f.evidence["cases"], f.evidence.get("condition_cases", 0)) >= 299
        assert f.evidence["reject_rate_upper"] < 0.01
    for step, (cases, rejected) in truth.items():
        if cases >= 300 and rejected >= 0.02 * cases:
            assert step not in flagged, (step, cases, rejected)
        if step in flagged:  # whatever the reason, a redundant step rejects at most 1% overall
            assert rejected <= 0.01 * cases
    # conditional fast tracks never name a step with too few cases behind them
    for f in find_signoff_triage(log, None, log.config):
        assert f.evidence["fast_track_cases"] >= 100
