"""One command's view of a swarm service environment: the Docker host's engine session
(lock, history, network) on the manager, plus its services, secrets, specs and the waits for
Swarm to converge."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets as secrets_module
import time
from collections.abc import Collection, Mapping

from jenkins_bridge.containers.runtime import DockerRuntime
from jenkins_bridge.containers.swarm import ServiceSpec, ServiceState, SwarmServices, TaskState
from jenkins_bridge.deploy.docker_host.session import Session
from jenkins_bridge.deploy.errors import DeployError
from jenkins_bridge.deploy.health import container_health
from jenkins_bridge.deploy.options import Log
from jenkins_bridge.deploy.records import (
    IMAGE_LABEL,
    RECORD_LABEL,
    SALT_FILE,
    SEQ_LABEL,
    SPEC_LABEL,
    STATE_DIR,
    DeployRecord,
)
from jenkins_bridge.deploy.swarm import tasks as swarm_tasks
from jenkins_bridge.deploy.swarm.target import POLL_SECONDS, memory_bytes
from jenkins_bridge.deploy.target import (
    DeployTarget,
    bound_secrets,
    companion_spec_hash,
)
from jenkins_bridge.descriptor.model import Companion

FAILED_TASKS_LIMIT = 3  # a new service whose tasks failed this often per replica has failed
DONE_STATES = ("completed", "rollback_completed", "paused", "rollback_paused")


class NotSwarmManager(DeployError):
    code = "not-swarm-manager"


class SwarmSession(Session):
    """One command's view of a swarm service environment: its manager and services; the lock
    and history are the Docker host's (``Session``), kept on the manager engine."""

    def __init__(
        self, target: DeployTarget, runtime: DockerRuntime, environ: Mapping[str, str], log: Log
    ) -> None:
        self.services = SwarmServices(runtime)
        super().__init__(target, runtime, environ, log)
        self.name = self.target.names.base

    def adopted(self, target: DeployTarget) -> DeployTarget:
        self.require_manager()  # before anything else is asked of the engine
        return super().adopted(target)

    def owned_objects(self) -> list[tuple[str, str, Mapping[str, str] | None]]:
        service = self.services.inspect(self.name)
        found = ("swarm service", self.name, None if service is None else service.labels)
        return [*super().owned_objects(), found]

    def require_manager(self) -> None:
        manager, state = self.services.is_manager()
        if not manager:
            raise NotSwarmManager(
                f"{self.target.service.path}: deploy environment '{self.target.environment}' "
                f"targets swarm, but the engine {self.runtime.docker_host} is not a swarm "
                f"manager (swarm state: {state}); nothing was changed",
                hint="point deploy[].host/DOCKER_HOST at a manager, or run "
                "scripts/services.sh up for the local single-node swarm",
            )

    def secret_salt(self) -> bytes:
        """This environment's random salt, kept with its history (made on first use)."""
        path = f"{STATE_DIR}/{SALT_FILE}"
        has_state = self.runtime.inspect(self.names.state) is not None
        raw = self.runtime.get_file(self.names.state, path) if has_state else None
        if raw and len(raw.strip()) >= 32:
            return raw.strip()
        self.store.ensure_container()
        salt = secrets_module.token_hex(32).encode()
        self.runtime.put_file(self.names.state, STATE_DIR, SALT_FILE, salt + b"\n")
        return salt

    def secrets(self, values: Mapping[str, str]) -> tuple[tuple[str, str, str], ...]:
        # Secrets are immutable: a changed value needs a new name. The name carries a keyed
        # digest (salt per environment), never a plain hash a dictionary could reverse from
        # ``docker secret ls``.
        refs = []
        salt = self.secret_salt() if values else b""
        for env, value in sorted(values.items()):
            keyed = hmac.new(salt, f"{env}\0{value}".encode(), hashlib.sha256)
            name = self.names.secret(env, keyed.hexdigest()[:12])
            secret_id = self.services.ensure_secret(name, value, self.labels("secret"))
            refs.append((secret_id, name, env))
        return tuple(refs)

    def spec(self, image: str, record: DeployRecord, secrets: Mapping[str, str]) -> ServiceSpec:
        runtime = self.target.service.runtime
        stage = self.target.stage
        env = {"PORT": str(runtime.port), **runtime.env}
        for name in secrets:  # the value is a file, never in the service spec
            env[f"{name}_FILE"] = f"/run/secrets/{name}"
        host = stage.network == "host"
        return ServiceSpec(
            name=self.name,
            image=image,
            labels=self.labels("service"),
            container_labels={
                **self.labels("app"),
                SEQ_LABEL: f"{record.seq:06d}",
                IMAGE_LABEL: record.digest,
                RECORD_LABEL: json.dumps(record.as_json(), sort_keys=True),
            },
            env=env,
            replicas=stage.replicas,
            network="host" if host else self.target.names.network,
            publish=() if host else ((runtime.port, self.target.listen.port),),
            healthcheck=container_health(runtime.healthcheck),
            update_order=stage.update_order,
            monitor_seconds=stage.monitor_seconds,
            stop_timeout_seconds=runtime.stop_timeout_seconds,
            cpus=runtime.resources.cpus,
            memory_bytes=memory_bytes(runtime.resources.memory),
            secrets=self.secrets(secrets),
        )

    def wait_update(self, before: str | None, timeout: float) -> ServiceState:
        """Poll until Swarm ends the update started after ``before`` (its ``StartedAt``)."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.services.inspect(self.name)
            if state is None:
                raise DeployError(f"service {self.name} disappeared during the update")
            if state.update_started != before and state.update_state in DONE_STATES:
                return state
            if time.monotonic() >= deadline:
                raise DeployError(
                    f"Swarm did not finish updating {self.name} within {timeout:g} s "
                    f"(update state {state.update_state or 'none'}: {state.update_message})",
                    hint="docker service ps " + self.name,
                )
            time.sleep(POLL_SECONDS)

    def task_ids(self, name: str) -> set[str]:
        """The tasks a service has now: the ones a new attempt must not count as its own."""
        return {t.id for t in self.services.tasks(name)}

    def wait_converged(
        self, name: str, image: str, replicas: int, earlier: Collection[str] = ()
    ) -> list[TaskState]:
        """A new service: until ``replicas`` tasks run ``image`` (Swarm counts health in);
        tasks in ``earlier`` (an attempt before this one) are not this attempt's."""
        timeout = update_timeout(self.target)
        deadline = time.monotonic() + timeout
        while True:
            tasks = swarm_tasks.this_attempt(self.services.tasks(name), earlier)
            running = [
                t for t in tasks if t.desired == "running" and t.state == "running"
                and t.image == image
            ]  # fmt: skip
            if len(running) >= replicas:
                return running
            failed = [t for t in swarm_tasks.failed(tasks) if t.image == image]
            if time.monotonic() >= deadline or len(failed) >= FAILED_TASKS_LIMIT * replicas:
                causes = swarm_tasks.failure_causes(self.services, name, tasks)
                raise DeployError(
                    f"{name}: {len(running)} of {replicas} replicas running, {len(failed)} "
                    "tasks failed" + (f" (task errors: {'; '.join(causes)})" if causes else ""),
                    hint="docker service ps --no-trunc " + name,
                )
            time.sleep(POLL_SECONDS)

    def ensure_companion_services(self) -> list[str]:
        """Each companion as its own one-replica service on the service network, before the
        app; one whose spec is unchanged and that runs is kept."""
        steps = []
        for companion in self.target.service.runtime.companions:
            name = self.target.names.companion(companion.name)
            digest = self.runtime.resolve_image(companion.image).digest_reference
            spec = self.companion_spec(companion, digest)
            existing = self.services.inspect(name)
            if (
                existing is not None
                and existing.container_labels.get(SPEC_LABEL) == spec.container_labels[SPEC_LABEL]
                and any(t.state == "running" for t in self.services.tasks(name))
            ):
                steps.append(f"companion {companion.name}: kept ({name}, unchanged)")
                continue
            if companion.volume is not None:
                volume = self.target.names.volume(companion.volume.name)
                if self.runtime.ensure_volume(volume, self.labels("volume")):
                    self.log(f"created volume {volume}")
            self.log(f"companion {companion.name}: applying swarm service {name}")
            earlier = self.task_ids(name) if existing is not None else set()
            self.services.apply(spec)
            self.wait_converged(name, digest, 1, earlier)
            steps.append(f"companion {companion.name}: running ({name})")
        return steps

    def companion_spec(self, companion: Companion, image: str) -> ServiceSpec:
        runtime = self.target.service.runtime
        values = bound_secrets(companion.secrets, self.environ, companion.name)
        env = dict(companion.env)
        for key in values:  # like the app: the value is a file, never in the service spec
            env[f"{key}_FILE"] = f"/run/secrets/{key}"
        volume = companion.volume
        return ServiceSpec(
            name=self.target.names.companion(companion.name),
            image=image,
            labels=self.labels("companion"),
            container_labels={
                **self.labels("companion"),
                SPEC_LABEL: companion_spec_hash(companion, image),
            },
            env=env,
            replicas=1,
            network="host" if self.target.stage.network == "host" else self.target.names.network,
            publish=(),
            healthcheck=container_health(companion.healthcheck) if companion.healthcheck else None,
            update_order="stop-first",  # one replica with its volume: never two at once
            monitor_seconds=self.target.stage.monitor_seconds,
            stop_timeout_seconds=runtime.stop_timeout_seconds,
            secrets=self.secrets(values),
            args=companion.command,
            volumes=((self.target.names.volume(volume.name), volume.path),) if volume else (),
            aliases=(companion.name,),
        )

    def prune_secrets(self) -> None:
        """Remove this environment's Swarm secrets (created by earlier deploys, labelled so)
        that no service's spec or rollback spec refers to any more."""
        ours = self.services.secrets(self.labels("secret"))
        unused = sorted(set(ours) - self.services.secrets_in_use())
        for secret_id in unused:
            if self.services.remove_secret(secret_id):
                self.log(f"removed unused swarm secret {ours[secret_id]}")


def update_timeout(target: DeployTarget) -> float:
    stage = target.stage
    runtime = target.service.runtime
    per_task = target.health_timeout + stage.monitor_seconds + runtime.stop_timeout_seconds
    return per_task * stage.replicas * 2 + 30  # the update and, if it fails, its rollback
