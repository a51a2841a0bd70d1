"""Hypothesis strategies that generate valid raw event logs as pandas DataFrames.

A generated log is a :class:`RawLog`: the DataFrame as a user would hand it to ``flowopt.read_log``
plus the activity instances it encodes (``truth``: one row per instance with ``case_id, activity,
start, end``), so tests can check what the reader rebuilt against what was written.

Shapes
------
``complete``   one row per event: ``case_id, activity, timestamp`` (the completion time)
``interval``   one row per instance: ``case_id, activity, start_time, end_time``
``lifecycle``  one ``start`` and one ``complete`` row per instance: ``case_id, activity, timestamp, lifecycle``

Case ids include ``NA`` and zero-padded numbers (which must stay text); activities mix English and
Chinese names; timestamps are naive ISO strings (read as UTC) and may tie within a case; resources and
an extra numeric attribute are optional.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from hypothesis import strategies as st

__all__ = ["ACTIVITIES", "CASE_IDS", "RawLog", "raw_logs"]

ACTIVITIES = ("Inquiry", "Submit application", "Document check", "Credit scoring", "Approve", "Disburse",
              "客户咨询", "提交申请", "资料审核", "分行行长审批", "放款", "回访")
CASE_IDS = ("NA", "0012", "c1", "c2", "C-003", "案件7", "case 9", "N/A", "10", "11", "x", "y")
RESOURCES = ("alice", "bob", "张三", "李四")
BASE = pd.Timestamp("2024-03-01 08:00:00")

Shape = Literal["complete", "interval", "lifecycle"]


@dataclass(frozen=True)
class RawLog:
    """A generated raw log and the activity instances it encodes."""

    frame: pd.DataFrame
    truth: pd.DataFrame  # case_id, activity, start (NaT for complete-only), end — naive timestamps
    shape: str
    ties: bool


def _fmt(ts: pd.Series) -> pd.Series:
    return ts.dt.strftime("%Y-%m-%d %H:%M:%S")


@st.composite
def raw_logs(draw: st.DrawFn, *, shape: Shape = "complete", ties: bool = True, resources: bool | None = None,
             max_cases: int = 6, max_len: int = 6, extra: bool | None = None) -> RawLog:
    """A valid raw log of the given ``shape``.

    ``ties=False`` makes every timestamp within a case distinct (so the log's order is fully defined by
    time); with ``ties=True`` gaps of zero occur and the file's order breaks ties. For ``lifecycle`` logs,
    instances of the same activity in a case complete in the order they started (FIFO), and may overlap.
    """
    case_ids = draw(st.lists(st.sampled_from(CASE_IDS), min_size=1, max_size=max_cases, unique=True))
    with_res = draw(st.booleans()) if resources is None else resources
    with_extra = draw(st.booleans()) if extra is None else extra
    min_gap = 0 if ties else 1
    truth_rows: list[dict[str, object]] = []
    rows: list[dict[str, object]] = []
    for ci, case in enumerate(case_ids):
        n = draw(st.integers(1, max_len))
        acts = draw(st.lists(st.sampled_from(ACTIVITIES), min_size=n, max_size=n))
        gaps = draw(st.lists(st.integers(min_gap, 180), min_size=n, max_size=n))
        durs = draw(st.lists(st.integers(min_gap, 240), min_size=n, max_size=n))
        t0 = BASE + pd.Timedelta(days=ci) + pd.Timedelta(minutes=draw(st.integers(0, 600)))
        # ties=False: every time point of the case distinct (minutes for starts, odd seconds offsets for ends)
        starts = np.cumsum(np.asarray(gaps, dtype=np.int64)) * 60  # whole minutes
        ends = starts + np.asarray(durs, dtype=np.int64) * 60
        if not ties:
            ends = ends + 30  # ends fall on half minutes: never equal to a start
        # instances end in the order they were generated (for lifecycle logs: FIFO-consistent pairs)
        ends = np.maximum.accumulate(ends)
        if not ties:
            ends = ends + np.arange(n)  # strictly increasing within the case
        res = draw(st.lists(st.sampled_from(RESOURCES), min_size=n, max_size=n)) if with_res else [None] * n
        amount = draw(st.integers(100, 99_999))
        for k in range(n):
            s = t0 + pd.Timedelta(seconds=int(starts[k]))
            e = t0 + pd.Timedelta(seconds=int(ends[k]))
            truth_rows.append({"case_id": case, "activity": acts[k],
                               "start": s if shape != "complete" else pd.NaT, "end": e, "k": k})
            base = {"case_id": case, "activity": acts[k]}
            if with_res:
                base["resource"] = res[k]
            if with_extra:
                base["amount"] = str(amount)
            if shape == "complete":
                rows.append({**base, "timestamp": e, "_t": e, "_o": (0, k)})
            elif shape == "interval":
                rows.append({**base, "start_time": s, "end_time": e, "_t": e, "_o": (0, k)})
            else:
                rows.append({**base, "timestamp": s, "lifecycle": "start", "_t": s, "_o": (0, k)})
                rows.append({**base, "timestamp": e, "lifecycle": "complete", "_t": e, "_o": (1, k)})
    frame = pd.DataFrame(rows)
    # file order: by time within the case (starts before completes at a tie), then as generated;
    # complete/interval rows are written in generation order, which is time order (ties: generation order)
    frame["_case"] = frame["case_id"].map({c: i for i, c in enumerate(case_ids)})
    if shape == "lifecycle":
        frame["_kind"] = [o[0] for o in frame["_o"]]
        frame["_k"] = [o[1] for o in frame["_o"]]
        frame = frame.sort_values(["_case", "_t", "_kind", "_k"], kind="stable")
    else:
        frame["_k"] = [o[1] for o in frame["_o"]]
        frame = frame.sort_values(["_case", "_t", "_k"], kind="stable")
    # interleave cases in the file, keeping each case's own row order
    if len(case_ids) > 1 and draw(st.booleans()):
        mix = np.asarray(draw(st.permutations(range(len(frame)))))
        frame = frame.assign(_mix=mix)
        frame["_slot"] = frame.groupby("_case", sort=False)["_mix"].transform(lambda s: np.sort(s.to_numpy()))
        frame = frame.sort_values("_slot", kind="stable")
    for col in ("timestamp", "start_time", "end_time"):
        if col in frame:
            frame[col] = _fmt(frame[col])
    frame = frame.drop(columns=[c for c in frame.columns if c.startswith("_")]).reset_index(drop=True)
    truth = pd.DataFrame(truth_rows).drop(columns=["k"])
    return RawLog(frame=frame, truth=truth, shape=shape, ties=ties)

