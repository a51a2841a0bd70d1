"""Formatting of KPI values and evidence for humans (durations, percentages, counts)."""

from __future__ import annotations

import json
import math
from typing import Any

from flowopt._format import human_duration
from flowopt.report._i18n import kpi_label

__all__ = ["fmt_hours", "fmt_value"]


def fmt_value(key: str, value: Any, lang: str = "en") -> str:
    """Format ``value`` by what its ``key`` says it is: ``*_s`` durations, ``*_pct`` percents, rates as %;
    a dictionary as ``name: parts`` with the parts' keys in words of ``lang`` ("en" or "zh").

    Examples
    --------
    >>> fmt_value("throughput_p50_s", 7200), fmt_value("rework_rate", 0.125), fmt_value("cases", 1200)
    ('2.0 h', '12.5%', '1,200')
    >>> fmt_value("flow_efficiency_cases", 0)
    '0'
    >>> fmt_value("throughput_p50_change_pct", -12.34)
    '-12.3%'
    >>> fmt_value("stage_throughput", {"approval": {"cases": 120, "p50_s": 86400.0, "p90_s": 3 * 86400.0}})
    'approval: median 24.0 h, p90 3.0 d, 120 cases'
    >>> fmt_value("weekly_trend", {"trend": "increasing", "p_value": 0.0008, "slope_s_per_week": 7200.0, "weeks": 9})
    'increasing (p = 0.001; +2.0 h per week over 9 weeks)'
    >>> fmt_value("notes", {})
    '–'
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        k = key.lower()
        if k.endswith(("cases", "_count", "complaints", "events", "rows")) and float(value).is_integer():
            return f"{int(value):,}"
        if k.endswith(("_s", "_seconds")):
            return human_duration(float(value))
        if k.endswith("_pct"):
            return f"{float(value):+.1f}%" if "change" in k or "delta" in k else f"{float(value):.1f}%"
        if any(w in k for w in ("rate", "share", "compliance", "efficiency", "ratio", "utilisation",
                                "first_time_right")) and abs(float(value)) <= 1.0:
            return f"{float(value):.1%}"
        if isinstance(value, int) or float(value).is_integer() and abs(value) >= 100:
            return f"{int(value):,}"
        return f"{float(value):,.2f}"
    if isinstance(value, dict):
        if not value:
            return "–"
        if key == "weekly_trend" and {"trend", "p_value", "slope_s_per_week", "weeks"} <= set(value):
            return _trend(value, lang)
        parts = []
        for k, v in list(value.items())[:12]:
            inner = _parts(v, lang) if isinstance(v, dict) else fmt_value(str(k), v, lang)
            parts.append(f"{kpi_label(str(k), lang) if key == 'notes' else k}: {inner}")  # notes: per KPI
        return "; ".join(parts) + (" …" if len(value) > 12 else "")
    if isinstance(value, list):
        text = ", ".join(fmt_value(key, v) if not isinstance(v, (dict, list)) else
                         json.dumps(v, ensure_ascii=False, sort_keys=True) for v in value[:10])
        return text[:400] + (" …" if len(value) > 10 or len(text) > 400 else "")
    return str(value)


# the keys inside a KPI's dictionary, in words: (text before the value, text after it)
_PART_WORDS: dict[str, dict[str, tuple[str, str]]] = {
    "en": {"p50_s": ("median ", ""), "p90_s": ("p90 ", ""), "mean_s": ("mean ", ""), "cases": ("", " cases")},
    "zh": {"p50_s": ("中位数 ", ""), "p90_s": ("90分位 ", ""), "mean_s": ("平均 ", ""), "cases": ("", " 件")},
}
_PART_ORDER = ("p50_s", "p90_s", "mean_s", "cases")
_TREND_WORDS = {
    "en": {"increasing": "increasing", "decreasing": "decreasing", "none": "no clear trend",
           "tail": "({p}; {slope} per week over {weeks} weeks)", "tail_one": "({p}; {slope} per week over 1 week)"},
    "zh": {"increasing": "上升", "decreasing": "下降", "none": "无明显趋势", "tail": "（{p}；每周 {slope}，共 {weeks} 周）",
           "tail_one": "（{p}；每周 {slope}，共 1 周）"},
}


def _parts(value: dict[Any, Any], lang: str) -> str:
    """A KPI's inner dictionary (``{"p50_s": …, "cases": …}``) as words: known keys first, in a fixed order."""
    words = _PART_WORDS.get(lang, _PART_WORDS["en"])
    keys = sorted(list(value)[:8], key=lambda k: _PART_ORDER.index(k) if k in _PART_ORDER else len(_PART_ORDER))
    out = []
    for k in keys:
        before, after = words.get(str(k), (f"{k} ", ""))
        out.append(f"{before}{fmt_value(str(k), value[k], lang)}{after}")
    return ", ".join(out)


def _trend(value: dict[str, Any], lang: str) -> str:
    """The Mann–Kendall trend of the weekly medians: its direction, p-value and Sen's slope per week."""
    words = _TREND_WORDS.get(lang, _TREND_WORDS["en"])
    p, slope = value.get("p_value"), value.get("slope_s_per_week")
    p_text = "p = –" if p is None else ("p < 0.001" if float(p) < 0.0005 else f"p = {float(p):.3f}")
    slope_text = "–" if slope is None else ("+" if float(slope) > 0 else "") + human_duration(float(slope))
    return (f"{words.get(str(value.get('trend')), str(value.get('trend')))} "
            + words["tail_one" if value.get("weeks") == 1 else "tail"].format(
                p=p_text, slope=slope_text, weeks=fmt_value("weeks", value.get("weeks"), lang)))


def fmt_hours(value: Any) -> str:
    """Hours with one decimal (``–`` when unknown)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{float(value):,.1f} h"
