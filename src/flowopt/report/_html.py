"""The HTML report: one self-contained file a manager can read (inline CSS and SVG, no scripts).

Every string that comes from the log goes through Jinja2's autoescaping; the only markup inserted
as-is is SVG this module generates (its text escaped) or Graphviz output (text escaped by Graphviz,
comments and prolog stripped).
"""

from __future__ import annotations

import re
from importlib import resources
from typing import TYPE_CHECKING, Any

import jinja2
import pandas as pd
from markupsafe import Markup

from flowopt.report._charts import bars_svg, histogram_svg, timeline_svg, trend_svg
from flowopt.report._format import fmt_hours, fmt_value
from flowopt.report._i18n import kpi_label, labels

if TYPE_CHECKING:
    from flowopt import Analysis, EventLog

__all__ = ["to_html"]

_CARD_KPIS = ("throughput_p50_s", "throughput_p90_s", "throughput_mean_s", "events_per_case")
_CARD_LABEL = {"throughput_p50_s": "throughput_p50", "throughput_p90_s": "throughput_p90",
               "throughput_mean_s": "throughput_mean", "events_per_case": "events_per_case"}


def _env() -> jinja2.Environment:
    loader = jinja2.DictLoader({"report.html.j2": (resources.files("flowopt.report") / "templates" /
                                                   "report.html.j2").read_text(encoding="utf-8")})
    return jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True)


_SVG_JUNK = re.compile(r"<\?xml.*?\?>|<!DOCTYPE.*?>|<!--.*?-->", re.DOTALL)
_SVG_DANGER = re.compile(r"<\s*(script|foreignObject|iframe|object|embed)\b|\son\w+\s*=|javascript:", re.IGNORECASE)


def clean_svg(svg: str) -> str | None:
    """Graphviz SVG ready to inline: prolog, doctype and comments removed; None if anything active remains."""
    body = _SVG_JUNK.sub("", svg).strip()
    if not body.startswith("<svg") or _SVG_DANGER.search(body):
        return None
    return body


_MAP_EDGES = 40  # more arrows than this make a map nobody can read; the JSON keeps every edge


def _map_scope(analysis: Analysis, lang: str) -> str:
    """'Showing 40 of 138 arrows (91% of transitions)' when the map is simplified, else ''."""
    from flowopt.discovery import filter_graph

    total = len(analysis.graph.edges)
    if total <= _MAP_EDGES:
        return ""
    info = filter_graph(analysis.graph, max_edges=_MAP_EDGES).filtered
    kept, share = int(info["edges_kept"]), float(info["transitions_covered"])
    if lang == "zh":
        return f"为便于阅读，仅显示 {total} 条连线中最常见的 {kept} 条（覆盖 {share:.0%} 的流转）；完整数据见 JSON。"
    return (f"Simplified for reading: the {kept} most frequent of {total} arrows ({share:.0%} of all transitions); "
            "the JSON document keeps every edge.")


def _process_map(analysis: Analysis) -> tuple[str | None, str]:
    from flowopt.discovery import dot_available

    dot = analysis.graph.to_dot(max_edges=_MAP_EDGES)
    if not dot_available():
        return None, dot
    try:
        return clean_svg(analysis.graph.to_svg(max_edges=_MAP_EDGES)), dot
    except Exception:  # noqa: BLE001 - a failing `dot` must not cost the whole report; the DOT text is shown instead
        return None, dot


def _charts(analysis: Analysis, log: EventLog | None, L: dict[str, str]) -> list[tuple[str, Markup]]:
    from flowopt.report._series import chart_data, top_wait_edges

    out: list[tuple[str, Markup]] = []
    if log is not None:
        data = chart_data(log, analysis.graph)
        for src, dst, waits in data.edge_waits:
            title = f"{L['wait_distribution']}: {src} → {dst}"
            out.append((title, Markup(histogram_svg(waits, title=title, xlabel=L["wait_hours"],
                                                    ylabel=L["share_cases"]))))
        w = data.weekly
        out.append((L["throughput_trend"], Markup(trend_svg(
            list(w["week"]), w["completed"].to_numpy(float), w["throughput_median_s"].to_numpy(float) / 86400.0,
            title=L["throughput_trend"], bar_label=L["completed"], line_label=L["median_days"]))))
        out.append((L["wip"], Markup(timeline_svg(list(data.wip["day"]), data.wip["open"].to_numpy(float),
                                                  title=L["wip"], ylabel=L["open_cases"]))))
    else:
        weekly = analysis.kpis.get("weekly")
        if isinstance(weekly, list) and weekly and {"week", "cases", "p50_s"} <= set(weekly[0]):
            out.append((L["throughput_trend"], Markup(trend_svg(
                [pd.Timestamp(w["week"]) for w in weekly], [float(w["cases"] or 0) for w in weekly],
                [float(w["p50_s"]) / 86400.0 if w["p50_s"] is not None else float("nan") for w in weekly],
                title=L["throughput_trend"], bar_label=L["completed"], line_label=L["median_days"]))))
        top = top_wait_edges(analysis.graph, 8)
        if len(top):
            out.append((L["edge_waits"], Markup(bars_svg(
                [f"{s} → {t}" for s, t in zip(top["source"], top["target"])], top["wait_median_s"].to_numpy(float) / 3600,
                top["wait_p90_s"].to_numpy(float) / 3600, title=L["edge_waits"], a_label=L["wait_median"],
                b_label=L["wait_p90"]))))
    return out


def _money(value: Any, currency: Any) -> str:
    if value is None:
        return "–"
    return f"{float(value):,.0f} {currency or ''}".strip()


def context(analysis: Analysis, lang: str = "en", log: EventLog | None = None) -> dict[str, Any]:
    """The values the template shows (plain strings; escaping happens in the template)."""
    import flowopt

    L = labels(lang)
    doc = analysis.to_dict()
    lg, kp = doc["log"], doc["kpis"]
    cards = [{"label": L["cases"], "value": fmt_value("cases", lg.get("cases"))},
             {"label": L["events"], "value": fmt_value("events", lg.get("events"))}]
    cards += [{"label": L[_CARD_LABEL[k]], "value": fmt_value(k, kp.get(k))} for k in _CARD_KPIS if k in kp]
    cards += [{"label": L["findings_count"], "value": str(len(doc["findings"]))},
              {"label": L["suggestions_count"], "value": str(len(doc["suggestions"]))}]
    if doc["suggestions"]:
        cards.append({"label": L["saving_total"],
                      "value": fmt_hours(doc["suggestions"][0]["estimated_saving"].get("hours_total"))})
    suggestions = [{"action": s["action"], "heuristic": s["heuristic"], "activities": " · ".join(s["activities"]),
                    "protected": s.get("protected", False),
                    "hours_per_case": fmt_hours(s["estimated_saving"].get("hours_per_case")),
                    "hours_total": fmt_hours(s["estimated_saving"].get("hours_total")),
                    "cost": _money(s["estimated_saving"].get("cost_total"), s["estimated_saving"].get("currency")),
                    "p50_change": fmt_value("change_pct", s["estimated_saving"].get("throughput_p50_change_pct")),
                    "risk": s["risk"]} for s in doc["suggestions"]]
    findings = [{"severity": f["severity"], "severity_label": L.get(f["severity"], f["severity"]),
                 "summary": f["summary"], "kind": f["kind"], "category": L.get(f["category"], f["category"]),
                 "cases_affected": fmt_value("cases", f.get("cases_affected")),
                 "edge": " → ".join(f["edge"]) if f.get("edge") else "", "activities": " · ".join(f["activities"]),
                 "evidence": [(k, fmt_value(k, v)) for k, v in sorted(f.get("evidence", {}).items())],
                 "example_cases": ", ".join(f.get("example_cases", [])[:10])} for f in doc["findings"]]
    st = doc.get("stages", {})
    stages = [{"stage": s["stage"], "cases": fmt_value("cases", s.get("cases")),
               "visits": fmt_value("visits", s.get("visits")), "median": fmt_value("_s", s.get("time_in_median_s")),
               "p90": fmt_value("_s", s.get("time_in_p90_s"))} for s in st.get("stages", [])]
    transitions = [{"source": t["source"], "target": t["target"], "count": fmt_value("count", t.get("count")),
                    "median": fmt_value("_s", t.get("wait_median_s")), "p90": fmt_value("_s", t.get("wait_p90_s"))}
                   for t in st.get("transitions", [])]
    variants = [{"path": " → ".join(v["activities"]), "cases": fmt_value("cases", v["cases"]),
                 "share": f"{v['share']:.1%}", "median": fmt_value("_s", v.get("throughput_median_s"))}
                for v in doc.get("variants", [])[:10]]
    map_svg, map_dot = _process_map(analysis)
    period = f"{(lg.get('start') or '–')[:10]} – {(lg.get('end') or '–')[:10]}"
    return {
        "L": L, "lang_attr": "zh-CN" if lang == "zh" else "en", "source": lg.get("source") or "–", "period": period,
        "cards": cards, "kpis": [{"name": kpi_label(k, lang), "value": fmt_value(k, v, lang), "long": isinstance(v, dict)}
                 for k, v in kp.items() if not isinstance(v, list)],
        "suggestions": suggestions, "show_cost": any(s["cost"] != "–" for s in suggestions), "findings": findings, "stages": stages, "transitions": transitions,
        "map_svg": Markup(map_svg) if map_svg else None, "map_dot": map_dot, "map_scope": _map_scope(analysis, lang),
        "charts": _charts(analysis, log, L), "variants": variants,
        "rows_in": fmt_value("rows", lg.get("rows_in")), "rows_quarantined": fmt_value("rows", lg.get("rows_quarantined")),
        "reasons": sorted((lg.get("quarantine_reasons") or {}).items()), "version": flowopt.__version__,
    }


def to_html(analysis: Analysis, lang: str = "en", *, log: EventLog | None = None) -> str:
    """Render ``analysis`` as one self-contained HTML page.

    Parameters
    ----------
    analysis : Analysis
        From :func:`flowopt.analyze`.
    lang : {"en", "zh"}
        Language of the fixed labels (names from the log are shown as they are).
    log : EventLog, optional
        The analysed log; when given, the report adds waiting-time histograms of the longest hand-offs,
        the weekly throughput trend and work in progress over time.

    Returns
    -------
    str
        HTML with inline CSS and SVG only: no script, font or stylesheet is fetched at view time.

    Examples
    --------
    >>> import flowopt
    >>> from flowopt.report import to_html
    >>> page = to_html(flowopt.analyze(flowopt.datasets.example_log()))
    >>> page.startswith("<!DOCTYPE html>"), "<script" in page
    (True, False)
    """
    return _env().get_template("report.html.j2").render(**context(analysis, lang, log))
