"""Tests of the practice_variation detector: flagged only when statistically solid."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import flowopt
from flowopt.analysis import DETECTORS
from flowopt.analysis._practice import practice_variation
from flowopt.datasets._generator import generate_lending_log
from flowopt.errors import ParameterError


def _frame(seed: int, per_resource: int = 60, slow: float = 1.0, n_slow: int | None = None,
           escalate: float = 0.05, escalate_first: float | None = None) -> pd.DataFrame:
    """Activity Assess by 5 resources (lognormal ~30 min); ``res0`` is ``slow``× slower and escalates more."""
    rng = np.random.default_rng(seed)
    t0 = pd.Timestamp("2024-03-04 08:00", tz="UTC")
    rows = []
    k = 0
    for r in range(5):
        count = n_slow if (r == 0 and n_slow is not None) else per_resource
        for _ in range(count):
            factor = slow if r == 0 else 1.0
            minutes = 30.0 * factor * rng.lognormal(0.0, 0.4)
            start = t0 + pd.Timedelta(hours=2 * k)
            end = start + pd.Timedelta(minutes=minutes)
            p_esc = escalate_first if (r == 0 and escalate_first is not None) else escalate
            nxt = "Escalate" if rng.random() < p_esc else "Decide"
            rows.append((f"K{k:04d}", "Assess", start, end, f"res{r}"))
            rows.append((f"K{k:04d}", nxt, end + pd.Timedelta(minutes=10), end + pd.Timedelta(minutes=20), "boss"))
            k += 1
    return pd.DataFrame(rows, columns=["case_id", "activity", "start", "end", "resource"])


def test_three_times_slower_is_flagged() -> None:
    log = flowopt.read_log(_frame(0, slow=3.0))
    found = practice_variation(log, None, flowopt.Config())
    dur = [f for f in found if f.evidence["dimension"] == "duration"]
    assert len(dur) == 1
    f = dur[0]
    assert f.kind == "practice_variation" and f.category == "practice" and f.activities == ("Assess",)
    assert list(f.evidence["groups"]) == ["res0"]
    g = f.evidence["groups"]["res0"]
    assert 2.2 < g["ratio"] < 4.0 and g["effect"] > 0.8 and g["p_adjusted"] < 0.01
    assert f.evidence["level"] == "resource" and f.evidence["groups_tested"] == 5
    assert f.cases_affected == 60 and f.severity in ("low", "medium")  # 60 cases: never "high"
    assert "3." in f.summary or "2." in f.summary


def test_not_flagged_from_a_handful_of_events() -> None:
    log = flowopt.read_log(_frame(0, slow=3.0, n_slow=12))
    assert practice_variation(log, None, flowopt.Config()) == []


@pytest.mark.parametrize("seed", range(6))
def test_noise_is_not_flagged(seed: int) -> None:
    log = flowopt.read_log(_frame(seed))
    assert practice_variation(log, None, flowopt.Config()) == []


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1), per=st.integers(30, 80))
def test_noise_is_not_flagged_hypothesis(seed: int, per: int) -> None:
    log = flowopt.read_log(_frame(seed, per_resource=per))
    assert practice_variation(log, None, flowopt.Config()) == []


def test_path_variation_is_flagged() -> None:
    log = flowopt.read_log(_frame(1, escalate=0.05, escalate_first=0.6))
    found = practice_variation(log, None, flowopt.Config())
    path = [f for f in found if f.evidence["dimension"] == "path"]
    assert len(path) == 1
    ev = path[0].evidence
    assert ev["most_different"]["group"] == "res0" and ev["most_different"]["next"] == "Escalate"
    assert ev["cramers_v"] >= 0.25 and ev["p_adjusted"] < 0.01
    assert not [f for f in found if f.evidence["dimension"] == "duration"]


@pytest.mark.parametrize("seed", [0, 1])
def test_healthy_generated_flow_no_finding(seed: int) -> None:
    g = generate_lending_log(1200, seed=seed)
    log = flowopt.read_log(g.frame, g.config)
    assert practice_variation(log, None, log.config) == []


def test_parameters_and_registry() -> None:
    log = flowopt.read_log(_frame(0))
    with pytest.raises(ParameterError, match="'alpha' parameter of practice_variation"):
        practice_variation(log, None, flowopt.Config(), alpha=0.0)
    with pytest.raises(ParameterError, match="'min_ratio' parameter of practice_variation"):
        practice_variation(log, None, flowopt.Config(), min_ratio=0.5)
    assert DETECTORS["practice_variation"] is practice_variation
