"""Fixtures for the end-to-end tests of the installed ``flowopt`` command."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from flowopt.datasets import example_log_path

SCRIPT = "<script>alert(1)</script>"
FORMULA = '=HYPERLINK("http://evil.example/x","click")'


@pytest.fixture(scope="session")
def flowopt_exe() -> str:
    """The installed console script next to the running interpreter (``.venv/bin/flowopt``)."""
    exe = Path(sys.executable).parent / "flowopt"
    if not exe.exists():
        pytest.fail(f"{exe} is missing: install flowopt (pip install -e .) so its console script exists")
    return str(exe)


@pytest.fixture(scope="session")
def run_cli(flowopt_exe: str) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``run_cli(*args, cwd=None)`` runs ``flowopt`` and returns the completed process (text output)."""

    def run(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "PYTHONWARNINGS": "default"}
        return subprocess.run([flowopt_exe, *map(str, args)], capture_output=True, text=True, timeout=timeout,
                              cwd=cwd, env=env, check=False)

    return run


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """``cli(*args)`` runs ``flowopt.cli.main`` in this process: (exit code, stdout, stderr).

    Cheaper than a subprocess; the subprocess tests cover the installed script itself."""
    from flowopt.cli import main

    def run(*args: object) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture(scope="session")
def hostile_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example log with activity and resource names that try to be markup or spreadsheet formulas,
    plus one unparseable row whose values are formulas (it lands in the quarantine)."""
    df = pd.read_csv(example_log_path(), keep_default_na=False, dtype=str)
    df["activity"] = df["activity"].replace({"Document check": SCRIPT, "Credit scoring": FORMULA})
    df.loc[df["resource"] == df["resource"].iloc[0], "resource"] = "@SUM(1+1)"
    bad = df.iloc[[0]].copy()
    bad["activity"] = "=cmd|' /C calc'!A0"
    bad["start"] = "-not a time"
    bad["end"] = "+also not a time"
    df = pd.concat([df, bad], ignore_index=True)
    path = tmp_path_factory.mktemp("hostile") / "hostile.csv"
    df.to_csv(path, index=False)
    return path
