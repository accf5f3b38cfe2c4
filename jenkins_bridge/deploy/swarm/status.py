"""``status`` of a swarm environment: the service, its tasks, whether its replicas answer,
and a killed deploy's record adopted first when no deploy holds the lock."""

from __future__ import annotations

from dataclasses import dataclass, field

from jenkins_bridge.containers.swarm import TaskState
from jenkins_bridge.deploy.docker_host.session import connect
from jenkins_bridge.deploy.errors import LockHeld
from jenkins_bridge.deploy.options import DeployOptions, Log
from jenkins_bridge.deploy.platform import status_json
from jenkins_bridge.deploy.records import (
    IMAGE_LABEL,
    LOCK_LABEL,
    SEQ_LABEL,
    DeployRecord,
    describe_lock,
)
from jenkins_bridge.deploy.swarm.rollout import adopt_unrecorded
from jenkins_bridge.deploy.swarm.session import SwarmSession
from jenkins_bridge.deploy.swarm.target import probe, probe_host, task_ports
from jenkins_bridge.deploy.target import (
    DeployTarget,
)


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


def clear_if_free(session: SwarmSession) -> list[str]:
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


def read_status(target: DeployTarget, log: Log) -> SwarmStatus:
    with connect(target) as runtime:
        session = SwarmSession(target, runtime, {}, log)
        cleared = clear_if_free(session)
        state = session.services.inspect(session.name)
        tasks = session.services.tasks(session.name) if state else []
        lock = runtime.inspect(target.names.lock)
        parsed = session.store.parsed()
    path = target.service.runtime.healthcheck.path
    answering = (
        [p for p in task_ports(target) if probe(probe_host(target), p, path, 2)[0] == 200]
        if state
        else []
    )
    return SwarmStatus(
        service=target.owner,
        environment=target.environment,
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
