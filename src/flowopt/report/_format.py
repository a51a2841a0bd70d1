"""Formatting of KPI values and evidence for humans (durations, percentages, counts)."""

from __future__ import annotations

import json
import math
from typing import Any

from flowopt._format import human_duration

__all__ = ["fmt_hours", "fmt_value"]


def fmt_value(key: str, value: Any) -> str:
    """Format ``value`` by what its ``key`` says it is: ``*_s`` durations, ``*_pct`` percents, rates as %.

    Examples
    --------
    >>> fmt_value("throughput_p50_s", 7200), fmt_value("rework_rate", 0.125), fmt_value("cases", 1200)
    ('2.0 h', '12.5%', '1,200')
    >>> fmt_value("flow_efficiency_cases", 0)
    '0'
    >>> fmt_value("throughput_p50_change_pct", -12.34)
    '-12.3%'
    >>> fmt_value("stage_throughput", {"approval": {"cases": 120, "p50_s": 86400.0}})
    'approval: cases 120, p50_s 24.0 h'
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
        parts = []
        for k, v in list(value.items())[:12]:
            inner = (", ".join(f"{ik} {fmt_value(str(ik), iv)}" for ik, iv in list(v.items())[:8])
                     if isinstance(v, dict) else fmt_value(str(k), v))
            parts.append(f"{k}: {inner}")
        return "; ".join(parts) + (" …" if len(value) > 12 else "")
    if isinstance(value, list):
        text = ", ".join(fmt_value(key, v) if not isinstance(v, (dict, list)) else
                         json.dumps(v, ensure_ascii=False, sort_keys=True) for v in value[:10])
        return text[:400] + (" …" if len(value) > 10 or len(text) > 400 else "")
    return str(value)


def fmt_hours(value: Any) -> str:
    """Hours with one decimal (``–`` when unknown)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{float(value):,.1f} h"
