"""Generate ``docs/api.md``, the API reference, from flowopt's docstrings.

Walks ``flowopt.__all__`` and the ``__all__`` of every public subpackage (in a fixed order), and writes
each public name once, with its signature and docstring; a class also lists its public methods and
properties. The output is deterministic (names sorted, object addresses removed), so a test can check
that the committed file is up to date.

Usage (from the project root)::

    .venv/bin/python scripts/gen_api_docs.py           # write docs/api.md
    .venv/bin/python scripts/gen_api_docs.py --check   # exit 1 when docs/api.md is stale
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "api.md"
MODULES = ("flowopt", "flowopt.datasets", "flowopt.log", "flowopt.io", "flowopt.options", "flowopt.discovery",
           "flowopt.analysis", "flowopt.suggest", "flowopt.report", "flowopt.history", "flowopt.errors")
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def _clean(text: str) -> str:
    return _ADDRESS.sub("", text).rstrip()


def _signature(obj: Any) -> str:
    try:
        return _clean(str(inspect.signature(obj)))
    except (TypeError, ValueError):
        return "(...)"


def _doc(obj: Any) -> str:
    doc = inspect.getdoc(obj)
    return _clean(doc) if doc else ""


def _fenced(doc: str) -> list[str]:
    return ["```text", doc, "```", ""] if doc else ["*(no docstring)*", ""]


def _first_paragraph(doc: str) -> str:
    return doc.split("\n\n", 1)[0].replace("\n", " ").strip()


def _members(cls: type) -> list[str]:
    lines: list[str] = []
    for name, member in sorted(vars(cls).items()):
        if name.startswith("_"):
            continue
        if isinstance(member, property):
            kind, sig, doc = "property", "", _doc(member)
        elif isinstance(member, (staticmethod, classmethod)):
            kind, sig, doc = type(member).__name__, _signature(member.__func__), _doc(member.__func__)
        elif inspect.isfunction(member):
            kind, sig, doc = "method", _signature(member), _doc(member)
        else:
            continue
        sig = sig.replace("(self, ", "(").replace("(self)", "()").replace("(cls, ", "(").replace("(cls)", "()")
        summary = _first_paragraph(doc)
        lines.append(f"- `{name}{sig}` ({kind})" + (f" — {summary}" if summary else ""))
    return lines + ([""] if lines else [])


def _entry(qualname: str, obj: Any) -> list[str]:
    if inspect.isclass(obj):
        if issubclass(obj, BaseException):
            bases = ", ".join(b.__name__ for b in obj.__bases__)
            return [f"### `{qualname}` (exception; bases: {bases})", "", *_fenced(_doc(obj))]
        lines = [f"### class `{qualname}{_signature(obj)}`", "", *_fenced(_doc(obj))]
        return lines + _members(obj)
    if inspect.isroutine(obj):
        return [f"### `{qualname}{_signature(obj)}`", "", *_fenced(_doc(obj))]
    if inspect.ismodule(obj):
        return []
    if callable(obj):  # a typing alias such as Callable[...]
        return [f"### `{qualname}` (type alias)", "", f"`{_clean(repr(obj))}`", ""]
    kind = type(obj).__name__
    if isinstance(obj, dict):
        return [f"### `{qualname}` (dict)", "", "Keys: " + ", ".join(f"`{k}`" for k in sorted(map(str, obj))), ""]
    value = repr(obj) if isinstance(obj, (str, int, float, tuple, frozenset)) and len(repr(obj)) <= 300 else None
    return [f"### `{qualname}` ({kind})", "", f"`{_clean(value)}`" if value else f"A `{kind}`.", ""]


def generate() -> str:
    """The text of ``docs/api.md``."""
    import flowopt

    lines = ["# flowopt API reference", "",
             (f"Generated from the docstrings of flowopt {flowopt.__version__} by `scripts/gen_api_docs.py`; "
              "do not edit by hand (run `.venv/bin/python scripts/gen_api_docs.py`). Every public name is listed "
              "once, under the first module (in the order below) that exports it."), ""]
    lines += ["Modules: " + ", ".join(f"[`{m}`](#{m.replace('.', '')})" for m in MODULES), ""]
    seen: dict[int, str] = {}
    for modname in MODULES:
        mod = importlib.import_module(modname)
        lines += [f"## {modname}", "", *(_fenced(_first_paragraph(_doc(mod))) if _doc(mod) else [])]
        names = sorted(n for n in getattr(mod, "__all__", ()) if not n.startswith("__"))
        for name in names:
            obj = getattr(mod, name)
            if inspect.ismodule(obj):
                continue
            key = id(obj)
            if (inspect.isclass(obj) or callable(obj)) and key in seen:
                lines += [f"- `{modname}.{name}`: see `{seen[key]}` above.", ""]
                continue
            seen[key] = f"{modname}.{name}"
            lines += _entry(f"{modname}.{name}", obj)
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/api.md differs from the docstrings")
    args = parser.parse_args(argv)
    text = generate()
    if args.check:
        current = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
        if current != text:
            print(f"{OUT} is out of date: run .venv/bin/python scripts/gen_api_docs.py", file=sys.stderr)
            return 1
        return 0
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT} ({len(text.splitlines())} lines)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
