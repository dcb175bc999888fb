"""The layers of the package point one way (ARCHITECTURE.md): a module imports only from its own layer or
the layers below it, scoring is pure, and the harness never imports the reference suppliers in fixtures/.
Lazy imports inside functions count: they are dependencies too."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "conformance"

# Lowest first. A module in layer N may import from layers 0..N.
LAYERS: list[set[str]] = [
    {"conformance", "conformance.errors", "conformance.model", "conformance.schemas"},
    {"conformance.inputs", "conformance.kit"},
    {"conformance.governance"},
    {"conformance.engine"},
    {"conformance.runners"},
    {"conformance.scoring"},
    {"conformance.reporters"},
    {"conformance.session"},
    {"conformance.procurement", "conformance.audit", "conformance.supplier"},
    {"conformance.registry"},
    {"conformance.cli", "conformance.__main__", "conformance.pytest_plugin"},
]
PURE = {"conformance.scoring": {"conformance", "conformance.errors", "conformance.model", "conformance.scoring"}}


def _room(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else parts[0]


def _layer(room: str) -> int:
    for index, rooms in enumerate(LAYERS):
        if room in rooms:
            return index
    raise AssertionError(f"{room} is in no layer: add it to LAYERS and to ARCHITECTURE.md")


def _imports() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for file in sorted(PACKAGE.rglob("*.py")):
        rel = file.relative_to(PACKAGE.parent).with_suffix("")
        module = ".".join(rel.parts).removesuffix(".__init__")
        names: set[str] = set()
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = module.split(".")[: len(module.split(".")) - node.level + (file.name == "__init__.py")]
                    names.add(".".join([*base, *([node.module] if node.module else [])]))
                elif node.module:
                    names.add(node.module)
            elif isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
        found[module] = names
    return found


def test_every_import_points_down_or_sideways() -> None:
    wrong = []
    for module, names in _imports().items():
        here = _room(module)
        for name in names:
            if not name.startswith("conformance"):
                continue
            there = _room(name)
            if _layer(there) > _layer(here):
                wrong.append(f"{module} imports {name} ({there} is above {here})")
            if here in PURE and there not in PURE[here]:
                wrong.append(f"{module} imports {name}: {here} is pure")
    assert not wrong, "\n".join(sorted(wrong))


def test_the_harness_never_imports_the_reference_suppliers() -> None:
    wrong = [f"{module} imports {name}" for module, names in _imports().items() for name in names
             if name == "fixtures" or name.startswith("fixtures.")]
    assert not wrong, "\n".join(wrong)
