"""Deploys to a Docker Swarm service (``target: swarm``): Swarm drives the rolling update, this
module reports the truth of it.

Same contract as the Docker-host deploy: the lock and the history records are the ones of
``deploy.rollout`` (kept on the manager engine), the result is ``live`` (exit 0) or
``rolled-back`` (exit 3: Swarm's own automatic rollback, ``UpdateStatus.State ==
rollback_completed``), anything else raises. Success needs the serving version to answer its
health path on every replica, not just Swarm's ``completed``.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import secrets as secrets_module
import socket
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace

from jenkins_bridge.containers.runtime import DockerRuntime
from jenkins_bridge.containers.swarm import ServiceSpec, ServiceState, SwarmServices, TaskState
from jenkins_bridge.deploy import swarm_tasks
from jenkins_bridge.deploy.errors import DeployError, LockHeld
from jenkins_bridge.deploy.history_store import HistoryNotWritten
from jenkins_bridge.deploy.interrupts import reached, stops_as_interrupts
from jenkins_bridge.deploy.platform import (
    CommandOptions,
    DeployOptions,
    Log,
    Platform,
    no_proxy,
    status_json,
)
from jenkins_bridge.deploy.records import (
    IMAGE_LABEL,
    LOCK_LABEL,
    RECORD_LABEL,
    SALT_FILE,
    SEQ_LABEL,
    SPEC_LABEL,
    STATE_DIR,
    DeployRecord,
    ShapeError,
    describe_lock,
)
from jenkins_bridge.deploy.rollout import (
    DeployResult,
    Session,
    _health_spec,
    _iso,
    _now,
    connect,
    rollback_image,
)
from jenkins_bridge.deploy.target import (
    DeployTarget,
    Listen,
    bound_secrets,
    check_subnet,
    companion_spec_hash,
    find_stage,
    parse_listen,
)
from jenkins_bridge.descriptor.model import Companion, Service
from jenkins_bridge.errors import BridgeError

SLOT_TEMPLATE = "{{.Task.Slot}}"
POLL_SECONDS = 0.25
FAILED_TASKS_LIMIT = 3  # a new service whose tasks failed this often per replica has failed
DONE_STATES = ("completed", "rollback_completed", "paused", "rollback_paused")


class NotSwarmManager(DeployError):
    code = "not-swarm-manager"


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
    from jenkins_bridge.descriptor.naming import ObjectNames

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


def _probe_host(target: DeployTarget) -> str:
    host = target.listen.host
    return "127.0.0.1" if host in ("0.0.0.0", "") else host


def probed_addresses(target: DeployTarget, ports: list[int]) -> str:
    """The URLs the health probe asked on ``ports``, said with a failure (a wrong port shows)."""
    path = target.service.runtime.healthcheck.path
    return ", ".join(f"http://{_probe_host(target)}:{port}{path}" for port in ports)


def wait_answering(target: DeployTarget, timeout: float) -> list[int]:
    """Poll every replica's health path until all answer 200; the ports still failing."""
    path = target.service.runtime.healthcheck.path
    pending = task_ports(target)
    deadline = time.monotonic() + timeout
    while True:
        pending = [port for port in pending if probe(_probe_host(target), port, path, 2)[0] != 200]
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


class SwarmSession(Session):
    """One command's view of a swarm service environment: its manager and services; the lock
    and history are the Docker host's (``Session``), kept on the manager engine."""

    def __init__(
        self, target: DeployTarget, runtime: DockerRuntime, environ: Mapping[str, str], log: Log
    ) -> None:
        self.services = SwarmServices(runtime)
        super().__init__(target, runtime, environ, log)
        self.name = self.target.names.base

    def _adopted(self, target: DeployTarget) -> DeployTarget:
        self.require_manager()  # before anything else is asked of the engine
        return super()._adopted(target)

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
            healthcheck=_health_spec(runtime.healthcheck),
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
        timeout = _update_timeout(self.target)
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
            healthcheck=_health_spec(companion.healthcheck) if companion.healthcheck else None,
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


def _update_timeout(target: DeployTarget) -> float:
    stage = target.stage
    runtime = target.service.runtime
    per_task = target.health_timeout + stage.monitor_seconds + runtime.stop_timeout_seconds
    return per_task * stage.replicas * 2 + 30  # the update and, if it fails, its rollback


def _deploy_locked(
    session: SwarmSession, image: str, digest: str, action: str, secrets: Mapping[str, str]
) -> DeployResult:
    target = session.target
    log = session.log
    started = time.monotonic()
    history = session.store.parsed().records  # what cannot be read is kept aside on write
    before = session.services.inspect(session.name)
    # A service at 0 replicas (a failed first deploy kept for inspection) serves nothing, and
    # Swarm scales it up rather than rolling an update: it is deployed like a new one.
    fresh = before is None or before.replicas == 0
    previous = None if fresh or before is None else before.container_labels.get(IMAGE_LABEL)
    seq = 1 + max([r.seq for r in history] + [0])
    record = DeployRecord(
        seq=seq,
        action=action,
        environment=target.environment,
        image=image,
        digest=digest,
        container=session.name,
        previous=previous,
        result="pending",
        started=_iso(_now()),
        duration_seconds=0.0,
        build_url=session.environ.get("BUILD_URL") or None,
        git_commit=session.environ.get("GIT_COMMIT") or None,
        descriptor_sha256=target.service.digest,
        agent=session.environ.get("NODE_NAME") or socket.gethostname(),
    )

    def finish(result: str, detail: str = "") -> DeployRecord:
        done = replace(
            record,
            result=result,
            detail=session.redact(detail),
            duration_seconds=round(time.monotonic() - started, 3),
        )
        session.append_history(done)
        return done

    applied = passed = False
    try:
        network = target.names.network
        if target.stage.network != "host" and session.runtime.network_subnet(network) is None:
            subnet = session.choose_subnet()
            if session.services.ensure_overlay(network, subnet, session.labels("network")):
                log(f"created overlay network {network} ({subnet or 'subnet chosen by Swarm'})")
        for step in session.ensure_companion_services():
            log(step)
        reached("companions")
        spec = session.spec(digest, record, secrets)
        log(
            f"{'creating' if fresh else 'updating'} swarm service {session.name} "
            f"({target.stage.replicas} x {digest})"
        )
        earlier = session.task_ids(session.name) if before is not None else set()
        session.services.apply(spec)
        applied = True
        reached("gate")
        if fresh or before is None:
            try:
                session.wait_converged(session.name, digest, target.stage.replicas, earlier)
            except DeployError as exc:
                # Like the Docker host's failed first deploy: nothing served before, nothing
                # serves now, and the failed version is kept (at 0 replicas) for inspection.
                session.services.apply(replace(spec, replicas=0))
                detail = (
                    f"{exc.message}; serving: nothing (first deploy); service {session.name} "
                    f"scaled to 0 and kept for inspection (docker service ps --no-trunc "
                    f"{session.name}; remove it with docker service rm {session.name})"
                )
                log(detail)
                return DeployResult("rolled-back", finish("rolled-back", detail))
            state = session.services.inspect(session.name)
            assert state is not None
        else:
            state = session.wait_update(before.update_started, _update_timeout(target))
        log(f"Swarm update state: {state.update_state or 'created'} {state.update_message}")
        if state.update_state == "rollback_completed":
            # Swarm reports this before the old tasks listen again: wait for them to answer.
            failing = wait_answering(target, target.health_timeout)
            serving = previous or "nothing"
            answer = (
                "answers"
                if not failing
                else f"does not answer on {probed_addresses(target, failing)}"
            )
            causes = swarm_tasks.failure_causes(
                session.services,
                session.name,
                swarm_tasks.this_attempt(session.services.tasks(session.name), earlier),
            )
            detail = (
                f"Swarm rolled back the update ({state.update_message}); serving {serving}, "
                f"which {answer} its health path"
                + (f"; failed tasks: {'; '.join(causes)}" if causes else "")
            )
            log(detail)
            session.prune_secrets()
            return DeployResult("rolled-back", finish("rolled-back", detail), failed_logs="")
        if state.update_state in ("paused", "rollback_paused"):
            raise DeployError(
                f"Swarm {state.update_state.replace('_', ' ')} the update of {session.name}: "
                f"{state.update_message}",
                hint=f"docker service ps --no-trunc {session.name}; then deploy or rollback",
            )
        failing = wait_answering(target, target.health_timeout)
        if failing:
            raise DeployError(
                f"{session.name}: Swarm reports the update done, but "
                f"{probed_addresses(target, failing)} do not answer with 200 within "
                f"{target.health_timeout:g} s",
                hint=f"docker service ps --no-trunc {session.name}",
            )
        log(f"every replica answers {target.service.runtime.healthcheck.path}")
        passed = True  # every replica answers: an interrupt from here on leaves it live
        session.prune_secrets()
        reached("finished")
        return DeployResult("live", finish("live"))
    except HistoryNotWritten:
        raise
    except KeyboardInterrupt as stop:
        why = f"interrupted ({stop.args[0]})" if stop.args else "interrupted"
        if passed:
            detail = f"{why} after every replica answered; this version serves"
        elif applied:
            detail = (
                f"{why}; Swarm carries on with the update it was given (status and the next "
                "deploy say what it made of it)"
            )
        else:
            detail = f"{why}; the service was not changed"
        log(detail)
        try:
            finish("live" if passed else "interrupted", detail)
        except HistoryNotWritten as exc:
            log(exc.message)
        raise
    except BridgeError as exc:
        try:
            finish("failed", exc.message)
        except HistoryNotWritten as unwritten:
            exc.message += f"; its history record was not written: {unwritten.message}"
        raise


def adopt_unrecorded(session: SwarmSession) -> list[str]:
    """The record of a deploy killed before it wrote one (it is on the service's labels),
    added to history with what Swarm made of it."""
    state = session.services.inspect(session.name)
    parsed = session.store.parsed()
    if state is None or not parsed.intact:
        return []
    try:
        record = DeployRecord.from_json(json.loads(state.container_labels.get(RECORD_LABEL, "")))
    except (ShapeError, json.JSONDecodeError):
        return []
    if record.seq <= max([r.seq for r in parsed.records] + [0]):
        return []
    answering = state.replicas > 0 and not wait_answering(session.target, 0)
    if state.update_state == "rollback_completed":
        result = "rolled-back"
    elif state.update_state in (None, "", "completed") and answering:
        result = "live"
    else:
        result = "interrupted"
    detail = (
        f"not recorded by its deploy (killed, or the write failed); recorded by the next "
        f"command: Swarm update state {state.update_state or 'none'}, replicas "
        f"{'answer' if answering else 'do not answer'}"
    )
    try:
        session.store.append(replace(record, result=result, detail=detail))
    except HistoryNotWritten as exc:
        return [f"could not record deploy #{record.seq}: {exc.message}"]
    return [f"recorded the unrecorded deploy #{record.seq} ({result}) in history"]


@dataclass(frozen=True)
class SwarmStatus:
    service: str
    environment: str
    engine: str
    name: str
    live: str | None  # the digest the service spec runs
    update_state: str | None
    update_message: str
    replicas: int
    tasks: list[TaskState]
    answering: list[int]
    lock: str | None
    last: DeployRecord | None
    cleared: list[str] = field(default_factory=list)  # what killed deploys left, now cleared
    history_problem: str | None = None

    @property
    def serving(self) -> bool:
        """Some replica of the live version answers its health path (not just recorded)."""
        return self.live is not None and bool(self.answering)

    def as_json(self) -> dict[str, object]:
        data = status_json(self, self.live, self.name)
        data["serving"] = self.serving
        return data

    def text(self) -> str:
        lines = [f"{self.service} {self.environment} on {self.engine} (swarm service {self.name})"]
        lines.append(
            f"live: {self.live} ({self.replicas} replicas, update {self.update_state or '-'})"
            if self.live
            else "live: nothing"
        )
        lines.append(
            f"serving: yes (ports {', '.join(map(str, self.answering))} answer)"
            if self.serving
            else "serving: NO (no replica answers its health path)"
        )
        for task in self.tasks:
            lines.append(f"task {task.slot}: {task.state} {task.image} {task.error}")
        if self.lock:
            lines.append(f"locked: {self.lock}")
        lines.extend(f"cleared: {line}" for line in self.cleared)
        if self.history_problem:
            lines.append(f"history: unreadable ({self.history_problem})")
        return "\n".join(line.rstrip() for line in lines)


def _clear_if_free(session: SwarmSession) -> list[str]:
    """A stale lock and an unrecorded killed deploy, cleared under the lock (never waited
    for: a live holder means a deploy runs, and nothing is touched)."""
    if session.runtime.inspect(session.names.lock) is None and not _unrecorded(session):
        return []
    try:
        lock = session.locked(DeployOptions(action="status", lock_wait=0))
        with lock:
            done = adopt_unrecorded(session)
        return ([f"removed {lock.took_over}"] if lock.took_over else []) + done
    except LockHeld as exc:
        return [f"nothing cleared: {exc.message}"]


def _unrecorded(session: SwarmSession) -> bool:
    state = session.services.inspect(session.name)
    if state is None:
        return False
    try:
        seq = int(state.container_labels.get(SEQ_LABEL, "0"))
    except ValueError:
        return False
    return seq > max([r.seq for r in session.store.parsed().records] + [0])


class SwarmPlatform(Platform):
    """The ``Platform`` of ``target: swarm``: one Swarm service on the manager engine."""

    def __init__(self, target: DeployTarget) -> None:
        self.target = target

    @classmethod
    def resolve(cls, service: Service, environment: str, options: CommandOptions) -> SwarmPlatform:
        target = resolve_swarm_target(service, environment, timeout=options.timeout)
        if options.proxy_image:
            raise no_proxy(target)
        return cls(target)

    def deploy(
        self, image: str, environ: Mapping[str, str], log: Log, options: DeployOptions
    ) -> DeployResult:
        """Create or update the swarm service to ``image``: ``live`` or ``rolled-back``.
        (Swarm's rolling update replaces ``strategy``; ``updateOrder`` says which task first.)"""
        runtime_spec = self.target.service.runtime
        secret_values = bound_secrets(runtime_spec.secrets, environ, self.target.owner)
        for companion in runtime_spec.companions:  # fail before any change
            bound_secrets(companion.secrets, environ, self.target.names.companion(companion.name))
        with stops_as_interrupts(), connect(self.target) as runtime:
            session = SwarmSession(self.target, runtime, environ, log)
            session.check_owner()
            resolved = runtime.resolve_image(image)
            log(f"{image} resolves to {resolved.digest_reference}")
            runtime.resolve_image(self.target.helper_image)  # the lock's and the state's image
            try:
                with session.locked(options):
                    reached("locked")
                    for line in adopt_unrecorded(session):
                        log(line)
                    return _deploy_locked(
                        session, image, resolved.digest_reference, options.action, secret_values
                    )
            except BridgeError as exc:
                session.redact.error(exc)
                raise

    def previous_image(self, environ: Mapping[str, str], log: Log) -> str:
        """What ``rollback`` returns to: the previous live version in history (a new update)."""
        with connect(self.target) as runtime:
            session = SwarmSession(self.target, runtime, environ, log)
            history = session.history()
            state = session.services.inspect(session.name)
        current = state.container_labels.get(IMAGE_LABEL) if state else None
        return rollback_image(self.target, history, current, log)

    def status(self, log: Log) -> SwarmStatus:
        with connect(self.target) as runtime:
            session = SwarmSession(self.target, runtime, {}, log)
            cleared = _clear_if_free(session)
            state = session.services.inspect(session.name)
            tasks = session.services.tasks(session.name) if state else []
            lock = runtime.inspect(self.target.names.lock)
            parsed = session.store.parsed()
        path = self.target.service.runtime.healthcheck.path
        answering = (
            [
                p
                for p in task_ports(self.target)
                if probe(_probe_host(self.target), p, path, 2)[0] == 200
            ]
            if state
            else []
        )
        return SwarmStatus(
            service=self.target.owner,
            environment=self.target.environment,
            engine=runtime.docker_host,
            name=session.name,
            live=state.container_labels.get(IMAGE_LABEL) if state else None,
            update_state=state.update_state if state else None,
            update_message=state.update_message if state else "",
            replicas=state.replicas if state else 0,
            tasks=[t for t in tasks if t.desired == "running"],
            answering=answering,
            lock=None if lock is None else describe_lock(lock.labels.get(LOCK_LABEL)),
            last=parsed.records[-1] if parsed.records else None,
            cleared=cleared,
            history_problem="; ".join(parsed.problems[:3]) or None,
        )

    def history(self, log: Log) -> list[DeployRecord]:
        with connect(self.target) as runtime:
            session = SwarmSession(self.target, runtime, {}, log)
            return session.history()
