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
    "output": {"descriptor", "render"},
    "jenkins": set(),
    "containers": {"descriptor"},
    "provision": {"descriptor", "render", "jenkins"},
    "testing": set(),
    "cli": {"descriptor", "render", "output", "jenkins", "provision", "containers", "testing"},
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


# What pure rendering may not do: touch files (reading templates goes through Jinja's
# PackageLoader), or reach up into the layers that write its output.
_FILE_MODULES = {"os", "shutil", "pathlib", "tempfile", "io", "fcntl"}
_FILE_CALLS = {"open", "write_text", "write_bytes", "read_text", "read_bytes", "mkdir"}
_FILE_CALLS |= {"unlink", "rmdir", "rename", "touch", "symlink_to", "chmod"}  # str.replace is fine
RENDER_MODULES = [p for p in MODULES if p.relative_to(PACKAGE).parts[0] == "render"]


@pytest.mark.parametrize("path", RENDER_MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_render_is_pure_text(path: Path) -> None:
    relative = path.relative_to(PACKAGE)
    for name in _imports(path):
        assert name.split(".")[0] not in _FILE_MODULES, f"{relative} imports {name}"
        assert not name.startswith(("jenkins_bridge.output", "jenkins_bridge.cli")), (
            f"{relative} imports {name}"
        )
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            func = node.func
            called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            assert called not in _FILE_CALLS, f"{relative}:{node.lineno} calls {called}()"


def test_the_process_pool_is_generic() -> None:
    """``workers`` maps any function over chunks; it knows no descriptor, renderer or output."""
    names = _imports(PACKAGE / "workers.py")
    assert not [n for n in names if n.startswith("jenkins_bridge")], names
