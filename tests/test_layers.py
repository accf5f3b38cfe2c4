"""Layers import downward only, and only the adapters import their third-party clients."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from conftest import ROOT

PACKAGE = ROOT / "jenkins_bridge"
# Which of our own packages each layer may import (besides itself, errors and __init__).
ALLOWED = {
    "descriptor": set(),
    "render": {"descriptor"},
    "jenkins": set(),
    "containers": {"descriptor"},
    "provision": {"descriptor", "render", "jenkins"},
    "testing": set(),
    "deploy": {"descriptor", "containers"},
    "cli": {"descriptor", "render", "jenkins", "provision", "containers", "testing", "deploy"},
}
# Third-party clients only their adapter may import.
ADAPTERS = {"jenkins": "jenkins", "docker": "containers"}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_follow_the_layers(path: Path) -> None:
    relative = path.relative_to(PACKAGE)
    layer = relative.parts[0] if len(relative.parts) > 1 else None
    for name in _imports(path):
        top = name.split(".")[0]
        if top in ADAPTERS:
            assert layer == ADAPTERS[top], f"{relative} imports {name}"
        if top == "jenkins_bridge" and layer in ALLOWED:
            parts = name.split(".")
            target = parts[1] if len(parts) > 1 else None
            if target in (None, layer, "errors") or target not in ALLOWED:
                continue
            assert target in ALLOWED[layer], f"{relative} ({layer}) imports {name}"
