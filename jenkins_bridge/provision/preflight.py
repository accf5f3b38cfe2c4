"""Plugin preflight: which plugins the job types in use need, checked before anything changes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from jenkins_bridge.descriptor.model import Service
from jenkins_bridge.errors import BridgeError
from jenkins_bridge.jenkins.client import Plugin

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
