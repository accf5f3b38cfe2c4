"""Layers import downward only, and only the adapters import their third-party clients."""

from __future__ import annotations

import ast
import sys
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
    "kube": set(),
    "prometheus": set(),
    "deploy": {"descriptor", "containers", "kube", "prometheus", "render"},
    # The CLI reaches Jenkins through provision's commands only, never the client itself.
    "cli": {"descriptor", "render", "output", "provision", "containers", "testing", "deploy"},
}
# Third-party clients only their adapters may import. docker-py talks HTTP through requests
# and lets its transport errors (ConnectionError, Timeout) through, so the container adapter
# catches those too; everything else that speaks HTTP is the Jenkins adapter or the Prometheus
# adapter (a canary's analysis queries).
ADAPTERS = {
    "jenkins": {"jenkins"},
    "requests": {"jenkins", "containers", "prometheus"},
    "docker": {"containers"},
    "kubernetes": {"kube"},
}
# Documented namedtuple methods: public despite the underscore.
NAMEDTUPLE_API = {"_replace", "_asdict", "_fields", "_make"}
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
            assert layer in ADAPTERS[top], f"{relative} imports {name}"
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


@pytest.mark.parametrize(
    "path",
    [p for p in MODULES if p.relative_to(PACKAGE).parts[0] == "testing"],
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_the_emulator_uses_the_standard_library_only(path: Path) -> None:
    """The emulator stands in for Jenkins; a client library inside it would test itself."""
    for name in _imports(path):
        top = name.split(".")[0]
        assert top in sys.stdlib_module_names or top == "jenkins_bridge", f"{path.name}: {name}"


def private_api_uses(source: str) -> list[str]:
    """Where ``source`` reaches into a third-party client's internals: subclassing one of its
    classes, reading an underscore attribute of anything but ``self``/``cls``, importing an
    underscore name, or digging a response out of an exception chain."""
    tree = ast.parse(source)
    clients: set[str] = set()  # local names bound to a client module or one of its names
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in ADAPTERS:
                    clients.add((alias.asname or alias.name).split(".")[0])
        elif (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.level == 0
            and node.module.split(".")[0] in ADAPTERS
        ):
            for alias in node.names:
                clients.add(alias.asname or alias.name)
                if alias.name.startswith("_"):
                    found.append(f"line {node.lineno}: imports {node.module}.{alias.name}")
    if not clients:
        return found
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for base in node.bases:
                root = base
                while isinstance(root, ast.Attribute):
                    root = root.value
                if isinstance(root, ast.Name) and root.id in clients:
                    found.append(f"line {node.lineno}: subclasses {ast.unparse(base)}")
        elif isinstance(node, ast.Attribute):
            name = node.attr
            if name in ("__context__", "__cause__"):
                found.append(f"line {node.lineno}: reads {ast.unparse(node)}")
            elif name.startswith("_") and not name.startswith("__"):
                owner = node.value
                if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
                    continue
                if name not in NAMEDTUPLE_API:
                    found.append(f"line {node.lineno}: reads {ast.unparse(node)}")
    return sorted(found, key=lambda use: int(use.split(":")[0].removeprefix("line ")))


def test_private_api_uses_are_found() -> None:
    source = (
        "import jenkins\n"
        "from docker.utils import _private\n"
        "class J(jenkins.Jenkins):\n"
        "    def f(self, server, exc):\n"
        "        server._session.mount('x', None)\n"
        "        return exc.__context__, self._own, parts._replace(netloc='')\n"
    )
    assert [use.split(":")[0] for use in private_api_uses(source)] == [
        "line 2",
        "line 3",
        "line 5",
        "line 6",
    ]


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_private_api_of_a_client_library(path: Path) -> None:
    """python-jenkins, requests and docker-py are used through their public surface only."""
    assert private_api_uses(path.read_text(encoding="utf-8")) == []


# The renderer builds XML as a tree and writes the ownership line into it (render.ownership);
# no other layer escapes, unescapes or splices XML text.
XML_TEXT_TOOLS = ("xml.sax",)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_only_the_renderer_writes_xml(path: Path) -> None:
    relative = path.relative_to(PACKAGE)
    if relative.parts[0] == "render":
        return
    for name in _imports(path):
        assert not name.startswith(XML_TEXT_TOOLS), f"{relative} imports {name}"


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


# Libraries of the test suite only (see pyproject's dev extra): the installed tool must run
# without them, so no module of the package imports one.
DEV_ONLY = {"jsonschema", "kubernetes_validate", "pytest", "hypothesis"}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_package_imports_no_test_only_library(path: Path) -> None:
    relative = path.relative_to(PACKAGE).as_posix()
    tops = {name.split(".")[0] for name in _imports(path)}
    assert not tops & DEV_ONLY, f"{relative} imports {sorted(tops & DEV_ONLY)}"


def test_architecture_page_states_the_layers() -> None:
    """ARCHITECTURE.md's table says what each package may import: the rules above, in words."""
    table: dict[str, set[str]] = {}
    for line in (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].startswith("`") and cells[0].endswith("/`"):
            allowed = cells[2]
            table[cells[0].strip("`/")] = (
                set() if allowed == "—" else {a.strip() for a in allowed.split(",")}
            )
    assert table == ALLOWED
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert packages - {"templates"} == set(table)


def _module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
    return ".".join(parts)


def import_graph(modules: dict[str, str]) -> dict[str, set[str]]:
    """Module -> the modules of ``modules`` it imports anywhere in its text: at the top,
    inside functions and under ``TYPE_CHECKING`` alike (a lazy import that dodges a circle
    is still a circle). ``from pkg import mod`` counts as importing ``pkg.mod``."""
    graph: dict[str, set[str]] = {}
    for name, source in modules.items():
        edges: set[str] = set()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                edges.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                edges.add(node.module)
                edges.update(f"{node.module}.{alias.name}" for alias in node.names)
        graph[name] = {edge for edge in edges if edge in modules and edge != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle of ``graph`` as [a, b, ..., a], or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for successor in sorted(graph.get(node, ())):
            if state.get(successor) == 1:
                return [*path[path.index(successor) :], successor]
            if successor not in state and (found := visit(successor)) is not None:
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)) is not None:
            return found
    return None


def test_a_lazy_import_circle_is_found() -> None:
    modules = {
        "p.platform": "from p.target import T\n",
        "p.target": "def f():\n    from p import platform\n",
        "p.clock": "import p.target\n",
    }
    assert find_cycle(import_graph(modules)) == ["p.target", "p.platform", "p.target"]
    modules["p.target"] = "if TYPE_CHECKING:\n    from p.platform import Platform\n"
    assert find_cycle(import_graph(modules)) == ["p.target", "p.platform", "p.target"]
    modules["p.target"] = "x = 1\n"
    assert find_cycle(import_graph(modules)) is None


def test_deploy_has_no_import_circle() -> None:
    """``deploy/`` reads top-down: ``targets`` picks a platform, platforms import the protocol
    and the shared pieces, nothing imports back up, not even lazily."""
    deploy = {
        _module_name(p): p.read_text(encoding="utf-8")
        for p in MODULES
        if p.relative_to(PACKAGE).parts[0] == "deploy"
    }
    assert len(deploy) > 20
    assert find_cycle(import_graph(deploy)) is None


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_private_name_crosses_modules(path: Path) -> None:
    """A name with a leading underscore is its module's own: another module that needs it
    needs a public name (``deploy.clock.iso``, not ``rollout._iso``)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("jenkins_bridge"):
            private = [
                a.name for a in node.names if a.name.startswith("_") and not a.name.endswith("__")
            ]
            assert not private, f"{path.relative_to(PACKAGE)} imports {node.module}.{private}"
