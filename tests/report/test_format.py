"""KPI values in words: durations, counts, a stage's figures and the weekly trend, in English and Chinese."""

from __future__ import annotations

import pytest

from flowopt.report._format import fmt_value


def test_stage_figures_are_named_not_keyed() -> None:
    stages = {"approval": {"cases": 1200, "p90_s": 2 * 86400.0, "p50_s": 7200.0}, "consultation": {"cases": 5}}
    assert fmt_value("stage_throughput", stages) == ("approval: median 2.0 h, p90 2.0 d, 1,200 cases; "
                                                     "consultation: 5 cases")
    zh = fmt_value("stage_throughput", stages, "zh")
    assert zh.startswith("approval: 中位数 2.0 h, 90分位 2.0 d, 1,200 件") and "p50_s" not in zh


@pytest.mark.parametrize(("trend", "lang", "expected"), [
    ({"trend": "decreasing", "p_value": 0.0001, "slope_s_per_week": -5400.0, "weeks": 12}, "en",
     "decreasing (p < 0.001; -1.5 h per week over 12 weeks)"),
    ({"trend": "none", "p_value": 0.42, "slope_s_per_week": 0.0, "weeks": 3}, "en",
     "no clear trend (p = 0.420; 0 s per week over 3 weeks)"),
    ({"trend": "increasing", "p_value": 0.01, "slope_s_per_week": 3 * 86400.0, "weeks": 9}, "zh",
     "上升 （p = 0.010；每周 +3.0 d，共 9 周）"),
    ({"trend": "none", "p_value": None, "slope_s_per_week": None, "weeks": 1}, "en",
     "no clear trend (p = –; – per week over 1 week)"),
])
def test_weekly_trend_reads_as_a_sentence(trend: dict[str, object], lang: str, expected: str) -> None:
    assert fmt_value("weekly_trend", trend, lang) == expected


def test_empty_and_unknown_dictionaries() -> None:
    assert fmt_value("notes", {}) == "–"
    notes = {"cost_per_case_mean": "no [costs] configured"}
    assert fmt_value("notes", notes) == "Cost per case, mean: no [costs] configured"  # each note under its KPI
    assert fmt_value("notes", notes, "zh") == "每案成本（平均）: no [costs] configured"
    assert fmt_value("custom", {"x": {"share": 0.25, "visits": 3}}) == "x: share 25.0%, visits 3"
