"""End-to-end tests of flowopt.analyze: the whole document on generated and bundled logs."""

from __future__ import annotations

import importlib
import json

import pytest

import flowopt
from flowopt.datasets import PROBLEMS, generate_lending_log


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("language", ["en", "zh"])
def test_healthy_flow_raises_nothing_above_low(seed: int, language: str) -> None:
    g = generate_lending_log(900, seed=seed, language=language)
    a = flowopt.analyze(flowopt.read_log(g.frame, g.config))
    loud = [(f.severity, f.kind, f.activities) for f in a.findings if f.severity != "low"]
    assert loud == []


def test_every_injected_problem_is_found_and_suggested() -> None:
    g = generate_lending_log(900, seed=4, problems=("rubber_stamp", "batching", "rework", "understaffed"))
    a = flowopt.analyze(flowopt.read_log(g.frame, g.config))
    kinds = {(f.kind, f.activities[0]) for f in a.findings}
    assert ("redundant_signoff", "Regional director approval") in kinds
    assert ("bottleneck", "Document check") in kinds
    assert any(k == "rework_loop" and act == "Document check" for k, act in kinds)
    hotspot = next(f for f in a.findings if f.kind == "wait_hotspot" and f.edge and f.edge[1] == "Disbursement")
    assert hotspot.evidence["dominant_cause"] == "batching"
    heuristics = {s.heuristic for s in a.suggestions}
    assert {"task_elimination", "batch_frequency"} <= heuristics
    # the protected compliance control is never eliminated
    assert not any(s.heuristic == "task_elimination" and "Compliance approval" in s.activities for s in a.suggestions)


def test_document_is_json_and_matches_objects() -> None:
    a = flowopt.analyze(flowopt.datasets.example_log())
    doc = a.to_dict()
    again = json.loads(json.dumps(doc, allow_nan=False))
    assert again == doc
    assert [f["id"] for f in doc["findings"]] == [f.id for f in a.findings]
    assert [s["id"] for s in doc["suggestions"]] == [s.id for s in a.suggestions]
    assert doc["log"]["rows_in"] == doc["log"]["rows_used"] + doc["log"]["rows_quarantined"]
    for s in doc["suggestions"]:
        assert set(s["finding_ids"]) <= {f["id"] for f in doc["findings"]}


def test_analysis_config_overrides_the_logs() -> None:
    log = flowopt.datasets.example_log()
    strict = flowopt.analyze(log, {"analysis": {"min_cases": 100000}, "signoffs": {"min_cases": 100000}})
    assert len(strict.findings) == 0 and len(strict.suggestions) == 0
    # a section given to analyze refines the log's config; the others (protected controls, costs) are kept
    tweaked = flowopt.analyze(log, {"analysis": {"top_n": 3}})
    assert tweaked.config.signoffs.protected == log.config.signoffs.protected
    assert tweaked.config.costs == log.config.costs
    assert tweaked.config.analysis.top_n == 3


def test_helper_thread_gives_the_same_document(monkeypatch: pytest.MonkeyPatch) -> None:
    # large logs compute the sign-off and wait tables in a helper thread, and estimate suggestions in two
    # threads: the result must not change
    su = importlib.import_module("flowopt.suggest._suggest")

    g = generate_lending_log(1500, seed=11, problems=PROBLEMS)
    sequential = flowopt.analyze(flowopt.read_log(g.frame, g.config)).to_json()
    monkeypatch.setattr(su, "_THREADS_MIN_EVENTS", 0)  # the one threshold of analyze and suggest
    threaded = flowopt.analyze(flowopt.read_log(g.frame, g.config)).to_json()
    assert threaded == sequential
    single = flowopt.analyze(flowopt.read_log(g.frame, g.config), {"analysis": {"threads": 1}}).to_json()
    assert single == sequential  # [analysis] threads = 1: no helper threads, the same document
    assert json.loads(threaded)["findings"] and json.loads(threaded)["suggestions"]
