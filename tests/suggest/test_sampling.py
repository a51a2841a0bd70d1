"""Large logs are replayed on a seeded sample of cases; totals are scaled and the evidence says so."""

from __future__ import annotations

import pytest

import flowopt
from flowopt.datasets import generate_lending_log
from flowopt.suggest import _suggest


@pytest.fixture(scope="module")
def analysed():
    g = generate_lending_log(700, seed=3, problems=("batching", "rubber_stamp"))
    log = flowopt.read_log(g.frame, g.config)
    return log, flowopt.analyze(log)


def test_small_logs_are_not_sampled(analysed) -> None:
    _, full = analysed
    assert full.suggestions and all("sample" not in s.evidence for s in full.suggestions)


def test_sampled_replay_scales_totals_and_says_so(analysed, monkeypatch) -> None:
    log, full = analysed
    monkeypatch.setattr(_suggest, "MAX_REPLAY_CASES", 350)
    sampled = flowopt.suggest(log, full.findings, full.graph, full.config)
    again = flowopt.suggest(log, full.findings, full.graph, full.config)
    assert sampled == again  # the sample is seeded: same log, same suggestions
    by_key = {(s.heuristic, s.activities): s for s in full.suggestions}
    batch = next(s for s in sampled if s.heuristic == "batch_frequency")
    assert batch.evidence["sample"] == {"cases": 350, "of": log.n_cases}
    sv = batch.estimated_saving
    # totals are per-case means over the sample times the whole log's cases
    assert sv.hours_total == pytest.approx(sv.hours_per_case * log.n_cases, rel=1e-3)
    # and a sample of half the cases lands near the full replay
    ref = by_key[("batch_frequency", batch.activities)].estimated_saving
    assert sv.hours_per_case == pytest.approx(ref.hours_per_case, rel=0.15)
