"""Tests of the rework_loop detector (loops, repeats, ping-pong)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import flowopt
from flowopt.analysis import DETECTORS
from flowopt.analysis._rework import _repeats_per_case, case_rework_mask, rework_loop
from flowopt.datasets._generator import generate_lending_log
from flowopt.errors import ParameterError


def _read(g: flowopt.datasets._generator.GeneratedLog) -> flowopt.EventLog:
    return flowopt.read_log(g.frame, g.config)


@pytest.mark.parametrize("seed,language,shape,n", [
    (0, "en", "interval", 200), (1, "zh", "interval", 200), (2, "en", "lifecycle", 150),
    (3, "zh", "lifecycle", 150), (4, "en", "complete", 150), (5, "zh", "interval", 120),
])
def test_rework_problem_is_found(seed: int, language: str, shape: str, n: int) -> None:
    g = generate_lending_log(n, seed=seed, problems=("rework",), language=language, shape=shape)
    log = _read(g)
    found = rework_loop(log, None, log.config)
    truth = g.injected[0].activities  # (Document check, Request missing documents, Document check)
    loops = [f for f in found if f.evidence["pattern"] == "loop"]
    assert loops, [f.summary for f in found]
    top = loops[0]
    assert top.activities == truth
    assert top.category == "design"  # the process sends cases back for missing documents
    ev = top.evidence
    assert 0.2 < ev["share_of_cases"] < 0.5  # planted: 35% of cases
    assert ev["cases"] == top.cases_affected >= log.config.analysis.min_cases
    assert ev["extra_time_total_s"] == pytest.approx(ev["extra_time_per_case_s"] * ev["cases"])
    assert ev["extra_time_per_case_s"] > 3600  # the customer takes ~1.5 days to send documents
    assert len(ev["example_cases"]) == 5 and ev["example_cases"] == list(top.example_cases)
    # the loop's own second rounds are not reported again as repeats
    assert not [f for f in found if f.evidence["pattern"] == "repeat" and set(f.activities) <= set(truth)]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_healthy_flow_has_no_rework_finding(seed: int) -> None:
    log = _read(generate_lending_log(1500, seed=seed))
    assert rework_loop(log, None, log.config) == []


def test_high_needs_many_cases() -> None:
    small = _read(generate_lending_log(120, seed=9, problems=("rework",)))
    assert all(f.severity != "high" for f in rework_loop(small, None, small.config))
    big = _read(generate_lending_log(1500, seed=9, problems=("rework",)))
    assert rework_loop(big, None, big.config)[0].severity == "high"


def _frame(sequences: dict[str, list[tuple[str, str]]], gap_h: float = 1.0) -> pd.DataFrame:
    rows = []
    t0 = pd.Timestamp("2024-03-04 08:00", tz="UTC")
    for k, (case, seq) in enumerate(sorted(sequences.items())):
        t = t0 + pd.Timedelta(minutes=k)
        for act, who in seq:
            rows.append({"case_id": case, "activity": act, "start": t, "end": t + pd.Timedelta(minutes=30),
                         "resource": who})
            t += pd.Timedelta(hours=gap_h)
    return pd.DataFrame(rows)


def test_ping_pong_between_people_is_practice() -> None:
    bounce = [("Prepare", "ann"), ("Review", "bob"), ("Fix", "ann"), ("Review", "bob"), ("Pay", "sys")]
    clean = [("Prepare", "ann"), ("Review", "bob"), ("Pay", "sys")]
    seqs = {f"B{i:03d}": bounce for i in range(40)} | {f"C{i:03d}": clean for i in range(40)}
    log = flowopt.read_log(_frame(seqs))
    found = rework_loop(log, None, flowopt.Config())
    pp = [f for f in found if f.evidence["pattern"] == "ping_pong"]
    assert len(pp) == 1
    f = pp[0]
    assert f.category == "practice" and f.evidence["level"] == "resource"
    assert f.evidence["sequence"] == ["ann", "bob", "ann", "bob"]
    assert f.cases_affected == 40 and f.evidence["share_of_cases"] == pytest.approx(0.5)
    # from the end of the first Review to the end of the second: 2 hours per bouncing case
    assert f.evidence["extra_time_per_case_s"] == pytest.approx(2 * 3600)


def test_repeat_without_send_back_step_and_costs() -> None:
    redo = [("Enter data", "ann"), ("Enter data", "bob"), ("Approve", "cat")]
    clean = [("Enter data", "ann"), ("Approve", "cat")]
    seqs = {f"R{i:03d}": redo for i in range(30)} | {f"C{i:03d}": clean for i in range(30)}
    cfg = flowopt.load_config({"costs": {"default_hourly": 60.0, "currency": "CNY"}})
    log = flowopt.read_log(_frame(seqs))
    found = rework_loop(log, None, cfg)
    assert [f.evidence["pattern"] for f in found] == ["repeat"]
    f = found[0]
    assert f.category == "practice" and f.activities == ("Enter data", "Enter data")
    assert f.evidence["extra_time_per_case_s"] == pytest.approx(3600)
    # one extra 30-minute execution at 60/h per case
    assert f.evidence["extra_cost_total"] == pytest.approx(30 * 30.0)
    assert f.evidence["currency"] == "CNY"
    assert rework_loop(log, None, flowopt.Config())[0].evidence["extra_cost_total"] is None


def test_below_min_support_no_finding() -> None:
    redo = [("Enter data", "ann"), ("Enter data", "bob")]
    seqs = {f"R{i:03d}": redo for i in range(10)} | {f"C{i:03d}": redo[:1] for i in range(10)}
    log = flowopt.read_log(_frame(seqs))
    assert rework_loop(log, None, flowopt.Config()) == []
    low = flowopt.load_config({"analysis": {"min_cases": 5}})
    found = rework_loop(log, None, low)
    assert len(found) == 1 and found[0].severity != "high"  # "high" needs at least 100 cases


def test_registered_deterministic_and_order_independent() -> None:
    assert DETECTORS["rework_loop"] is rework_loop
    g = generate_lending_log(200, seed=4, problems=("rework",))
    log = _read(g)
    shuffled = flowopt.read_log(g.frame.sample(frac=1.0, random_state=1), g.config)
    a = [f.to_dict() for f in rework_loop(log, None, log.config)]
    b = [f.to_dict() for f in rework_loop(shuffled, None, log.config)]
    assert a == b


def test_case_rework_mask_and_bad_parameter() -> None:
    log = flowopt.read_log(_frame({"A": [("x", "p"), ("y", "p"), ("x", "q")], "B": [("x", "p"), ("y", "q")]}))
    assert case_rework_mask(log).tolist() == [True, False]
    with pytest.raises(ParameterError, match="'min_share' parameter of rework_loop"):
        rework_loop(log, None, flowopt.Config(), min_share=1.5)
    assert np.all(case_rework_mask(log) == np.array([True, False]))


def test_block_repeated_in_the_same_cases_is_one_finding() -> None:
    block = [("Select offer", "ann"), ("Create offer", "ann"), ("Send offer", "sys")]
    twice = block + block + [("Accept", "cat")]
    once = block + [("Accept", "cat")]
    seqs = {f"T{i:03d}": twice for i in range(35)} | {f"O{i:03d}": once for i in range(35)}
    log = flowopt.read_log(_frame(seqs))
    found = [f for f in rework_loop(log, None, flowopt.Config()) if f.evidence["pattern"] == "repeat"]
    assert len(found) == 1
    f = found[0]
    assert f.activities == ("Select offer", "Create offer", "Send offer", "Select offer")
    # from the first Select offer ending (0.5 h) to the second Send offer ending (5.5 h)
    assert f.evidence["extra_time_per_case_s"] == pytest.approx(5 * 3600)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 9), st.integers(0, 6)), max_size=60), st.integers(0, 40))
def test_repeats_per_case_is_the_same_counted_or_sorted(events: list[tuple[int, int]], spare: int) -> None:
    """Per case, "some activity occurs twice": the bincount of (case, activity) pairs and np.unique's sort agree,
    whichever the size rule picks (forced both ways here through the number of cases)."""
    events = sorted(events, key=lambda e: e[0])
    case = np.array([c for c, _ in events], dtype=np.int64)
    act = np.array([a for _, a in events], dtype=np.int64)
    n_cases = (int(case.max()) + 1 if len(case) else 0) + spare
    want = np.zeros(n_cases, dtype=bool)
    for c in range(n_cases):
        acts = act[case == c].tolist()
        want[c] = len(acts) != len(set(acts))
    small = _repeats_per_case(case, act, n_cases, 7)  # at most 70 + 40 pairs: counted
    wide = _repeats_per_case(case, act, n_cases, 7 + 10 ** 6)  # pairs beyond 4 per event: sorted
    assert small.tolist() == want.tolist() == wide.tolist()
