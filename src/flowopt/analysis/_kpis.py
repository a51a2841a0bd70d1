"""KPIs a service team is judged by (the ``kpis`` section of the JSON document)."""

from __future__ import annotations

from typing import Any

import numpy as np

from flowopt.discovery import ProcessGraph, case_table
from flowopt.log import EventLog
from flowopt.options import Config

__all__ = ["compute_kpis"]


def compute_kpis(log: EventLog, graph: ProcessGraph, config: Config) -> dict[str, Any]:
    """Throughput-time percentiles and case counts.

    Examples
    --------
    >>> import flowopt
    >>> k = compute_kpis(flowopt.datasets.example_log(), None, flowopt.Config())
    >>> k["throughput_p50_s"] <= k["throughput_p90_s"]
    True
    """
    ct = case_table(log)
    tp = ct["throughput_s"].to_numpy(dtype=float)
    out: dict[str, Any] = {
        "cases": int(len(ct)),
        "throughput_p50_s": float(np.percentile(tp, 50)) if len(tp) else None,
        "throughput_p90_s": float(np.percentile(tp, 90)) if len(tp) else None,
        "throughput_mean_s": float(tp.mean()) if len(tp) else None,
        "events_per_case": float(ct["events"].mean()) if len(ct) else None,
    }
    return out
