"""The one entry point from descriptor paths to the tree render writes: load, validate and
render every descriptor (in several processes for large runs), then add the manifest."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from jenkins_bridge.descriptor.loading import (
    DescriptorFile,
    LoadedFiles,
    check_chunks,
    discover,
    load_files,
    locate,
)
from jenkins_bridge.errors import InvalidDescriptors
from jenkins_bridge.output.manifest import add_manifest
from jenkins_bridge.render.artifacts import (
    Artifact,
    RenderedTree,
    render_alert_routes,
    render_folders,
    render_service,
)
from jenkins_bridge.render.jenkinsfile import TooLargeForJenkins
from jenkins_bridge.render.job_config import PluginVersions, SharedLibrary
from jenkins_bridge.render.monitoring.alertmanager import AlertRouting, alert_routing
from jenkins_bridge.workers import map_chunks


@dataclass(frozen=True, slots=True)
class RenderRun:
    services: int  # how many descriptors were rendered
    tree: RenderedTree  # every artifact and the manifest


def _load_and_render(
    files: Sequence[DescriptorFile], plugins: PluginVersions | None
) -> tuple[LoadedFiles, list[Artifact], list[AlertRouting]]:
    loaded = load_files(files)
    artifacts: list[Artifact] = []
    routings: list[AlertRouting] = []  # teams' Alertmanager routes need the whole run
    if not loaded.problems:  # a chunk with problems fails the whole run: skip the work
        for service in loaded.services():
            try:
                artifacts.extend(render_service(service, plugins))
            except TooLargeForJenkins as refused:  # render is pure: it is placed here
                by_path = {f.path: f for f in files}
                loaded.problems.append(refused.at(*locate(by_path[service.path], refused.part)))
                continue
            except InvalidDescriptors as refused:  # data, so it crosses the process pool
                loaded.problems.extend(refused.problems())
                continue
            routing = alert_routing(service)
            if routing is not None:
                routings.append(routing)
    return loaded, artifacts, routings


def render_run(
    paths: Sequence[str | Path],
    plugins: PluginVersions | None = None,
    workers: int | None = None,
    library: SharedLibrary | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> RenderRun:
    """Load, validate and render every descriptor under ``paths``; raise every problem at once.

    Large runs load and render in several processes (``workers``: default one per CPU, at
    most 4); the checks across files and the manifest are done here, so the result is the
    same, byte for byte, whatever the worker count. ``progress(done, total)`` counts
    descriptors as parallel chunks finish.
    """
    chunks = map_chunks(
        _load_and_render, discover(paths), plugins, workers=workers, progress=progress
    )
    check_chunks([loaded for loaded, _, _ in chunks])
    tree = RenderedTree()
    teams: list[str] = []
    for loaded, artifacts, _ in chunks:
        for artifact in artifacts:
            tree.add(artifact)
        teams.extend(data["metadata"]["team"] for data, _, _ in loaded.records)
    for artifact in render_folders(teams, plugins, library):
        tree.add(artifact)
    for artifact in render_alert_routes(r for _, _, routings in chunks for r in routings):
        tree.add(artifact)
    add_manifest(tree)
    return RenderRun(len(teams), tree)
