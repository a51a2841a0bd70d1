"""Human-readable numbers and durations for labels, summaries and reports."""

from __future__ import annotations

import math

__all__ = ["human_duration", "human_int"]


def human_duration(seconds: float | None) -> str:
    """``3725`` -> ``"1.0 h"``; picks s, min, h or d so the number stays readable.

    Examples
    --------
    >>> [human_duration(s) for s in (42, 600, 3725, 3 * 86400, None)]
    ['42 s', '10 min', '1.0 h', '3.0 d', '–']
    """
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "–"
    s = float(seconds)
    if abs(s) < 60:
        return f"{s:.0f} s"
    if abs(s) < 3600:
        return f"{s / 60:.0f} min"
    if abs(s) < 2 * 86400:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.1f} d"


def human_int(n: float) -> str:
    """``12345`` -> ``"12,345"``."""
    return f"{round(n):,}"
