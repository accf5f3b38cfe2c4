"""A Swarm environment resolved from the descriptor (checked without an engine), and the
loopback ports and HTTP probe that tell whether its replicas answer."""

from __future__ import annotations

import http.client
import time

from jenkins_bridge.deploy.errors import DeployError
from jenkins_bridge.deploy.target import (
    DeployTarget,
    Listen,
    check_subnet,
    find_stage,
    parse_listen,
)
from jenkins_bridge.descriptor.model import Service
from jenkins_bridge.descriptor.naming import ObjectNames

SLOT_TEMPLATE = "{{.Task.Slot}}"
POLL_SECONDS = 0.25


def resolve_swarm_target(
    service: Service, environment: str, *, timeout: float | None = None
) -> DeployTarget:
    """The swarm environment ``environment``: checked without an engine, like the docker one."""
    stage = find_stage(service, environment)
    service = service.for_environment(stage)  # its runtime is this environment's
    where = f"{service.path}: deploy environment '{environment}'"
    if stage.network == "host" and stage.update_order != "stop-first":
        raise DeployError(
            f"{where}: network host with updateOrder {stage.update_order}: two tasks cannot "
            "bind one port",
            hint="set updateOrder: stop-first (or use network: overlay)",
        )
    if stage.network == "overlay":
        listen = parse_listen(stage.listen, where)
    else:  # each task listens on the host itself; listen is only what status shows
        listen = (
            parse_listen(stage.listen, where)
            if stage.listen
            else Listen("127.0.0.1", service.runtime.port)
        )
    return DeployTarget(
        service=service,
        stage=stage,
        names=ObjectNames.of(service.metadata.team, service.metadata.name, environment),
        owner=service.full_name,
        docker_host=stage.host,
        subnet=check_subnet(stage.subnet, where, stage.refused_subnets) if stage.subnet else None,
        listen=listen,
        proxy_image=stage.proxy_image,
        health_timeout=float(timeout if timeout is not None else stage.health_timeout_seconds),
        drain_seconds=float(stage.drain_seconds),
        subnet_pool=stage.subnet_pool,
        refused_subnets=stage.refused_subnets,
        helper_image=stage.helper_image,
    )


def task_ports(target: DeployTarget) -> list[int]:
    """The loopback ports the replicas answer on: with network host, the PORT env value per
    slot (``{{.Task.Slot}}`` filled in); on an overlay, the published listen port."""
    runtime = target.service.runtime
    if target.stage.network != "host":
        return [target.listen.port]
    template = runtime.env.get("PORT", str(runtime.port))
    ports = []
    for slot in range(1, target.stage.replicas + 1):
        text = template.replace(SLOT_TEMPLATE, str(slot))
        try:
            ports.append(int(text))
        except ValueError as exc:
            raise DeployError(
                f"{target.service.path}: runtime.env PORT {template!r} does not give a port "
                f"for slot {slot}",
                hint="use a number or a number with {{.Task.Slot}}, e.g. 1808{{.Task.Slot}}",
            ) from exc
    return sorted(set(ports))


def probe(host: str, port: int, path: str, timeout: float) -> tuple[int | None, str]:
    """HTTP GET ``path``: the status and the first bytes of the body (None when refused)."""
    try:
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read(200)
        connection.close()
        return response.status, body.decode("utf-8", "replace")
    except (OSError, http.client.HTTPException):
        return None, ""


def probe_host(target: DeployTarget) -> str:
    host = target.listen.host
    return "127.0.0.1" if host in ("0.0.0.0", "") else host


def probed_addresses(target: DeployTarget, ports: list[int]) -> str:
    """The URLs the health probe asked on ``ports``, said with a failure (a wrong port shows)."""
    path = target.service.runtime.healthcheck.path
    return ", ".join(f"http://{probe_host(target)}:{port}{path}" for port in ports)


def wait_answering(target: DeployTarget, timeout: float) -> list[int]:
    """Poll every replica's health path until all answer 200; the ports still failing."""
    path = target.service.runtime.healthcheck.path
    pending = task_ports(target)
    deadline = time.monotonic() + timeout
    while True:
        pending = [port for port in pending if probe(probe_host(target), port, path, 2)[0] != 200]
        if not pending or time.monotonic() >= deadline:
            return pending
        time.sleep(POLL_SECONDS)


def memory_bytes(memory: str | None) -> int | None:
    """``256Mi`` / ``1G`` / ``512k`` -> bytes (binary units, like the docker target)."""
    if not memory:
        return None
    units = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
    text = memory.lower().removesuffix("i").removesuffix("b")
    unit = text[-1] if text and text[-1] in units else ""
    return int(float(text[: len(text) - len(unit)]) * units[unit])
