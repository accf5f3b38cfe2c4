"""Plugin preflight: which plugins the job types in use need, checked before anything changes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from jenkins_bridge.descriptor.model import Service
from jenkins_bridge.descriptor.schema import LIBRARY_NAME
from jenkins_bridge.errors import BridgeError
from jenkins_bridge.jenkins.client import Plugin
from jenkins_bridge.render.job_config import SharedLibrary

BASE_PLUGINS = (
    "cloudbees-folder",
    "workflow-job",
    "workflow-cps",
    "git",
    "pipeline-model-definition",
    "credentials-binding",
    "timestamper",
)
MULTIBRANCH_PLUGINS = ("workflow-multibranch", "branch-api")
# FolderLibraries / LibraryConfiguration, and the @Library annotation itself
LIBRARY_PLUGIN = "pipeline-groovy-lib"


class MissingPlugins(BridgeError):
    code = "missing-plugins"

    def __init__(self, url: str, missing: Sequence[str]) -> None:
        super().__init__(
            f"{url} lacks plugins the jobs need: {', '.join(missing)}",
            hint="install (and enable) them in Manage Jenkins > Plugins, then re-run; "
            "nothing was changed",
        )
        self.missing = list(missing)


def required_plugins(services: Iterable[Service]) -> list[str]:
    needed = set(BASE_PLUGINS)
    if any(s.pipeline.job_type == "multibranch" for s in services):
        needed.update(MULTIBRANCH_PLUGINS)
    return sorted(needed)


def installed_versions(plugins: Iterable[Plugin]) -> dict[str, str]:
    """Active, enabled plugins -> version: the ``plugins`` profile for the renderers."""
    return {p.short_name: p.version for p in plugins if p.active and p.enabled}


def check_plugins(url: str, services: Sequence[Service], installed: dict[str, str]) -> None:
    missing = [name for name in required_plugins(services) if name not in installed]
    if missing:
        raise MissingPlugins(url, missing)


class LibraryNotProvided(BridgeError):
    """The pipelines load a shared library that neither a folder nor the controller provides:
    every build would fail to compile, so nothing is changed."""

    code = "library-not-provided"


def uses_bridge_library(service: Service) -> bool:
    """Whether the pipeline loads the jenkins-bridge library (a descriptor may name another)."""
    return service.pipeline.library.split("@", 1)[0] == LIBRARY_NAME


def check_library(
    url: str, services: Sequence[Service], library: SharedLibrary, installed: dict[str, str]
) -> None:
    """What the REST API can tell before any change: that the library plugin is installed and
    that the library is provisioned on the folders or declared global by the platform. Whether
    a global library of that name exists is global configuration Jenkins does not export
    (see docs/jenkins/controller.md)."""
    users = [s for s in services if uses_bridge_library(s)]
    if not users:
        return
    if LIBRARY_PLUGIN not in installed:
        raise LibraryNotProvided(
            f"{url} lacks the plugin {LIBRARY_PLUGIN}, which loads the shared library "
            f"{users[0].pipeline.library!r} the pipelines ask for",
            hint="install (and enable) it in Manage Jenkins > Plugins, then re-run; "
            "nothing was changed",
        )
    if library.scope == "folder" and not library.on_folders:
        raise LibraryNotProvided(
            f"the pipelines load @Library({users[0].pipeline.library!r}), "
            "but no library repository is configured to provision on the team folders",
            hint="pass --library-repo URL (or set $JENKINS_BRIDGE_LIBRARY_REPO), or "
            "--library-scope global if the controller configures the library globally; "
            "nothing was changed",
        )
