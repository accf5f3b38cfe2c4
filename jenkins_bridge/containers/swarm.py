"""Swarm services on a manager engine: the Docker SDK's services API behind typed values.

The spec is a pure mapping (``service_spec``) tested without an engine; ``SwarmServices`` only
sends it and reads back what Swarm reports (``UpdateStatus``, tasks).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jenkins_bridge.containers.runtime import (
    NANO,
    DockerRuntime,
    HealthSpec,
    RuntimeFailure,
    health_config,
)


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    """One replicated Swarm service; ``network`` is ``host`` or an overlay network's name."""

    name: str
    image: str
    labels: Mapping[str, str]
    container_labels: Mapping[str, str]
    env: Mapping[str, str]  # values may use Swarm templates, e.g. {{.Task.Slot}}
    replicas: int
    network: str
    publish: tuple[tuple[int, int], ...]  # (target port, published port) on an overlay
    healthcheck: HealthSpec | None
    update_order: str  # start-first | stop-first
    monitor_seconds: int
    stop_timeout_seconds: int
    cpus: float | None = None
    memory_bytes: int | None = None
    secrets: tuple[tuple[str, str, str], ...] = ()  # (secret id, secret name, file name)
    args: tuple[str, ...] = ()  # the image's command replaced, like ``docker run IMAGE ARGS``
    volumes: tuple[tuple[str, str], ...] = ()  # (named volume, path in the container)
    aliases: tuple[str, ...] = ()  # extra names on the overlay network (a companion's name)


@dataclass(frozen=True, slots=True)
class TaskState:
    """One task of a service as Swarm reports it (its slot, state and image)."""

    slot: int
    state: str  # running, starting, failed, shutdown ...
    desired: str
    image: str
    error: str  # Swarm's Status.Err ("task: non-zero exit (1)"); the cause is in its logs
    id: str = ""
    created: str = ""  # CreatedAt, as Swarm wrote it
    container: str = ""  # Status.ContainerStatus.ContainerID (on the node that ran it)
    exit_code: int | None = None


@dataclass(frozen=True, slots=True)
class ServiceState:
    """What Swarm reports about a service: its spec's image and labels, and the last update."""

    name: str
    id: str
    replicas: int
    image: str
    labels: Mapping[str, str]
    container_labels: Mapping[str, str]
    update_state: str | None  # updating | completed | rollback_started | rollback_completed ...
    update_started: str | None
    update_message: str


def service_spec(spec: ServiceSpec) -> dict[str, Any]:
    """The Engine API ``ServiceSpec`` for ``spec``: a pure mapping, tested directly."""
    container: dict[str, Any] = {
        "Image": spec.image,
        "Labels": dict(spec.container_labels),
        "Env": [f"{key}={value}" for key, value in sorted(spec.env.items())],
        "StopGracePeriod": spec.stop_timeout_seconds * NANO,
        "Init": True,
    }
    if spec.healthcheck is not None:
        container["Healthcheck"] = health_config(spec.healthcheck)
    if spec.args:
        container["Args"] = list(spec.args)
    if spec.volumes:
        container["Mounts"] = [
            {"Type": "volume", "Source": volume, "Target": path} for volume, path in spec.volumes
        ]
    if spec.secrets:
        container["Secrets"] = [
            {
                "SecretID": secret_id,
                "SecretName": name,
                "File": {"Name": file_name, "UID": "0", "GID": "0", "Mode": 0o444},
            }
            for secret_id, name, file_name in spec.secrets
        ]
    limits: dict[str, Any] = {}
    if spec.cpus:
        limits["NanoCPUs"] = int(spec.cpus * NANO)
    if spec.memory_bytes:
        limits["MemoryBytes"] = spec.memory_bytes
    update = {
        "Parallelism": 1,
        "Delay": 0,
        "FailureAction": "rollback",
        "Monitor": spec.monitor_seconds * NANO,
        "MaxFailureRatio": 0.0,
        "Order": spec.update_order,
    }
    body: dict[str, Any] = {
        "Name": spec.name,
        "Labels": dict(spec.labels),
        "TaskTemplate": {
            "ContainerSpec": container,
            "Resources": {"Limits": limits} if limits else {},
            "RestartPolicy": {"Condition": "any", "Delay": NANO, "MaxAttempts": 0},
            "Networks": [
                {"Target": spec.network, "Aliases": list(spec.aliases)}
                if spec.aliases and spec.network != "host"
                else {"Target": spec.network}
            ],
        },
        "Mode": {"Replicated": {"Replicas": spec.replicas}},
        "UpdateConfig": update,
        "RollbackConfig": {**update, "FailureAction": "pause"},
    }
    if spec.publish:
        body["EndpointSpec"] = {
            "Mode": "vip",
            "Ports": [
                {"Protocol": "tcp", "TargetPort": target, "PublishedPort": published}
                for target, published in spec.publish
            ],
        }
    return body


def _state(attrs: Mapping[str, Any]) -> ServiceState:
    spec = attrs.get("Spec") or {}
    container = (spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}
    update = attrs.get("UpdateStatus") or {}
    replicated = (spec.get("Mode") or {}).get("Replicated") or {}
    return ServiceState(
        id=str(attrs.get("ID", "")),
        name=str(spec.get("Name", "")),
        image=str(container.get("Image", "")),
        labels=dict(spec.get("Labels") or {}),
        container_labels=dict(container.get("Labels") or {}),
        replicas=int(replicated.get("Replicas", 0)),
        update_state=update.get("State"),
        update_started=update.get("StartedAt"),
        update_message=str(update.get("Message", "")),
    )


def task_state(task: Mapping[str, Any]) -> TaskState:
    """A task as the Engine API reports it -> ``TaskState`` (pure, tested directly)."""
    status = task.get("Status") or {}
    container = ((task.get("Spec") or {}).get("ContainerSpec")) or {}
    container_status = status.get("ContainerStatus") or {}
    exit_code = container_status.get("ExitCode")
    return TaskState(
        slot=int(task.get("Slot", 0)),
        state=str(status.get("State", "")),
        desired=str(task.get("DesiredState", "")),
        image=str(container.get("Image", "")),
        error=str(status.get("Err", "")),
        id=str(task.get("ID", "")),
        created=str(task.get("CreatedAt", "")),
        container=str(container_status.get("ContainerID", "")),
        exit_code=None if exit_code is None else int(exit_code),
    )


def created_order(task: TaskState) -> tuple[str, str]:
    """Oldest first: ``CreatedAt`` with its fraction padded (Swarm drops trailing zeros, so
    the strings alone do not sort: ``.1Z`` > ``.123Z``)."""
    stamp = task.created.rstrip("Z")
    whole, _, fraction = stamp.partition(".")
    return f"{whole}.{fraction.ljust(9, '0')}", task.id


class SwarmServices:
    """Services, tasks and secrets on the swarm manager behind a ``DockerRuntime``."""

    def __init__(self, runtime: DockerRuntime) -> None:
        self.runtime = runtime
        self._api = runtime.api  # the same connection (and ssh tunnel) as the runtime

    def is_manager(self) -> tuple[bool, str]:
        """Whether this engine can manage services, and the engine's own words for its state."""
        with self.runtime.errors("reading the swarm state"):
            info = self._api.info()
        swarm = info.get("Swarm") or {}
        state = str(swarm.get("LocalNodeState", "unknown"))
        return bool(swarm.get("ControlAvailable")), state

    def inspect(self, name: str) -> ServiceState | None:
        import docker.errors

        with self.runtime.errors(f"inspecting service {name}"):
            try:
                return _state(self._api.inspect_service(name))
            except docker.errors.NotFound:
                return None

    def apply(self, spec: ServiceSpec) -> ServiceState:
        """Create the service, or update it to ``spec`` (a rolling update Swarm drives)."""
        import docker.errors

        body = service_spec(spec)
        with self.runtime.errors(f"applying service {spec.name}"):
            try:
                current = self._api.inspect_service(spec.name)
            except docker.errors.NotFound:
                current = None
            keywords = {
                "task_template": body["TaskTemplate"],
                "name": body["Name"],
                "labels": body["Labels"],
                "mode": body["Mode"],
                "update_config": body["UpdateConfig"],
                "rollback_config": body["RollbackConfig"],
                "endpoint_spec": body.get("EndpointSpec"),
            }
            if current is None:
                self._api.create_service(**keywords)
            else:
                version = current["Version"]["Index"]
                self._api.update_service(
                    current["ID"], version, fetch_current_spec=False, **keywords
                )
        state = self.inspect(spec.name)
        if state is None:
            raise RuntimeFailure(f"applying service {spec.name}", "the service vanished")
        return state

    def restore_previous(self, name: str) -> bool:
        """Update the service back to the spec it had before its last update (what ``docker
        service rollback`` does); False when it has none.

        The restore itself never rolls back: a task of the previous version that fails at
        first (the interrupted version's task still holds a host port for a moment) would
        otherwise send the service back to the very version being undone. Swarm's restart
        policy starts the failed task again instead, until it runs.
        """
        with self.runtime.errors(f"returning service {name} to its previous spec"):
            current = self._api.inspect_service(name)
            previous = current.get("PreviousSpec")
            if not previous:
                return False
            update_config = {**(previous.get("UpdateConfig") or {}), "FailureAction": "continue"}
            self._api.update_service(
                current["ID"],
                current["Version"]["Index"],
                fetch_current_spec=False,
                task_template=previous.get("TaskTemplate"),
                name=previous.get("Name"),
                labels=previous.get("Labels"),
                mode=previous.get("Mode"),
                update_config=update_config,
                rollback_config=previous.get("RollbackConfig"),
                endpoint_spec=previous.get("EndpointSpec"),
            )
        return True

    def tasks(self, name: str) -> list[TaskState]:
        with self.runtime.errors(f"listing the tasks of {name}"):
            raw = self._api.tasks(filters={"service": name})
        return sorted((task_state(task) for task in raw), key=created_order)

    def task_logs(
        self, service: str, task_id: str, tail: int | None = None, since: int | None = None
    ) -> str:
        """What one task of ``service`` printed (stdout and stderr), read through the manager
        from whichever node ran it: a failed task's cause (``bind: Address already in use``)
        is only here. ``tail`` counts lines per task."""
        marker = f"com.docker.swarm.task.id={task_id}"
        with self.runtime.errors(f"reading the logs of task {task_id} of {service}"):
            # details=True prefixes each line with its task's attributes: keep this task's.
            stream = self._api.service_logs(
                service,
                details=True,
                stdout=True,
                stderr=True,
                tail=tail if tail else "all",
                since=since,
                is_tty=False,
            )
            lines = []
            for chunk in stream:
                for line in bytes(chunk).decode("utf-8", errors="replace").splitlines():
                    attributes, _, text = line.partition(" ")
                    if marker in attributes.split(","):
                        lines.append(text)
        return "".join(f"{line}\n" for line in lines)

    def services(self, labels: Mapping[str, str]) -> list[ServiceState]:
        """The services carrying all ``labels``."""
        filters = {"label": [f"{k}={v}" for k, v in labels.items()]}
        with self.runtime.errors("listing services"):
            return [_state(s) for s in self._api.services(filters=filters)]

    def restart(self, name: str) -> None:
        """Replace every task of the service with a fresh one (``docker service update
        --force``): the spec is unchanged, ``ForceUpdate`` is counted up."""
        with self.runtime.errors(f"restarting service {name}"):
            current = self._api.inspect_service(name)
            template = dict(current["Spec"]["TaskTemplate"])
            template["ForceUpdate"] = int(template.get("ForceUpdate") or 0) + 1
            self._api.update_service(
                current["ID"],
                current["Version"]["Index"],
                task_template=template,
                fetch_current_spec=True,
            )

    def ensure_overlay(self, name: str, subnet: str | None, labels: Mapping[str, str]) -> bool:
        """An attachable overlay network; True when this call created it."""
        import docker.errors

        with self.runtime.errors(f"creating overlay network {name}"):
            try:
                self._api.inspect_network(name)
                return False
            except docker.errors.NotFound:
                pass
            ipam = None
            if subnet:
                from docker.types import IPAMConfig, IPAMPool

                ipam = IPAMConfig(pool_configs=[IPAMPool(subnet=subnet)])
            self._api.create_network(
                name, driver="overlay", attachable=True, ipam=ipam, labels=dict(labels)
            )
            return True

    def remove(self, name: str) -> None:
        import docker.errors

        with self.runtime.errors(f"removing service {name}"):
            try:
                self._api.remove_service(name)
            except docker.errors.NotFound:
                return

    def ensure_secret(self, name: str, value: str, labels: Mapping[str, str]) -> str:
        """A Swarm secret holding ``value`` (secrets are immutable: the name carries a hash)."""
        import docker.errors

        with self.runtime.errors(f"creating swarm secret {name}"):
            try:
                return str(self._api.inspect_secret(name)["ID"])
            except docker.errors.NotFound:
                created = self._api.create_secret(name, value.encode(), labels=dict(labels))
                return str(created["ID"])

    def secrets(self, labels: Mapping[str, str]) -> dict[str, str]:
        """The Swarm secrets carrying all ``labels``: id -> name."""
        filters = {"label": [f"{k}={v}" for k, v in labels.items()]}
        with self.runtime.errors("listing swarm secrets"):
            found = self._api.secrets(filters=filters)
        return {str(s["ID"]): str((s.get("Spec") or {}).get("Name", "")) for s in found}

    def secrets_in_use(self) -> set[str]:
        """Ids of the secrets any service's spec or previous spec (its rollback) refers to."""
        with self.runtime.errors("listing services"):
            services = self._api.services()
        used: set[str] = set()
        for service in services:
            for key in ("Spec", "PreviousSpec"):
                template = (service.get(key) or {}).get("TaskTemplate") or {}
                for ref in (template.get("ContainerSpec") or {}).get("Secrets") or []:
                    used.add(str(ref.get("SecretID", "")))
        return used

    def remove_secret(self, secret_id: str) -> bool:
        """Remove a secret; False when the engine refuses (a task still uses it)."""
        import docker.errors

        try:
            self._api.remove_secret(secret_id)
        except docker.errors.NotFound:
            return True
        except docker.errors.APIError:
            return False
        return True
