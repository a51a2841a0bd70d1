from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import flowopt
from flowopt.analysis import DETECTORS
from flowopt.analysis._hotspots import _top5, find_wait_hotspots
from flowopt.analysis._waits import CAUSES
from flowopt.datasets._generator import generate_lending_log
from flowopt.errors import ParameterError, RowsDroppedWarning
from flowopt.options import load_config

DD = "/work/shared/data/DomesticDeclarations.xes.gz"


def _log(n: int, seed: int, problems: tuple[str, ...], language: str = "en", shape: str = "interval") -> flowopt.EventLog:
    g = generate_lending_log(n, seed=seed, problems=problems, language=language, shape=shape)
    return flowopt.read_log(g.frame, g.config)


@pytest.mark.parametrize(("seed", "language", "shape"), [(1, "en", "interval"), (2, "zh", "lifecycle")])
def test_batched_handoff_is_a_hotspot_caused_by_batching(seed: int, language: str, shape: str) -> None:
    g = generate_lending_log(700, seed=seed, problems=("batching", "understaffed"), language=language, shape=shape)
    log = flowopt.read_log(g.frame, g.config)
    edge = next(i for i in g.injected if i.problem == "batching").activities
    found = {f.edge: f for f in find_wait_hotspots(log)}
    assert edge in found
    f = found[edge]
    ev = f.evidence
    assert f.kind == "wait_hotspot" and f.category == "design" and ev["dominant_cause"] == "batching"
    assert max(ev["causes"], key=ev["causes"].get) == "batching"
    assert set(ev["causes"]) == set(CAUSES)
    assert sum(ev["causes"].values()) == pytest.approx(ev["wait_total_s"], rel=1e-9)
    assert ev["batching"]["weekdays"] == ["Mon", "Thu"] and "15:30" in ev["batching"]["schedule"]
    assert ev["count"] >= 30 and len(f.example_cases) > 0


@pytest.mark.parametrize("seed", [3, 4])
def test_healthy_flow_has_no_high_hotspot(seed: int) -> None:
    found = find_wait_hotspots(_log(700, seed, ()))
    assert all(f.severity != "high" for f in found)
    assert all(f.evidence["dominant_cause"] != "batching" for f in found)


def test_small_log_is_never_high() -> None:
    log = _log(120, 1, ("batching",))
    cfg = load_config({"analysis": {"min_cases": 10}})
    found = find_wait_hotspots(log, None, cfg)
    assert found and all(f.severity != "high" for f in found)
    assert find_wait_hotspots(log, None, load_config({"analysis": {"min_cases": 500}})) == []


def test_bad_min_cases_is_refused() -> None:
    log = _log(60, 1, ())
    with pytest.raises(ParameterError, match="min_cases"):
        find_wait_hotspots(log, None, load_config({"analysis": {"min_cases": 0}}))


def test_registered() -> None:
    assert DETECTORS["wait_hotspot"] is find_wait_hotspots


@pytest.fixture(scope="module")
def domestic() -> flowopt.EventLog:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RowsDroppedWarning)
        return flowopt.read_log(DD)


def test_domestic_declarations_payment_batching(domestic: flowopt.EventLog) -> None:
    found = {f.edge: f for f in find_wait_hotspots(domestic)}
    f = found[("Request Payment", "Payment Handled")]
    ev = f.evidence
    assert ev["dominant_cause"] == "batching" and f.category == "design" and f.severity == "high"
    assert ev["wait_median_s"] / 3600 == pytest.approx(78, rel=0.1)
    assert ev["batching"]["weekdays"] == ["Mon", "Thu"]
    assert "Mon, Thu" in ev["batching"]["schedule"] and "15:31" in ev["batching"]["schedule"]
    assert ev["batching"]["batch_size_median"] >= 20 and ev["batching"]["releases"] > 100
    assert ev["basis"] == "completion" and any("Starts are unknown" in n for n in ev["notes"])
    assert ev["causes"]["contention"] == 0 and ev["causes"]["prioritization"] == 0
    assert max(found.values(), key=lambda x: x.evidence["wait_total_s"]) is f


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 6), max_size=40), st.sampled_from([1.0, 0.5, 3600.0]))
def test_top_five_waits_equal_a_full_stable_sort(values: list[int], unit: float) -> None:
    """The example cases: the five longest waits, ties in row order, as a full stable sort picks them."""
    w = np.array(values, dtype=np.float64) * unit
    assert _top5(w).tolist() == np.argsort(-w, kind="stable")[:5].tolist()
