"""Markdown summaries for tickets and e-mails: the analysis, a weekly score, a before/after comparison.

All three work on plain JSON documents (``Analysis.to_dict()``, ``ScoreResult.to_dict()``,
``Comparison.to_dict()``), so they render stored results as well as fresh ones. Every string from the
log goes through :func:`~flowopt.report._escape.escape_md`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flowopt.report._escape import escape_md as e
from flowopt.report._format import fmt_hours, fmt_value
from flowopt.report._i18n import kpi_label, labels

__all__ = ["analysis_markdown", "comparison_markdown", "score_markdown"]

_IDENT = re.compile(r"^[a-z0-9_]+$")


def _key(k: str) -> str:
    """KPI names are identifiers (shown as they are); anything else is escaped."""
    return k if _IDENT.match(k) else e(k)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def analysis_markdown(doc: Mapping[str, Any], lang: str = "en", *, top: int = 5) -> str:
    """Markdown summary of an analysis document.

    Examples
    --------
    >>> import flowopt
    >>> md = analysis_markdown(flowopt.analyze(flowopt.datasets.example_log()).to_dict())
    >>> md.splitlines()[0]
    '# Process analysis summary: example\\\\_log.csv'
    """
    L = labels(lang)
    lg, kp = doc["log"], doc["kpis"]
    lines = [f"# {L['summary_title']}: {e(lg.get('source') or '–')}", "",
             (f"{L['period']}: {e((lg.get('start') or '–')[:10])} – {e((lg.get('end') or '–')[:10])} · "
              f"{L['cases']}: {fmt_value('cases', lg.get('cases'))} · "
              f"{L['events']}: {fmt_value('events', lg.get('events'))} · "
              f"{L['rows_quarantined']}: {fmt_value('rows', lg.get('rows_quarantined'))}"), "",
             f"## {L['headline']}", ""]
    lines += _table([L["kpi"], L["value"]], [[e(kpi_label(k, lang)), e(fmt_value(k, v, lang))] for k, v in kp.items()
                                             if not isinstance(v, list)])
    lines += ["", f"## {L['top_suggestions']}", ""]
    sug = list(doc.get("suggestions", []))[:top]
    if sug:
        lines += _table(["#", L["action"], L["heuristic"], L["hours_per_case"], L["hours_total"], L["p50_change"]],
                        [[str(i + 1), e(s["action"]), e(s["heuristic"]),
                          fmt_hours(s["estimated_saving"].get("hours_per_case")),
                          fmt_hours(s["estimated_saving"].get("hours_total")),
                          e(fmt_value("change_pct", s["estimated_saving"].get("throughput_p50_change_pct")))]
                         for i, s in enumerate(sug)])
    else:
        lines.append(L["no_suggestions"])
    lines += ["", f"## {L['top_findings']}", ""]
    fs = list(doc.get("findings", []))[:top]
    if fs:
        for f in fs:
            where = " → ".join(f["edge"]) if f.get("edge") else ", ".join(f["activities"])
            lines.append(f"- **{e(L.get(f['severity'], f['severity']))}** · {e(f['kind'])} · {e(where)}: "
                         f"{e(f['summary'])} ({L['cases_affected']}: {fmt_value('cases', f.get('cases_affected'))})")
        if len(doc["findings"]) > top:
            lines.append(f"- … +{len(doc['findings']) - top}")
    else:
        lines.append(L["no_findings"])
    return "\n".join(lines) + "\n"


def _delta_rows(deltas: Mapping[str, Mapping[str, Any]]) -> list[list[str]]:
    rows = []
    for k, d in deltas.items():
        rows.append([_key(k), e(fmt_value(k, d.get("previous"))), e(fmt_value(k, d.get("baseline"))),
                     e(fmt_value(k, d.get("current"))), e(fmt_value("change_pct", d.get("delta_pct")))])
    return rows


def _finding_lines(items: list[Mapping[str, Any]], L: dict[str, str]) -> list[str]:
    if not items:
        return [f"- {L['none']}"]
    return [f"- **{e(L.get(f.get('severity', ''), f.get('severity', '')))}** · {e(f.get('kind'))}: "
            f"{e(f.get('summary'))} (`{e(f.get('id'))}`)" for f in items]


def score_markdown(doc: Mapping[str, Any], lang: str = "en") -> str:
    """Markdown of a weekly score (``ScoreResult.to_dict()``)."""
    L = labels(lang)
    lines = [f"# {L['score_title']}: {e(doc['period'])}", ""]
    if doc.get("previous_period") is None:
        lines += [L["first_period"], ""]
    lines += [f"## {L['alerts']}", ""]
    lines += [f"- ⚠ {e(a['message'])}" for a in doc.get("alerts", [])] or [L["no_alerts"]]
    lines += ["", f"## {L['headline']}", ""]
    lines += _table([L["kpi"], f"{L['previous']} ({e(doc.get('previous_period') or '–')})", L["baseline"],
                     L["current"], L["delta"]], _delta_rows(doc.get("deltas", {})))
    lines += ["", f"## {L['new_findings']}", ""] + _finding_lines(doc.get("new_findings", []), L)
    lines += ["", f"## {L['resolved_findings']}", ""] + _finding_lines(doc.get("resolved_findings", []), L)
    dr = doc.get("drift")
    if dr:
        lines += ["", f"## {L['drift']}", "", e(dr.get("summary", ""))]
    return "\n".join(lines) + "\n"


def comparison_markdown(doc: Mapping[str, Any], lang: str = "en") -> str:
    """Markdown of a before/after comparison (``Comparison.to_dict()``)."""
    L = labels(lang)
    lines = [f"# {L['compare_title']}", "", (f"{L['before']}: {e(doc.get('before', {}).get('source') or '–')} · "
                                              f"{L['after']}: {e(doc.get('after', {}).get('source') or '–')}"), ""]
    rows = [[_key(k), e(fmt_value(k, d.get("previous"))), e(fmt_value(k, d.get("current"))),
             e(fmt_value("change_pct", d.get("delta_pct")))] for k, d in doc.get("deltas", {}).items()]
    lines += _table([L["kpi"], L["before"], L["after"], L["delta"]], rows)
    lines += ["", f"## {L['new_findings']}", ""] + _finding_lines(doc.get("new_findings", []), L)
    lines += ["", f"## {L['resolved_findings']}", ""] + _finding_lines(doc.get("resolved_findings", []), L)
    return "\n".join(lines) + "\n"
