"""Every generated file of a set of services, as text: a Jenkinsfile and a config.xml per
service, a folder.xml per team; for services that deploy, their monitoring files and their
team's Alertmanager route. Pure: no file, clock or environment (``output`` writes it)."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from jenkins_bridge.descriptor.model import Service
from jenkins_bridge.render.compose import is_composable, render_compose
from jenkins_bridge.render.jenkinsfile import render_jenkinsfile
from jenkins_bridge.render.job_config import (
    PluginVersions,
    SharedLibrary,
    render_folder_config,
    render_job_config,
)
from jenkins_bridge.render.kubernetes import kubernetes_stages, render_kubernetes
from jenkins_bridge.render.monitoring import FOLDER, is_monitored, render_monitoring
from jenkins_bridge.render.monitoring.alertmanager import (
    AlertRouting,
    render_team_route,
)


@dataclass
class Artifact:
    path: str  # relative, POSIX
    text: str
    # jenkinsfile | job-config | folder-config | manifest | prometheus-config |
    # prometheus-rules | prometheus-rule-tests | grafana-dashboard | alertmanager-route |
    # compose | kubernetes-manifests
    kind: str
    source: str | None = None  # descriptor origin

    @functools.cached_property
    def sha256(self) -> str:
        """Once per artifact (the run's cache, the manifest and the writer each ask), and in
        the worker that rendered it, which sends it along (texts are not changed after)."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


class ArtifactDigest(NamedTuple):
    """An artifact known by its digest, its text not held: one an earlier run rendered from
    the same inputs and left in place, or one a worker staged. A named tuple: thousands
    cross the process pool, and a tuple unpickles in C (a slotted dataclass ran a Python
    ``__setstate__`` for each: 16 -> 4 ms for 6,000)."""

    path: str
    kind: str
    sha256: str
    source: str | None


@dataclass
class RenderedTree:
    """Relative path -> artifact, in the order they were rendered; ``carried``: those taken
    unchanged from an earlier run; ``staged``: those the process that rendered them already
    compared with the output and, where they differ, wrote to be moved into place (their
    text is not held here; see ``output.staging``)."""

    artifacts: dict[str, Artifact] = field(default_factory=dict)
    carried: dict[str, ArtifactDigest] = field(default_factory=dict)
    staged: dict[str, ArtifactDigest] = field(default_factory=dict)

    def add(self, artifact: Artifact) -> None:
        self.artifacts[artifact.path] = artifact

    def carry(self, artifact: ArtifactDigest) -> None:
        self.carried[artifact.path] = artifact

    def stage(self, artifact: ArtifactDigest) -> None:
        self.staged[artifact.path] = artifact

    def entries(self) -> list[Artifact | ArtifactDigest]:
        return [*self.artifacts.values(), *self.staged.values(), *self.carried.values()]


def render_service(service: Service, plugins: PluginVersions | None) -> list[Artifact]:
    """The Jenkinsfile and config.xml of one service, under ``<team>/<name>/``."""
    base = f"{service.metadata.team}/{service.metadata.name}"
    script = render_jenkinsfile(service)  # a plain job's config.xml holds it too: render once
    artifacts = [
        Artifact(f"{base}/Jenkinsfile", script, "jenkinsfile", service.origin),
        Artifact(
            f"{base}/config.xml",
            render_job_config(service, plugins, jenkinsfile=script),
            "job-config",
            service.origin,
        ),
    ]
    if is_composable(service):
        artifacts.append(
            Artifact(f"{base}/compose.yaml", render_compose(service), "compose", service.origin)
        )
    if service.image is not None:
        artifacts.extend(
            Artifact(
                f"{base}/kubernetes/{stage.environment}.yaml",
                render_kubernetes(service, stage),
                "kubernetes-manifests",
                service.origin,
            )
            for stage in kubernetes_stages(service)
        )
    if is_monitored(service):
        artifacts.extend(
            Artifact(f"{base}/{FOLDER}/{name}", text, kind, service.origin)
            for name, kind, text in render_monitoring(service)
        )
    return artifacts


def render_alert_routes(routings: Iterable[AlertRouting]) -> list[Artifact]:
    """One ``<team>/alertmanager.yml`` per team with a service that routes alerts."""
    by_team: dict[str, list[AlertRouting]] = {}
    for routing in routings:
        by_team.setdefault(routing.team, []).append(routing)
    return [
        Artifact(
            f"{team}/alertmanager.yml", render_team_route(team, by_team[team]), "alertmanager-route"
        )
        for team in sorted(by_team)
    ]


def render_folders(
    teams: Iterable[str], plugins: PluginVersions | None, library: SharedLibrary | None = None
) -> list[Artifact]:
    """One ``<team>/folder.xml`` per team, in name order."""
    return [
        Artifact(
            f"{team}/folder.xml", render_folder_config(team, plugins, library), "folder-config"
        )
        for team in sorted(set(teams))
    ]
