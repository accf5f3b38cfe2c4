"""Which environment a command acts on, resolved from the descriptor and the command line.

Checks everything that needs no engine first (target kind, subnet, secrets bound, listen
address), so bad input fails before anything changes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

from jenkins_bridge.deploy.errors import (
    DeployError,
    NoSubnet,
    NoSuchEnvironment,
    NotDockerTarget,
    SecretUnbound,
)
from jenkins_bridge.descriptor.model import Companion, DeployStage, Secret, Service
from jenkins_bridge.descriptor.naming import ObjectNames
from jenkins_bridge.descriptor.networks import overlapping, parse_subnet, split_listen


@dataclass(frozen=True, slots=True)
class Listen:
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class DeployTarget:
    service: Service
    stage: DeployStage
    names: ObjectNames
    owner: str  # <team>/<name>, the service label
    docker_host: str | None
    subnet: str | None
    listen: Listen
    proxy_image: str
    health_timeout: float
    drain_seconds: float
    subnet_pool: str | None = None  # where the network's subnet is allocated when none is set
    refused_subnets: tuple[str, ...] = ()
    helper_image: str = ""  # the lock and state containers' image (Docker host, Swarm)

    @property
    def environment(self) -> str:
        return self.stage.environment


def find_stage(service: Service, environment: str) -> DeployStage:
    for stage in service.deploy:
        if stage.environment == environment:
            return stage
    known = ", ".join(s.environment for s in service.deploy) or "none"
    raise NoSuchEnvironment(
        f"{service.path}: no deploy environment '{environment}' (declared: {known})",
        hint="add it under deploy: in the descriptor or pass one of the declared ones",
    )


def parse_listen(text: str | None, where: str) -> Listen:
    if not text:
        raise DeployError(
            f"{where}: the environment has no listen address",
            hint="set deploy[].listen, e.g. 127.0.0.1:18080",
        )
    try:
        host, port = split_listen(text)
    except ValueError as exc:
        raise DeployError(f"{where}: listen {text!r}: {exc}") from exc
    return Listen(host, port)


def check_subnet(subnet: str, where: str, refused: tuple[str, ...] = ()) -> str:
    """``subnet`` as a network, unless it is none, special or in a refused range."""
    try:
        network = parse_subnet(subnet)
    except ValueError as exc:
        raise NoSubnet(f"{where}: subnet {exc}") from exc
    other = overlapping(str(network), refused)
    if other is not None:
        raise NoSubnet(
            f"{where}: subnet {subnet} overlaps the refused range {other} "
            "(deploy[].refusedSubnets)",
            hint="choose a subnet outside the refused ranges, or leave subnet unset and set "
            "subnetPool",
        )
    return str(network)


def resolve_target(
    service: Service,
    environment: str,
    *,
    subnet: str | None = None,
    proxy_image: str | None = None,
    timeout: float | None = None,
    docker_host: str | None = None,
) -> DeployTarget:
    stage = find_stage(service, environment)
    service = service.for_environment(stage)  # its runtime is this environment's
    where = f"{service.path}: deploy environment '{environment}'"
    if stage.target != "docker":
        raise NotDockerTarget(
            f"{where} has target '{stage.target}', not 'docker'",
            hint="deploy/rollback/status act on target: docker environments only",
        )
    chosen_subnet = subnet or stage.subnet
    proxy = proxy_image or stage.proxy_image
    return DeployTarget(
        service=service,
        stage=stage,
        names=ObjectNames.of(service.metadata.team, service.metadata.name, environment),
        owner=service.full_name,
        docker_host=docker_host or stage.host,
        subnet=check_subnet(chosen_subnet, where, stage.refused_subnets) if chosen_subnet else None,
        listen=parse_listen(stage.listen, where),
        proxy_image=proxy,
        health_timeout=float(timeout if timeout is not None else stage.health_timeout_seconds),
        drain_seconds=float(stage.drain_seconds),
        subnet_pool=stage.subnet_pool,
        refused_subnets=stage.refused_subnets,
        helper_image=proxy,  # pulled for the proxy anyway
    )


def bound_secrets(
    secrets: tuple[Secret, ...], environ: Mapping[str, str], who: str
) -> dict[str, str]:
    """The secret values from the environment variables the pipeline bound."""
    values: dict[str, str] = {}
    for secret in secrets:
        value = environ.get(secret.env)
        if not value:
            raise SecretUnbound(
                f"{who}: secret {secret.env} (credentials '{secret.credentials_id}') has no "
                "value: the environment variable is not set",
                hint=f"bind it in the pipeline: withCredentials([string(credentialsId: "
                f"'{secret.credentials_id}', variable: '{secret.env}')])",
            )
        values[secret.env] = value
    return values


def companion_spec_hash(companion: Companion, image_digest: str) -> str:
    """What decides whether a running companion is kept: never includes secret values."""
    data = {
        "image": image_digest,
        "command": list(companion.command),
        "env": dict(companion.env),
        "secrets": [s.env for s in companion.secrets],
        "volume": [companion.volume.name, companion.volume.path] if companion.volume else None,
        "health": None
        if companion.healthcheck is None
        else [
            list(companion.healthcheck.command),
            companion.healthcheck.interval_seconds,
            companion.healthcheck.timeout_seconds,
            companion.healthcheck.retries,
            companion.healthcheck.start_period_seconds,
        ],
    }
    text = json.dumps(data, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
