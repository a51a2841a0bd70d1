"""The heuristic catalogue, on hand-made findings (no detector needed)."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from flowopt.analysis import Finding
from flowopt.options import Config, load_config
from flowopt.suggest import HEURISTICS, candidates, is_protected


def _f(kind: str, activities: tuple[str, ...], evidence: dict[str, Any], edge: tuple[str, str] | None = None,
       cases: int = 100) -> Finding:
    return Finding(kind=kind, category="design", severity="high", activities=activities, summary="s",
                   evidence=evidence, cases_affected=cases, edge=edge)


RUBBER = {"step": "Regional director approval", "reason": "rubber_stamp", "protected": False, "cases": 812,
          "executions": 812, "rejections": 0, "returns": 0, "reject_rate_upper": 0.0037}


def _one(f: Finding, config: Config | None = None) -> list[str]:
    return [c.heuristic for c in candidates([f], None, config or Config())]


def test_rubber_stamp_is_eliminated_with_a_plain_action() -> None:
    (c,) = candidates([_f("redundant_signoff", ("Regional director approval",), RUBBER)], None, Config())
    assert c.heuristic == "task_elimination"
    assert c.action == "Drop 'Regional director approval': it rejected 0 of 812 cases (upper bound 0.4%)."
    assert c.change.kind == "remove" and c.change.activities == ("Regional director approval",)
    assert "Pilot" in c.risk and c.finding_ids


def test_protected_rubber_stamp_is_automated_never_eliminated() -> None:
    f = _f("redundant_signoff", ("Compliance approval",), {**RUBBER, "step": "Compliance approval", "protected": True})
    assert _one(f) == ["automation"]
    # protected by the config alone
    f2 = _f("redundant_signoff", ("Compliance approval",), {**RUBBER, "step": "Compliance approval"})
    assert _one(f2, load_config({"signoffs": {"protected": ["^compliance"]}})) == ["automation"]
    assert candidates([f2], None, load_config({"signoffs": {"protected": ["^compliance"]}}))[0].protected


def test_conditional_redundancy_is_empowerment_unless_protected() -> None:
    ev = {**RUBBER, "reason": "never_overturns", "condition": "Branch manager approval", "condition_cases": 400}
    f = _f("redundant_signoff", ("Regional director approval",), ev)
    (c,) = candidates([f], None, Config())
    assert c.heuristic == "empowerment" and c.change.subset == ("after", "Branch manager approval")
    assert _one(_f("redundant_signoff", ("Regional director approval",), {**ev, "protected": True})) == []


def test_missing_evidence_means_no_suggestion() -> None:
    assert _one(_f("redundant_signoff", ("X",), {"step": "X", "reason": "rubber_stamp"})) == []
    assert _one(_f("signoff_triage", ("X",), {"step": "X", "basis": "attribute", "attribute": "amount"})) == []
    assert _one(_f("wait_hotspot", ("A", "B"), {"count": 10}, edge=("A", "B"))) == []
    assert _one(_f("knockout_order", ("A", "B"), {})) == []
    assert _one(_f("practice_variation", ("A",), {"activity": "A"})) == []


def test_sequential_signoffs_become_parallelism() -> None:
    f = _f("sequential_signoffs", ("Credit risk approval", "Compliance approval"),
           {"steps": ["Credit risk approval", "Compliance approval"], "safety": "strong", "both_orders_seen": True})
    (c,) = candidates([f], None, load_config({"signoffs": {"protected": ["Compliance"]}}))
    assert c.heuristic == "parallelism" and c.change.kind == "parallel" and c.protected
    assert c.change.activities == ("Credit risk approval", "Compliance approval")


def test_triage_and_knockout() -> None:
    f = _f("signoff_triage", ("Credit risk approval",),
           {"step": "Credit risk approval", "basis": "attribute", "attribute": "amount", "threshold": 40000.0,
            "fast_track_side": "below", "fast_track_reject_rate_upper": 0.004, "protected": True})
    (c,) = candidates([f], None, Config())
    assert c.heuristic == "triage" and c.change.subset == ("attribute", "amount", "below", 40000.0)
    assert "automated check" in c.action and c.protected
    k = _f("knockout_order", ("A", "B"), {"first": "A", "second": "B", "first_reject_rate": 0.01,
                                          "second_reject_rate": 0.2})
    (c,) = candidates([k], None, Config())
    assert c.heuristic == "knockout_reordering" and c.change.subset == ("rejected_by", "B")


def _hotspot(causes: dict[str, float], **extra: Any) -> Finding:
    dom = max(causes, key=lambda k: causes[k])
    return _f("wait_hotspot", ("A", "B"), {"causes": causes, "dominant_cause": dom, "wait_median_s": 7200.0, **extra},
              edge=("A", "B"))


ZERO = {"batching": 0.0, "contention": 0.0, "unavailability": 0.0, "prioritization": 0.0, "extraneous": 0.0}


def test_wait_causes_map_to_their_remedy() -> None:
    b = _hotspot({**ZERO, "batching": 9.0, "extraneous": 1.0},
                 batching={"schedule": "Mon, Thu ~15:30 UTC", "weekdays": ["Mon", "Thu"]})
    (c,) = candidates([b], None, Config())
    assert c.heuristic == "batch_frequency" and c.change.schedule == "daily" and "Mon, Thu" in c.action
    held = _hotspot({**ZERO, "batching": 9.0}, batching={"schedule": "11 runs, about one every 380 days",
                                                          "waiting_period_s": 209 * 86_400.0})
    (c,) = candidates([held], None, Config())
    assert "none went sooner than 209.0 days after 'A' (a waiting period the change keeps)" in c.action
    assert "waiting period" not in candidates([b], None, Config())[0].action
    daily = _hotspot({**ZERO, "batching": 9.0}, batching={"weekdays": ["Mon", "Tue", "Wed", "Thu", "Fri"]})
    assert candidates([daily], None, Config())[0].change.schedule == "immediate"
    assert _one(_hotspot({**ZERO, "contention": 9.0})) == ["capacity"]
    assert _one(_hotspot({**ZERO, "unavailability": 9.0})) == ["calendar_alignment"]
    assert sorted(_one(_hotspot({**ZERO, "unavailability": 6.0, "contention": 4.0}))) == ["calendar_alignment",
                                                                                          "capacity"]
    (c,) = candidates([_hotspot({**ZERO, "extraneous": 9.0})], None, Config())
    assert c.heuristic == "contact_reduction" and c.change.cap_at_median


def test_a_wait_without_start_times_is_not_called_outside_the_teams_hands() -> None:
    """Without start times the extraneous part also holds queueing and the work itself: the action says so."""
    texts = {}
    for basis in ("start", "completion", "mixed"):
        f = _hotspot({**ZERO, "extraneous": 9.0})
        f = Finding(kind=f.kind, category=f.category, severity=f.severity, activities=f.activities,
                    summary=f.summary, evidence={**f.evidence, "basis": basis}, cases_affected=f.cases_affected,
                    edge=f.edge)
        (c,) = candidates([f], None, Config())
        assert c.heuristic == "contact_reduction"
        texts[basis] = (c.action, c.risk)
    assert "outside the team's hands" in texts["start"][0]
    for basis in ("completion", "mixed"):
        action, risk = texts[basis]
        assert "outside the team's hands" not in action and "cannot tell waiting on others from queueing" in action
        assert "no start times" in risk
    assert "for some of these steps" in texts["mixed"][0] and "for some" not in texts["completion"][0]


def test_rework_loop_and_handoff() -> None:
    r = _f("rework_loop", ("Check", "Request docs", "Check"),
           {"pattern": "loop", "sequence": ["Check", "Request docs", "Check"], "level": "activity",
            "share_of_cases": 0.35})
    (c,) = candidates([r], None, Config())
    assert c.heuristic == "contact_reduction" and c.change.kind == "first_time_right" and "35%" in c.action

    class G:
        import pandas as pd
        nodes = pd.DataFrame({"activity": ["A", "B"], "service_median_s": [300.0, 240.0]})

    h = _f("handoff", ("B",), {"wait_median_across_s": 20000.0, "wait_median_within_s": 600.0}, edge=("A", "B"))
    (c,) = candidates([h], G(), Config())
    assert c.heuristic == "task_composition" and c.change.keep_wait_s == 600.0
    assert candidates([h], None, Config()) == []  # no service times: cannot tell the steps are tiny


def test_bottleneck_with_steady_short_service_suggests_automation() -> None:
    import pandas as pd

    class G:
        nodes = pd.DataFrame({"activity": ["Scoring"], "service_median_s": [120.0], "service_p90_s": [150.0]})

    b = _f("bottleneck", ("Scoring",), {"activity": "Scoring", "service_median_s": 120.0})
    assert _one(b) == []
    assert [c.heuristic for c in candidates([b], G(), Config())] == ["automation"]


def test_duplicates_are_merged() -> None:
    f1 = _f("redundant_signoff", ("Regional director approval",), RUBBER)
    f2 = Finding(kind="redundant_signoff", category="design", severity="low", activities=("Regional director approval",),
                 summary="other", evidence=RUBBER, id="redundant_signoff-other")
    (c,) = candidates([f1, f2], None, Config())
    assert set(c.finding_ids) == {f1.id, "redundant_signoff-other"}


# ------------------------------------------------------------------ property: protected controls are never removed
NAMES = ["Compliance approval", "AML check", "Branch manager approval", "Regional director approval", "KYC review",
         "合规审查", "Credit risk approval"]
REASONS = ["rubber_stamp", "never_overturns", "repeat_same_role"]


@st.composite
def finding_sets(draw: st.DrawFn) -> list[Finding]:
    out = []
    for i in range(draw(st.integers(1, 6))):
        step = draw(st.sampled_from(NAMES))
        kind = draw(st.sampled_from(["redundant_signoff", "signoff_triage", "sequential_signoffs", "knockout_order"]))
        ev: dict[str, Any] = {"step": step, "reason": draw(st.sampled_from(REASONS)),
                              "protected": draw(st.booleans()), "executions": draw(st.integers(0, 5000)),
                              "rejections": 0, "returns": 0, "reject_rate_upper": draw(st.floats(0, 0.05)),
                              "condition": draw(st.sampled_from(NAMES)), "basis": "attribute", "attribute": "amount",
                              "threshold": 1000.0, "fast_track_side": "below"}
        other = draw(st.sampled_from(NAMES))
        if kind in ("sequential_signoffs", "knockout_order"):
            ev.update(steps=[step, other], first=step, second=other)
        if draw(st.booleans()):
            ev.pop(draw(st.sampled_from(sorted(ev))))
        out.append(Finding(kind=kind, category="design", severity="medium", activities=(step,), summary=str(i),
                           evidence=ev, id=f"{kind}-{i}"))
    return out


@settings(max_examples=150, deadline=None)
@given(findings=finding_sets(), patterns=st.lists(st.sampled_from(["^Compliance", "AML", "KYC", "合规", "director"]),
                                                  max_size=3))
def test_protected_control_is_never_eliminated(findings: list[Finding], patterns: list[str]) -> None:
    config = load_config({"signoffs": {"protected": patterns}})
    flagged = {f.evidence.get("step") for f in findings if f.evidence.get("protected")}
    for c in candidates(findings, None, config):
        assert c.heuristic in HEURISTICS
        if c.heuristic in ("task_elimination", "empowerment"):
            for a in c.activities:
                assert a not in flagged
                assert not any(re.search(p, a, re.IGNORECASE) for p in patterns)
                assert not is_protected([a], None, config)


def test_busy_bottleneck_gets_capacity_whatever_the_label() -> None:
    b = _f("bottleneck", ("Document check",), {"activity": "Document check", "utilisation": 0.87,
                                                "causes": {**ZERO, "unavailability": 8.0, "contention": 1.5}})
    assert sorted(_one(b)) == ["calendar_alignment", "capacity"]
    calm = _f("bottleneck", ("Document check",), {"activity": "Document check", "utilisation": 0.5,
                                                   "causes": {**ZERO, "unavailability": 8.0, "contention": 1.5}})
    assert _one(calm) == ["calendar_alignment"]
