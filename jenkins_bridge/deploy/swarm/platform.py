"""The ``Platform`` of ``target: swarm``: one Swarm service on the manager engine (deploys in
``swarm.rollout``), and the commands that operate it day to day: logs and exec of a running
task (the app's or a companion's; the newest task's logs when none runs), restarting a
companion service, ``remove``'s services and secrets and the dry run of a deploy; the lock
and the rest of ``remove`` are ``EnginePlatform``'s.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import replace

from jenkins_bridge.containers.runtime import DockerRuntime, RuntimeFailure
from jenkins_bridge.containers.swarm import TaskState
from jenkins_bridge.deploy.docker_host.engine_platform import EnginePlatform
from jenkins_bridge.deploy.docker_host.session import Session, connect
from jenkins_bridge.deploy.dry_run import DeployPlan
from jenkins_bridge.deploy.lock_admin import lock_blocker
from jenkins_bridge.deploy.options import CommandOptions, DeployOptions, Log
from jenkins_bridge.deploy.platform import (
    DeployResult,
    find_companion,
    no_proxy,
    not_running,
    rollback_image,
)
from jenkins_bridge.deploy.records import IMAGE_LABEL, SPEC_LABEL, DeployRecord
from jenkins_bridge.deploy.removal import Removal, environment_labels, wait_containers_gone
from jenkins_bridge.deploy.swarm import rollout
from jenkins_bridge.deploy.swarm import tasks as swarm_tasks
from jenkins_bridge.deploy.swarm.session import SwarmSession
from jenkins_bridge.deploy.swarm.status import SwarmStatus, read_status
from jenkins_bridge.deploy.swarm.target import resolve_swarm_target
from jenkins_bridge.deploy.target import bound_secrets, companion_spec_hash
from jenkins_bridge.descriptor.model import Service
from jenkins_bridge.errors import BridgeError

SECRET_REMOVE_ATTEMPTS = 120  # a secret stays in use until its last task container is gone


class SwarmPlatform(EnginePlatform):
    """``target: swarm``: deploys, rollbacks and status, and the commands that operate it."""

    @classmethod
    def resolve(cls, service: Service, environment: str, options: CommandOptions) -> SwarmPlatform:
        target = resolve_swarm_target(service, environment, timeout=options.timeout)
        if options.proxy_image:
            raise no_proxy(target)
        return cls(target)

    def session(self, runtime: DockerRuntime, environ: Mapping[str, str], log: Log) -> SwarmSession:
        return SwarmSession(self.target, runtime, environ, log)

    def deploy(
        self, image: str, environ: Mapping[str, str], log: Log, options: DeployOptions
    ) -> DeployResult:
        return rollout.deploy(self.target, image, environ, log, options)

    def previous_image(self, environ: Mapping[str, str], log: Log) -> str:
        """What ``rollback`` returns to: the previous live version in history (a new update)."""
        with connect(self.target) as runtime:
            session = SwarmSession(self.target, runtime, environ, log)
            history = session.history()
            state = session.services.inspect(session.name)
        current = state.container_labels.get(IMAGE_LABEL) if state else None
        return rollback_image(self.target, history, current, log)

    def status(self, log: Log) -> SwarmStatus:
        return read_status(self.target, log)

    def history(self, log: Log) -> list[DeployRecord]:
        with connect(self.target) as runtime:
            return SwarmSession(self.target, runtime, {}, log).history()

    def _service(self, session: SwarmSession, companion: str | None) -> str:
        if companion is None:
            return session.name
        find_companion(self.target, companion)
        return session.names.companion(companion)

    def _running_task(self, session: SwarmSession, service: str) -> TaskState | None:
        """The newest running task of ``service`` whose container is on this engine."""
        for task in reversed(session.services.tasks(service)):
            if task.state == "running" and task.container:
                found = session.runtime.inspect(task.container)
                if found is not None and found.running:
                    return task
        return None

    def logs(
        self, log: Log, *, since: int | None, follow: bool, companion: str | None = None
    ) -> Iterator[str]:
        """A running task's logs; with none running, the newest task's, saying so."""
        with connect(self.target) as runtime:
            session = SwarmSession(self.target, runtime, {}, log)
            service = self._service(session, companion)
            task = self._running_task(session, service)
            if task is not None:
                log(f"logs of task {service}.{task.slot} (container {task.container[:12]})")
                if follow:
                    yield from runtime.follow_logs(task.container, since=since)
                else:
                    yield runtime.logs(task.container, since=since)
                return
            tasks = session.services.tasks(service)
            # The newest task that ran (had a container): one Swarm just made and stopped
            # (scaled to 0) printed nothing.
            last = swarm_tasks.newest([t for t in tasks if t.container]) or swarm_tasks.newest(
                tasks
            )
            if last is None:
                raise not_running(
                    self.target,
                    f"swarm service {service} has no task (not deployed, or removed)",
                    "deploy it first",
                )
            log(
                f"no task of {service} runs; the newest task (slot {last.slot}, "
                f"{last.state}: {last.error or 'no error reported'}) printed:"
            )
            yield session.services.task_logs(service, last.id, since=since)

    def exec(
        self,
        argv: tuple[str, ...],
        environ: Mapping[str, str],
        log: Log,
        *,
        companion: str | None = None,
        stdin: bytes | None = None,
    ) -> tuple[int, str]:
        """Run ``argv`` inside a running task's container on this engine."""
        with connect(self.target) as runtime:
            session = SwarmSession(self.target, runtime, environ, log)
            service = self._service(session, companion)
            task = self._running_task(session, service)
            if task is None:
                raise not_running(
                    self.target,
                    f"no task of swarm service {service} runs on the engine {runtime.docker_host}",
                    f"docker service ps {service} shows where its tasks run; "
                    f"jenkins-bridge logs shows the newest task's logs",
                )
            log(f"running {' '.join(argv)} in task {service}.{task.slot}")
            return runtime.exec(task.container, argv, stdin)

    def restart(self, companion: str, log: Log, options: DeployOptions) -> str:
        """``docker service update --force`` of the companion's service, under the lock, until
        its new task runs (healthy: Swarm counts the healthcheck in)."""
        with connect(self.target) as runtime:
            session = SwarmSession(self.target, runtime, {}, log)
            service = self._service(session, companion)
            state = session.services.inspect(service)
            if state is None:
                raise not_running(
                    self.target, f"swarm service {service} does not exist", "deploy it first"
                )
            runtime.resolve_image(self.target.helper_image)  # the lock's image
            with session.locked(replace(options, action="restart")):
                earlier = session.task_ids(service)
                log(f"restarting companion {companion} (swarm service {service})")
                session.services.restart(service)
                session.wait_converged(service, state.image, state.replicas, earlier)
        return f"companion {companion} restarted (swarm service {service}, running)"

    def remove_own(self, session: Session, removal: Removal, log: Log) -> None:
        """The services (app and companions), then, once their tasks are gone, the secrets
        this tool made for the environment."""
        assert isinstance(session, SwarmSession)
        labels = environment_labels(self.target.owner, self.target.environment)
        for service in session.services.services(labels):
            log(f"removing swarm service {service.name}")
            session.services.remove(service.name)
            removal.removed.append(f"swarm service {service.name}")
        wait_containers_gone(session.runtime, labels, {"app", "companion"})
        for secret_id, name in session.services.secrets(session.labels("secret")).items():
            _remove_secret(session, secret_id)
            removal.removed.append(f"swarm secret {name}")

    def plan(
        self, image: str, environ: Mapping[str, str], log: Log, options: DeployOptions
    ) -> DeployPlan:
        target = self.target
        stage = target.stage
        with connect(target) as runtime:
            session = SwarmSession(target, runtime, environ, log)
            digest = runtime.resolve_image(image).digest_reference
            plan = DeployPlan(target.owner, target.environment, image, digest, None)
            for secrets, who in [(target.service.runtime.secrets, target.owner)] + [
                (c.secrets, c.name) for c in target.service.runtime.companions
            ]:
                try:
                    bound_secrets(secrets, environ, who)
                except BridgeError as exc:
                    plan.blockers.append(exc.message)
            held = lock_blocker(
                runtime, session.names.lock, target.owner, target.environment, options.lock_wait
            )
            plan.blockers.extend([held] if held else [])
            if stage.network != "host":
                if runtime.network_subnet(session.names.network) is None:
                    plan.step(f"create overlay network {session.names.network}")
                else:
                    plan.keep(f"overlay network {session.names.network}")
            for companion in target.service.runtime.companions:
                name = session.names.companion(companion.name)
                wanted = companion_spec_hash(
                    companion, runtime.resolve_image(companion.image).digest_reference
                )
                existing = session.services.inspect(name)
                if existing is None:
                    plan.step(f"create companion service {name}")
                elif existing.container_labels.get(SPEC_LABEL) == wanted:
                    plan.keep(f"companion service {name}")
                else:
                    plan.step(f"update companion service {name}: its spec changed")
            state = session.services.inspect(session.name)
        if state is None or state.replicas == 0:
            plan.step(f"create swarm service {session.name}: {stage.replicas} x {digest}")
        else:
            plan.live = state.container_labels.get(IMAGE_LABEL)
            plan.step(
                f"update swarm service {session.name} from {plan.live} to {digest}: rolling, "
                f"{stage.update_order}, {state.replicas} replica(s), rolled back by Swarm "
                "if a task fails"
            )
        return plan


def _remove_secret(session: SwarmSession, secret_id: str) -> None:
    for _ in range(SECRET_REMOVE_ATTEMPTS):
        if session.services.remove_secret(secret_id):
            return
        time.sleep(0.25)
    raise RuntimeFailure(
        f"removing swarm secret {secret_id}", "a task still uses it after the service went"
    )
