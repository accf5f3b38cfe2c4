"""One deploy per service and environment: a lock held on the target itself.

The lock is an object with a fixed name that the target refuses to create twice: on a Docker
engine a created, never started container; on Kubernetes a Lease (``deploy.kubernetes``). The
target refuses a second object of that name, so two agents deploying there see the same lock.
Its label (annotation) names the holder; a holder whose process is gone (same host) or that
is too old is stale.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Protocol

from jenkins_bridge.containers.runtime import ContainerSpec, NameConflict
from jenkins_bridge.deploy.errors import LockHeld
from jenkins_bridge.deploy.options import DeployOptions
from jenkins_bridge.deploy.records import (
    LOCK_LABEL,
    LockRecord,
    ShapeError,
    lock_is_stale,
    owner_labels,
)
from jenkins_bridge.deploy.target import DeployTarget

LOCK_MAX_AGE_SECONDS = 6 * 3600
RETRY_SECONDS = 1.0


class Held(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def labels(self) -> Mapping[str, str]: ...


class LockEngine(Protocol):
    """Where a lock is held: an object of a fixed name that can exist only once (a Docker
    container; a Kubernetes Lease). ``create`` raises ``NameConflict`` when it exists."""

    def create(self, spec: ContainerSpec) -> Held: ...

    def inspect(self, name: str) -> Held | None: ...

    def remove(self, name: str) -> None: ...


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class DeployLock:
    """``with DeployLock(...):`` holds the lock; waits at most ``wait`` seconds for it."""

    def __init__(
        self,
        runtime: LockEngine,
        *,
        name: str,
        image: str,
        labels: Mapping[str, str],
        what: str,
        action: str,
        environ: Mapping[str, str],
        log: Callable[[str], None],
        wait: float,
        break_lock: bool,
    ) -> None:
        self.runtime = runtime
        self.name = name
        self.what = what
        self.log = log
        self.wait = wait
        self.break_lock = break_lock
        here = socket.gethostname()
        moment = datetime.now(UTC)
        self.record = LockRecord(
            holder=environ.get("BUILD_URL") or f"{environ.get('USER', 'someone')}@{here}",
            host=here,
            pid=os.getpid(),
            since=moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
            since_epoch=moment.timestamp(),
            action=action,
        )
        self.spec = ContainerSpec(
            name=name,
            image=image,
            labels={**labels, LOCK_LABEL: self.record.to_label()},
            command=("true",),
            init=False,
        )
        self._held_id: str | None = None
        self.took_over: str | None = None  # the holder of a lock this one replaced

    def acquire(self) -> None:
        deadline = time.monotonic() + self.wait
        while True:
            try:
                self._held_id = self.runtime.create(self.spec).id
                return
            except NameConflict:
                existing = self.runtime.inspect(self.name)
                if existing is None:
                    continue  # released between our attempt and the look
                label = existing.labels.get(LOCK_LABEL)
                try:
                    held = LockRecord.parse_label(label)
                except ShapeError as exc:
                    # Written by something else (or damaged): never guess whether it is dead.
                    if not self.break_lock:
                        raise LockHeld(
                            f"{self.what} is locked by {self.name}, whose label cannot be "
                            f"read: {exc}",
                            hint="if no deploy of this environment runs, rerun with --break-lock",
                        ) from None
                    held = None
                stale = held is None or lock_is_stale(
                    held,
                    here=socket.gethostname(),
                    pid_alive=_pid_alive(held.pid),
                    now_epoch=time.time(),
                    max_age=LOCK_MAX_AGE_SECONDS,
                )
                if stale or self.break_lock:
                    why = "stale" if stale and held is not None else "--break-lock"
                    shown = held.describe() if held else "an unreadable lock"
                    self.took_over = f"the {why} lock ({shown})"
                    self.log(f"taking over {self.took_over}")
                    self.runtime.remove(self.name)
                    continue
                assert held is not None
                if time.monotonic() >= deadline:
                    raise LockHeld(
                        f"{self.what} is locked: {held.describe()}; waited {self.wait:g} s",
                        hint="wait for that deploy to finish; if its process is gone, "
                        "rerun with --break-lock",
                    ) from None
                time.sleep(RETRY_SECONDS)

    def release(self) -> None:
        """Remove the lock, unless someone took it over meanwhile (then it is theirs)."""
        current = self.runtime.inspect(self.name)
        if current is not None and current.id == self._held_id:
            self.runtime.remove(self.name)
        self._held_id = None

    def __enter__(self) -> DeployLock:
        self.acquire()
        return self

    def __exit__(self, *_: object) -> None:
        self.release()


def target_lock(
    engine: LockEngine,
    target: DeployTarget,
    options: DeployOptions,
    environ: Mapping[str, str],
    log: Callable[[str], None],
    *,
    image: str = "",
) -> DeployLock:
    """The lock of ``target``'s environment on ``engine``, on the terms of ``options``."""
    return DeployLock(
        engine,
        name=target.names.lock,
        image=image,
        labels=owner_labels(target.owner, target.environment, "lock"),
        what=f"{target.owner} {target.environment}",
        action=options.action,
        environ=environ,
        log=log,
        wait=options.lock_wait,
        break_lock=options.break_lock,
    )
