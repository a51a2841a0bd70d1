"""Every real log in shared/data loads with the documented event and case counts."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from flowopt.errors import QuarantineReason
from flowopt.log import EventLog

# file: (events after pairing, cases, rows in)
COUNTS = {
    "DomesticDeclarations.xes.gz": (55_628, 10_357, 55_628),
    "RequestForPayment.xes.gz": (36_072, 6_760, 36_072),
    "BPIC_2012_W.csv.gz": (59_302, 8_616, 59_302),
    "receipt.xes.gz": (8_577, 1_434, 8_577),
    "running-example.xes": (42, 6, 42),
}


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_clean_real_log_counts(real_log: Callable[[str], EventLog], name: str) -> None:
    events, cases, rows_in = COUNTS[name]
    log = real_log(name)
    assert (len(log), log.n_cases, log.rows_in) == (events, cases, rows_in)
    assert log.quarantine.empty and log.rows_used == rows_in
    df = log.to_pandas()
    assert df["case_id"].notna().all() and df["activity"].notna().all() and df["end"].notna().all()
    assert str(df["end"].dt.tz) == "UTC"


def test_every_file_in_shared_data_is_covered(data_dir) -> None:  # type: ignore[no-untyped-def]
    files = {p.name for p in data_dir.iterdir() if p.name != "README.md"}
    assert files <= set(COUNTS) | {"helpdesk.xes.gz", "bpic2012.xes.gz", "traffic_fines.csv.gz"}


def test_interval_log_keeps_starts(real_log: Callable[[str], EventLog]) -> None:
    log = real_log("BPIC_2012_W.csv.gz")
    df = log.to_pandas()
    assert log.has_start and log.has_resource
    assert df["start"].notna().all() and (df["start"] <= df["end"]).all()


def test_helpdesk_duplicates_are_quarantined(real_log: Callable[[str], EventLog]) -> None:
    log = real_log("helpdesk.xes.gz")
    q = log.quarantine
    assert log.rows_in == 21_348
    assert len(q) == 127
    assert set(q["reason"]) == {QuarantineReason.DUPLICATE.value}
    assert log.rows_in == len(log) + len(q) == log.rows_used + len(q)
    assert log.n_cases == 4_580


def test_bpic2012_lifecycle_pairing(bpic2012: EventLog) -> None:
    log = bpic2012
    assert log.rows_in == 262_200
    assert log.rows_used + len(log.quarantine) == log.rows_in
    assert log.n_cases == 13_087
    # schedule/start/complete rows collapse into fewer activity instances
    assert len(log) < log.rows_used
    reasons = set(log.quarantine["reason"])
    assert reasons <= {QuarantineReason.UNMATCHED_START.value, QuarantineReason.UNMATCHED_SCHEDULE.value}
    df = log.to_pandas()
    has = df["start"].notna()
    assert has.sum() > 0 and (df.loc[has, "start"] <= df.loc[has, "end"]).all()
    # every W_ work item that was started has a start; A_/O_ events are complete-only
    assert df.loc[df["activity"].astype(str).str.startswith("A_"), "start"].isna().all()
    assert "scheduled" in df.columns


def test_traffic_fines_counts_and_file_order_ties(traffic_fines: EventLog) -> None:
    log = traffic_fines
    assert (len(log), log.n_cases) == (561_470, 150_370)
    assert log.mapping["order"] == ".order"
    f = log.frame
    c = log.codes()
    same = (c.case[1:] == c.case[:-1]) & (c.end[1:] == c.end[:-1])
    assert same.sum() > 1_000  # date-only timestamps: many ties
    row = f["_row"].to_numpy()
    # within a tie, events keep the file's order (.order grows with the file row)
    assert (row[1:][same] > row[:-1][same]).all()
    # and "Create Fine" (always written first) starts every case that begins with a tie
    first = c.case_start[:-1]
    tied_first = first[(c.end[first] == c.end[np.minimum(first + 1, len(c.end) - 1)])
                       & (c.case[np.minimum(first + 1, len(c.end) - 1)] == c.case[first])]
    acts = np.asarray(c.activity_names, dtype=object)[c.activity[tied_first]]
    assert (acts == "Create Fine").mean() > 0.99
