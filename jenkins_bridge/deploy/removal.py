"""``remove``: take an environment off its engine (``kamal remove``, ``helm uninstall``).

Containers (app versions, companions, proxy, hooks), the service network and, on Swarm, the
services and the secrets this tool created go. Named volumes hold data and stay unless asked
(``--volumes``); the history stays unless asked (``--history``), so ``history`` still tells
what ran there. It runs under the environment's lock, so it refuses while a deploy holds it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from jenkins_bridge.containers.runtime import DockerRuntime, RuntimeFailure
from jenkins_bridge.deploy.options import Log, RemoveOptions
from jenkins_bridge.deploy.records import ENVIRONMENT_LABEL, ROLE_LABEL, SERVICE_LABEL

GONE_WAIT_SECONDS = 60.0  # Swarm removes a service's task containers after `service rm`
POLL_SECONDS = 0.25


@dataclass
class Removal:
    """What ``remove`` took away and what it kept, each as ``kind name``."""

    service: str
    environment: str
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "environment": self.environment,
            "removed": self.removed,
            "kept": self.kept,
        }

    def text(self) -> str:
        lines = [f"removed {self.service} {self.environment}: {len(self.removed)} object(s)"]
        lines += [f"removed: {item}" for item in self.removed]
        lines += [f"kept: {item}" for item in self.kept]
        return "\n".join(lines)


def environment_labels(service: str, environment: str) -> dict[str, str]:
    return {SERVICE_LABEL: service, ENVIRONMENT_LABEL: environment}


def remove_engine_objects(
    runtime: DockerRuntime,
    removal: Removal,
    *,
    network: str,
    state: str,
    lock: str,
    options: RemoveOptions,
    log: Log,
) -> None:
    """The containers, network and volumes labelled for the environment on ``runtime``; the
    lock (held by the caller) is left to its release, the state kept unless ``history``."""
    labels = environment_labels(removal.service, removal.environment)
    for container in runtime.containers(labels):
        role = container.labels.get(ROLE_LABEL)
        if container.name == lock:
            continue
        if role == "state" and not options.history:
            removal.kept.append(f"history {container.name} (remove it with --history)")
            continue
        log(f"removing {role or 'container'} {container.name}")
        runtime.remove(container.name)
        removal.removed.append(f"container {container.name}")
    if runtime.network_subnet(network) is not None:
        _retry(partial(runtime.remove_network, network))  # endpoints may still be detaching
        removal.removed.append(f"network {network}")
    for volume in runtime.volumes(labels):
        if volume == state and not options.history:
            continue
        if not options.volumes and volume != state:
            removal.kept.append(f"volume {volume} (remove it with --volumes)")
            continue
        _retry(partial(runtime.remove_volume, volume))
        removal.removed.append(f"volume {volume}")


def wait_containers_gone(runtime: DockerRuntime, labels: dict[str, str], roles: set[str]) -> None:
    """Until no container with ``labels`` and a role in ``roles`` is left (Swarm removes a
    service's task containers after ``service rm`` returns)."""
    deadline = time.monotonic() + GONE_WAIT_SECONDS
    while time.monotonic() < deadline:
        left = [c for c in runtime.containers(labels) if c.labels.get(ROLE_LABEL) in roles]
        if not left:
            return
        time.sleep(POLL_SECONDS)


def _retry(action: Callable[[], None], attempts: int = 40) -> None:
    """``action`` until the engine stops refusing it (an object still in use for a moment)."""
    for attempt in range(attempts):
        try:
            action()
            return
        except RuntimeFailure:
            if attempt == attempts - 1:
                raise
            time.sleep(POLL_SECONDS)
