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
    # The CLI reaches Jenkins through provision's commands only, never the client itself.
    "cli": {"descriptor", "render", "provision", "containers", "testing"},
}
# Third-party clients only their adapter may import.
ADAPTERS = {"jenkins": "jenkins", "docker": "containers"}
# The CLI parses, calls one function and prints: no HTTP or engine client of its own.
CLI_FORBIDDEN = {"docker", "jenkins", "requests"}


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


CLI_MODULES = [p for p in MODULES if p.relative_to(PACKAGE).parts[0] == "cli"]


@pytest.mark.parametrize("path", CLI_MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_cli_imports_no_client_library(path: Path) -> None:
    # Lazy imports inside functions count too: they are where a client would sneak in.
    clients = {name for name in _imports(path) if name.split(".")[0] in CLI_FORBIDDEN}
    assert not clients, f"{path.relative_to(PACKAGE)} imports {sorted(clients)}"


def _module_file(module: str) -> Path | None:
    relative = Path(*module.split(".")[1:])
    for candidate in (PACKAGE / relative.with_suffix(".py"), PACKAGE / relative / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _annotations(node: ast.AST) -> list[ast.expr]:
    """The annotations of a function's parameters and result, or of a class's fields."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        arguments = node.args
        every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
        every += [a for a in (arguments.vararg, arguments.kwarg) if a is not None]
        found = [a.annotation for a in every if a.annotation is not None]
        return found + ([node.returns] if node.returns is not None else [])
    if isinstance(node, ast.ClassDef):
        fields = [s.annotation for s in node.body if isinstance(s, ast.AnnAssign)]
        methods = [s for s in node.body if isinstance(s, ast.FunctionDef)]
        return fields + [a for m in methods if not m.name.startswith("_") for a in _annotations(m)]
    return []


def _mentions_any(annotation: ast.expr) -> bool:
    text = ast.unparse(annotation)
    return any(
        isinstance(n, ast.Name) and n.id == "Any" for n in ast.walk(ast.parse(text.strip("'\"")))
    )


def _capability_api(path: Path) -> list[tuple[str, ast.AST]]:
    """What a CLI module takes from the capability packages: (qualified name, definition)."""
    used: list[tuple[str, ast.AST]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.ImportFrom) or not node.module or node.level:
            continue
        parts = node.module.split(".")
        if parts[0] != "jenkins_bridge" or len(parts) < 2 or parts[1] in ("cli", "errors"):
            continue
        for alias in node.names:
            submodule = _module_file(f"{node.module}.{alias.name}")
            source = submodule or _module_file(node.module)
            if source is None:
                continue
            tree = ast.parse(source.read_text(encoding="utf-8"))
            for definition in tree.body:
                name = getattr(definition, "name", None)
                if name is None or name.startswith("_"):
                    continue
                if submodule is not None or name == alias.name:
                    used.append((f"{source.relative_to(PACKAGE)}:{name}", definition))
    return used


@pytest.mark.parametrize("path", CLI_MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_any_between_cli_and_capabilities(path: Path) -> None:
    # Typed dataclasses and functions are the contract between the layers; Any would hide
    # which fields a command result has from mypy and from the reader.
    untyped = sorted(
        {
            name
            for name, node in _capability_api(path)
            if any(map(_mentions_any, _annotations(node)))
        }
    )
    assert not untyped, f"{path.relative_to(PACKAGE)} uses {untyped}, typed with Any"
