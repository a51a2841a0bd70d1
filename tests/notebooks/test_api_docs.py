"""The committed API reference (``docs/api.md``) matches the docstrings it is generated from."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("gen_api_docs", ROOT / "scripts" / "gen_api_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_api_reference_is_up_to_date() -> None:
    text = _generator().generate()
    committed = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    assert committed == text, "docs/api.md is stale: run .venv/bin/python scripts/gen_api_docs.py and commit it"


def test_api_reference_is_deterministic_and_complete() -> None:
    import flowopt

    gen = _generator()
    first, second = gen.generate(), gen.generate()
    assert first == second
    assert " at 0x" not in first
    for name in flowopt.__all__:
        if name in ("__version__", "datasets", "errors"):
            continue
        assert f"`flowopt.{name}" in first, name
