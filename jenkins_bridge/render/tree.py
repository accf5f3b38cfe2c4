"""Render every artifact of a set of services into a tree, and write or check it on disk.

The tree maps a relative path to its text; ``manifest.json`` lists every artifact with its
sha256 so a later run knows which files it owns (and may remove) and a reviewer can verify.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from jenkins_bridge import __version__
from jenkins_bridge.descriptor.loading import (
    DescriptorFile,
    LoadedFiles,
    check_chunks,
    discover,
    load_files,
)
from jenkins_bridge.descriptor.model import Service
from jenkins_bridge.descriptor.parallel import map_chunks
from jenkins_bridge.errors import BridgeError
from jenkins_bridge.render.jenkinsfile import render_jenkinsfile
from jenkins_bridge.render.job_config import (
    PluginVersions,
    SharedLibrary,
    render_folder_config,
    render_job_config,
)

MANIFEST = "manifest.json"


@dataclass
class Artifact:
    path: str  # relative, POSIX
    text: str
    kind: str  # jenkinsfile | job-config | folder-config | manifest
    source: str | None = None  # descriptor origin

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


@dataclass
class RenderedTree:
    artifacts: dict[str, Artifact] = field(default_factory=dict)

    def add(self, artifact: Artifact) -> None:
        self.artifacts[artifact.path] = artifact


def _service_artifacts(service: Service, plugins: PluginVersions | None) -> list[Artifact]:
    base = f"{service.metadata.team}/{service.metadata.name}"
    return [
        Artifact(f"{base}/Jenkinsfile", render_jenkinsfile(service), "jenkinsfile", service.origin),
        Artifact(
            f"{base}/config.xml", render_job_config(service, plugins), "job-config", service.origin
        ),
    ]


def _finish(
    tree: RenderedTree,
    teams: Iterable[str],
    plugins: PluginVersions | None,
    library: SharedLibrary | None = None,
) -> None:
    """Add the team folders and the manifest listing every artifact."""
    for team in sorted(set(teams)):
        folder = render_folder_config(team, plugins, library)
        tree.add(Artifact(f"{team}/folder.xml", folder, "folder-config"))
    entries = [
        {"path": a.path, "kind": a.kind, "sha256": a.sha256, "source": a.source}
        for a in sorted(tree.artifacts.values(), key=lambda a: a.path)
    ]
    manifest = {"generator": "jenkins-bridge", "version": __version__, "artifacts": entries}
    tree.add(Artifact(MANIFEST, json.dumps(manifest, indent=2, sort_keys=True) + "\n", "manifest"))


def render_tree(
    services: Iterable[Service],
    plugins: PluginVersions | None = None,
    library: SharedLibrary | None = None,
) -> RenderedTree:
    """All artifacts for ``services`` plus the manifest (pure: no I/O)."""
    tree = RenderedTree()
    teams = []
    for service in services:
        for artifact in _service_artifacts(service, plugins):
            tree.add(artifact)
        teams.append(service.metadata.team)
    _finish(tree, teams, plugins, library)
    return tree


def _load_and_render(
    files: Sequence[DescriptorFile], plugins: PluginVersions | None
) -> tuple[LoadedFiles, list[Artifact]]:
    loaded = load_files(files)
    artifacts: list[Artifact] = []
    if not loaded.problems:  # a chunk with problems fails the whole run: skip the work
        for service in loaded.services():
            artifacts.extend(_service_artifacts(service, plugins))
    return loaded, artifacts


def render_descriptors(
    paths: Sequence[str | Path],
    plugins: PluginVersions | None = None,
    workers: int | None = None,
    library: SharedLibrary | None = None,
) -> tuple[int, RenderedTree]:
    """Load, validate and render every descriptor under ``paths``: (service count, tree).

    Large runs load and render in several processes (``workers``: default one per CPU, at
    most 4); the checks across files and the manifest are done here, so the result is the
    same, byte for byte, whatever the worker count.
    """
    chunks = map_chunks(_load_and_render, discover(paths), plugins, workers=workers)
    check_chunks([loaded for loaded, _ in chunks])
    tree = RenderedTree()
    teams: list[str] = []
    for loaded, artifacts in chunks:
        for artifact in artifacts:
            tree.add(artifact)
        teams.extend(data["metadata"]["team"] for data, _, _ in loaded.records)
    _finish(tree, teams, plugins, library)
    return len(teams), tree


def _owned_paths(out: Path) -> set[str]:
    """Paths listed by the manifest already in ``out``: the only files we may remove."""
    try:
        manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
        return {str(entry["path"]) for entry in manifest["artifacts"]}
    except FileNotFoundError:
        return set()
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BridgeError(
            f"{out / MANIFEST} is not a jenkins-bridge manifest ({exc})",
            hint="render into an empty directory, or delete that file",
        ) from exc


def _safe_relative(path: str) -> bool:
    parts = Path(path).parts
    return bool(parts) and not Path(path).is_absolute() and ".." not in parts


@dataclass
class WriteReport:
    written: list[str]
    unchanged: list[str]
    removed: list[str]


def write_tree(out: Path, tree: RenderedTree) -> WriteReport:
    """Write what changed; remove files an earlier render made that this one did not.

    A file the previous manifest lists is compared first and replaced atomically (write a
    temporary file, rename) only if it differs; a file no manifest knows is new and written
    directly. On a fresh output that halves the system calls, which dominate on real disks.
    """
    previous = _owned_paths(out)
    report = WriteReport([], [], [])
    made: set[Path] = set()
    for path, artifact in sorted(tree.artifacts.items()):
        target = out / path
        data = artifact.text.encode("utf-8")
        if path in previous or path == MANIFEST:
            try:
                if target.read_bytes() == data:
                    report.unchanged.append(path)
                    continue
            except OSError:
                pass
        if target.parent not in made:
            target.parent.mkdir(parents=True, exist_ok=True)
            made.add(target.parent)
        if target.exists():
            temporary = target.with_name(f".{target.name}.tmp")
            temporary.write_bytes(data)
            os.replace(temporary, target)
        else:
            target.write_bytes(data)
        report.written.append(path)
    for path in sorted(previous - tree.artifacts.keys()):
        if not _safe_relative(path):
            continue
        target = out / path
        if target.is_file():
            target.unlink()
            report.removed.append(path)
            for parent in target.parents:
                if parent == out or not parent.is_relative_to(out):
                    break
                try:
                    parent.rmdir()
                except OSError:
                    break
    return report


@dataclass
class CheckReport:
    diffs: dict[str, str]  # path -> unified diff (stale, missing or extra)

    @property
    def clean(self) -> bool:
        return not self.diffs


def check_tree(out: Path, tree: RenderedTree) -> CheckReport:
    """Compare the tree with ``out`` without writing; a unified diff per file that differs."""
    diffs: dict[str, str] = {}
    expected: Mapping[str, str] = {p: a.text for p, a in tree.artifacts.items()}
    extra = {p for p in _owned_paths(out) if p not in expected and _safe_relative(p)}
    for path in sorted(expected.keys() | extra):
        target = out / path
        try:
            current: str | None = target.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            current = None
        wanted = expected.get(path)
        if current == wanted:
            continue
        if current is None and wanted is None:
            continue
        diff = difflib.unified_diff(
            (current or "").splitlines(keepends=True),
            (wanted or "").splitlines(keepends=True),
            fromfile=f"a/{path}" if current is not None else "/dev/null",
            tofile=f"b/{path}" if wanted is not None else "/dev/null",
        )
        diffs[path] = "".join(line if line.endswith("\n") else line + "\n" for line in diff)
    return CheckReport(diffs)
