"""The public surface and the package's architecture: exports, tests per subpackage, import layering."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import flowopt

SRC = Path(flowopt.__file__).resolve().parent
TESTS = Path(__file__).resolve().parent

# lower layers never import higher ones; modules in one layer may import each other
LAYERS: list[tuple[str, ...]] = [
    ("errors", "options", "_format", "_memo", "_compiled", "_sorting"),
    ("io",),
    ("log",),
    ("discovery",),
    ("analysis",),
    ("suggest",),
    ("_analyze",),
    ("report", "history", "cli"),
]
LAYER_OF = {name: i for i, names in enumerate(LAYERS) for name in names}


def _bound_names(tree: ast.Module) -> set[str]:
    """Names the module binds at top level (imports and assignments), minus __future__ features."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
    return names


def test_all_is_the_sorted_set_of_public_names() -> None:
    tree = ast.parse((SRC / "__init__.py").read_text(encoding="utf-8"))
    public = {n for n in _bound_names(tree) if not n.startswith("_") or n == "__version__"} - {"__all__"}
    assert flowopt.__all__ == sorted(set(flowopt.__all__)), "__all__ must be sorted and without repeats"
    assert set(flowopt.__all__) == public


def test_every_public_name_resolves() -> None:
    for name in flowopt.__all__:
        assert getattr(flowopt, name) is not None, name
    missing = [n for n in flowopt.__all__ if n not in vars(flowopt)]
    assert not missing


def test_contract_entry_points() -> None:
    for name in ("read_log", "analyze", "EventLog", "Analysis"):
        assert name in flowopt.__all__
    assert callable(flowopt.read_log) and callable(flowopt.analyze)


def _subpackages() -> list[str]:
    return sorted(p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists())


@pytest.mark.parametrize("package", _subpackages())
def test_every_subpackage_has_tests(package: str) -> None:
    folder = TESTS / package
    tests = sorted(folder.glob("test_*.py")) if folder.is_dir() else []
    assert tests, f"flowopt.{package} has no tests: add tests/{package}/test_*.py"


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path, mod: str | None = None) -> list[tuple[int, str]]:
    """Every flowopt module imported anywhere in ``path`` (lazy imports inside functions too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    mod = mod or _module_name(path)
    package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((node.lineno, a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            out.append((node.lineno, target))
            if target == "flowopt":  # from flowopt import discovery, ...
                out.extend((node.lineno, f"flowopt.{a.name}") for a in node.names)
    return [(ln, t) for ln, t in out if t == "flowopt" or t.startswith("flowopt.")]


def _layer(module: str) -> int | None:
    parts = module.split(".")
    if len(parts) < 2:
        return None
    return LAYER_OF.get(parts[1])


def test_lower_layers_never_import_higher_ones() -> None:
    violations = []
    checked = 0
    for path in sorted(SRC.rglob("*.py")):
        mine = _layer(_module_name(path))
        if mine is None:
            continue
        checked += 1
        for line, target in _imports(path):
            theirs = _layer(target)
            if theirs is not None and theirs > mine:
                violations.append(f"{path.relative_to(SRC.parent)}:{line} imports {target} "
                                  f"(layer {LAYERS[theirs]} above {LAYERS[mine]})")
    assert checked > 20
    assert not violations, "\n".join(violations)


def test_layering_check_catches_a_violation(tmp_path: Path) -> None:
    # the checker itself: absolute, relative and lazy imports of higher layers are all found
    path = tmp_path / "_x.py"
    path.write_text("from flowopt import errors\n\ndef f():\n    from flowopt.analysis import DETECTORS\n"
                    "    from ..suggest import x\n    from . import _csv\n    import flowopt.report\n")
    found = _imports(path, "flowopt.io._x")
    assert [t for _, t in found] == ["flowopt", "flowopt.errors", "flowopt.analysis", "flowopt.suggest",
                                     "flowopt.io", "flowopt.report"]
    assert [_layer(t) for _, t in found] == [None, 0, 4, 5, 1, 7]
