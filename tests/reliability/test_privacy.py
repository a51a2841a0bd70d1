"""Privacy: pseudonymised logs keep every count and finding, and no raw case id, resource name or customer
identifier appears in any output (JSON, HTML, Markdown, quarantine CSV; the CLI once it has --pseudonymize).

The raw identifiers are distinctive tokens (``Kq7case0001``, ``emp_Zx_bram_w``, ``CUSTz0001``) so a plain
substring search cannot be fooled by ordinary words, and a positive control shows the same search does find
them in the outputs of the log before pseudonymisation.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import flowopt
from flowopt._privacy import identifier_columns, key_from_env, pseudonym, pseudonymize
from flowopt.errors import ConfigError, ParameterError, QuarantineReason, RowsDroppedWarning

KEY = b"test-key-0123456789abcdef"


def _read(source: Any, config: Any = None) -> flowopt.EventLog:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RowsDroppedWarning)
        return flowopt.read_log(source, config)


@pytest.fixture(scope="module")
def raw() -> tuple[pd.DataFrame, dict[str, Any]]:
    """A generated lending log with distinctive ids, a customer column and a few rows that get quarantined."""
    g = flowopt.datasets.generate_lending_log(160, seed=9, problems=("rubber_stamp", "understaffed", "rework"))
    f = g.frame.copy()
    f["case_id"] = "Kq7case" + f["case_id"].astype(str).str.slice(-4)
    f["resource"] = "emp_Zx_" + f["resource"].astype(str).str.replace(".", "_", regex=False)
    f["customer_id"] = "CUSTz" + f["case_id"].str.slice(-4)
    bad = f.iloc[:3].copy()
    bad["end"] = "not a time"
    return pd.concat([f, bad], ignore_index=True), g.config


@pytest.fixture(scope="module")
def secrets(raw: tuple[pd.DataFrame, dict[str, Any]]) -> list[str]:
    f = raw[0]
    return sorted(set(f["case_id"]) | set(f["resource"].dropna()) | set(f["customer_id"]))


@pytest.fixture(scope="module")
def logs(raw: tuple[pd.DataFrame, dict[str, Any]]) -> tuple[flowopt.EventLog, flowopt.EventLog]:
    log = _read(raw[0], raw[1])
    return log, pseudonymize(log, KEY)


def _outputs(log: flowopt.EventLog) -> dict[str, str]:
    """Every output flowopt produces for a log: JSON, HTML, Markdown, the quarantine CSV, the repr."""
    from flowopt.report import csv_safe_frame, to_html, to_markdown

    a = flowopt.analyze(log)
    return {"json": json.dumps(a.to_dict(), ensure_ascii=False), "html": to_html(a, log=log),
            "md": to_markdown(a), "quarantine.csv": csv_safe_frame(log.quarantine).to_csv(index=False),
            "events": log.to_pandas().to_csv(index=False), "repr": repr(log) + log._repr_html_()}


def _leaks(texts: dict[str, str], secrets: list[str]) -> dict[str, list[str]]:
    return {name: found for name, text in texts.items() if (found := [s for s in secrets if s in text])}


# --------------------------------------------------------------------------- the key


def test_key_from_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FLOWOPT_PSEUDONYM_KEY", "  0123456789abcdef0123  \n")
    assert key_from_env() == b"0123456789abcdef0123"
    monkeypatch.setenv("MY_KEY", "another-key-of-enough-length")
    assert key_from_env("MY_KEY") == b"another-key-of-enough-length"
    key_file = tmp_path / "key"
    key_file.write_bytes(b"file-key-0123456789abcdef\n")
    assert key_from_env(file=key_file) == b"file-key-0123456789abcdef"  # the file wins over the variable


def test_key_missing_or_weak_is_a_clear_config_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("FLOWOPT_PSEUDONYM_KEY", raising=False)
    with pytest.raises(ConfigError, match=r"FLOWOPT_PSEUDONYM_KEY is empty or unset.*secrets\.token_hex"):
        key_from_env()
    with pytest.raises(ConfigError, match=r"key file .*nokey does not exist"):
        key_from_env(file=tmp_path / "nokey")
    (tmp_path / "empty").write_bytes(b"\n")
    with pytest.raises(ConfigError, match=r"0 bytes; it must be at least 16"):
        key_from_env(file=tmp_path / "empty")
    monkeypatch.setenv("FLOWOPT_PSEUDONYM_KEY", "short")
    with pytest.raises(ConfigError, match=r"5 bytes; it must be at least 16"):
        key_from_env()


def test_bad_key_type(logs: tuple[flowopt.EventLog, flowopt.EventLog]) -> None:
    with pytest.raises(ParameterError, match=r"'key' parameter of pseudonymize must be bytes"):
        pseudonymize(logs[0], "a text key, not bytes")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- the pseudonymised log


def test_same_counts_and_shape(logs: tuple[flowopt.EventLog, flowopt.EventLog]) -> None:
    log, anon = logs
    assert (len(anon), anon.n_cases, anon.activities) == (len(log), log.n_cases, log.activities)
    assert (anon.rows_in, anon.rows_used, len(anon.quarantine)) == (log.rows_in, log.rows_used, len(log.quarantine))
    assert anon.quarantine["reason"].tolist() == [QuarantineReason.BAD_TIMESTAMP.value] * 3
    a, b = log.to_pandas(), anon.to_pandas()
    assert b["case_id"].str.fullmatch(r"c_[0-9a-f]{20}").all()
    assert b["resource"].dropna().str.fullmatch(r"r_[0-9a-f]{20}").all()
    assert b["customer_id"].str.fullmatch(r"u_[0-9a-f]{20}").all()
    # a bijection on cases, and each case keeps its event sequence
    seq_a = a.groupby("case_id", sort=False)["activity"].agg(tuple)
    seq_b = b.groupby("case_id", sort=False)["activity"].agg(tuple)
    mapped = {pseudonym(c, KEY, "c_"): s for c, s in seq_a.items()}
    assert mapped == dict(seq_b.items())
    assert b["case_id"].is_monotonic_increasing  # sorted by pseudonym, like a freshly read log


def test_stable_across_logs_and_keys(raw: tuple[pd.DataFrame, dict[str, Any]]) -> None:
    """Week-over-week: a case in two different logs gets the same pseudonym with the same key only."""
    f, cfg = raw
    first, second = f.iloc[: len(f) // 2], f.iloc[len(f) // 3:]
    log_a, log_b = _read(first, cfg), _read(second, cfg)
    a, b = pseudonymize(log_a, KEY).to_pandas(), pseudonymize(log_b, KEY).to_pandas()
    common = set(log_a.to_pandas()["case_id"]) & set(log_b.to_pandas()["case_id"])
    assert common and {pseudonym(c, KEY, "c_") for c in common} <= set(a["case_id"]) & set(b["case_id"])
    other = pseudonymize(_read(first, cfg), b"a-different-key-0123456789").to_pandas()
    assert not set(other["case_id"]) & set(a["case_id"])


def test_findings_survive_pseudonymisation(logs: tuple[flowopt.EventLog, flowopt.EventLog]) -> None:
    log, anon = logs
    before, after = flowopt.analyze(log).to_dict(), flowopt.analyze(anon).to_dict()
    assert after["graph"] == before["graph"]
    assert after["kpis"] == before["kpis"]
    assert [f["id"] for f in after["findings"]] == [f["id"] for f in before["findings"]]
    assert len(after["suggestions"]) == len(before["suggestions"])


def test_identifier_columns() -> None:
    cols = ["case_id", "Customer No", "client_ref", "user", "amount", "channel", "客户号", "身份证号码", "email",
            "Kontonummer", "activity"]
    assert identifier_columns(cols) == ["Customer No", "client_ref", "user", "客户号", "身份证号码", "email"]


def test_malformed_row_text_is_withheld(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("case_id,activity,timestamp,resource\nKq7case1,Apply,2024-01-01 09:00,emp_Zx_a\n"
                    "Kq7case2,Apply,2024-01-01,emp_Zx_b,one field too many\n")
    anon = pseudonymize(_read(path), KEY)
    text = anon.quarantine.to_csv(index=False)
    assert "Kq7case2" not in text and "emp_Zx_b" not in text
    assert anon.quarantine["reason"].tolist() == [QuarantineReason.MALFORMED_ROW.value]


# --------------------------------------------------------------------------- every output


def test_no_raw_identifier_in_any_output(logs: tuple[flowopt.EventLog, flowopt.EventLog],
                                         secrets: list[str]) -> None:
    log, anon = logs
    # positive control: the same search finds raw ids in the outputs of the log as read
    plain = _leaks(_outputs(log), secrets)
    assert {"quarantine.csv", "events"} <= set(plain), plain.keys()
    assert _leaks(_outputs(anon), secrets) == {}


def _cli_has_pseudonymize() -> bool:
    exe = shutil.which("flowopt", path=str(Path(sys.executable).parent))
    if exe is None:
        return False
    proc = subprocess.run([exe, "analyze", "--help"], check=False, capture_output=True, text=True, timeout=60)
    return "--pseudonymize" in proc.stdout


@pytest.mark.skipif(not _cli_has_pseudonymize(), reason="flowopt analyze has no --pseudonymize option yet")
def test_cli_pseudonymize_leaves_no_raw_id_in_any_file(raw: tuple[pd.DataFrame, dict[str, Any]], secrets: list[str],
                                                       tmp_path: Path) -> None:
    f, cfg = raw
    log_path = tmp_path / "log.csv"
    f.to_csv(log_path, index=False)
    conf = tmp_path / "flowopt.toml"
    conf.write_text("[columns]\n" + "".join(f'{k} = "{v}"\n' for k, v in cfg["columns"].items()))
    out = tmp_path / "out"
    out.mkdir()
    exe = str(Path(sys.executable).parent / "flowopt")
    env = {**os.environ, "FLOWOPT_PSEUDONYM_KEY": KEY.decode()}
    runs = [
        [exe, "analyze", str(log_path), "--config", str(conf), "--pseudonymize", "--json", str(out / "a.json"),
         "--html", str(out / "a.html"), "--md", str(out / "a.md")],
        [exe, "validate", str(log_path), "--config", str(conf), "--pseudonymize", "--quarantine-out",
         str(out / "quarantine.csv")],
    ]
    texts: dict[str, str] = {}
    for i, cmd in enumerate(runs):
        proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=300, env=env)
        assert proc.returncode == 0, proc.stderr[-2000:]
        texts[f"stdout{i}"], texts[f"stderr{i}"] = proc.stdout, proc.stderr
    files = sorted(p for p in out.iterdir() if p.is_file())
    assert {p.name for p in files} >= {"a.json", "a.html", "a.md", "quarantine.csv"}
    texts.update({p.name: p.read_text(encoding="utf-8", errors="replace") for p in files})
    assert _leaks(texts, secrets) == {}
    # and the key itself is never echoed
    assert not any(KEY.decode() in t for t in texts.values())
    assert np.all([len(t) > 0 for name, t in texts.items() if not name.startswith(("stdout", "stderr"))])
