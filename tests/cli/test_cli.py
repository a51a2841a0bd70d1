"""End-to-end: the ``flowopt`` command on the bundled, a hostile and a real log.

The installed console script runs as a subprocess where the process boundary matters (exit codes,
stderr without tracebacks, files on disk); the other cases call ``flowopt.cli.main`` in-process.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from flowopt.report import validate_document

SCRIPT = "<script>alert(1)</script>"  # as in conftest.hostile_csv

Run = Callable[..., Any]


def _no_traceback(stderr: str) -> None:
    assert "Traceback" not in stderr, stderr


# ----------------------------------------------------------------- the installed script (subprocess)
def test_script_analyze_example_writes_every_output(run_cli: Run, tmp_path: Path) -> None:
    out = tmp_path / "out"
    p = run_cli("analyze", "example", "--html", out / "report.html", "--json", out / "analysis.json",
                "--md", out / "summary.md", "--svg", out / "map.svg")
    assert p.returncode == 0, p.stderr
    _no_traceback(p.stderr)
    doc = json.loads((out / "analysis.json").read_text(encoding="utf-8"))
    validate_document(doc)
    assert doc["log"]["cases"] == 500
    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page.lower()
    assert (out / "summary.md").read_text(encoding="utf-8").startswith("# Process analysis summary")
    assert (out / "map.svg").read_text(encoding="utf-8").lstrip().startswith(("<?xml", "<svg"))
    assert not list(out.glob(".*.tmp")), "atomic writes must not leave temporary files"


def test_script_errors_exit_1_and_2_without_traceback(run_cli: Run, tmp_path: Path) -> None:
    p = run_cli("analyze", tmp_path / "nope.csv", "--json", tmp_path / "a.json")
    assert p.returncode == 1
    _no_traceback(p.stderr)
    assert p.stderr.startswith("flowopt: error:") and "nope.csv" in p.stderr
    assert not (tmp_path / "a.json").exists()
    p = run_cli("analyze", "example", "--nonsense")
    assert p.returncode == 2 and "usage:" in p.stderr
    _no_traceback(p.stderr)


def test_script_real_log_in_chinese(run_cli: Run, data_dir: Path, tmp_path: Path) -> None:
    p = run_cli("analyze", data_dir / "receipt.xes.gz", "--json", tmp_path / "a.json", "--html", tmp_path / "r.html",
                "--md", tmp_path / "s.md", "--lang", "zh")
    assert p.returncode == 0, p.stderr
    doc = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))
    validate_document(doc)
    assert doc["log"]["cases"] == 1434
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "流程分析报告" in page and 'lang="zh-CN"' in page
    assert (tmp_path / "s.md").read_text(encoding="utf-8").startswith("# 流程分析摘要")


# ----------------------------------------------------------------- in-process
def test_analyze_without_outputs_prints_markdown(cli: Run) -> None:
    code, out, err = cli("analyze", "example", "--lang", "zh", "--quiet")
    assert code == 0
    assert out.startswith("# 流程分析摘要")
    assert err == ""


def test_hostile_names_are_inert_everywhere(cli: Run, hostile_csv: Path, tmp_path: Path) -> None:
    code, out, err = cli("analyze", hostile_csv, "--html", tmp_path / "r.html", "--md", tmp_path / "s.md",
                         "--json", tmp_path / "a.json")
    assert code == 0, err
    # the quarantined row becomes one warning line, not a Python warnings dump
    warn_lines = [ln for ln in err.splitlines() if ln.startswith("warning:")]
    assert len(warn_lines) == 1 and "quarantined" in warn_lines[0]
    assert "RowsDroppedWarning" not in err
    doc = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))
    validate_document(doc)
    assert SCRIPT in {n["activity"] for n in doc["graph"]["nodes"]}  # JSON keeps the data as it is
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script" not in (tmp_path / "s.md").read_text(encoding="utf-8")
    # validate: the quarantine export neutralises formulas
    q = tmp_path / "quarantine.csv"
    code, out, err = cli("validate", hostile_csv, "--quarantine-out", q)
    assert code == 0, err
    assert "1 rows quarantined" in out and "unparseable timestamp" in out and "row " in out
    text = q.read_text(encoding="utf-8")
    assert "'=cmd|' /C calc'!A0" in text and "'-not a time" in text and "'+also not a time" in text
    import pandas as pd

    back = pd.read_csv(q, dtype=str, keep_default_na=False)
    assert len(back) == 1
    for value in back.iloc[0]:
        assert not value.startswith(("=", "+", "-", "@")), value


def test_bad_config_is_a_clear_error(cli: Run, tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[colums]\ncase = 'x'\n", encoding="utf-8")
    code, _out, err = cli("analyze", "example", "--config", cfg)
    assert code == 1
    _no_traceback(err)
    assert "colums" in err and "Valid sections" in err
    cfg.write_text("[alerts\n", encoding="utf-8")
    code, _out, err = cli("validate", "example", "--config", cfg)
    assert code == 1 and "bad.toml" in err
    _no_traceback(err)


def test_debug_shows_the_traceback(cli: Run, tmp_path: Path) -> None:
    code, _out, err = cli("analyze", tmp_path / "nope.csv", "--debug")
    assert code == 1 and "Traceback" in err


@pytest.mark.parametrize("args", [(), ("analyze",), ("frobnicate",), ("score", "example"),
                                  ("analyze", "example", "--lang", "fr")])
def test_usage_errors_exit_2(cli: Run, args: tuple[str, ...]) -> None:
    code, _out, err = cli(*args)
    assert code == 2, (args, err)
    assert "usage:" in err
    _no_traceback(err)


def test_unwritable_output_is_exit_1(cli: Run, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _out, err = cli("analyze", "example", "--json", blocker / "sub" / "a.json")
    assert code == 1
    _no_traceback(err)
    assert "file" in err


def test_unexpected_exception_says_it_is_a_bug(cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    import flowopt

    def boom(*a: Any, **k: Any) -> None:
        raise RuntimeError("kaput")

    monkeypatch.setattr(flowopt, "analyze", boom)
    code, _out, err = cli("analyze", "example", "--quiet")
    assert code == 1
    assert "RuntimeError: kaput" in err and "--debug" in err and "bug" in err
    assert "Traceback" not in err


def test_render_writes_dot_svg_png_and_stage_map(cli: Run, tmp_path: Path) -> None:
    from flowopt.discovery import dot_available

    code, out, err = cli("render", "example", "--dot", tmp_path / "m.dot", "--stages")
    assert code == 0, err
    dot = (tmp_path / "m.dot").read_text(encoding="utf-8")
    assert dot.startswith("digraph") and '"approval"' in dot and "Document check" not in dot
    code, out, err = cli("render", "example")
    assert code == 0 and "Document check" in out
    if dot_available():
        code, out, err = cli("render", "example", "--svg", tmp_path / "m.svg", "--png", tmp_path / "m.png")
        assert code == 0, err
        assert (tmp_path / "m.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert "<svg" in (tmp_path / "m.svg").read_text(encoding="utf-8")


def test_compare_logs_and_json(cli: Run, hostile_csv: Path, tmp_path: Path) -> None:
    a_json = tmp_path / "a.json"
    assert cli("analyze", "example", "--json", a_json, "--quiet")[0] == 0
    code, out, err = cli("compare", a_json, "example", "--json", tmp_path / "c.json", "--md", tmp_path / "c.md")
    assert code == 0, err
    doc = json.loads((tmp_path / "c.json").read_text(encoding="utf-8"))
    validate_document(doc)
    assert doc["deltas"]["throughput_p50_s"]["delta"] == 0.0
    assert doc["new_findings"] == [] and doc["resolved_findings"] == []
    assert out.startswith("# Before / after comparison")
    code, out, err = cli("compare", "example", hostile_csv, "--json", tmp_path / "c2.json", "--quiet")
    assert code == 0, err
    doc = json.loads((tmp_path / "c2.json").read_text(encoding="utf-8"))
    validate_document(doc, "comparison")
    assert doc["deltas"]["cases"]["delta"] == 0  # the hostile log has the same 300 cases
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    code, out, err = cli("compare", broken, "example")
    assert code == 1 and "broken.json" in err
    _no_traceback(err)


def _week_csv(folder: Path, start: str, problems: tuple[str, ...]) -> Path:
    from flowopt.datasets._generator import generate_lending_log

    g = generate_lending_log(200, seed=3, problems=problems, start=start, cases_per_day=60)
    path = folder / f"week_{start}.csv"
    g.frame.to_csv(path, index=False)
    return path


def test_score_exit_3_on_alert(cli: Run, run_cli: Run, tmp_path: Path) -> None:
    cfg = tmp_path / "flowopt.toml"
    cfg.write_text('[columns]\ncase = "case_id"\nactivity = "activity"\nstart = "start"\nend = "end"\n'
                   'resource = "resource"\n\n[alerts]\nthroughput_p50_increase_pct = 1.0\n', encoding="utf-8")
    store = tmp_path / "history.duckdb"
    w1 = _week_csv(tmp_path, "2024-01-01", ())
    w2 = _week_csv(tmp_path, "2024-01-08", ("batching",))
    code, _out, err = cli("score", w1, "--history", store, "--config", cfg, "--period", "2024-W01",
                         "--json", tmp_path / "s1.json")
    assert code == 0, err
    validate_document(json.loads((tmp_path / "s1.json").read_text(encoding="utf-8")))
    p = run_cli("score", w2, "--history", store, "--config", cfg, "--period", "2024-W02", "--json",
                tmp_path / "s2.json", "--md", tmp_path / "s2.md")
    assert p.returncode == 3, p.stderr
    assert "alert: throughput_p50_s rose" in p.stderr
    _no_traceback(p.stderr)
    doc = json.loads((tmp_path / "s2.json").read_text(encoding="utf-8"))
    validate_document(doc)
    assert doc["previous_period"] == "2024-W01" and doc["alerts"][0]["name"] == "throughput_p50_increase_pct"
    assert (tmp_path / "s2.md").read_text(encoding="utf-8").startswith("# Weekly score: 2024-W02")
    bad = tmp_path / "not_a_store.duckdb"
    bad.write_text("garbage" * 200)
    code, _out, err = cli("score", w1, "--history", bad)
    assert code == 1 and "not_a_store.duckdb" in err
    _no_traceback(err)
