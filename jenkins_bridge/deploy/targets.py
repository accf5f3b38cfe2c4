"""Which ``Platform`` runs an environment: the one place that reads ``deploy[].target``.

It sits above every implementation and nothing in ``deploy`` imports it, so the
implementations import the protocol (``deploy.platform``) without a circle through here.
Each implementation is imported only when its target is asked for: a Docker host's deploy
does not load the Kubernetes and Swarm code (a CLI call is start-up time someone waits for).
"""

from __future__ import annotations

from jenkins_bridge.deploy.options import CommandOptions
from jenkins_bridge.deploy.platform import Platform
from jenkins_bridge.deploy.target import find_stage
from jenkins_bridge.descriptor.model import Service


def platform_for(service: Service, environment: str, options: CommandOptions) -> Platform:
    """The platform of ``environment``'s target: the one place that chooses by target."""
    kind = find_stage(service, environment).target
    if kind == "kubernetes":
        from jenkins_bridge.deploy.kubernetes import KubernetesPlatform

        return KubernetesPlatform.resolve(service, environment, options)
    if kind == "swarm":
        from jenkins_bridge.deploy.swarm.platform import SwarmPlatform

        return SwarmPlatform.resolve(service, environment, options)
    from jenkins_bridge.deploy.docker_host.platform import DockerHostPlatform

    return DockerHostPlatform.resolve(service, environment, options)
