"""DeployLock against a fake engine: the engine's name uniqueness is the only primitive."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from typing import Any

import pytest

from jenkins_bridge.containers.runtime import ContainerSpec, NameConflict
from jenkins_bridge.deploy.errors import LockHeld
from jenkins_bridge.deploy.lock import DeployLock
from jenkins_bridge.deploy.records import LOCK_LABEL, LockRecord


@dataclass
class Held:
    id: str
    labels: dict[str, str]


@dataclass
class FakeEngine:
    containers: dict[str, Held] = field(default_factory=dict)
    created: int = 0

    def create(self, spec: ContainerSpec) -> Held:
        if spec.name in self.containers:
            raise NameConflict("creating", "already in use")
        self.created += 1
        self.containers[spec.name] = Held(f"id{self.created}", dict(spec.labels))
        return self.containers[spec.name]

    def inspect(self, name: str) -> Held | None:
        return self.containers.get(name)

    def remove(self, name: str) -> None:
        self.containers.pop(name, None)


def _lock(engine: FakeEngine, **options: Any) -> DeployLock:
    values: dict[str, Any] = {
        "name": "jb-t-app-test-lock",
        "image": "proxy",
        "labels": {},
        "what": "t/app test",
        "action": "deploy",
        "environ": {"BUILD_URL": "https://ci.example.com/job/app/9/"},
        "log": lambda _: None,
        "wait": 0,
        "break_lock": False,
    }
    values.update(options)
    return DeployLock(engine, **values)  # type: ignore[arg-type]


def _held_by(engine: FakeEngine, pid: int, host: str | None = None) -> None:
    record = LockRecord(
        holder="https://ci.example.com/job/app/7/",
        host=host or socket.gethostname(),
        pid=pid,
        since="2026-01-01T00:00:00Z",
        since_epoch=9e12,
    )
    engine.containers["jb-t-app-test-lock"] = Held("other", {LOCK_LABEL: record.to_label()})


def test_free_lock_is_taken_and_released() -> None:
    engine = FakeEngine()
    with _lock(engine):
        held = engine.containers["jb-t-app-test-lock"]
        assert "job/app/9" in held.labels[LOCK_LABEL]
    assert engine.containers == {}


def test_a_live_holder_is_named_after_the_wait() -> None:
    engine = FakeEngine()
    _held_by(engine, os.getpid())
    with pytest.raises(LockHeld) as raised:
        _lock(engine).acquire()
    assert "https://ci.example.com/job/app/7/" in raised.value.message
    assert "--break-lock" in str(raised.value.hint)


def test_a_dead_holder_on_this_host_is_taken_over() -> None:
    engine = FakeEngine()
    _held_by(engine, 999_999_999)
    messages: list[str] = []
    with _lock(engine, log=messages.append):
        assert engine.containers["jb-t-app-test-lock"].id != "other"
    assert any("stale" in m for m in messages)


def test_break_lock_takes_over_a_live_holder_elsewhere() -> None:
    engine = FakeEngine()
    _held_by(engine, 1, host="another-agent")
    with _lock(engine, break_lock=True):
        assert engine.containers["jb-t-app-test-lock"].id != "other"


def test_release_leaves_a_lock_someone_else_took_over() -> None:
    engine = FakeEngine()
    lock = _lock(engine)
    lock.acquire()
    _held_by(engine, os.getpid())  # taken over meanwhile
    lock.release()
    assert engine.containers["jb-t-app-test-lock"].id == "other"
