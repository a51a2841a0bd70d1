"""``analyze``: the whole analysis of a log, as one result object and one JSON document."""

from __future__ import annotations

import html
import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from flowopt.analysis import DETECTORS, Findings, jsonable
from flowopt.analysis._signoff_steps import signoff_steps
from flowopt.analysis._signoffs import _shared_context
from flowopt.analysis._waits import compute_waits
from flowopt.discovery import (
    ProcessGraph,
    StageView,
    Variants,
    discover_graph,
    discover_stages,
    discover_variants,
)
from flowopt.log import EventLog
from flowopt.options import Config, load_config
from flowopt.suggest import Suggestions

__all__ = ["SCHEMA_VERSION", "Analysis", "analyze"]

SCHEMA_VERSION = "1"

# detectors that read the sign-off table or the wait-cause table (cached per log): they run after the others
_NEEDS = {"knockout_order": "signoffs", "redundant_signoff": "signoffs", "sequential_signoffs": "signoffs",
          "signoff_triage": "signoffs", "bottleneck": "waits", "wait_hotspot": "waits"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Analysis:
    """Everything :func:`analyze` found. ``to_dict()`` is the versioned JSON document of the contract.

    Examples
    --------
    >>> import flowopt
    >>> a = flowopt.analyze(flowopt.datasets.example_log())
    >>> a.to_dict()["schema_version"]
    '1'
    """

    log_summary: Mapping[str, Any]
    kpis: Mapping[str, Any]
    graph: ProcessGraph
    stages: StageView
    variants: Variants
    findings: Findings
    suggestions: Suggestions
    config: Config = field(repr=False)
    extras: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON document (``schema_version`` "1"); deterministic for a given log and config."""
        return {
            "schema_version": SCHEMA_VERSION,
            "log": jsonable(self.log_summary),
            "kpis": jsonable(self.kpis),
            "graph": self.graph.to_dict(),
            "stages": self.stages.to_dict(),
            "variants": self.variants.to_dict(top=20),
            "findings": self.findings.to_dict(),
            "suggestions": self.suggestions.to_dict(),
            **({"extras": jsonable(self.extras)} if self.extras else {}),
        }

    def to_json(self, indent: int | None = 2) -> str:
        """The JSON document as text (keys in a fixed order, UTF-8 kept readable)."""
        import json

        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent, allow_nan=False)

    def __repr__(self) -> str:
        return (f"Analysis({self.log_summary.get('cases', 0):,} cases: {len(self.findings)} findings, "
                f"{len(self.suggestions)} suggestions)")

    def _repr_html_(self) -> str:
        k = self.kpis
        head = "".join(f"<li>{html.escape(str(key))}: {html.escape(str(val))}</li>" for key, val in list(k.items())[:8])
        return (f"<div><strong>{html.escape(repr(self))}</strong><ul>{head}</ul>"
                f"{self.suggestions._repr_html_()}{self.findings._repr_html_()}</div>")

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/plain": repr(self), "text/html": self._repr_html_()}


def log_summary(log: EventLog) -> dict[str, Any]:
    """The ``log`` section of the JSON document."""
    lo, hi = log.time_range if len(log) else (None, None)
    return {"source": os.path.basename(log.source) if log.source and not log.source.startswith("<") else log.source,
            "events": len(log), "cases": log.n_cases, "activities": len(log.activities),
            "start": lo.isoformat() if lo is not None else None, "end": hi.isoformat() if hi is not None else None,
            "rows_in": log.rows_in, "rows_used": log.rows_used, "rows_quarantined": len(log.quarantine),
            "quarantine_reasons": {str(k): int(v) for k, v in
                                   log.quarantine["reason"].value_counts().sort_index().items()}
            if len(log.quarantine) else {},
            "has_start_times": log.has_start, "has_resources": log.has_resource, "has_roles": log.has_role,
            "columns": log.mapping}


def _merge(base: Config, override: Config) -> Config:
    """``override``'s sections where it sets them, ``base``'s elsewhere.

    A config given to :func:`analyze` refines the one the log was read with: passing only
    ``{"analysis": {...}}`` must not drop the log's ``[signoffs] protected`` controls or its cost rates.
    """
    import dataclasses

    defaults = Config()
    changes = {f.name: getattr(override, f.name) for f in dataclasses.fields(Config)
               if f.name != "source" and getattr(override, f.name) != getattr(defaults, f.name)}
    return dataclasses.replace(base, **changes)


def analyze(log: EventLog, config: Config | Mapping[str, Any] | str | os.PathLike[str] | None = None) -> Analysis:
    """Run the whole analysis: graph, stage view, variants, KPIs, every detector, suggestions.

    Parameters
    ----------
    log : EventLog
        From :func:`flowopt.read_log`.
    config : None, dict, Config or TOML path
        Analysis settings (sign-offs, costs, SLA, thresholds). ``None`` uses the config the log was read with;
        otherwise each section given replaces that section of the log's config, and the others are kept
        (so protected controls and cost rates survive a tweak of ``[analysis]``).

    Returns
    -------
    Analysis

    Notes
    -----
    On logs of 200,000 events or more, ``analyze`` uses ``[analysis] threads`` threads (default 2): they
    compute the sign-off and wait-cause tables while the graph is discovered, then run the detectors side by
    side while the calling thread computes the KPIs, the stage view and the variants, and estimate the
    suggestions that many at a time. The result is the same as with ``threads = 1``.

    Examples
    --------
    >>> import flowopt
    >>> a = flowopt.analyze(flowopt.datasets.example_log())
    >>> sorted(a.to_dict())[:4]
    ['findings', 'graph', 'kpis', 'log']
    """
    from flowopt.analysis._kpis import compute_kpis
    from flowopt.suggest import _suggest as suggest_module
    from flowopt.suggest._suggest import replay_inputs, suggest

    cfg = log.config if config is None else _merge(log.config, load_config(config))
    log.codes()  # computed once here, before a helper thread may need them
    # the same size threshold as the suggestions' threads: one rule for when [analysis] threads applies
    overlap = len(log) >= suggest_module._THREADS_MIN_EVENTS and cfg.analysis.threads > 1
    pool = ThreadPoolExecutor(max_workers=cfg.analysis.threads) if overlap else None
    try:
        # the pool first computes the two big intermediate tables (cached per log) while this thread discovers
        # the graph; then it runs the detectors, each detector that reads one of the tables waiting for it
        # first (submitted earlier, so already running: no deadlock), while this thread computes the KPIs,
        # the stage view and the variants; results are gathered in a fixed order, so the document does not
        # depend on timing
        ready = {} if pool is None else {
            "signoffs": pool.submit(lambda: _shared_context(signoff_steps(log, cfg))),
            "waits": pool.submit(compute_waits, log)}
        graph = discover_graph(log)
        order = sorted(DETECTORS, key=lambda d: (_NEEDS.get(d, ""), d))

        def detect(name: str) -> list[Any]:
            if name in _NEEDS and _NEEDS[name] in ready:
                ready[_NEEDS[name]].result()
            return list(DETECTORS[name](log, graph, cfg))

        if pool is None:
            per_detector = {name: detect(name) for name in order}
        else:
            running = {name: pool.submit(detect, name) for name in order}
            # this thread would only wait for the findings: it computes the views that need none meanwhile, and
            # the suggestions' inputs (cached for suggest())
            kpi_values, stages, variants = compute_kpis(log, graph, cfg), discover_stages(log), discover_variants(log)
            replay_inputs(log)
            per_detector = {name: running[name].result() for name in order}
        findings = Findings([f for name in sorted(DETECTORS) for f in per_detector[name]])
        suggestions = suggest(log, findings, graph, cfg)
        if pool is None:
            kpi_values, stages, variants = compute_kpis(log, graph, cfg), discover_stages(log), discover_variants(log)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    return Analysis(log_summary=log_summary(log), kpis=kpi_values, graph=graph, stages=stages, variants=variants,
                    findings=findings, suggestions=suggestions, config=cfg)
