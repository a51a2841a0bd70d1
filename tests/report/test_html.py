"""The HTML report: self-contained, escaped, translated, and rendered by a real headless browser."""

from __future__ import annotations

import html
import os
import re
import warnings
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

import flowopt
from flowopt.datasets import example_log_path
from flowopt.report import to_html
from flowopt.report._html import clean_svg

SCRIPT = "<script>alert(1)</script>"
FORMULA = '=HYPERLINK("http://evil.example/x","click")'
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def example() -> tuple[flowopt.Analysis, flowopt.EventLog]:
    log = flowopt.datasets.example_log()
    return flowopt.analyze(log), log


@pytest.fixture(scope="module")
def hostile() -> tuple[flowopt.Analysis, flowopt.EventLog]:
    df = pd.read_csv(example_log_path(), keep_default_na=False, dtype=str)
    df["activity"] = df["activity"].replace({"Document check": SCRIPT, "Credit scoring": FORMULA,
                                             "Contract signing": "Sign \" onload=\"alert(2)"})
    df["case_id"] = df["case_id"].str.replace("C0000", "<img src=x onerror=alert(3)>", regex=False)
    log = flowopt.read_log(df)
    return flowopt.analyze(log), log


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.handlers: list[tuple[str, str]] = []
        self.refs: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.handlers += [(tag, k) for k, v in attrs if k.startswith("on") or "javascript:" in (v or "").lower()]
        self.refs += [v or "" for k, v in attrs if k in ("src", "href", "xlink:href", "data", "srcset", "poster")]
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.refs += re.findall(r"url\(([^)]*)\)|@import", data)


def _parse(page: str) -> tuple[set[str], list[tuple[str, str]]]:
    """Element names and event-handler / javascript: attributes, as a browser's tokenizer sees them."""
    p = _Tags()
    p.feed(page)
    return p.tags, p.handlers


def _external_refs(page: str) -> list[str]:
    """Anything the browser would fetch: src/href-like attributes, CSS url() and @import."""
    p = _Tags()
    p.feed(page)
    return p.refs


def test_self_contained_and_complete(example: tuple[flowopt.Analysis, flowopt.EventLog]) -> None:
    analysis, log = example
    page = to_html(analysis, log=log)
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page.lower() and "<link" not in page.lower()
    assert _external_refs(page) == []
    for section in ("headline", "suggestions", "findings", "stages", "map", "charts", "variants", "quality"):
        assert f'id="{section}"' in page
    # headline figures, stage view, charts (3 wait histograms + weekly trend + WIP), map
    assert "500" in page and "approval" in page
    assert page.count('class="chart"') == 5
    assert "<svg" in page
    text = html.unescape(page)
    for f in analysis.findings:
        assert f.summary in text


def test_without_log_still_has_charts(example: tuple[flowopt.Analysis, flowopt.EventLog]) -> None:
    page = to_html(example[0])
    assert page.count('class="chart"') >= 1 and _external_refs(page) == []


def test_chinese_labels(example: tuple[flowopt.Analysis, flowopt.EventLog]) -> None:
    from flowopt.report._i18n import labels

    page = to_html(example[0], lang="zh")
    zh = labels("zh")
    for key in ("title", "headline", "suggestions", "findings", "stages", "process_map", "charts", "variants"):
        assert zh[key] in page, key
    for key in ("headline", "process_map", "variants"):
        assert labels("en")[key] not in page
    with pytest.raises(flowopt.errors.ParameterError, match="lang"):
        to_html(example[0], lang="fr")


def test_hostile_names_are_inert(hostile: tuple[flowopt.Analysis, flowopt.EventLog]) -> None:
    analysis, log = hostile
    page = to_html(analysis, log=log)
    assert "<script" not in page.lower()
    assert "<img" not in page.lower()
    tags, handlers = _parse(page)
    assert "script" not in tags and "img" not in tags and "iframe" not in tags
    assert handlers == [], handlers
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert _external_refs(page) == []


def test_clean_svg_refuses_active_content() -> None:
    assert clean_svg('<?xml version="1.0"?><!-- x --><svg><g/></svg>') == "<svg><g/></svg>"
    assert clean_svg("<svg><script>alert(1)</script></svg>") is None
    assert clean_svg('<svg><a xlink:href="javascript:alert(1)"/></svg>') is None
    assert clean_svg('<svg onload="x()"></svg>') is None


def _launch_or_skip():  # type: ignore[no-untyped-def]
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing in CI: scripts/setup.sh must install chromium")
        pytest.skip(f"{CHROMIUM} is not installed (the test is mandatory in CI)")
    from playwright.sync_api import sync_playwright

    return sync_playwright


def test_renders_in_headless_chromium(hostile: tuple[flowopt.Analysis, flowopt.EventLog], tmp_path: Path) -> None:
    sync_playwright = _launch_or_skip()
    analysis, log = hostile
    html_path = tmp_path / "report.html"
    html_path.write_text(to_html(analysis, log=log), encoding="utf-8")
    shot = tmp_path / "report_screenshot.png"
    problems: list[str] = []
    requests: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                page = browser.new_page(viewport={"width": 1200, "height": 900})
                page.on("console", lambda m: problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning")
                        else None)
                page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
                page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
                page.on("request", lambda r: requests.append(r.url))
                page.goto(html_path.as_uri(), wait_until="load")
                assert page.title().startswith("Process analysis report")
                assert page.locator("section").count() == 8
                assert page.locator("svg.chart").count() == 5
                assert page.locator("#map svg").count() >= 1 or page.locator("#map pre").count() == 1
                # the hostile name is shown as text, and no element was created from it
                assert SCRIPT in page.inner_text("body")
                assert page.locator("script").count() == 0 and page.locator("img").count() == 0
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= 1200, f"the page is wider than the window: {width}px"
                page.screenshot(path=str(shot), full_page=True)
                out_dir = os.environ.get("FLOWOPT_SCREENSHOT_DIR")
                if out_dir:
                    Path(out_dir).mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(Path(out_dir) / "report_screenshot.png"), full_page=True)
            finally:
                browser.close()
    assert problems == []
    assert [u for u in requests if not u.startswith("file://")] == []
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
